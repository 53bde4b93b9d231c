#pragma once

#include "gateway/server.h"
#include "net/asio.h"

namespace gh::admin {

/// Serves the admin listener: `GET /healthz` (200 `{"status":"ok"}`, 503 while draining) and
/// `GET /metrics` (Prometheus text). Runs on the loop that owns `acceptor`.
void start_admin_server(net::asio::io_context& io, net::Acceptor& acceptor,
                        const gateway::Server& server);

}  // namespace gh::admin
