// Fuzzes the OpenID discovery document parser (policy/openid_cache.h) and the URL checks it
// applies to jwks_uri: whatever the IdP serves must give a clean error or two printable strings.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/openid_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto metadata = gh::policy::parse_openid_metadata(text)) {
    if (metadata->issuer.empty() || !gh::policy::is_fetchable_url(metadata->jwks_uri)) std::abort();
    for (char c : metadata->issuer) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
    }
  }
  (void)gh::policy::is_fetchable_url(text);
  (void)gh::policy::redact_url(text);
  return 0;
}
