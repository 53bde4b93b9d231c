#include "admin/identity_api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <exception>
#include <initializer_list>
#include <new>
#include <optional>

#include "config/value_parsers.h"
#include "core/encoding.h"
#include "core/json_escape.h"
#include "core/strings.h"
#include "jose/json.h"
#include "jose/jws_alg.h"
#include "jose/jwt.h"

namespace gh::admin {
namespace {

namespace json = boost::json;
using identity::Application;
using identity::DirectoryView;
using identity::Tenant;

constexpr int64_t kDay = 86400;
constexpr std::chrono::hours kMaxWindow{24 * 3650};
constexpr std::chrono::hours kMinSecretLifetime{1};
constexpr std::chrono::hours kMaxSecretLifetime{24 * 3650};
constexpr int64_t kDefaultSecretLifetime = 180 * kDay;
constexpr std::string_view kDefaultWithin = "30d";
constexpr std::string_view kDefaultAudience = "api://AzureADTokenExchange";

Status check_guid_field(std::string_view field, std::string& value) {
  auto guid = config::normalize_guid(value);
  if (!guid) return bad_request("field '" + std::string(field) + "': " + guid.error().message);
  value = std::move(*guid);
  return {};
}

Result<int> token_version(const Body& body) {
  GH_TRY(auto v, body.integer("access_token_version"));
  if (!v) return 0;
  if (*v != 1 && *v != 2) return bad_request("field 'access_token_version' must be 1 or 2");
  return static_cast<int>(*v);
}

// ----- resources as JSON (never a secret hash, never a private key) -----

json::array string_array(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values)
    out.emplace_back(v);
  return out;
}

json::object tenant_json(const Tenant& t) {
  return {{"id", t.id},
          {"display_name", t.display_name},
          {"aliases", string_array(t.aliases)},
          {"created_at", time_value(t.created_at)}};
}

json::object role_json(const identity::AppRole& r) {
  return {{"id", r.id},
          {"value", r.value},
          {"display_name", r.display_name},
          {"description", r.description},
          {"enabled", r.enabled},
          {"allow_applications", r.allow_applications}};
}

json::object certificate_json(const identity::KeyCredential& c) {
  return {{"key_id", c.key_id},
          {"display_name", c.display_name},
          {"thumbprint", core::hex_encode_upper(c.thumbprint_sha1)},
          {"thumbprint_sha256", core::hex_encode_upper(c.thumbprint_sha256)},
          {"x5t", core::base64url_encode(c.thumbprint_sha1)},
          {"start", time_value(c.start)},
          {"end", time_value(c.end)}};
}

json::object secret_json(const identity::PasswordCredential& s) {
  return {{"key_id", s.key_id},
          {"display_name", s.display_name},
          {"hint", s.hint},
          {"start", time_value(s.start)},
          {"end", time_value(s.end)}};
}

json::object federated_json(const identity::FederatedCredential& f) {
  return {{"id", f.id},           {"name", f.name},         {"issuer", f.issuer},
          {"subject", f.subject}, {"audience", f.audience}, {"description", f.description}};
}

json::object assignment_json(const DirectoryView& view, const identity::RoleAssignment& a) {
  std::string role_value;
  if (const Application* resource = view.application(a.tenant_id, a.resource_id)) {
    for (const auto& r : resource->roles)
      if (r.id == a.role_id) role_value = r.value;
  }
  return {{"id", a.id},
          {"tenant_id", a.tenant_id},
          {"client_id", a.client_id},
          {"resource", a.resource_id},
          {"role_id", a.role_id},
          {"role", role_value},
          {"created_at", time_value(a.created_at)}};
}

json::object application_json(const DirectoryView& view, const Application& app) {
  json::array roles, certificates, secrets, federated, assignments;
  for (const auto& r : app.roles)
    roles.emplace_back(role_json(r));
  for (const auto& c : app.certificates)
    certificates.emplace_back(certificate_json(c));
  for (const auto& s : app.secrets)
    secrets.emplace_back(secret_json(s));
  for (const auto& f : app.federated)
    federated.emplace_back(federated_json(f));
  for (const auto& a : view.assignments()) {
    if (a.tenant_id == app.tenant_id && a.client_id == app.client_id) {
      assignments.emplace_back(assignment_json(view, a));
    }
  }
  return {{"client_id", app.client_id},
          {"tenant_id", app.tenant_id},
          {"object_id", app.object_id},
          {"service_principal_id", app.service_principal_id},
          {"display_name", app.display_name},
          {"identifier_uris", string_array(app.identifier_uris)},
          {"access_token_version", app.access_token_version},
          {"assignment_required", app.assignment_required},
          {"strict_assertion_replay", app.strict_assertion_replay},
          {"enabled", app.enabled},
          {"roles", std::move(roles)},
          {"certificates", std::move(certificates)},
          {"secrets", std::move(secrets)},
          {"federated", std::move(federated)},
          {"assignments", std::move(assignments)},
          {"created_at", time_value(app.created_at)}};
}

std::string_view key_state(const identity::SigningKeyInfo& k, std::string_view signer_kid,
                           int64_t now) {
  if (k.kid == signer_kid) return "signing";
  if (now < k.publish_at) return "pending";
  if (now < k.activate_at) return "next";
  if (k.retire_at != 0 && now >= k.retire_at) return "retired";
  return "published";
}

json::object key_json(const identity::SigningKeyInfo& k, std::string_view signer_kid, int64_t now) {
  return {{"kid", k.kid},
          {"alg", jose::to_string(k.alg)},
          {"state", key_state(k, signer_kid, now)},
          {"created", time_value(k.created)},
          {"publish", time_value(k.publish_at)},
          {"activate", time_value(k.activate_at)},
          {"retire", time_value(k.retire_at)},
          {"remove", time_value(k.remove_at)}};
}

// Whole days from `now` until `end`, rounded down (negative once expired).
int64_t days_left(int64_t end, int64_t now) {
  const int64_t diff = end - now;
  return diff >= 0 ? diff / kDay : -((-diff + kDay - 1) / kDay);
}

}  // namespace

