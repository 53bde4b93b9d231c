#pragma once

// Process-wide state that policies share across workers and keep across configuration reloads:
// OpenID metadata and JWKS per issuer, verified tokens, rate-limit and quota counters,
// revocation answers, the managed-identity token source. Built once at start.

#include <memory>

#include "core/clock.h"

namespace gh::jose {
class VerifiedTokenCache;
}

namespace gh::policy {

class OpenIdCache;        // policy/openid_cache.h
class CounterStore;       // policy/counter_store.h
class RevocationChecker;  // policy/revocation.h
class TokenProvider;      // policy/token_provider.h
class ManagedIdentityTokenCache;  // policy/managed_identity_tokens.h
class SubscriptionFeed;           // policy/subscriptions.h

struct Services {
  explicit Services(const core::Clock& c) : clock(c) {}
  const core::Clock& clock;
  std::shared_ptr<OpenIdCache> openid;                        // validate-jwt, -azure-ad-token
  std::shared_ptr<jose::VerifiedTokenCache> verified_tokens;  // validate-jwt, -azure-ad-token
  std::shared_ptr<CounterStore> counters;                     // rate-limit*, quota*
  std::shared_ptr<RevocationChecker> revocation;              // validate-client-certificate
  std::shared_ptr<TokenProvider> managed_identity;  // authentication-managed-identity; may be null
  /// managed_identity's tokens by (resource, client id), shared by all workers and kept across
  /// reloads; the first authentication-managed-identity factory creates it when null.
  std::shared_ptr<ManagedIdentityTokenCache> managed_identity_tokens;
  /// Subscriptions managed at run time (the admin API); null when the identity role, whose
  /// database keeps them, is off.
  std::shared_ptr<SubscriptionFeed> subscriptions;
};

}  // namespace gh::policy
