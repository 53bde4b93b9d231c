#include "identity/replay_cache.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace gh::identity {
namespace {

// Enough shards that 2-64 workers rarely meet on one lock; small caches (tests) use one shard so
// that the capacity is exact.
size_t shard_count(size_t capacity) {
  return capacity >= 64 * 1024 ? 64 : 1;
}

}  // namespace

ReplayCache::ReplayCache(size_t capacity) {
  const size_t n = shard_count(capacity);
  shards_.reserve(n);
  for (size_t i = 0; i < n; ++i)
    shards_.push_back(std::make_unique<Shard>());
  per_shard_capacity_ = std::max<size_t>(1, capacity / n);
}

ReplayCache::~ReplayCache() = default;

void ReplayCache::purge(Shard& shard, int64_t now, int budget) {
  while (budget-- > 0 && !shard.expiries.empty() && shard.expiries.top().expires_at <= now) {
    const Expiry top = shard.expiries.top();
    shard.expiries.pop();
    // A heap entry is stale when its key was re-recorded later with another expiry.
    auto it = shard.map.find(top.key);
    if (it != shard.map.end() && it->second.expires_at == top.expires_at) shard.map.erase(it);
  }
}

void ReplayCache::evict_one(Shard& shard) {
  while (!shard.expiries.empty()) {
    const Expiry top = shard.expiries.top();
    shard.expiries.pop();
    auto it = shard.map.find(top.key);
    if (it != shard.map.end() && it->second.expires_at == top.expires_at) {
      shard.map.erase(it);
      return;
    }
  }
}

ReplayCache::Verdict ReplayCache::check_and_record(std::string_view scope, std::string_view jti,
                                                   std::string_view assertion, int64_t expires_at,
                                                   int64_t now) {
  // The key hashes scope and jti with a separator that neither contains, so ("a","bc") and
  // ("ab","c") differ; 128 bits of SHA-256 make collisions irrelevant.
  crypto::Sha256Digest key_digest;
  if (char buf[512]; scope.size() + 1 + jti.size() <= sizeof buf) {
    std::memcpy(buf, scope.data(), scope.size());
    buf[scope.size()] = '\0';
    std::memcpy(buf + scope.size() + 1, jti.data(), jti.size());
    key_digest = crypto::sha256(std::string_view(buf, scope.size() + 1 + jti.size()));
  } else {
    std::string joined(scope);
    joined += '\0';
    joined += jti;
    key_digest = crypto::sha256(joined);
  }
  Key key;
  std::memcpy(key.data(), key_digest.data(), sizeof key);
  const crypto::Sha256Digest assertion_digest = crypto::sha256(assertion);

  Shard& shard = *shards_[key[1] % shards_.size()];
  std::lock_guard lock(shard.mutex);
  purge(shard, now, 4);
  auto it = shard.map.find(key);
  if (it != shard.map.end() && it->second.expires_at > now) {
    return crypto::constant_time_equal(it->second.assertion_sha256, assertion_digest)
               ? Verdict::Repeat
               : Verdict::Replay;
  }
  if (it != shard.map.end()) {
    // Expired but not purged yet: the jti may be used again.
    it->second = Entry{assertion_digest, expires_at};
  } else {
    if (shard.map.size() >= per_shard_capacity_) evict_one(shard);
    shard.map.emplace(key, Entry{assertion_digest, expires_at});
  }
  shard.expiries.push(Expiry{expires_at, key});
  return Verdict::First;
}

size_t ReplayCache::size() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    n += shard->map.size();
  }
  return n;
}

}  // namespace gh::identity
