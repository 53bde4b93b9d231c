#include "identity/secret_cache.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "crypto/hmac.h"
#include "crypto/random.h"

namespace gh::identity {
namespace {

constexpr size_t kShards = 16;
// Bounds the throttle's map: beyond this many clients with recent failures, windows that ended
// are dropped first, then the whole map (a reset only forgets failures).
constexpr size_t kMaxThrottledClients = 100'000;

}  // namespace

size_t VerifiedSecretCache::TagHash::operator()(const Tag& t) const noexcept {
  size_t h;
  std::memcpy(&h, t.data(), sizeof h);
  return h;
}

VerifiedSecretCache::VerifiedSecretCache(size_t capacity) {
  crypto::random_bytes(key_);
  const size_t n = capacity >= kShards * 16 ? kShards : 1;
  for (size_t i = 0; i < n; ++i)
    shards_.push_back(std::make_unique<Shard>());
  per_shard_capacity_ = std::max<size_t>(1, capacity / n);
}

VerifiedSecretCache::~VerifiedSecretCache() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

Result<VerifiedSecretCache::Tag> VerifiedSecretCache::tag(std::string_view tenant_id,
                                                          std::string_view client_id,
                                                          std::string_view secret) const {
  // Length-prefixed fields: no two (tenant, client, secret) triples share an input.
  std::string input;
  input.reserve(tenant_id.size() + client_id.size() + secret.size() + 24);
  for (std::string_view part : {tenant_id, client_id, secret}) {
    input += std::to_string(part.size());
    input += ':';
    input += part;
  }
  auto mac = crypto::hmac(crypto::DigestAlg::Sha256, key_, core::as_bytes(input));
  OPENSSL_cleanse(input.data(), input.size());
  if (!mac) return unexpected(std::move(mac).error());
  Tag out;
  std::copy_n(mac->begin(), out.size(), out.begin());
  return out;
}

std::optional<std::string> VerifiedSecretCache::find(const Tag& tag, int64_t now) const {
  const Shard& shard = *shards_[tag[8] % shards_.size()];
  std::lock_guard lock(shard.mutex);
  auto it = shard.map.find(tag);
  if (it == shard.map.end() || it->second.expires_at <= now) return std::nullopt;
  return it->second.key_id;
}

void VerifiedSecretCache::insert(const Tag& tag, std::string key_id, int64_t expires_at,
                                 int64_t now) {
  Shard& shard = *shards_[tag[8] % shards_.size()];
  std::lock_guard lock(shard.mutex);
  if (shard.map.size() >= per_shard_capacity_ && !shard.map.contains(tag)) {
    // Drop what has expired; if nothing has, drop an arbitrary entry (it only costs that client
    // one more hash).
    std::erase_if(shard.map, [now](const auto& kv) { return kv.second.expires_at <= now; });
    if (shard.map.size() >= per_shard_capacity_) shard.map.erase(shard.map.begin());
  }
  shard.map.insert_or_assign(tag, Entry{std::move(key_id), expires_at});
}

size_t VerifiedSecretCache::size() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    n += shard->map.size();
  }
  return n;
}

SecretFailureThrottle::SecretFailureThrottle(unsigned limit, int64_t window_seconds)
    : limit_(limit), window_(std::max<int64_t>(1, window_seconds)) {}

SecretFailureThrottle::~SecretFailureThrottle() = default;

int64_t SecretFailureThrottle::retry_after(std::string_view client_key, int64_t now) const {
  if (limit_ == 0) return 0;
  std::lock_guard lock(mutex_);
  auto it = windows_.find(std::string(client_key));
  if (it == windows_.end() || it->second.failures < limit_) return 0;
  const int64_t end = it->second.start + window_;
  return end > now ? end - now : 0;
}

void SecretFailureThrottle::record_failure(std::string_view client_key, int64_t now) {
  if (limit_ == 0) return;
  std::lock_guard lock(mutex_);
  if (windows_.size() >= kMaxThrottledClients) {
    std::erase_if(windows_, [&](const auto& kv) { return kv.second.start + window_ <= now; });
    if (windows_.size() >= kMaxThrottledClients) windows_.clear();
  }
  Window& w = windows_[std::string(client_key)];
  if (w.start + window_ <= now) w = Window{now, 0};
  ++w.failures;
}

}  // namespace gh::identity
