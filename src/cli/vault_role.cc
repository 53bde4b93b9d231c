#include "cli/vault_role.h"

#include "core/clock.h"
#include "core/references.h"
#include "http/local_handler_chain.h"

namespace gh::cli {
namespace {

// The port of the first listener serving the identity role: the vault's challenge names the
// identity role's origin, which is not the vault listener's own.
uint16_t identity_port(const config::ProxyConfig& config) {
  const auto names = identity_listeners(config).identity;
  for (const auto& name : names)
    for (const auto& l : config.listeners)
      if (l.name == name) return l.port;
  return 0;
}

}  // namespace

gateway::Server::LocalHandlerFactory roles_factory(config::Environment env, IdentitySlot identity,
                                                   VaultSlot vault) {
  auto make_identity = identity_factory(env, identity);
  return [env = std::move(env), identity, vault, make_identity = std::move(make_identity)](
             const config::ProxyConfig& config) -> Result<std::shared_ptr<http::LocalHandler>> {
    GH_TRY(auto identity_handler, make_identity(config));
    if (!config.vault) return identity_handler;
    auto service = vault::VaultService::start(*config.vault, *identity, identity_port(config), env,
                                              core::SystemClock::instance());
    if (!service) return unexpected(service.error().with_context("vault"));
    *vault = *service;
    core::register_resolver("vault", *service);
    std::vector<std::shared_ptr<http::LocalHandler>> handlers{identity_handler, *service};
    return std::shared_ptr<http::LocalHandler>(
        std::make_shared<http::LocalHandlerChain>(std::move(handlers)));
  };
}

}  // namespace gh::cli
