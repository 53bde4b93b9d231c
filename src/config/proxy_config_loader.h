#pragma once

// Loading and validating the proxy configuration (the YAML shape is documented in
// config/proxy_config.h and docs/configuration.md). Every function is safe to call from any
// thread; none of them keeps state.
//
// Errors: the Error's message holds one problem per line, each `file:line: message` (syntax errors
// add `:column`), in file order for independent problems. Values substituted from the
// environment never appear in messages.

#include <string>
#include <string_view>

#include "config/environment.h"
#include "config/proxy_config.h"
#include "core/result.h"

namespace gh::config {

/// Reads, substitutes, parses and validates the file at `path`. Relative paths inside it are
/// resolved against the file's directory (made absolute). Fails with ErrorKind::Io when the file
/// cannot be read, ErrorKind::InvalidArgument for every configuration mistake.
Result<ProxyConfig> load_proxy_config(const std::string& path, const Environment& env);

/// Parses configuration text; `file_name` names it in errors and relative paths are resolved
/// against its directory.
Result<ProxyConfig> parse_proxy_config(std::string_view text, const std::string& file_name,
                                       const Environment& env);

/// The same, resolving relative paths against `base_dir` ("" leaves them relative).
Result<ProxyConfig> parse_proxy_config(std::string_view text, const std::string& file_name,
                                       const std::string& base_dir, const Environment& env);

/// Checks that every file the configuration names (certificates, keys, CAs, the identity role's
/// master key and declared certificates) is a readable regular file, that the admin token file
/// is readable when it exists (it is created otherwise), and that the access and audit logs'
/// directories are writable; does not parse their contents. Fails with every problem, one
/// `file:line: key: problem` per line.
Status check_referenced_files(const ProxyConfig& config);

}  // namespace gh::config
