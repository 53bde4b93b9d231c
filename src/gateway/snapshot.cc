#include "gateway/snapshot.h"

#include "gateway/policy_set.h"
#include "net/listen_socket.h"

namespace gh::gateway {
namespace {}  // namespace

std::string listener_key(const config::Listener& l) {
  return l.host + ":" + std::to_string(l.port);
}

Result<std::shared_ptr<const Snapshot>> compile_snapshot(
    config::ProxyConfig config, uint64_t generation, std::shared_ptr<http::LocalHandler> local,
    std::shared_ptr<policy::Services> services) {
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
      return unexpected(tls.error().with_context(l.where.prefix() + "listener '" + l.name + "'"));
    snap->listener_tls[listener_key(l)] = std::move(*tls);
  }
  std::vector<std::string> ids;
  for (const auto& b : config.backends) {
    GH_TRY(auto target, make_backend_target(b));
    ids.push_back(b.id);
    snap->backends.push_back(std::move(target));
  }
  GH_TRY(auto routes, RouteTable::build(config.apis, ids));
  snap->routes = std::move(routes);
  if (!services) services = make_policy_services(core::SystemClock::instance(), config);
  GH_TRY(snap->policies, compile_policy_set(config, std::move(services), snap->backends));
  snap->config = std::move(config);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace gh::gateway
