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

}  // namespace gh::policy
