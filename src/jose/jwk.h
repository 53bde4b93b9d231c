#pragma once

// JSON Web Key (RFC 7517) for JWS: RSA (RFC 7518 §6.3), EC P-256/P-384/P-521 (§6.2), OKP Ed25519
// (RFC 8037) and oct (§6.4). Keys are imported into EVP_PKEY with OSSL_PARAM_BLD/EVP_PKEY_fromdata
// and checked on import (RSA >= 2048 bits, sane exponent, no ROCA modulus; EC point on curve;
// exact coordinate lengths; x5c's first certificate holds the same key; x5t/x5t#S256 match x5c).

#include <boost/json/object.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoding.h"
#include "core/result.h"
#include "crypto/ossl_ptr.h"
#include "crypto/signature.h"
#include "jose/json.h"
#include "jose/jws_alg.h"

namespace gh::jose {

/// Optional members of a JWK when building one from a key (to publish or to sign with).
struct JwkMetadata {
  std::string kid;
  std::string use;  // "sig" for signing keys
  std::string alg;  // e.g. "RS256"
  std::vector<std::string> key_ops;
  std::vector<core::Bytes> x5c;  // DER certificates, leaf first; x5t and x5t#S256 derive from it
};

class Jwk {
 public:
  Jwk(Jwk&&) noexcept = default;
  Jwk& operator=(Jwk&&) noexcept = default;
  ~Jwk();

  /// Parses and validates one JWK. InvalidKey (or Malformed/TooLarge for the JSON) on failure.
  static Result<Jwk> parse(std::string_view json, const JsonLimits& limits = {});
  /// Validates a JWK given as a parsed object.
  static Result<Jwk> from_json(const boost::json::object& obj);
  /// Wraps an RSA, EC or Ed25519 key (public or private). InvalidKey for other types/weak keys.
  static Result<Jwk> from_pkey(crypto::EvpPkeyPtr key, JwkMetadata meta);
  /// An oct (HMAC) key. InvalidKey when `secret` is empty.
  static Result<Jwk> from_secret(core::Bytes secret, JwkMetadata meta);

  KeyFamily family() const noexcept { return family_; }
  const std::string& kid() const noexcept { return kid_; }
  const std::string& use() const noexcept { return use_; }
  /// The JWK's own "alg" member, verbatim ("" when absent).
  const std::string& alg() const noexcept { return alg_; }
  const std::vector<std::string>& key_ops() const noexcept { return key_ops_; }
  /// "P-256", "P-384", "P-521", "Ed25519", or "" for RSA and oct.
  const std::string& curve() const noexcept { return curve_; }
  const std::vector<core::Bytes>& x5c() const noexcept { return x5c_; }
  const core::Bytes& x5t() const noexcept { return x5t_; }
  const core::Bytes& x5t_s256() const noexcept { return x5t_s256_; }
  /// The asymmetric key (null for oct).
  const EVP_PKEY* pkey() const noexcept { return pkey_.get(); }
  /// The HMAC secret (empty unless oct).
  std::span<const uint8_t> secret() const noexcept { return secret_; }
  /// True when the key can sign (has "d", or is oct).
  bool is_private() const noexcept { return private_; }

  /// Whether this key may be used with `alg` (to verify, or to sign): family and curve match,
  /// the JWK's alg (if any) equals `alg`, use (if any) is "sig", key_ops (if any) allows the
  /// operation, HMAC keys are at least as long as the hash (RFC 7518 §3.2). KeyMismatch with
  /// the reason; InvalidKey for a too-short HMAC key.
  Status check_usable(JwsAlg alg, bool for_signing) const;

  /// The public JWK (never private members): kty, use, key_ops, alg, kid, the key, x5c, x5t,
  /// x5t#S256. InvalidKey for oct keys, which have no public form.
  Result<boost::json::object> to_public_json() const;

  /// The pre-initialised verifier for `alg`, or null (oct keys, or an alg this key cannot
  /// carry). Callers still apply check_usable() first.
  const crypto::PreparedVerifier* verifier(JwsAlg alg) const noexcept;

  /// RFC 7638 JWK thumbprint: base64url(SHA-256) of the canonical required members.
  Result<std::string> thumbprint() const;

 private:
  Jwk() = default;
  Status set_x5c_checked(std::vector<core::Bytes> x5c);
  void prepare_verifiers();

  KeyFamily family_ = KeyFamily::Oct;
  std::string kid_, use_, alg_, curve_;
  std::vector<std::string> key_ops_;
  std::vector<core::Bytes> x5c_;
  core::Bytes x5t_, x5t_s256_;
  crypto::EvpPkeyPtr pkey_;
  core::Bytes secret_;
  bool private_ = false;
  std::vector<crypto::PreparedVerifier> verifiers_;  // one per alg the key's type can carry
};

}  // namespace gh::jose
