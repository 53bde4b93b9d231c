#pragma once

// Subscriptions managed at run time: the admin REST API under /v1/subscriptions and
// /v1/products (docs/admin-api.md, "Subscriptions"). `gatehouse subscription ...` is its client.
//
// A change is one SubscriptionStore transaction (the identity role's database, so it survives
// restarts), then a new immutable table published to the gateway's SubscriptionFeed: workers
// use it from their next request, with no restart and no request dropped. Keys are generated
// here (32 hexadecimal digits, as APIM's) unless given at creation, shown once in the answer
// that makes them, and kept only as SHA-256 digests and a three-character hint.
//
// Subscriptions declared in the configuration file are listed too (source "config"), but are
// changed by editing the file.

#include <memory>
#include <string_view>

#include "admin/api_support.h"
#include "core/clock.h"
#include "core/result.h"
#include "policy/subscriptions.h"
#include "store/subscription_store.h"

namespace gh::admin {

/// Reads every managed subscription from `store` and publishes them to `feed` as one table.
Status publish_managed_subscriptions(store::SubscriptionStore& store,
                                     policy::SubscriptionFeed& feed);

class SubscriptionApi {
 public:
  /// `store` and `feed` must outlive the API.
  SubscriptionApi(store::SubscriptionStore& store, policy::SubscriptionFeed& feed,
                  const core::Clock& clock)
      : store_(store), feed_(feed), clock_(clock) {}

  /// True for /v1/subscriptions, /v1/products and everything under them.
  static bool serves(std::string_view path) noexcept;

  /// Answers one request whose credential was already accepted. Never throws: every failure is
  /// a response (400, 404, 405, 409 naming the field or subscription, 500 otherwise).
  AdminResponse handle(const AdminRequest& request) noexcept;

 private:
  AdminResponse dispatch(const AdminRequest& request);

  store::SubscriptionStore& store_;
  policy::SubscriptionFeed& feed_;
  const core::Clock& clock_;
};

}  // namespace gh::admin
