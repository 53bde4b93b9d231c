#pragma once

// Signing keys of external OIDC issuers, for federated identity credentials
// (entra-token-service.md §2.7): GET {issuer}/.well-known/openid-configuration, check that its
// `issuer` is the issuer, GET its jwks_uri, keep the first 100 usable keys.
//
// Cached per issuer: reused for `ttl` (24 h), refetched earlier only for a kid the set does not
// have and then at most once per `refresh_interval` (5 min) per issuer, so tokens with made-up
// kids cannot make Gatehouse hammer an issuer. A failed fetch keeps the last good set.
// The map is behind one mutex: federated requests are rare next to secrets and certificates,
// and the lock is never held across a fetch.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "identity/client_auth.h"
#include "jose/jwk_set.h"
#include "net/asio.h"

namespace gh::identity {

class IssuerKeyCache {
 public:
  struct Options {
    std::chrono::seconds ttl{86400};
    std::chrono::seconds refresh_interval{300};
    size_t max_keys = 100;
  };

  IssuerKeyCache(DocumentFetcher fetch, Options options, const core::Clock& clock);
  ~IssuerKeyCache();

  /// The issuer's current key set. `unknown_kid`: the caller holds a token whose kid the last
  /// set lacked, which allows one early refetch per refresh interval. Errors are AADSTS50166
  /// (no usable key set could be had). Must outlive the awaiting coroutine; thread-safe.
  net::awaitable<Result<std::shared_ptr<const jose::JwkSet>>> keys(std::string issuer,
                                                                   bool unknown_kid);

  /// Number of metadata fetches started so far (tests, metrics).
  uint64_t fetches() const;

 private:
  struct Entry {
    std::shared_ptr<const jose::JwkSet> keys;
    int64_t fetched_at = 0;    // last success
    int64_t attempted_at = 0;  // last attempt (success or not)
  };
  net::awaitable<Result<std::shared_ptr<const jose::JwkSet>>> fetch(std::string issuer);

  DocumentFetcher fetch_;
  Options options_;
  const core::Clock& clock_;
  mutable std::mutex mutex_;  // guards entries_ and fetches_
  std::map<std::string, Entry, std::less<>> entries_;
  uint64_t fetches_ = 0;
};

}  // namespace gh::identity
