#pragma once

#include <memory>
#include <string>

#include "gateway/worker_state.h"
#include "net/asio.h"
#include "net/tls_context.h"

namespace gh::gateway {

/// One client connection, from accept to close: TLS handshake (for TLS listeners), then for each
/// request: read and check the head, route, forward to the backend over a pooled connection,
/// relay the response, log; requests that the snapshot's local handler claims are answered
/// in-process instead. Runs on the accepting worker only. `listener` is the listener's name.
net::awaitable<void> serve_plain(WorkerState* ws, net::Socket socket, std::string listener);
net::awaitable<void> serve_tls(WorkerState* ws, net::Socket socket,
                               std::shared_ptr<const net::ServerTls> tls, std::string listener);

}  // namespace gh::gateway
