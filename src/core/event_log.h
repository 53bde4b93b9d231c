#pragma once

#include <initializer_list>
#include <string_view>
#include <utility>

namespace gh::core {

/// Operational events (start, reload, drain, errors) as JSON lines on stderr, apart from the
/// access log. Values are escaped; callers never pass secrets.
void log_event(std::string_view level, std::string_view message,
               std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {});

}  // namespace gh::core
