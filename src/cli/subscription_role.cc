#include "cli/subscription_role.h"

#include "admin/subscription_api.h"
#include "policy/services.h"
#include "store/subscription_store.h"

namespace gh::cli {

gateway::Server::LocalHandlerFactory with_managed_subscriptions(
    gateway::Server::LocalHandlerFactory inner, IdentitySlot identity, SubscriptionSlot slot) {
  return [inner = std::move(inner), identity = std::move(identity), slot = std::move(slot)](
             const config::ProxyConfig& config) -> Result<std::shared_ptr<http::LocalHandler>> {
    GH_TRY(auto handler, inner(config));
    if (!*identity) return handler;
    GH_TRY(auto store, store::SubscriptionStore::open((*identity)->database()));
    auto feed = std::make_shared<policy::SubscriptionFeed>();
    if (auto loaded = admin::publish_managed_subscriptions(*store, *feed); !loaded) {
      return unexpected(loaded.error().with_context("subscriptions"));
    }
    *slot = std::move(feed);
    return handler;
  };
}

gateway::Server::PolicyServicesHook subscriptions_hook(SubscriptionSlot slot) {
  return [slot = std::move(slot)](policy::Services& services,
                                  const std::shared_ptr<http::LocalHandler>&) {
    services.subscriptions = *slot;
  };
}

}  // namespace gh::cli
