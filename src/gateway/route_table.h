#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/proxy_config.h"
#include "core/result.h"

namespace gh::gateway {

/// An operation's URL template split into segments: a literal, or a `{name}` that matches one
/// non-empty segment.
struct CompiledOperation {
  size_t index = 0;  // position in the API's configured operations
  std::string name;
  std::string method;  // upper-case or "*"
  std::vector<std::string> segments;
  std::vector<bool> is_param;
};

struct Route {
  size_t api_index = 0;  // position in the configured apis
  std::string api_name;
  std::string path;  // "" matches everything
  std::string host;  // lower-case; empty: any
  size_t backend_index = 0;
  bool strip_path = false;
  std::vector<CompiledOperation> operations;  // empty: everything under the path
};

struct RouteMatch {
  const Route* route = nullptr;
  const CompiledOperation* operation = nullptr;
};

/// APIs and operations compiled once per configuration; matching allocates nothing.
class RouteTable {
 public:
  /// `backend_index_of` maps an API's backend id to its index in the compiled backend list.
  static Result<RouteTable> build(const std::vector<config::Api>& apis,
                                  const std::vector<std::string>& backend_ids);

  /// Longest path prefix on a segment boundary, among APIs whose host matches (port ignored,
  /// case-insensitive); then the first operation whose method and template match. `path` has no
  /// query. No route, or a route whose operations all fail to match, gives a null route.
  RouteMatch match(std::string_view host, std::string_view path, std::string_view method) const;

  size_t size() const noexcept { return routes_.size(); }

 private:
  std::vector<Route> routes_;  // sorted by path length, longest first
};

/// The `{name}` values of a matched operation (policies' context.Request.MatchedParameters):
/// appends (name, segment) pairs for `path` (no query) under `route`. Views into both.
void matched_parameters(const Route& route, const CompiledOperation& op, std::string_view path,
                        std::vector<std::pair<std::string_view, std::string_view>>& out);

/// The path without the query (everything before '?').
inline std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace gh::gateway
