#include "jose/token_cache.h"

#include <algorithm>

#include "jose/jwt_error.h"

namespace gh::jose {

VerifiedTokenCache::VerifiedTokenCache(const core::Clock& clock, size_t capacity,
                                       std::chrono::seconds max_ttl)
    : clock_(clock),
      per_shard_(std::max<size_t>(1, capacity / kShards)),
      max_ttl_(static_cast<double>(max_ttl.count())) {
  for (auto& s : shards_)
    s.map.reserve(per_shard_);
}

double VerifiedTokenCache::now() const noexcept {
  return std::chrono::duration<double>(clock_.now().time_since_epoch()).count();
}

std::shared_ptr<const VerifiedJwt> VerifiedTokenCache::find(uint64_t scope,
                                                            std::string_view token) const {
  const auto digest = crypto::sha256(token);
  const double t = now();
  Shard& shard = shards_[shard_of(digest)];
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(digest);
  if (it == shard.map.end()) return nullptr;
  if (it->second.expires_at <= t) {
    shard.map.erase(it);
    return nullptr;
  }
  if (it->second.scope != scope) return nullptr;
  return it->second.jwt;
}

void VerifiedTokenCache::insert(uint64_t scope, std::string_view token,
                                std::shared_ptr<const VerifiedJwt> jwt) {
  if (!jwt) return;
  const double t = now();
  const double expires_at = std::min(jwt->exp.value_or(t + max_ttl_), t + max_ttl_);
  if (expires_at <= t) return;
  const auto digest = crypto::sha256(token);
  Shard& shard = shards_[shard_of(digest)];
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(digest);
  if (it != shard.map.end()) {
    it->second = Entry{scope, expires_at, std::move(jwt)};
    return;
  }
  if (shard.map.size() >= per_shard_) shard.map.erase(shard.map.begin());
  shard.map.emplace(digest, Entry{scope, expires_at, std::move(jwt)});
}

size_t VerifiedTokenCache::size() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

Result<std::shared_ptr<const VerifiedJwt>> verify_jwt_cached(std::string_view token,
                                                             const JwkSet& keys,
                                                             const JwtVerifyOptions& options,
                                                             const core::Clock& clock,
                                                             VerifiedTokenCache& cache) {
  if (auto hit = cache.find(keys.id(), token)) {
    if (!options.jws.allowed_algs.contains(hit->alg)) {
      return fail(JwtError::AlgNotAllowed,
                  "alg " + std::string(to_string(hit->alg)) + " is not allowed");
    }
    GH_TRY_STATUS(validate_claims(hit->claims, options.claims, clock));
    return hit;
  }
  GH_TRY(VerifiedJwt jwt, verify_jwt(token, keys, options, clock));
  auto shared = std::make_shared<const VerifiedJwt>(std::move(jwt));
  cache.insert(keys.id(), token, shared);
  return shared;
}

}  // namespace gh::jose
