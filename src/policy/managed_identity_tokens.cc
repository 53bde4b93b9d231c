#include "policy/managed_identity_tokens.h"

#include <algorithm>

namespace gh::policy {

ManagedIdentityTokenCache::ManagedIdentityTokenCache(size_t max_entries)
    : max_per_shard_(std::max<size_t>(1, max_entries / kShards)) {}

std::shared_ptr<const ManagedIdentityTokenCache::Entry> ManagedIdentityTokenCache::find(
    std::string_view resource, std::string_view client_id, int64_t now_unix) const {
  const KeyView key{resource, client_id};
  Shard& shard = shard_for(key);
  std::shared_ptr<const Entry> entry;
  {
    std::lock_guard lock(shard.mutex);
    const auto it = shard.map.find(key);
    if (it == shard.map.end()) return nullptr;
    entry = it->second;
  }
  if (entry->expires_on - now_unix <= kMinRemainingSeconds) return nullptr;
  return entry;
}

std::shared_ptr<const ManagedIdentityTokenCache::Entry> ManagedIdentityTokenCache::store(
    std::string_view resource, std::string_view client_id, AccessToken token, int64_t now_unix) {
  auto entry = std::make_shared<Entry>();
  entry->bearer = "Bearer " + token.token;
  entry->token = std::move(token.token);
  entry->expires_on = token.expires_on;

  const KeyView key{resource, client_id};
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.map.find(key); it != shard.map.end()) {
    it->second = entry;
    return entry;
  }
  if (shard.map.size() >= max_per_shard_) {
    std::erase_if(shard.map, [&](const auto& kv) {
      return kv.second->expires_on - now_unix <= kMinRemainingSeconds;
    });
    if (shard.map.size() >= max_per_shard_) shard.map.erase(shard.map.begin());
  }
  shard.map.emplace(Key{std::string(resource), std::string(client_id)}, entry);
  return entry;
}

size_t ManagedIdentityTokenCache::size() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.map.size();
  }
  return n;
}

// ---- single flight ---------------------------------------------------------------------------

ManagedIdentityTokenCache::Joined ManagedIdentityTokenCache::join(std::string_view resource,
                                                                  std::string_view client_id,
                                                                  int64_t now_unix) {
  const KeyView key{resource, client_id};
  std::lock_guard lock(flights_mutex_);
  if (auto it = flights_.find(key); it != flights_.end()) return {nullptr, it->second, false};
  // A leader may have stored the token and landed between the caller's miss and this lock.
  if (auto entry = find(resource, client_id, now_unix)) return {std::move(entry), nullptr, false};
  auto flight = std::make_shared<Flight>();
  flight->resource_ = resource;
  flight->client_id_ = client_id;
  flights_.emplace(Key{flight->resource_, flight->client_id_}, flight);
  return {nullptr, std::move(flight), true};
}

void ManagedIdentityTokenCache::land(const std::shared_ptr<Flight>& flight,
                                     Result<std::shared_ptr<const Entry>> result) {
  {
    std::lock_guard lock(flights_mutex_);
    const auto it = flights_.find(KeyView{flight->resource_, flight->client_id_});
    if (it != flights_.end() && it->second == flight) flights_.erase(it);
  }
  std::vector<net::Parked> waiters;
  {
    std::lock_guard lock(flight->mutex_);
    if (flight->landed_) return;
    flight->result_ = std::move(result);
    flight->landed_ = true;
    waiters.swap(flight->waiters_);
  }
  for (auto& w : waiters)
    std::move(w).resume();
}

size_t ManagedIdentityTokenCache::flights() const {
  std::lock_guard lock(flights_mutex_);
  return flights_.size();
}

void ManagedIdentityTokenCache::Flight::enqueue(net::Parked parked) {
  {
    std::lock_guard lock(mutex_);
    if (!landed_) {
      waiters_.push_back(std::move(parked));
      return;
    }
  }
  // Landed already: resume through the executor, never inline inside the initiation.
  std::move(parked).resume();
}

net::awaitable<Result<std::shared_ptr<const ManagedIdentityTokenCache::Entry>>>
ManagedIdentityTokenCache::Flight::wait() {
  co_await net::park(this);
  std::lock_guard lock(mutex_);
  co_return result_;
}

}  // namespace gh::policy
