#include "core/references.h"

#include <algorithm>
#include <map>
#include <mutex>

namespace gh::core {
namespace {

struct Registry {
  std::mutex mutex;  // start-up registration and load-time reads only: never the request path
  std::map<std::string, std::shared_ptr<ReferenceResolver>, std::less<>> resolvers;
  std::map<std::string, std::string, std::less<>> last_stamps;
};

Registry& registry() {
  static Registry r;
  return r;
}

// Splits "scheme:rest"; empty scheme when `path` is not a reference.
std::pair<std::string_view, std::string_view> split(std::string_view path) noexcept {
  if (!is_reference(path)) return {};
  const size_t colon = path.find(':');
  return {path.substr(0, colon), path.substr(colon + 1)};
}

std::shared_ptr<ReferenceResolver> resolver_for(std::string_view scheme) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.resolvers.find(scheme);
  return it == r.resolvers.end() ? nullptr : it->second;
}

}  // namespace

bool is_reference(std::string_view path) noexcept {
  const size_t colon = path.find(':');
  if (colon == std::string_view::npos || colon < 2) return false;
  for (size_t i = 0; i < colon; ++i)
    if (path[i] < 'a' || path[i] > 'z') return false;
  // "scheme://" is a URL, not a reference.
  return path.substr(colon + 1, 2) != "//";
}

void register_resolver(std::string scheme, std::shared_ptr<ReferenceResolver> resolver) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (resolver)
    r.resolvers[std::move(scheme)] = std::move(resolver);
  else
    r.resolvers.erase(scheme);
}

bool has_resolver(std::string_view scheme) {
  return resolver_for(scheme) != nullptr;
}

Result<std::string> read_reference(std::string_view path) {
  auto [scheme, rest] = split(path);
  if (scheme.empty())
    return unexpected(ErrorKind::InvalidArgument,
                      "'" + std::string(path) + "' is not a reference (scheme:name)");
  auto resolver = resolver_for(scheme);
  if (!resolver)
    return unexpected(ErrorKind::NotFound, "'" + std::string(path) + "' needs the " +
                                               std::string(scheme) +
                                               " role, which this configuration does not enable");
  auto stamp = resolver->stamp(rest);
  auto value = resolver->read(rest);
  if (!value) return unexpected(value.error().with_context(std::string(path)));
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.last_stamps[std::string(path)] = std::move(stamp);
  return value;
}

std::string reference_stamp(std::string_view path) {
  auto [scheme, rest] = split(path);
  if (scheme.empty()) return {};
  auto resolver = resolver_for(scheme);
  return resolver ? resolver->stamp(rest) : std::string{};
}

std::vector<std::pair<std::string, std::string>> resolved_references() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return {r.last_stamps.begin(), r.last_stamps.end()};
}

}  // namespace gh::core
