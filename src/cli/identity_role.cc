#include "cli/identity_role.h"

#include "core/clock.h"

namespace gh::cli {

identity::IdentityListeners identity_listeners(const config::ProxyConfig& config) {
  identity::IdentityListeners out;
  if (!config.identity) return out;
  out.identity = config.identity->listeners;
  if (out.identity.empty()) {
    for (const auto& l : config.listeners)
      if (l.tls) out.identity.push_back(l.name);
  }
  out.managed_identity = config.identity->managed_identity_listeners;
  return out;
}

gateway::Server::LocalHandlerFactory identity_factory(config::Environment env, IdentitySlot slot) {
  return [env = std::move(env), slot = std::move(slot)](
             const config::ProxyConfig& config) -> Result<std::shared_ptr<http::LocalHandler>> {
    if (!config.identity) return std::shared_ptr<http::LocalHandler>{};
    auto service = identity::IdentityService::start(*config.identity, identity_listeners(config),
                                                    env, core::SystemClock::instance());
    if (!service) return unexpected(service.error().with_context("identity"));
    *slot = *service;
    return std::shared_ptr<http::LocalHandler>(*service);
  };
}

}  // namespace gh::cli
