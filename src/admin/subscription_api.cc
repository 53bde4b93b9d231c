#include "admin/subscription_api.h"

#include <boost/json.hpp>
#include <cstring>
#include <exception>
#include <new>

#include "config/value_parsers.h"
#include "crypto/digest.h"
#include "crypto/random.h"

namespace gh::admin {
namespace {

namespace json = boost::json;

constexpr std::string_view kStates[] = {"active",   "suspended", "submitted",
                                        "rejected", "cancelled", "expired"};
constexpr size_t kMaxKeyLength = 256;  // APIM's limit
constexpr size_t kMaxNameLength = 100;
constexpr size_t kHintLength = 3;

bool known_state(std::string_view s) {
  for (auto k : kStates)
    if (k == s) return true;
  return false;
}

std::vector<uint8_t> digest_bytes(std::string_view key) {
  const crypto::Sha256Digest d = crypto::sha256(key);
  return {d.begin(), d.end()};
}

store::SubscriptionKeyRecord key_record(std::string_view key, int64_t now) {
  return {digest_bytes(key), std::string(key.substr(0, kHintLength)), now};
}

/// APIM's generated keys are 32 hexadecimal digits (128 random bits).
std::string new_key() {
  return crypto::random_hex(16);
}

Status check_key(std::string_view field, std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyLength) {
    return bad_request("field '" + std::string(field) + "' must hold 1 to 256 characters");
  }
  for (char c : key) {
    // A key travels in a header or a query parameter: visible ASCII only.
    if (c < 0x21 || c > 0x7e) {
      return bad_request("field '" + std::string(field) +
                         "' may hold only visible ASCII characters (no spaces)");
    }
  }
  return {};
}

json::object key_json(const store::SubscriptionKeyRecord& k) {
  return {{"hint", k.hint}, {"changed_at", time_value(k.changed_at)}};
}

json::object managed_json(const store::SubscriptionRecord& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"scope", r.scope},
          {"state", r.state},
          {"source", "admin"},
          {"created_at", time_value(r.created_at)},
          {"updated_at", time_value(r.updated_at)},
          {"keys",
           json::object{{"primary", key_json(r.primary)}, {"secondary", key_json(r.secondary)}}}};
}

json::object declared_json(const policy::SubscriptionInfo& s, bool active) {
  // A declared subscription's state is only known as active or not; its keys are in the file.
  return {{"id", s.id},
          {"name", s.name},
          {"scope", s.scope},
          {"state", active ? "active" : "inactive"},
          {"source", "config"},
          {"created_at", time_value(s.created_unix)},
          {"updated_at", nullptr},
          {"keys", nullptr}};
}

const policy::SubscriptionInfo* find_declared(const policy::SubscriptionRegistry* declared,
                                              std::string_view id, bool& active) {
  if (!declared) return nullptr;
  for (const auto& [info, is_active] : declared->declared()) {
    if (info->id == id) {
      active = is_active;
      return info;
    }
  }
  return nullptr;
}

Error declared_error(std::string_view id) {
  return Error(ErrorKind::Conflict, "subscription '" + std::string(id) +
                                        "' is declared in the configuration file: change it there");
}

// One request: the store, the feed and the time.
struct Call {
  store::SubscriptionStore& store;
  policy::SubscriptionFeed& feed;
  int64_t now;
  std::shared_ptr<const policy::SubscriptionRegistry> declared;
};

Status check_scope(const Call& c, std::string_view scope) {
  if (scope == "/" || scope == "/apis") return {};
  if (scope.rfind("/apis/", 0) == 0) {
    if (c.declared && c.declared->has_api(scope.substr(6))) return {};
    return unexpected(
        ErrorKind::NotFound,
        "field 'scope': no api '" + std::string(scope.substr(6)) + "' in the configuration");
  }
  if (scope.rfind("/products/", 0) == 0) {
    if (c.declared && c.declared->has_product(scope.substr(10))) return {};
    return unexpected(
        ErrorKind::NotFound,
        "field 'scope': no product '" + std::string(scope.substr(10)) + "' in the configuration");
  }
  return bad_request("field 'scope' must be /, /apis, /apis/<api name> or /products/<product id>");
}

Status check_not_declared_key(const Call& c, std::string_view key) {
  if (c.declared && c.declared->declares_key(crypto::sha256(key))) {
    return unexpected(ErrorKind::Conflict,
                      "the key is already a key of a subscription in the configuration file");
  }
  return {};
}

Status publish(Call& c) {
  return publish_managed_subscriptions(c.store, c.feed);
}

Result<AdminResponse> list_subscriptions(Call& c) {
  GH_TRY(auto records, c.store.list());
  json::array out;
  for (const auto& r : records)
    out.emplace_back(managed_json(r));
  if (c.declared) {
    for (const auto& [info, active] : c.declared->declared())
      out.emplace_back(declared_json(*info, active));
  }
  return json_response(200, json::object{{"subscriptions", std::move(out)}});
}

