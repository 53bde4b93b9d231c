#pragma once

// JWS compact serialization (RFC 7515 §7.1): decode, verify against a JWK Set, sign.
//
// RFC 8725 rules enforced here, not configurable away:
//  * alg must be in the caller's allow-list AND usable with the selected key's type, curve and
//    metadata (no HS256 with an RSA key, no ES256 with a P-384 key); "none" is never accepted.
//  * keys come only from the caller's JwkSet: the jwk, jku, x5u and x5c header parameters are
//    ignored and never fetched or trusted.
//  * any crit header rejects the token (no extensions are implemented).
//  * kid is a lookup hint: a kid missing from the set is UnknownKey (so the caller can refresh
//    its JWKS); without kid every key usable with alg is tried (APIM's issuer-signing-keys).

#include <boost/json/object.hpp>
#include <span>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "core/result.h"
#include "jose/json.h"
#include "jose/jwk.h"
#include "jose/jwk_set.h"
#include "jose/jws_alg.h"

namespace gh::jose {

/// Upper bound on a whole compact token; each decoded part is bounded by JsonLimits::max_bytes.
inline constexpr size_t kMaxTokenBytes = 256 * 1024;

/// A compact JWS split and decoded, not verified. Views point into the token.
struct DecodedJws {
  std::string_view signing_input;  // ASCII(BASE64URL(header) || '.' || BASE64URL(payload))
  boost::json::object header;
  core::Bytes payload;
  core::Bytes signature;
};

/// Splits and decodes a compact JWS (exactly three segments, strict base64url, strict JSON
/// header object). Malformed or TooLarge. Does not look at alg: for `gatehouse jwt decode`.
Result<DecodedJws> decode_compact(std::string_view token, const JsonLimits& limits = {});

struct JwsVerifyOptions {
  AlgSet allowed_algs = AlgSet::asymmetric();
  JsonLimits limits;
};

struct VerifiedJws {
  JwsAlg alg;
  std::string kid;  // kid of the key that verified ("" when that key has none)
  boost::json::object header;
  core::Bytes payload;
};

/// Verifies a compact JWS against `keys` under the RFC 8725 rules above. On failure the detail
/// is a JwtError (Malformed, TooLarge, UnsupportedAlg, AlgNotAllowed, UnsupportedCrit,
/// UnknownKey, NoMatchingKey, KeyMismatch, InvalidKey, BadSignature). Thread-safe.
Result<VerifiedJws> verify_compact(std::string_view token, const JwkSet& keys,
                                   const JwsVerifyOptions& options = {});

/// Signs `payload` into a compact JWS with `key` (which must be usable for signing with `alg`).
/// The header is {"alg":..., "kid": key's kid if any} plus `extra_header` members; extra members
/// cannot override alg or add crit.
Result<std::string> sign_compact(std::span<const uint8_t> payload, const Jwk& key, JwsAlg alg,
                                 const boost::json::object& extra_header = {});

}  // namespace gh::jose
