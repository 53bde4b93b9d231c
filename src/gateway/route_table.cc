#include "gateway/route_table.h"

#include <algorithm>

#include "core/strings.h"

namespace gh::gateway {
namespace {

Result<CompiledOperation> compile_operation(const config::Operation& op) {
  CompiledOperation c;
  c.name = op.name;
  c.method = op.method;
  std::string_view t = op.url_template;
  if (t.empty() || t.front() != '/') {
    return unexpected(
        ErrorKind::InvalidArgument,
        op.where.file + ":" + std::to_string(op.where.line) + ": url_template must start with '/'");
  }
  t.remove_prefix(1);
  while (true) {
    size_t slash = t.find('/');
    std::string_view seg = t.substr(0, slash);
    bool param = seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
    c.segments.emplace_back(param ? seg.substr(1, seg.size() - 2) : seg);
    c.is_param.push_back(param);
    if (slash == std::string_view::npos) break;
    t.remove_prefix(slash + 1);
  }
  return c;
}

bool operation_matches(const CompiledOperation& op, std::string_view rest,
                       std::string_view method) {
  if (op.method != "*" && op.method != method) return false;
  if (rest.empty()) rest = "/";
  if (rest.front() != '/') return false;
  rest.remove_prefix(1);
  for (size_t i = 0; i < op.segments.size(); ++i) {
    size_t slash = rest.find('/');
    bool last = i + 1 == op.segments.size();
    if (last != (slash == std::string_view::npos)) return false;
    std::string_view seg = rest.substr(0, slash);
    if (op.is_param[i]) {
      if (seg.empty()) return false;
    } else if (seg != op.segments[i]) {
      return false;
    }
    if (!last) rest.remove_prefix(slash + 1);
  }
  return true;
}

std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

}  // namespace

Result<RouteTable> RouteTable::build(const std::vector<config::Api>& apis,
                                     const std::vector<std::string>& backend_ids) {
  RouteTable table;
  for (const auto& api : apis) {
    Route r;
    r.api_index = static_cast<size_t>(&api - apis.data());
    r.api_name = api.name;
    r.path = api.path == "/" ? "" : api.path;
    r.host = core::to_lower(api.host);
    r.strip_path = api.strip_path;
    auto it = std::find(backend_ids.begin(), backend_ids.end(), api.backend_id);
    if (it == backend_ids.end()) {
      return unexpected(ErrorKind::InvalidArgument,
                        "api '" + api.name + "' names unknown backend '" + api.backend_id + "'");
    }
    r.backend_index = static_cast<size_t>(it - backend_ids.begin());
    for (const auto& op : api.operations) {
      GH_TRY(auto compiled, compile_operation(op));
      compiled.index = r.operations.size();
      r.operations.push_back(std::move(compiled));
    }
    table.routes_.push_back(std::move(r));
  }
  // Longest prefix first; among equal prefixes, host-specific routes before host-less ones.
  std::stable_sort(table.routes_.begin(), table.routes_.end(), [](const Route& a, const Route& b) {
    if (a.path.size() != b.path.size()) return a.path.size() > b.path.size();
    return !a.host.empty() && b.host.empty();
  });
  return table;
}

void matched_parameters(const Route& route, const CompiledOperation& op, std::string_view path,
                        std::vector<std::pair<std::string_view, std::string_view>>& out) {
  std::string_view rest = path.substr(std::min(route.path.size(), path.size()));
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  for (size_t i = 0; i < op.segments.size(); ++i) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (op.is_param[i]) out.emplace_back(op.segments[i], seg);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
}

RouteMatch RouteTable::match(std::string_view host, std::string_view path,
                             std::string_view method) const {
  std::string_view bare_host = host_without_port(host);
  for (const auto& r : routes_) {
    if (!r.host.empty() && !core::iequals(r.host, bare_host)) continue;
    if (path.size() < r.path.size() || path.substr(0, r.path.size()) != r.path) continue;
    if (path.size() > r.path.size() && path[r.path.size()] != '/' && !r.path.empty()) continue;
    if (r.operations.empty()) return {&r, nullptr};
    std::string_view rest = path.substr(r.path.size());
    for (const auto& op : r.operations) {
      if (operation_matches(op, rest, method)) return {&r, &op};
    }
    // The longest matching API owns the path: an unmatched operation is a 404, not a fallthrough.
    return {};
  }
  return {};
}

}  // namespace gh::gateway
