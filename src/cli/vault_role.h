#pragma once

// Wires the in-process roles into a gateway server: the identity role, and the vault role
// (which stands on the identity role's database, master key and tokens) when the configuration
// has a `vault:` section. Both answer on the gateway's listeners through one local handler
// chain; the vault also resolves `vault:` references (core/references.h) for the gateway.

#include <memory>

#include "cli/identity_role.h"
#include "config/environment.h"
#include "gateway/server.h"
#include "vault/vault_service.h"

namespace gh::cli {

/// Filled when the server starts and the configuration enables the vault role (else null):
/// the admin listener reaches the vault through it.
using VaultSlot = std::shared_ptr<std::shared_ptr<vault::VaultService>>;

/// A factory for Server::Options::make_local_handler: the identity role (into `identity`), then
/// the vault role (into `vault`) when configured; registers the vault as the resolver of
/// `vault:` references.
gateway::Server::LocalHandlerFactory roles_factory(config::Environment env, IdentitySlot identity,
                                                   VaultSlot vault);

}  // namespace gh::cli
