#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace gh::config {

/// Looks up one environment variable: its value, or nullopt when it is unset. Injected so that
/// tests and the fuzzer never touch the process environment.
using Environment = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment (getenv). Not thread-safe against concurrent setenv, like getenv.
Environment process_environment();

/// A fixed set of variables; everything else is unset.
Environment fixed_environment(std::map<std::string, std::string, std::less<>> vars);

}  // namespace gh::config