Result<AdminResponse> get_subscription(Call& c, std::string_view id) {
  bool active = false;
  if (const auto* d = find_declared(c.declared.get(), id, active)) {
    return json_response(200, declared_json(*d, active));
  }
  GH_TRY(auto r, c.store.get(id));
  return json_response(200, managed_json(r));
}

Result<AdminResponse> create_subscription(Call& c, std::string_view text) {
  GH_TRY(auto body,
         Body::parse(text, {"id", "name", "scope", "state", "primary_key", "secondary_key"}));
  store::SubscriptionRecord r;
  GH_TRY(auto id, body.text("id"));
  r.id = id ? std::move(*id) : crypto::random_hex(12);
  if (auto ok = config::check_name(r.id); !ok) {
    return bad_request("field 'id': " + ok.error().message);
  }
  GH_TRY(auto name, body.text("name"));
  r.name = name ? std::move(*name) : r.id;
  if (r.name.empty() || r.name.size() > kMaxNameLength) {
    return bad_request("field 'name' must hold 1 to 100 characters");
  }
  GH_TRY(r.scope, body.required_text("scope"));
  GH_TRY_STATUS(check_scope(c, r.scope));
  GH_TRY(auto state, body.text("state"));
  r.state = state ? std::move(*state) : "active";
  if (!known_state(r.state)) {
    return bad_request(
        "field 'state' must be active, suspended, submitted, rejected, cancelled or expired");
  }
  if (c.declared && c.declared->declares_subscription(r.id)) {
    return unexpected(ErrorKind::Conflict,
                      "subscription '" + r.id + "' is declared in the configuration file");
  }
  GH_TRY(auto primary, body.text("primary_key"));
  GH_TRY(auto secondary, body.text("secondary_key"));
  const std::string primary_key = primary ? std::move(*primary) : new_key();
  const std::string secondary_key = secondary ? std::move(*secondary) : new_key();
  GH_TRY_STATUS(check_key("primary_key", primary_key));
  GH_TRY_STATUS(check_key("secondary_key", secondary_key));
  GH_TRY_STATUS(check_not_declared_key(c, primary_key));
  GH_TRY_STATUS(check_not_declared_key(c, secondary_key));
  r.created_at = r.updated_at = c.now;
  r.primary = key_record(primary_key, c.now);
  r.secondary = key_record(secondary_key, c.now);
  GH_TRY_STATUS(c.store.create(r));
  GH_TRY_STATUS(publish(c));
  json::object out = managed_json(r);
  // The only answer that carries the keys.
  out["primary_key"] = primary_key;
  out["secondary_key"] = secondary_key;
  AdminResponse res = json_response(201, out);
  res.headers.emplace_back("Location", "/v1/subscriptions/" + r.id);
  return res;
}

Result<AdminResponse> update_subscription(Call& c, std::string_view id, std::string_view text) {
  bool active = false;
  if (find_declared(c.declared.get(), id, active)) return unexpected(declared_error(id));
  GH_TRY(auto body, Body::parse(text, {"name", "state"}));
  GH_TRY(auto name, body.text("name"));
  GH_TRY(auto state, body.text("state"));
  if (name && (name->empty() || name->size() > kMaxNameLength)) {
    return bad_request("field 'name' must hold 1 to 100 characters");
  }
  if (state && !known_state(*state)) {
    return bad_request(
        "field 'state' must be active, suspended, submitted, rejected, cancelled or expired");
  }
  GH_TRY_STATUS(c.store.update(id, name, state, c.now));
  GH_TRY_STATUS(publish(c));
  GH_TRY(auto r, c.store.get(id));
  return json_response(200, managed_json(r));
}

Result<AdminResponse> delete_subscription(Call& c, std::string_view id) {
  bool active = false;
  if (find_declared(c.declared.get(), id, active)) return unexpected(declared_error(id));
  GH_TRY_STATUS(c.store.remove(id));
  GH_TRY_STATUS(publish(c));
  return no_content();
}

Result<AdminResponse> show_keys(Call& c, std::string_view id) {
  bool active = false;
  if (find_declared(c.declared.get(), id, active)) return unexpected(declared_error(id));
  GH_TRY(auto r, c.store.get(id));
  return json_response(200, json::object{{"id", r.id},
                                         {"primary", key_json(r.primary)},
                                         {"secondary", key_json(r.secondary)}});
}