// ----- routing -----

// One parsed request: path segments after /v1/, decoded.
struct IdentityApi::Route {
  std::vector<std::string> segments;
  std::string_view method;
  std::string_view query;
  std::string_view body;

  size_t size() const { return segments.size(); }
  bool is(std::initializer_list<std::string_view> pattern) const {
    // "*" matches any one segment.
    if (pattern.size() != segments.size()) return false;
    size_t i = 0;
    for (const std::string_view p : pattern) {
      if (p != "*" && p != segments[i]) return false;
      ++i;
    }
    return true;
  }
};

namespace {

struct Context {
  identity::Directory& directory;
  identity::KeyRing& keys;
  const core::Clock& clock;
};

Result<const Tenant*> find_tenant(const DirectoryView& view, std::string_view id) {
  const Tenant* t = view.tenant(id);
  if (!t) return unexpected(ErrorKind::NotFound, "tenant '" + std::string(id) + "' not found");
  return t;
}

Result<const Application*> find_application(const DirectoryView& view, const Tenant& tenant,
                                            std::string_view client_id) {
  const Application* app = view.application(tenant.id, client_id);
  if (!app) {
    return unexpected(ErrorKind::NotFound, "application '" + std::string(client_id) +
                                               "' not found in tenant '" + tenant.id + "'");
  }
  return app;
}

// ----- handlers: each returns the response, or an Error mapped by from_error -----

Result<AdminResponse> list_tenants(Context& c) {
  const auto view = c.directory.view();
  json::array out;
  for (const auto& t : view->tenants())
    out.emplace_back(tenant_json(t));
  return json_response(200, json::object{{"tenants", std::move(out)}});
}

Result<AdminResponse> create_tenant(Context& c, std::string_view text) {
  GH_TRY(Body body, Body::parse(text, {"display_name", "id", "aliases"}));
  GH_TRY(std::string name, body.required_text("display_name"));
  GH_TRY(auto id, body.text("id"));
  if (id) GH_TRY_STATUS(check_guid_field("id", *id));
  GH_TRY(auto aliases, body.texts("aliases"));
  GH_TRY(Tenant t, c.directory.create_tenant(std::move(name), id.value_or(""),
                                             aliases.value_or(std::vector<std::string>{})));
  return json_response(201, tenant_json(t));
}

Result<AdminResponse> get_tenant(Context& c, std::string_view tid) {
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  return json_response(200, tenant_json(*t));
}

Result<AdminResponse> list_applications(Context& c, std::string_view tid) {
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  json::array out;
  for (const auto& app : view->applications()) {
    if (app.tenant_id == t->id) out.emplace_back(application_json(*view, app));
  }
  return json_response(200, json::object{{"applications", std::move(out)}});
}

Result<AdminResponse> create_application(Context& c, std::string_view tid, std::string_view text) {
  GH_TRY(Body body,
         Body::parse(text, {"display_name", "client_id", "identifier_uris", "access_token_version",
                            "assignment_required", "strict_assertion_replay"}));
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  identity::NewApplication spec;
  spec.tenant_id = t->id;
  GH_TRY(spec.display_name, body.required_text("display_name"));
  GH_TRY(auto client_id, body.text("client_id"));
  if (client_id) {
    GH_TRY_STATUS(check_guid_field("client_id", *client_id));
    spec.client_id = std::move(*client_id);
  }
  GH_TRY(auto uris, body.texts("identifier_uris"));
  if (uris) spec.identifier_uris = std::move(*uris);
  GH_TRY(const int version, token_version(body));
  if (version != 0) spec.access_token_version = version;
  GH_TRY(auto required, body.flag("assignment_required"));
  spec.assignment_required = required.value_or(false);
  GH_TRY(auto strict, body.flag("strict_assertion_replay"));
  spec.strict_assertion_replay = strict.value_or(false);
  GH_TRY(Application app, c.directory.create_application(std::move(spec)));
  const auto after = c.directory.view();
  const Application* stored = after->application(app.tenant_id, app.client_id);
  return json_response(201, application_json(*after, stored ? *stored : app));
}

Result<AdminResponse> get_application(Context& c, std::string_view tid, std::string_view cid) {
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* app, find_application(*view, *t, cid));
  return json_response(200, application_json(*view, *app));
}

