#include "jose/jws_alg.h"

#include <array>

namespace gh::jose {
namespace {

constexpr std::array<std::string_view, 13> kNames = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                                     "RS512", "PS256", "PS384", "PS512", "ES256",
                                                     "ES384", "ES512", "EdDSA"};

}  // namespace

std::optional<JwsAlg> parse_alg(std::string_view name) noexcept {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<JwsAlg>(i);
  }
  return std::nullopt;
}

std::string_view to_string(JwsAlg alg) noexcept {
  return kNames[static_cast<size_t>(alg)];
}

KeyFamily key_family(JwsAlg alg) noexcept {
  switch (alg) {
    case JwsAlg::HS256:
    case JwsAlg::HS384:
    case JwsAlg::HS512:
      return KeyFamily::Oct;
    case JwsAlg::RS256:
    case JwsAlg::RS384:
    case JwsAlg::RS512:
    case JwsAlg::PS256:
    case JwsAlg::PS384:
    case JwsAlg::PS512:
      return KeyFamily::Rsa;
    case JwsAlg::ES256:
    case JwsAlg::ES384:
    case JwsAlg::ES512:
      return KeyFamily::Ec;
    case JwsAlg::EdDSA:
      return KeyFamily::Okp;
  }
  return KeyFamily::Oct;
}

crypto::DigestAlg digest_alg(JwsAlg alg) noexcept {
  switch (alg) {
    case JwsAlg::HS384:
    case JwsAlg::RS384:
    case JwsAlg::PS384:
    case JwsAlg::ES384:
      return crypto::DigestAlg::Sha384;
    case JwsAlg::HS512:
    case JwsAlg::RS512:
    case JwsAlg::PS512:
    case JwsAlg::ES512:
      return crypto::DigestAlg::Sha512;
    default:
      return crypto::DigestAlg::Sha256;
  }
}

crypto::SignatureAlg signature_alg(JwsAlg alg) noexcept {
  using crypto::SignatureScheme;
  switch (key_family(alg)) {
    case KeyFamily::Rsa:
      return {alg == JwsAlg::PS256 || alg == JwsAlg::PS384 || alg == JwsAlg::PS512
                  ? SignatureScheme::RsaPss
                  : SignatureScheme::RsaPkcs1,
              digest_alg(alg)};
    case KeyFamily::Ec:
      return {SignatureScheme::EcdsaP1363, digest_alg(alg)};
    case KeyFamily::Okp:
      return {SignatureScheme::Ed25519, crypto::DigestAlg::Sha512};
    case KeyFamily::Oct:
      break;
  }
  return {SignatureScheme::RsaPkcs1, digest_alg(alg)};
}

std::string_view required_curve(JwsAlg alg) noexcept {
  switch (alg) {
    case JwsAlg::ES256:
      return "P-256";
    case JwsAlg::ES384:
      return "P-384";
    case JwsAlg::ES512:
      return "P-521";
    case JwsAlg::EdDSA:
      return "Ed25519";
    default:
      return {};
  }
}

}  // namespace gh::jose
