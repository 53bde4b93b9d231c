#pragma once

// Wires the identity role into a gateway server: `gatehouse serve` and `gatehouse dev` both
// build the server's local handler from the configuration's `identity:` section.

#include <memory>

#include "config/environment.h"
#include "gateway/server.h"
#include "identity/identity_service.h"

namespace gh::cli {

/// Filled when the server starts and the configuration enables the identity role (else null):
/// the admin listener reaches the directory and key ring through it.
using IdentitySlot = std::shared_ptr<std::shared_ptr<identity::IdentityService>>;

/// A factory for Server::Options::make_local_handler that starts the identity role when the
/// configuration has an `identity:` section, and stores it in `slot`.
gateway::Server::LocalHandlerFactory identity_factory(config::Environment env, IdentitySlot slot);

/// The listener names serving the identity endpoints: `identity.listeners`, or every TLS
/// listener when that list is empty; and the managed-identity listeners.
identity::IdentityListeners identity_listeners(const config::ProxyConfig& config);

}  // namespace gh::cli
