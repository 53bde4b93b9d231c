#include "gateway/snapshot.h"

#include "net/listen_socket.h"

namespace gh::gateway {
namespace {

std::string where(const config::SourceLocation& loc) {
  if (loc.file.empty()) return {};
  return loc.file + ":" + std::to_string(loc.line) + ": ";
}

}  // namespace

std::string listener_key(const config::Listener& l) {
  return l.host + ":" + std::to_string(l.port);
}

Result<std::shared_ptr<const Snapshot>> compile_snapshot(
    config::ProxyConfig config, uint64_t generation, std::shared_ptr<http::LocalHandler> local) {
  auto snap = std::make_shared<Snapshot>();
  snap->generation = generation;
  snap->local = std::move(local);
  for (const auto& l : config.listeners)
    snap->listener_names[listener_key(l)] = l.name;
  snap->head_limits = {config.limits.max_header_bytes, config.limits.max_header_count,
                       config.limits.max_uri_length};
  for (const auto& l : config.listeners) {
    if (!l.tls) continue;
    auto tls = net::ServerTls::create(*l.tls);
    if (!tls)
      return unexpected(tls.error().with_context(where(l.where) + "listener '" + l.name + "'"));
    snap->listener_tls[listener_key(l)] = std::move(*tls);
  }
  std::vector<std::string> ids;
  for (const auto& b : config.backends) {
    auto target = std::make_shared<http::BackendTarget>();
    target->id = b.id;
    target->tls = b.scheme == "https";
    uint16_t default_port = target->tls ? 443 : 80;
    // IPv6 literals are stored without brackets; Host needs them (RFC 9110 §7.2).
    std::string host = b.host.find(':') != std::string::npos ? "[" + b.host + "]" : b.host;
    target->host_header = b.port == default_port ? host : host + ":" + std::to_string(b.port);
    target->base_path = b.base_path;
    target->max_idle = b.max_idle_connections;
    auto eps = net::resolve_endpoints(b.host, b.port);
    if (!eps)
      return unexpected(eps.error().with_context(where(b.where) + "backend '" + b.id + "'"));
    target->endpoints = std::move(*eps);
    if (target->tls) {
      auto tls = net::BackendTls::create(b.tls, b.host);
      if (!tls)
        return unexpected(tls.error().with_context(where(b.where) + "backend '" + b.id + "'"));
      target->tls_context = std::move(*tls);
    }
    ids.push_back(b.id);
    snap->backends.push_back(std::move(target));
  }
  GH_TRY(auto routes, RouteTable::build(config.apis, ids));
  snap->routes = std::move(routes);
  snap->config = std::move(config);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace gh::gateway
