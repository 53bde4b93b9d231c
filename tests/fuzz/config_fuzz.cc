// Fuzzes the whole configuration pipeline (env substitution, yaml-cpp, validation) on arbitrary
// text with an empty environment: it must never crash, hang or leak, only return errors.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/environment.h"
#include "config/proxy_config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const gh::config::Environment kEnv = gh::config::fixed_environment({});
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = gh::config::parse_proxy_config(text, "fuzz.yaml", "/etc/gatehouse", kEnv);
  if (config) {
    // A config that parses must satisfy the invariants consumers rely on.
    if (config->listeners.empty() || config->apis.empty()) __builtin_trap();
    for (const auto& api : config->apis) {
      if (api.backend_id.empty()) __builtin_trap();
    }
  }
  return 0;
}