Result<AdminResponse> update_application(Context& c, std::string_view tid, std::string_view cid,
                                         std::string_view text) {
  GH_TRY(Body body,
         Body::parse(text, {"display_name", "identifier_uris", "access_token_version",
                            "assignment_required", "strict_assertion_replay", "enabled"}));
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* current, find_application(*view, *t, cid));
  Application app = *current;
  GH_TRY(auto name, body.text("display_name"));
  if (name) {
    if (name->empty()) return bad_request("field 'display_name' must not be empty");
    app.display_name = std::move(*name);
  }
  GH_TRY(auto uris, body.texts("identifier_uris"));
  if (uris) app.identifier_uris = std::move(*uris);
  GH_TRY(const int version, token_version(body));
  if (version != 0) app.access_token_version = version;
  GH_TRY(auto required, body.flag("assignment_required"));
  if (required) app.assignment_required = *required;
  GH_TRY(auto strict, body.flag("strict_assertion_replay"));
  if (strict) app.strict_assertion_replay = *strict;
  GH_TRY(auto enabled, body.flag("enabled"));
  if (enabled) app.enabled = *enabled;
  GH_TRY_STATUS(c.directory.update_application(app));
  const auto after = c.directory.view();
  const Application* stored = after->application(app.tenant_id, app.client_id);
  return json_response(200, application_json(*after, stored ? *stored : app));
}

