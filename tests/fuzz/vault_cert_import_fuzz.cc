// Fuzzes what the vault store reads from callers and from its own rows: certificate imports
// (PEM key + chain, PKCS#12 DER, base64 of PKCS#12; vault/cert_issue.h) and the stored
// certificate policy JSON.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vault/cert_issue.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bool was_pem = false;
  auto bundle = gh::vault::parse_import(text, "fuzz", &was_pem);
  if (bundle) (void)gh::vault::bundle_pem(*bundle);
  auto policy = gh::vault::policy_from_json(text);
  if (policy) (void)gh::vault::validate_policy(*policy);
  return 0;
}
