#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/proxy_config.h"
#include "core/result.h"
#include "gateway/policy_set.h"
#include "gateway/route_table.h"
#include "http/backend_pool.h"
#include "http/head_scanner.h"
#include "http/local_handler.h"
#include "net/tls_context.h"

namespace gh::gateway {

/// Everything the request path reads, compiled from one configuration: immutable, shared by all
/// workers through shared_ptr<const Snapshot>, replaced whole on reload (style rule 6).
struct Snapshot {
  uint64_t generation = 0;
  config::ProxyConfig config;
  RouteTable routes;
  std::vector<std::shared_ptr<const http::BackendTarget>> backends;
  std::map<std::string, std::shared_ptr<const net::ServerTls>> listener_tls;  // by listener_key
  http::HeadLimits head_limits;
  std::map<std::string, std::string> listener_names;  // listener_key -> configured name
  /// Endpoints answered in-process (the identity role), asked before API routing; may be null.
  /// Built once at start and carried across reloads.
  std::shared_ptr<http::LocalHandler> local;
  /// Policies, subscriptions and certificate entities (never null once compiled).
  std::shared_ptr<const PolicySet> policies;
};

/// "host:port" identity of a listener: reload keeps a socket open when its key is unchanged.
std::string listener_key(const config::Listener& l);

/// Loads certificates, resolves backend addresses and compiles routes. Fails naming the part of
/// the configuration that is wrong; nothing is half-applied.
Result<std::shared_ptr<const Snapshot>> compile_snapshot(
    config::ProxyConfig config, uint64_t generation,
    std::shared_ptr<http::LocalHandler> local = nullptr,
    std::shared_ptr<policy::Services> services = nullptr);

}  // namespace gh::gateway
