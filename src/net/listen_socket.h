#pragma once

#include <string>

#include "core/result.h"
#include "net/asio.h"

namespace gh::net {

/// Resolves a numeric or named host and a port to one endpoint (the first address).
Result<tcp::endpoint> resolve_endpoint(const std::string& host, uint16_t port);

/// Opens an acceptor bound to `endpoint` with SO_REUSEADDR and SO_REUSEPORT, so that every worker
/// has its own acceptor on the same address and the kernel spreads connections between them.
Result<void> open_acceptor(Acceptor& acceptor, const tcp::endpoint& endpoint, int backlog = 1024);

}  // namespace gh::net
