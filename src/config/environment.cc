#include "config/environment.h"

#include <cstdlib>

namespace gh::config {

Environment process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string key(name);  // getenv needs a NUL-terminated name
    const char* value = std::getenv(key.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Environment fixed_environment(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace gh::config
