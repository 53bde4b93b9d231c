#pragma once

// JWS "alg" values (RFC 7518 §3.1, RFC 8037 §3.1) and the key each one needs.

#include <cstdint>
#include <optional>
#include <string_view>

#include "crypto/signature.h"

namespace gh::jose {

enum class JwsAlg : uint8_t {
  HS256,
  HS384,
  HS512,
  RS256,
  RS384,
  RS512,
  PS256,
  PS384,
  PS512,
  ES256,
  ES384,
  ES512,
  EdDSA,
};

/// The key family an algorithm needs.
enum class KeyFamily : uint8_t { Oct, Rsa, Ec, Okp };

/// Parses an alg name exactly (case-sensitive, RFC 7515 §4.1.1). nullopt for "none" and any
/// name not implemented here.
std::optional<JwsAlg> parse_alg(std::string_view name) noexcept;

/// The registered name ("RS256").
std::string_view to_string(JwsAlg alg) noexcept;

KeyFamily key_family(JwsAlg alg) noexcept;
/// The digest (ignored for EdDSA).
crypto::DigestAlg digest_alg(JwsAlg alg) noexcept;
/// The crypto-layer algorithm for asymmetric algs (meaningless for HS*).
crypto::SignatureAlg signature_alg(JwsAlg alg) noexcept;
/// The curve an ES* alg requires ("P-256", "P-384", "P-521"); "Ed25519" for EdDSA; else empty.
std::string_view required_curve(JwsAlg alg) noexcept;

/// A set of algorithms (the allow-list of a verifier), as a bit mask.
class AlgSet {
 public:
  constexpr AlgSet() = default;
  constexpr AlgSet(std::initializer_list<JwsAlg> algs) {
    for (auto a : algs)
      add(a);
  }
  constexpr void add(JwsAlg a) { bits_ |= bit(a); }
  constexpr bool contains(JwsAlg a) const { return (bits_ & bit(a)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }

  /// Every asymmetric algorithm (no HS*): the default for JWKS-based verification.
  static constexpr AlgSet asymmetric() {
    return {JwsAlg::RS256, JwsAlg::RS384, JwsAlg::RS512, JwsAlg::PS256, JwsAlg::PS384,
            JwsAlg::PS512, JwsAlg::ES256, JwsAlg::ES384, JwsAlg::ES512, JwsAlg::EdDSA};
  }
  static constexpr AlgSet all() {
    AlgSet s = asymmetric();
    s.add(JwsAlg::HS256);
    s.add(JwsAlg::HS384);
    s.add(JwsAlg::HS512);
    return s;
  }

 private:
  static constexpr uint32_t bit(JwsAlg a) { return 1u << static_cast<unsigned>(a); }
  uint32_t bits_ = 0;
};

}  // namespace gh::jose
