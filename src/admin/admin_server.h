#pragma once

#include <memory>

#include "gateway/server.h"
#include "net/asio.h"

namespace gh::identity {
class IdentityService;
}

namespace gh::admin {

/// Serves the admin listener: `GET /healthz` (200 `{"status":"ok"}`, 503 while draining),
/// `GET /metrics` (Prometheus text) and, when `identity` is not null, the identity REST API
/// under `/v1/` (docs/admin-api.md). Runs on the loop that owns `acceptor`.
void start_admin_server(net::asio::io_context& io, net::Acceptor& acceptor,
                        const gateway::Server& server,
                        std::shared_ptr<identity::IdentityService> identity);

}  // namespace gh::admin
