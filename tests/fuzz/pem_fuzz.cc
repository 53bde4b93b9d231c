// Fuzzes certificate/CRL/PKCS#12 loading (x509/cert_loader.h) and the Certificate accessors
// on whatever parses.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "x509/cert_loader.h"

namespace {

void exercise(const gh::x509::Certificate& c) {
  (void)c.thumbprint_sha1();
  (void)c.x5t_s256();
  (void)c.subject();
  (void)c.issuer_cn();
  (void)c.serial_hex();
  (void)c.subject_alt_names();
  (void)c.not_after();
  (void)c.is_ca();
  (void)c.pem();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto certs = gh::x509::load_certificates(text)) {
    for (const auto& c : *certs)
      exercise(c);
  }
  (void)gh::x509::load_crls(text);
  // PKCS#12 key derivation is deliberately slow; only try it on inputs that start like DER.
  if (size > 0 && data[0] == 0x30) {
    if (auto p12 = gh::x509::load_pkcs12({data, size}, "fuzz")) {
      if (p12->cert) exercise(*p12->cert);
    }
  }
  return 0;
}