Result<AdminResponse> regenerate_key(Call& c, std::string_view id, std::string_view slot_name) {
  store::KeySlot slot;
  if (slot_name == "primary") {
    slot = store::KeySlot::Primary;
  } else if (slot_name == "secondary") {
    slot = store::KeySlot::Secondary;
  } else {
    return unexpected(ErrorKind::NotFound, "no key '" + std::string(slot_name) +
                                               "': a subscription has a primary and a secondary");
  }
  bool active = false;
  if (find_declared(c.declared.get(), id, active)) return unexpected(declared_error(id));
  const std::string key = new_key();
  const auto record = key_record(key, c.now);
  GH_TRY_STATUS(c.store.replace_key(id, slot, record, c.now));
  GH_TRY_STATUS(publish(c));
  return json_response(200, json::object{{"id", std::string(id)},
                                         {"key", std::string(slot_name)},
                                         {"value", key},
                                         {"hint", record.hint},
                                         {"changed_at", time_value(record.changed_at)}});
}

Result<AdminResponse> list_products(Call& c) {
  json::array out;
  if (c.declared) {
    for (const auto& p : c.declared->products()) {
      json::array apis;
      for (auto& a : c.declared->apis_of(p->id))
        apis.emplace_back(std::move(a));
      out.emplace_back(json::object{{"id", p->id},
                                    {"name", p->name},
                                    {"subscription_required", p->subscription_required},
                                    {"apis", std::move(apis)}});
    }
  }
  return json_response(200, json::object{{"products", std::move(out)}});
}

}  // namespace

Status publish_managed_subscriptions(store::SubscriptionStore& store,
                                     policy::SubscriptionFeed& feed) {
  GH_TRY(auto records, store.list());
  std::vector<policy::ManagedSubscription> subs;
  subs.reserve(records.size());
  for (auto& r : records) {
    policy::ManagedSubscription s;
    s.id = std::move(r.id);
    s.name = std::move(r.name);
    s.scope = std::move(r.scope);
    s.active = r.state == "active";
    s.created_unix = r.created_at;
    for (const auto* k : {&r.primary, &r.secondary}) {
      crypto::Sha256Digest d{};
      if (k->digest.size() != d.size()) {
        return unexpected(ErrorKind::Internal,
                          "subscription '" + s.id + "': a stored key digest is not 32 bytes");
      }
      std::memcpy(d.data(), k->digest.data(), d.size());
      s.keys.push_back(d);
    }
    subs.push_back(std::move(s));
  }
  feed.publish(std::make_shared<const policy::ManagedSubscriptionTable>(std::move(subs)));
  return {};
}

bool SubscriptionApi::serves(std::string_view path) noexcept {
  for (std::string_view root : {"/v1/subscriptions", "/v1/products"}) {
    if (path.rfind(root, 0) == 0 && (path.size() == root.size() || path[root.size()] == '/')) {
      return true;
    }
  }
  return false;
}

AdminResponse SubscriptionApi::handle(const AdminRequest& request) noexcept {
  try {
    return dispatch(request);
  } catch (const std::bad_alloc&) {
    std::terminate();  // out of memory is fatal (style rule 4)
  } catch (const std::exception& e) {
    return error_response(500, "internal", std::string("unexpected error: ") + e.what());
  }
}

AdminResponse SubscriptionApi::dispatch(const AdminRequest& request) {
  const std::string_view path = request.target.substr(0, request.target.find('?'));
  auto segments = path_segments(path, "/v1/");
  if (!segments) return from_error(segments.error());
  const auto& s = *segments;
  const std::string_view m = request.method;
  Call c{store_, feed_, clock_.now_unix(), feed_.declared()};
  const auto answer = [](Result<AdminResponse> r) {
    return r ? std::move(*r) : from_error(r.error());
  };

  if (s.size() == 1 && s[0] == "products") {
    if (m == "GET") return answer(list_products(c));
    return method_not_allowed("GET");
  }
  if (s.empty() || s[0] != "subscriptions") {
    return error_response(404, "not_found", "no admin resource at " + std::string(path));
  }
  if (s.size() == 1) {
    if (m == "GET") return answer(list_subscriptions(c));
    if (m == "POST") return answer(create_subscription(c, request.body));
    return method_not_allowed("GET, POST");
  }
  if (s.size() == 2) {
    if (m == "GET") return answer(get_subscription(c, s[1]));
    if (m == "PATCH") return answer(update_subscription(c, s[1], request.body));
    if (m == "DELETE") return answer(delete_subscription(c, s[1]));
    return method_not_allowed("GET, PATCH, DELETE");
  }
  if (s.size() == 3 && s[2] == "keys") {
    if (m == "GET") return answer(show_keys(c, s[1]));
    return method_not_allowed("GET");
  }
  if (s.size() == 5 && s[2] == "keys" && s[4] == "regenerate") {
    if (m == "POST") return answer(regenerate_key(c, s[1], s[3]));
    return method_not_allowed("POST");
  }
  return error_response(404, "not_found", "no admin resource at " + std::string(path));
}

}  // namespace gh::admin
