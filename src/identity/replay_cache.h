#pragma once

// Client-assertion jti replay store (entra-token-service.md §2.6). MSAL re-presents the same
// assertion for up to 10 minutes, so the store remembers which assertion (a SHA-256 of its
// bytes) first used each jti: the same bytes again are a Repeat, other bytes with that jti are a
// Replay. Whether a Repeat is allowed is the caller's policy (per-app strict mode).
//
// Sharded: each shard is a hash map plus a min-heap on expiry under its own mutex, so workers
// contend only when two requests land on the same shard. Expired entries are purged a few at a
// time on each call; when a shard is full the entry expiring soonest is evicted.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "crypto/digest.h"

namespace gh::identity {

class ReplayCache {
 public:
  /// Keeps at most about `capacity` jti entries (at least one per shard).
  explicit ReplayCache(size_t capacity);
  ~ReplayCache();

  enum class Verdict : uint8_t {
    First,   // jti not seen (or its entry expired): recorded now
    Repeat,  // the identical assertion was seen before with this jti
    Replay,  // this jti was seen with a different assertion
  };

  /// Looks up `jti` within `scope` (tenant, client, issuer) and records it when new. The entry
  /// lives until `expires_at` (Unix seconds: the assertion's exp plus the clock skew).
  /// Thread-safe.
  Verdict check_and_record(std::string_view scope, std::string_view jti, std::string_view assertion,
                           int64_t expires_at, int64_t now);

  /// Entries currently held (for tests and metrics). Takes every shard's lock.
  size_t size() const;

 private:
  using Key = std::array<uint64_t, 2>;  // 128 bits of SHA-256(scope, jti)
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept { return static_cast<size_t>(k[0]); }
  };
  struct Entry {
    crypto::Sha256Digest assertion_sha256;
    int64_t expires_at = 0;
  };
  struct Expiry {
    int64_t expires_at;
    Key key;
    bool operator>(const Expiry& o) const noexcept { return expires_at > o.expires_at; }
  };
  struct Shard {
    std::mutex mutex;  // guards map and expiries
    std::unordered_map<Key, Entry, KeyHash> map;
    std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries;
  };

  // Removes up to `budget` heap tops that expired by `now`. Caller holds the shard's lock.
  static void purge(Shard& shard, int64_t now, int budget);
  // Removes the live entry that expires soonest. Caller holds the shard's lock.
  static void evict_one(Shard& shard);

  std::vector<std::unique_ptr<Shard>> shards_;
  size_t per_shard_capacity_;
};

}  // namespace gh::identity
