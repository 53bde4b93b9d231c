#pragma once

// What keeps client-secret authentication fast and cheap to abuse: scrypt costs ~50-100 ms, so a
// verified (client, secret) pair is remembered, and a client that keeps sending wrong secrets is
// briefly refused without hashing.
//
// VerifiedSecretCache maps a tag (an HMAC of tenant, client and secret under a per-process
// random key, so the secret itself is never stored and a memory dump does not give an offline
// oracle) to the key id of the credential it matched, until the credential ends and at most a
// TTL. The caller re-checks on every hit that the key id still exists and is valid in the
// current directory view, so a removed or expired credential stops working at once.
//
// Both are sharded maps under per-shard mutexes: a hit costs one HMAC and one short lock.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace gh::identity {

class VerifiedSecretCache {
 public:
  explicit VerifiedSecretCache(size_t capacity);
  ~VerifiedSecretCache();

  using Tag = std::array<uint8_t, 32>;

  /// HMAC-SHA256 of (tenant, client, secret) under this cache's random key.
  Result<Tag> tag(std::string_view tenant_id, std::string_view client_id,
                  std::string_view secret) const;

  /// The key id remembered for `tag`, unless absent or expired at `now`. Thread-safe.
  std::optional<std::string> find(const Tag& tag, int64_t now) const;
  /// Remembers that `tag` matched credential `key_id` until `expires_at`. Thread-safe.
  void insert(const Tag& tag, std::string key_id, int64_t expires_at, int64_t now);

  size_t size() const;

 private:
  struct TagHash {
    size_t operator()(const Tag& t) const noexcept;
  };
  struct Entry {
    std::string key_id;
    int64_t expires_at = 0;
  };
  struct Shard {
    mutable std::mutex mutex;  // guards map
    std::unordered_map<Tag, Entry, TagHash> map;
  };
  std::array<uint8_t, 32> key_;
  std::vector<std::unique_ptr<Shard>> shards_;
  size_t per_shard_capacity_;
};

/// Counts failed secret checks per client in fixed windows; over the limit, the client is
/// refused until its window ends. Verified secrets (cache hits) are never refused.
class SecretFailureThrottle {
 public:
  SecretFailureThrottle(unsigned limit, int64_t window_seconds);
  ~SecretFailureThrottle();

  /// Seconds until `client_key` may try again (0: it may now). Thread-safe.
  int64_t retry_after(std::string_view client_key, int64_t now) const;
  void record_failure(std::string_view client_key, int64_t now);

 private:
  struct Window {
    int64_t start = 0;
    unsigned failures = 0;
  };
  mutable std::mutex mutex_;  // guards windows_; only taken on cache misses, which hash anyway
  std::unordered_map<std::string, Window> windows_;
  unsigned limit_;
  int64_t window_;
};

}  // namespace gh::identity
