// Fuzzes JWK and JWK Set parsing, validation and public re-export.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jose/jwk.h"
#include "jose/jwk_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto key = gh::jose::Jwk::parse(text)) {
    (void)key->to_public_json();
    (void)key->thumbprint();
    (void)key->check_usable(gh::jose::JwsAlg::RS256, false);
    (void)key->check_usable(gh::jose::JwsAlg::ES256, true);
  }
  if (auto set = gh::jose::JwkSet::parse(text)) {
    (void)set->find("kid");
    (void)set->to_public_json();
  }
  return 0;
}