Result<AdminResponse> delete_application(Context& c, std::string_view tid, std::string_view cid) {
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* app, find_application(*view, *t, cid));
  GH_TRY_STATUS(c.directory.delete_application(t->id, app->client_id));
  return no_content();
}

// Body: PEM (or DER) text as is, or {"certificate": PEM, "display_name": ...}; a raw body may
// name the credential with ?display_name=.
Result<AdminResponse> add_certificate(Context& c, std::string_view tid, std::string_view cid,
                                      std::string_view query, std::string_view text) {
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* app, find_application(*view, *t, cid));
  std::string certificate;
  std::string display_name;
  const std::string_view trimmed = core::trim_ows(text);
  if (!trimmed.empty() && trimmed.front() == '{') {
    GH_TRY(Body body, Body::parse(text, {"certificate", "display_name"}));
    GH_TRY(certificate, body.required_text("certificate"));
    GH_TRY(auto name, body.text("display_name"));
    display_name = name.value_or("");
  } else {
    if (trimmed.empty()) return bad_request("the body must be a PEM certificate");
    certificate = std::string(text);
    GH_TRY(auto name, query_param(query, "display_name"));
    display_name = name.value_or("");
  }
  GH_TRY(identity::KeyCredential cred,
         c.directory.add_certificate(t->id, app->client_id, certificate, std::move(display_name)));
  return json_response(201, certificate_json(cred));
}

Result<AdminResponse> remove_certificate(Context& c, std::string_view tid, std::string_view cid,
                                         std::string_view id) {
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* app, find_application(*view, *t, cid));
  GH_TRY_STATUS(c.directory.remove_certificate(t->id, app->client_id, id));
  return no_content();
}

Result<AdminResponse> add_secret(Context& c, std::string_view tid, std::string_view cid,
                                 std::string_view text) {
  GH_TRY(Body body, Body::parse(text, {"display_name", "lifetime"}));
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* app, find_application(*view, *t, cid));
  GH_TRY(auto name, body.text("display_name"));
  GH_TRY(auto lifetime_text, body.text("lifetime"));
  int64_t lifetime = kDefaultSecretLifetime;
  if (lifetime_text) {
    auto d = config::parse_duration(*lifetime_text, kMaxSecretLifetime);
    if (!d) return bad_request("field 'lifetime': " + d.error().message);
    if (*d < kMinSecretLifetime) return bad_request("field 'lifetime': must be at least 1h");
    lifetime = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
  }
  GH_TRY(identity::CreatedSecret created,
         c.directory.add_secret(t->id, app->client_id, name.value_or(""), lifetime));
  json::object out = secret_json(created.credential);
  out["secret_text"] = created.value;
  AdminResponse r = json_response(201, out);
  // The one response that carries a secret: no cache may keep it.
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Result<AdminResponse> remove_secret(Context& c, std::string_view tid, std::string_view cid,
                                    std::string_view key_id) {
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* app, find_application(*view, *t, cid));
  GH_TRY_STATUS(c.directory.remove_secret(t->id, app->client_id, key_id));
  return no_content();
}

Result<AdminResponse> add_role(Context& c, std::string_view tid, std::string_view cid,
                               std::string_view text) {
  GH_TRY(Body body, Body::parse(text, {"value", "display_name", "description"}));
  GH_TRY(std::string value, body.required_text("value"));
  if (value.find(' ') != std::string::npos) {
    return bad_request(
        "field 'value' must not contain spaces (it is what the roles claim carries)");
  }
  GH_TRY(auto name, body.text("display_name"));
  GH_TRY(auto description, body.text("description"));
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* app, find_application(*view, *t, cid));
  GH_TRY(identity::AppRole role, c.directory.add_role(t->id, app->client_id, std::move(value),
                                                      name.value_or(""), description.value_or("")));
  return json_response(201, role_json(role));
}

