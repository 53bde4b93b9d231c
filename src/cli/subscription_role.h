#pragma once

// Subscriptions managed at run time (admin/subscription_api.h) need the identity role: they live
// in its database and are changed through its admin API. `gatehouse serve` and `gatehouse dev`
// load them once the role has started and hand the gateway the feed the admin API publishes to.

#include <memory>

#include "cli/identity_role.h"
#include "gateway/server.h"
#include "policy/subscriptions.h"

namespace gh::cli {

using SubscriptionSlot = std::shared_ptr<std::shared_ptr<policy::SubscriptionFeed>>;

/// Runs `inner`, then, when the identity role started, loads its managed subscriptions into a
/// new feed stored in `slot` (a failure to read them fails the start).
gateway::Server::LocalHandlerFactory with_managed_subscriptions(
    gateway::Server::LocalHandlerFactory inner, IdentitySlot identity, SubscriptionSlot slot);

/// Gives the policy services the feed in `slot` (none when the identity role is off).
gateway::Server::PolicyServicesHook subscriptions_hook(SubscriptionSlot slot);

}  // namespace gh::cli
