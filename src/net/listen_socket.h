#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "net/asio.h"

namespace gh::net {

/// Resolves a numeric or named host (IPv6 with or without brackets) and a port to every address
/// it has, in resolver order. Blocking: for start-up and reload, never the request path.
Result<std::vector<tcp::endpoint>> resolve_endpoints(const std::string& host, uint16_t port);

/// The first of resolve_endpoints (what a listener binds).
Result<tcp::endpoint> resolve_endpoint(const std::string& host, uint16_t port);

/// Opens an acceptor bound to `endpoint` with SO_REUSEADDR and SO_REUSEPORT, so that every worker
/// has its own acceptor on the same address and the kernel spreads connections between them.
Result<void> open_acceptor(Acceptor& acceptor, const tcp::endpoint& endpoint, int backlog = 1024);

}  // namespace gh::net
