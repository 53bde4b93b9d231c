#pragma once

#include <memory>

#include "gateway/server.h"
#include "net/asio.h"

namespace gh::identity {
class IdentityService;
}
namespace gh::vault {
class VaultService;
}

namespace gh::admin {

/// Serves the admin listener: `GET /healthz` (200 `{"status":"ok"}`, 503 while draining),
/// `GET /metrics` (Prometheus text) and, when `identity` is not null, the identity REST API
/// under `/v1/` (docs/admin-api.md) and the vault's under `/v1/vault/` (docs/vault.md; 404
/// vault_not_enabled when `vault` is null). Runs on the loop that owns `acceptor`.
void start_admin_server(net::asio::io_context& io, net::Acceptor& acceptor,
                        const gateway::Server& server,
                        std::shared_ptr<identity::IdentityService> identity,
                        std::shared_ptr<vault::VaultService> vault = nullptr);

}  // namespace gh::admin
