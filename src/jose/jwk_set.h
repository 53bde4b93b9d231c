#pragma once

// JWK Set (RFC 7517 §5): an immutable collection of keys with a kid index. Meant to be shared
// between workers as std::shared_ptr<const JwkSet> and swapped whole when a JWKS is refreshed.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "jose/json.h"
#include "jose/jwk.h"

namespace gh::jose {

/// Limits for a whole JWK Set document (Entra's is ~10 KiB; certificates make them large).
inline constexpr JsonLimits kJwkSetLimits{1024 * 1024, 8};

class JwkSet {
 public:
  JwkSet(JwkSet&&) noexcept = default;
  JwkSet& operator=(JwkSet&&) noexcept = default;

  /// Parses {"keys":[...]}. Keys that are not understood or fail validation are skipped (RFC
  /// 7517 §5: "SHOULD ignore"), with the reason kept in skipped(). The whole set is rejected
  /// (InvalidKey) when two usable keys share a kid, when it mixes oct and asymmetric keys, or
  /// when no usable key remains.
  static Result<JwkSet> parse(std::string_view json, const JsonLimits& limits = kJwkSetLimits);
  /// A set from keys already built (same rules as parse, nothing skipped).
  static Result<JwkSet> from_keys(std::vector<Jwk> keys);

  /// The key whose kid is `kid`, or null. O(log n); thread-safe.
  const Jwk* find(std::string_view kid) const noexcept;
  const std::vector<Jwk>& keys() const noexcept { return keys_; }
  /// Why each skipped key was skipped ("key 2: RSA modulus of 1024 bits is below 2048").
  const std::vector<std::string>& skipped() const noexcept { return skipped_; }
  /// A process-unique id of this set, so that results derived from it (the verified-token cache)
  /// are never reused with another set.
  uint64_t id() const noexcept { return id_; }

  /// {"keys":[public JWKs]}, for publishing. oct keys are left out.
  Result<std::string> to_public_json() const;

 private:
  JwkSet() = default;
  static Result<JwkSet> build(std::vector<Jwk> keys, std::vector<std::string> skipped);

  std::vector<Jwk> keys_;
  std::map<std::string, size_t, std::less<>> by_kid_;
  std::vector<std::string> skipped_;
  uint64_t id_ = 0;
};

}  // namespace gh::jose
