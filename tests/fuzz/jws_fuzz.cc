// Fuzzes compact JWS parsing and verification (the full JWT path) against fixed keys: the RFC
// 7515 A.2 RSA key, the A.3 P-256 key and the RFC 8037 Ed25519 key in one set, and the A.1 HMAC
// key in another (sets may not mix oct and asymmetric keys).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "jose/jwk_set.h"
#include "jose/jws.h"
#include "jose/jwt.h"

namespace {

constexpr std::string_view kAsymmetric = R"({"keys":[
{"kty":"RSA","kid":"rsa","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"},
{"kty":"EC","kid":"ec","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
{"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})";
constexpr std::string_view kSymmetric =
    R"({"keys":[{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}]})";

struct Fixture {
  gh::jose::JwkSet asymmetric = std::move(*gh::jose::JwkSet::parse(kAsymmetric));
  gh::jose::JwkSet symmetric = std::move(*gh::jose::JwkSet::parse(kSymmetric));
  gh::jose::JwtVerifyOptions options;
  Fixture() {
    options.jws.allowed_algs = gh::jose::AlgSet::all();
    options.claims.require_exp = false;
    options.claims.audiences = {"api"};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture f;
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const auto& clock = gh::core::SystemClock::instance();
  (void)gh::jose::decode_compact(token);
  (void)gh::jose::verify_jwt(token, f.asymmetric, f.options, clock);
  (void)gh::jose::verify_jwt(token, f.symmetric, f.options, clock);
  return 0;
}
