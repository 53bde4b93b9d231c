// Fuzzes every forwarded client-certificate decoder (x509/forwarded_cert.h).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "x509/forwarded_cert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  using gh::x509::ForwardedCertFormat;
  for (auto format : {ForwardedCertFormat::Rfc9440, ForwardedCertFormat::Base64Der,
                      ForwardedCertFormat::UrlEncodedPem, ForwardedCertFormat::EnvoyXfcc}) {
    if (auto cert = gh::x509::decode_forwarded_cert(format, value)) (void)cert->thumbprint_sha1();
  }
  (void)gh::x509::decode_rfc9440_client_cert_chain(value);
  if (auto elements = gh::x509::parse_xfcc(value)) {
    for (const auto& e : *elements)
      (void)e.find("cert");
  }
  return 0;
}