Result<AdminResponse> assign_role(Context& c, std::string_view tid, std::string_view cid,
                                  std::string_view text) {
  GH_TRY(Body body, Body::parse(text, {"resource", "role"}));
  GH_TRY(std::string resource, body.required_text("resource"));
  GH_TRY(std::string role, body.required_text("role"));
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* app, find_application(*view, *t, cid));
  GH_TRY(identity::RoleAssignment a,
         c.directory.assign_role(t->id, app->client_id, resource, role));
  return json_response(201, assignment_json(*c.directory.view(), a));
}

Result<AdminResponse> unassign_role(Context& c, std::string_view tid, std::string_view id) {
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY_STATUS(c.directory.unassign_role(t->id, id));
  return no_content();
}

Result<AdminResponse> add_federated(Context& c, std::string_view tid, std::string_view cid,
                                    std::string_view text) {
  GH_TRY(Body body, Body::parse(text, {"name", "issuer", "subject", "audience", "description"}));
  identity::FederatedCredential fic;
  GH_TRY(fic.name, body.required_text("name"));
  GH_TRY(fic.issuer, body.required_text("issuer"));
  GH_TRY(fic.subject, body.required_text("subject"));
  GH_TRY(auto audience, body.text("audience"));
  fic.audience =
      audience && !audience->empty() ? std::move(*audience) : std::string(kDefaultAudience);
  GH_TRY(auto description, body.text("description"));
  fic.description = description.value_or("");
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* app, find_application(*view, *t, cid));
  GH_TRY(identity::FederatedCredential stored,
         c.directory.add_federated(t->id, app->client_id, std::move(fic)));
  return json_response(201, federated_json(stored));
}

Result<AdminResponse> remove_federated(Context& c, std::string_view tid, std::string_view cid,
                                       std::string_view name) {
  const auto view = c.directory.view();
  GH_TRY(const Tenant* t, find_tenant(*view, tid));
  GH_TRY(const Application* app, find_application(*view, *t, cid));
  GH_TRY_STATUS(c.directory.remove_federated(t->id, app->client_id, name));
  return no_content();
}

Result<AdminResponse> list_keys(Context& c) {
  const auto set = c.keys.current();
  json::array out;
  if (set) {
    const identity::SigningKeyInfo* signer = set->signer_info();
    const std::string_view signer_kid = signer ? std::string_view(signer->kid) : "";
    const int64_t now = c.clock.now_unix();
    for (const auto& k : set->keys())
      out.emplace_back(key_json(k, signer_kid, now));
  }
  return json_response(200, json::object{{"keys", std::move(out)}});
}

Result<AdminResponse> rotate_keys(Context& c, std::string_view text) {
  GH_TRY(Body body, Body::parse(text, {"emergency"}));
  GH_TRY(auto emergency, body.flag("emergency"));
  GH_TRY(identity::SigningKeyInfo info, c.keys.rotate_now(emergency.value_or(false)));
  return json_response(201, key_json(info, info.kid, c.clock.now_unix()));
}

struct Expiring {
  const Tenant* tenant;
  const Application* app;
  std::string_view kind;
  std::string key_id;
  std::string display_name;
  std::string thumbprint;  // certificates
  std::string hint;        // secrets
  int64_t end;
};

