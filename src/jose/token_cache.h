#pragma once

// A process-wide cache of verified tokens, so that a token presented again costs a SHA-256 and
// a hash lookup instead of a signature check.
//
// What is cached is the result of the signature check and parse (VerifiedJwt), keyed by the
// SHA-256 of the token and scoped by the JwkSet id: a token verified with one key set is never a
// hit for another, and a refreshed JWKS (a new set, a new id) starts cold. Claims are validated
// again on every hit (cheap: no crypto), so the time checks use the current clock and each
// policy applies its own aud/iss/required-claims to a token another policy cached. Failures are
// never cached.
//
// Concurrency: kShards shards, each a mutex over an unordered_map; a token picks its shard from
// its digest, so workers contend only when they hit the same shard at the same instant. The
// critical section is a lookup and a shared_ptr copy. Entries expire at the token's exp (or
// after max_ttl when it has none); a full shard evicts an arbitrary entry (O(1)).

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "crypto/digest.h"
#include "jose/jwt.h"

namespace gh::jose {

class VerifiedTokenCache {
 public:
  static constexpr size_t kShards = 16;

  /// `capacity` entries in total; entries without exp live at most `max_ttl`.
  explicit VerifiedTokenCache(const core::Clock& clock, size_t capacity = 65536,
                              std::chrono::seconds max_ttl = std::chrono::minutes(10));

  /// The cached verification of `token` under key set `scope`, or null (miss or expired).
  /// Thread-safe.
  std::shared_ptr<const VerifiedJwt> find(uint64_t scope, std::string_view token) const;

  /// Remembers a successful verification. Thread-safe.
  void insert(uint64_t scope, std::string_view token, std::shared_ptr<const VerifiedJwt> jwt);

  /// Number of live entries (approximate under concurrency).
  size_t size() const;

 private:
  struct DigestHash {
    size_t operator()(const crypto::Sha256Digest& d) const noexcept {
      size_t h;
      static_assert(sizeof h <= sizeof d);
      std::memcpy(&h, d.data() + 8, sizeof h);  // already uniformly distributed
      return h;
    }
  };
  struct Entry {
    uint64_t scope;
    double expires_at;  // seconds since the epoch
    std::shared_ptr<const VerifiedJwt> jwt;
  };
  struct Shard {
    mutable std::mutex mu;  // guards map; held for a lookup/insert only
    std::unordered_map<crypto::Sha256Digest, Entry, DigestHash> map;
  };

  static size_t shard_of(const crypto::Sha256Digest& d) noexcept { return d[0] % kShards; }
  double now() const noexcept;

  const core::Clock& clock_;
  const size_t per_shard_;
  const double max_ttl_;
  mutable std::array<Shard, kShards> shards_;
};

/// verify_jwt with `cache` in front: on a hit only the alg allow-list and the claims are checked
/// again; on a miss the token is verified and, if valid, cached. Thread-safe.
Result<std::shared_ptr<const VerifiedJwt>> verify_jwt_cached(std::string_view token,
                                                             const JwkSet& keys,
                                                             const JwtVerifyOptions& options,
                                                             const core::Clock& clock,
                                                             VerifiedTokenCache& cache);

}  // namespace gh::jose