Result<AdminResponse> expiring_credentials(Context& c, std::string_view query) {
  GH_TRY(auto within_text, query_param(query, "within"));
  const std::string within = within_text.value_or(std::string(kDefaultWithin));
  auto window = config::parse_duration(within, kMaxWindow);
  if (!window) return bad_request("query parameter 'within': " + window.error().message);
  const int64_t now = c.clock.now_unix();
  const int64_t horizon = now + std::chrono::duration_cast<std::chrono::seconds>(*window).count();
  const auto view = c.directory.view();
  std::vector<Expiring> found;
  for (const auto& app : view->applications()) {
    const Tenant* tenant = view->tenant(app.tenant_id);
    for (const auto& cert : app.certificates) {
      if (cert.end > horizon) continue;
      found.push_back({tenant, &app, "certificate", cert.key_id, cert.display_name,
                       core::hex_encode_upper(cert.thumbprint_sha1), "", cert.end});
    }
    for (const auto& secret : app.secrets) {
      if (secret.end > horizon) continue;
      found.push_back({tenant, &app, "secret", secret.key_id, secret.display_name, "", secret.hint,
                       secret.end});
    }
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const Expiring& a, const Expiring& b) { return a.end < b.end; });
  json::array out;
  for (const auto& e : found) {
    json::object item{{"tenant_id", e.app->tenant_id},
                      {"tenant_name", e.tenant ? e.tenant->display_name : std::string()},
                      {"client_id", e.app->client_id},
                      {"app_name", e.app->display_name},
                      {"kind", e.kind},
                      {"key_id", e.key_id},
                      {"display_name", e.display_name},
                      {"end", time_value(e.end)},
                      {"days_left", days_left(e.end, now)},
                      {"expired", e.end <= now}};
    if (e.kind == "certificate") {
      item["thumbprint"] = e.thumbprint;
    } else {
      item["hint"] = e.hint;
    }
    out.emplace_back(std::move(item));
  }
  return json_response(
      200,
      json::object{{"within", within}, {"now", time_value(now)}, {"credentials", std::move(out)}});
}

}  // namespace

bool IdentityApi::serves(std::string_view path) noexcept {
  return path == "/v1" || path.starts_with("/v1/");
}

std::optional<AdminResponse> IdentityApi::authenticate(std::string_view authorization,
                                                       std::string& caller) const {
  const AuthResult auth = authorize_admin(authorization, credential_, directory_, keys_, clock_);
  caller = auth.caller;
  AdminResponse response;
  switch (auth.outcome) {
    case AuthOutcome::Allowed:
      return std::nullopt;
    case AuthOutcome::Missing:
    case AuthOutcome::Invalid:
      response = error_response(401, "unauthorized",
                                auth.outcome == AuthOutcome::Missing
                                    ? "authentication required: Authorization: Bearer <admin "
                                      "token or access token with the Gatehouse.Admin role>"
                                    : "invalid credential: " + auth.reason);
      response.headers.emplace_back("WWW-Authenticate", auth.outcome == AuthOutcome::Missing
                                                            ? "Bearer realm=\"gatehouse-admin\""
                                                            : "Bearer realm=\"gatehouse-admin\", "
                                                              "error=\"invalid_token\"");
      break;
    case AuthOutcome::MissingRole:
      response = error_response(403, "forbidden",
                                "the access token does not carry the Gatehouse.Admin role");
      response.headers.emplace_back("WWW-Authenticate",
                                    "Bearer realm=\"gatehouse-admin\", "
                                    "error=\"insufficient_scope\"");
      break;
  }
  response.caller = caller;
  return response;
}

AdminResponse IdentityApi::handle(const AdminRequest& request) noexcept {
  try {
    const size_t q = request.target.find('?');
    const std::string_view path = request.target.substr(0, q);
    const std::string_view query =
        q == std::string_view::npos ? std::string_view{} : request.target.substr(q + 1);
    std::string caller;
    if (auto refused = authenticate(request.authorization, caller)) return std::move(*refused);
    AdminResponse response = dispatch(request, path, query);
    response.caller = std::move(caller);
    return response;
  } catch (const std::bad_alloc&) {
    std::terminate();  // out of memory is fatal (style rule 4)
  } catch (const std::exception& e) {
    return error_response(500, "internal", std::string("unexpected error: ") + e.what());
  }
}

AdminResponse IdentityApi::dispatch(const AdminRequest& request, std::string_view path,
                                    std::string_view query) {
  Route route;
  route.method = request.method;
  route.query = query;
  route.body = request.body;
  auto segments = path_segments(path, "/v1/");
  if (!segments) return from_error(segments.error());
  route.segments = std::move(*segments);
  Context c{directory_, keys_, clock_};
  const std::string_view m = request.method;
  const auto& s = route.segments;
  const auto answer = [](Result<AdminResponse> r) {
    return r ? std::move(*r) : from_error(r.error());
  };

  if (route.is({"tenants"})) {
    if (m == "GET") return answer(list_tenants(c));
    if (m == "POST") return answer(create_tenant(c, route.body));
    return method_not_allowed("GET, POST");
  }
  if (route.is({"tenants", "*"})) {
    if (m == "GET") return answer(get_tenant(c, s[1]));
    return method_not_allowed("GET");
  }
  if (route.is({"tenants", "*", "applications"})) {
    if (m == "GET") return answer(list_applications(c, s[1]));
    if (m == "POST") return answer(create_application(c, s[1], route.body));
    return method_not_allowed("GET, POST");
  }
  if (route.is({"tenants", "*", "applications", "*"})) {
    if (m == "GET") return answer(get_application(c, s[1], s[3]));
    if (m == "PATCH") return answer(update_application(c, s[1], s[3], route.body));
    if (m == "DELETE") return answer(delete_application(c, s[1], s[3]));
    return method_not_allowed("GET, PATCH, DELETE");
  }
  if (route.is({"tenants", "*", "applications", "*", "certificates"})) {
    if (m == "POST") return answer(add_certificate(c, s[1], s[3], query, route.body));
    return method_not_allowed("POST");
  }
  if (route.is({"tenants", "*", "applications", "*", "certificates", "*"})) {
    if (m == "DELETE") return answer(remove_certificate(c, s[1], s[3], s[5]));
    return method_not_allowed("DELETE");
  }
  if (route.is({"tenants", "*", "applications", "*", "secrets"})) {
    if (m == "POST") return answer(add_secret(c, s[1], s[3], route.body));
    return method_not_allowed("POST");
  }
  if (route.is({"tenants", "*", "applications", "*", "secrets", "*"})) {
    if (m == "DELETE") return answer(remove_secret(c, s[1], s[3], s[5]));
    return method_not_allowed("DELETE");
  }
  if (route.is({"tenants", "*", "applications", "*", "roles"})) {
    if (m == "POST") return answer(add_role(c, s[1], s[3], route.body));
    return method_not_allowed("POST");
  }
  if (route.is({"tenants", "*", "applications", "*", "assignments"})) {
    if (m == "POST") return answer(assign_role(c, s[1], s[3], route.body));
    return method_not_allowed("POST");
  }
  if (route.is({"tenants", "*", "applications", "*", "federated"})) {
    if (m == "POST") return answer(add_federated(c, s[1], s[3], route.body));
    return method_not_allowed("POST");
  }
  if (route.is({"tenants", "*", "applications", "*", "federated", "*"})) {
    if (m == "DELETE") return answer(remove_federated(c, s[1], s[3], s[5]));
    return method_not_allowed("DELETE");
  }
  if (route.is({"tenants", "*", "assignments", "*"})) {
    if (m == "DELETE") return answer(unassign_role(c, s[1], s[3]));
    return method_not_allowed("DELETE");
  }
  if (route.is({"keys"})) {
    if (m == "GET") return answer(list_keys(c));
    return method_not_allowed("GET");
  }
  if (route.is({"keys", "rotate"})) {
    if (m == "POST") return answer(rotate_keys(c, route.body));
    return method_not_allowed("POST");
  }
  if (route.is({"credentials", "expiring"})) {
    if (m == "GET") return answer(expiring_credentials(c, query));
    return method_not_allowed("GET");
  }
  return error_response(404, "not_found", "no admin resource at " + std::string(path));
}

}  // namespace gh::admin
