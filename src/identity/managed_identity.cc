#include "identity/managed_identity.h"

#include <optional>
#include <set>

#include "core/strings.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "identity/caller_binding.h"
#include "identity/entra_error.h"
#include "identity/json_writer.h"
#include "identity/token_request.h"

namespace gh::identity {

namespace {

constexpr std::string_view kImdsPath = "/metadata/identity/oauth2/token";
constexpr std::string_view kAppServicePath = "/msi/token";
constexpr size_t kMinIdentityHeaderLength = 16;

struct Entry {
  std::string name;
  std::string tenant;
  std::string client_id;
  std::string resource_id;
  std::vector<IpNetwork> networks;
  std::vector<uint32_t> uids;
  std::optional<crypto::Sha256Digest> header_sha256;
};

enum class Protocol : uint8_t { Imds, AppService };

/// The query parameters of both protocols (each reads its own subset).
struct MiQuery {
  std::string_view api_version;
  std::string_view resource;
  std::string_view client_id;
  std::string_view object_id;
  std::string_view principal_id;
  std::string_view msi_res_id;
  std::string_view mi_res_id;
  std::string_view client_request_id;
};

/// IMDS's error shape: {"error":..,"error_description":..}.
std::string imds_error_body(std::string_view error, std::string_view description) {
  std::string out = "{\"error\":";
  append_json_string(out, error);
  append_string_member(out, "error_description", description);
  out += '}';
  return out;
}

/// App Service's: the OAuth members msal-node and azure-identity read, plus App Service's own
/// statusCode/message/correlationId, which msal-node maps as well.
std::string app_service_error_body(uint16_t status, std::string_view error,
                                   std::string_view description, std::string_view correlation) {
  std::string out = "{\"error\":";
  append_json_string(out, error);
  append_string_member(out, "error_description", description);
  out += ",\"statusCode\":" + std::to_string(status);
  append_string_member(out, "message", description);
  append_string_member(out, "correlationId", correlation);
  out += '}';
  return out;
}

std::string_view strip_default_suffix(std::string_view resource) noexcept {
  // Some callers hand the scope ("api://x/.default") to a protocol that wants the resource.
  constexpr std::string_view suffix = "/.default";
  if (resource.size() > suffix.size() &&
      core::iequals(resource.substr(resource.size() - suffix.size()), suffix))
    resource.remove_suffix(suffix.size());
  return resource;
}

}  // namespace

struct ManagedIdentityEndpoint::Impl {
  std::vector<Entry> entries;
  bool any_uid_binding = false;

  /// One request's facts and the shared exits (every exit is audited).
  struct Call {
    Call(const http::LocalRequest& r, Protocol p, AuditLog& a, int64_t n)
        : req(r), protocol(p), audit(a), now(n) {}
    const http::LocalRequest& req;
    Protocol protocol;
    AuditLog& audit;
    int64_t now;
    std::string trace_id = crypto::random_uuid();
    std::string correlation_id;
    const Entry* identity = nullptr;
    std::string_view tenant_id;
    std::string_view resource;

    std::string_view endpoint() const {
      return protocol == Protocol::Imds ? "imds" : "app_service";
    }
    void write_audit(std::string_view outcome, int code, std::string_view message,
                     std::string_view jti = {}) const {
      AuditRecord r;
      r.outcome = outcome;
      r.endpoint = endpoint();
      r.tenant = identity ? std::string_view(identity->tenant) : std::string_view{};
      if (!tenant_id.empty()) r.tenant = tenant_id;
      r.client_id = identity ? std::string_view(identity->client_id) : std::string_view{};
      r.method = "managed_identity";
      r.credential = identity ? std::string_view(identity->name) : std::string_view{};
      r.resource = resource;
      r.aadsts = code;
      r.error = message;
      r.source_ip = req.client_ip;
      r.trace_id = trace_id;
      r.jti = jti;
      r.now = now;
      audit.write(r);
    }
    http::LocalResponse respond(uint16_t status, std::string body) const {
      http::LocalResponse out;
      out.status = status;
      out.body = std::move(body);
      out.headers.emplace_back("Cache-Control", "no-store, no-cache");
      out.headers.emplace_back("x-ms-request-id", trace_id);
      return out;
    }
    /// A protocol-level failure (no AADSTS number). `audit_message` may say more than the
    /// client is told (which identity was not found and why).
    http::LocalResponse fail(uint16_t status, std::string_view error, std::string_view description,
                             std::string_view audit_message = {}) const {
      write_audit("failed", 0, audit_message.empty() ? description : audit_message);
      return respond(status,
                     protocol == Protocol::Imds
                         ? imds_error_body(error, description)
                         : app_service_error_body(status, error, description, correlation_id));
    }
    /// A directory failure in Entra's shape (500011, 501051, ...).
    http::LocalResponse fail(const core::Error& e, std::string_view origin) const {
      write_audit("failed", aadsts_of(e), e.message);
      ErrorContext ctx{trace_id, correlation_id, now, origin};
      return respond(http_status_of(e), entra_error_body(e, ctx));
    }
  };

  bool bound_by_address(const Entry& e, const IpAddress& client,
                        const std::optional<uint32_t>& uid) const noexcept {
    for (const auto& net : e.networks)
      if (net.contains(client)) return true;
    if (uid)
      for (uint32_t u : e.uids)
        if (u == *uid) return true;
    return false;
  }
};

Result<std::unique_ptr<ManagedIdentityEndpoint>> ManagedIdentityEndpoint::create(
    const std::vector<config::ManagedIdentityConfig>& identities,
    const std::function<std::string(std::string_view)>& env_lookup) {
  auto impl = std::make_shared<Impl>();
  std::set<std::string, std::less<>> names;
  for (const auto& c : identities) {
    std::string where = "managed identity '" + c.name + "'";
    if (c.line > 0) where += " (line " + std::to_string(c.line) + ")";
    auto invalid = [&](std::string what) {
      return unexpected(ErrorKind::InvalidArgument, where + ": " + what);
    };
    if (c.name.empty()) return invalid("needs a name");
    if (!names.insert(c.name).second) return invalid("the name is used twice");
    if (c.tenant.empty()) return invalid("needs a tenant");
    if (c.client_id.empty()) return invalid("needs a client_id (the application it acts as)");
    Entry e;
    e.name = c.name;
    e.tenant = c.tenant;
    e.client_id = c.client_id;
    e.resource_id = c.resource_id;
    for (const auto& cidr : c.source_cidrs) {
      auto net = parse_network(cidr);
      if (!net) return invalid("source_cidrs: " + net.error().message);
      e.networks.push_back(*net);
    }
    e.uids = c.local_uids;
    if (!c.identity_header_env.empty()) {
      std::string value = env_lookup ? env_lookup(c.identity_header_env) : std::string{};
      // The value is a secret: errors name the variable, never what it holds.
      if (value.empty())
        return invalid("identity_header_env: environment variable " + c.identity_header_env +
                       " is not set");
      if (value.size() < kMinIdentityHeaderLength)
        return invalid("identity_header_env: the value of " + c.identity_header_env +
                       " is shorter than " + std::to_string(kMinIdentityHeaderLength) +
                       " characters");
      e.header_sha256 = crypto::sha256(value);
    }
    if (e.networks.empty() && e.uids.empty() && !e.header_sha256)
      return invalid("binds no workload: set source_cidrs, local_uids or identity_header_env");
    impl->any_uid_binding = impl->any_uid_binding || !e.uids.empty();
    impl->entries.push_back(std::move(e));
  }
  std::unique_ptr<ManagedIdentityEndpoint> out(new ManagedIdentityEndpoint());
  out->impl_ = std::move(impl);
  return out;
}

namespace {
// msal-node asks IMDS for ".../oauth2/token/" (the trailing slash real IMDS tolerates).
std::string_view without_trailing_slash(std::string_view path) noexcept {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}
}  // namespace

bool ManagedIdentityEndpoint::is_path(std::string_view path) noexcept {
  path = without_trailing_slash(path);
  return path == kImdsPath || path == kAppServicePath;
}

size_t ManagedIdentityEndpoint::size() const noexcept {
  return impl_->entries.size();
}

http::LocalResponse ManagedIdentityEndpoint::handle(const http::LocalRequest& req,
                                                    const DirectoryView& directory,
                                                    const TokenMinter& minter, AuditLog& audit,
                                                    int64_t lifetime_seconds,
                                                    std::string_view origin, int64_t now) const {
  const Impl& impl = *impl_;
  Impl::Call call(
      req, without_trailing_slash(req.path) == kImdsPath ? Protocol::Imds : Protocol::AppService,
      audit, now);
  const bool imds = call.protocol == Protocol::Imds;
  std::string_view header_correlation = req.header("client-request-id");

  // IMDS's anti-SSRF check comes first, so DefaultAzureCredential's bare probe (no header, no
  // query) gets its 400 at once. The header must be exactly "true" (§5.1).
  if (imds && req.header("Metadata") != "true")
    return call.fail(400, "bad_request_102", "Required metadata header not specified");

  if (req.method != "GET") {
    call.correlation_id = header_correlation.empty() ? call.trace_id : header_correlation;
    return call.fail(400, "invalid_request", "The endpoint only accepts GET requests.");
  }

  MiQuery q;
  const FormField fields[] = {
      {"api-version", &q.api_version},   {"resource", &q.resource},
      {"client_id", &q.client_id},       {"object_id", &q.object_id},
      {"principal_id", &q.principal_id}, {"msi_res_id", &q.msi_res_id},
      {"mi_res_id", &q.mi_res_id},       {"client-request-id", &q.client_request_id, true},
  };
  std::string storage;
  Status parsed = parse_form(req.query, fields, storage);
  call.correlation_id = !header_correlation.empty()    ? std::string(header_correlation)
                        : !q.client_request_id.empty() ? std::string(q.client_request_id)
                                                       : call.trace_id;
  if (!parsed) return call.fail(400, "invalid_request", parsed.error().message);
  if (q.api_version.empty())
    return call.fail(400, "invalid_request", "Required query variable 'api-version' is missing");

  // Who is calling: the identities this caller is bound to.
  std::vector<const Entry*> candidates;
  if (imds) {
    auto client = parse_ip(req.client_ip);
    std::optional<uint32_t> uid;
    if (client && client->is_loopback() && impl.any_uid_binding) {
      auto server = parse_ip(req.local_ip);
      if (server) uid = socket_owner_uid(*client, req.client_port, *server, req.local_port);
    }
    if (client)
      for (const auto& e : impl.entries)
        if (impl.bound_by_address(e, *client, uid)) candidates.push_back(&e);
  } else {
    std::string_view secret = req.header("X-IDENTITY-HEADER");
    if (secret.empty())
      return call.fail(401, "invalid_request", "Required header X-IDENTITY-HEADER not specified");
    const auto presented = crypto::sha256(secret);
    // Compare against every identity (no early exit): timing says nothing about which matched.
    for (const auto& e : impl.entries) {
      bool match = e.header_sha256 && crypto::constant_time_equal(*e.header_sha256, presented);
      if (match) candidates.push_back(&e);
    }
    if (candidates.empty())
      return call.fail(401, "invalid_request", "The X-IDENTITY-HEADER value is not valid");
  }

  // Which identity: a selector, or the only one bound to this caller.
  std::string_view object_id = !q.object_id.empty() ? q.object_id : q.principal_id;
  std::string_view res_id = imds ? q.msi_res_id : q.mi_res_id;
  if (!imds && res_id.empty()) res_id = q.msi_res_id;
  int selectors = !q.client_id.empty() + !object_id.empty() + !res_id.empty() +
                  (!q.object_id.empty() && !q.principal_id.empty());
  if (selectors > 1)
    return call.fail(400, "invalid_request",
                     imds ? "Only one of client_id, object_id and msi_res_id may be specified"
                          : "Only one of client_id, principal_id, object_id and mi_res_id may "
                            "be specified");
  if (q.resource.empty())
    return call.fail(400, "invalid_request", "Required audience parameter not specified");
  call.resource = strip_default_suffix(q.resource);

  const Entry* chosen = nullptr;
  size_t matches = 0;
  for (const Entry* e : candidates) {
    bool match = true;
    if (!q.client_id.empty()) {
      match = core::iequals(e->client_id, q.client_id);
    } else if (!res_id.empty()) {
      match = !e->resource_id.empty() && core::iequals(e->resource_id, res_id);
    } else if (!object_id.empty()) {
      const Tenant* t = directory.tenant(e->tenant);
      const Application* app = t ? directory.application(t->id, e->client_id) : nullptr;
      match = app != nullptr && core::iequals(app->service_principal_id, object_id);
    }
    if (match) {
      chosen = e;
      ++matches;
    }
  }
  if (matches != 1)
    return call.fail(400, "invalid_request", "Identity not found",
                     candidates.empty() ? "Identity not found: the caller is bound to no identity"
                     : matches == 0     ? "Identity not found: no bound identity matches the "
                                          "selector"
                                        : "Identity not found: several identities are bound to "
                                          "the caller; it must select one");
  call.identity = chosen;

  const Tenant* tenant = directory.tenant(chosen->tenant);
  const Application* client =
      tenant ? directory.application(tenant->id, chosen->client_id) : nullptr;
  if (client == nullptr)
    return call.fail(400, "invalid_request", "Identity not found",
                     tenant == nullptr
                         ? "Identity not found: its tenant is not in the directory"
                         : "Identity not found: its application is not in the directory");
  call.tenant_id = tenant->id;

  const Application* resource = directory.resource(tenant->id, call.resource);
  if (resource == nullptr)
    return call.fail(
        entra_error(aadsts::kResourceNotFound,
                    "The resource principal named " + std::string(call.resource) +
                        " was not found in the tenant named " + tenant->display_name +
                        ". This can happen if the application has not been installed by the "
                        "administrator of the tenant or consented to by any user in the tenant. "
                        "You might have sent your authentication request to the wrong tenant."),
        origin);
  if (resource->assignment_required && resource != client &&
      !directory.has_assignment(*client, *resource))
    return call.fail(
        entra_error(aadsts::kNotAssigned,
                    "Application '" + client->client_id + "'(" + client->display_name +
                        ") is not assigned to a role for the application '" +
                        std::string(call.resource) + "'(" + resource->display_name + ")."),
        origin);

  MintRequest mint;
  mint.tenant = tenant;
  mint.client = client;
  mint.resource = resource;
  mint.requested_resource = call.resource;
  mint.method = AuthMethod::ManagedIdentity;
  mint.roles = directory.roles_for(*client, *resource);
  mint.lifetime_seconds = lifetime_seconds;
  mint.origin = origin;
  mint.now = now;
  auto token = minter.mint(mint);
  if (!token) return call.fail(token.error(), origin);
  call.write_audit("issued", 0, {}, token->uti);

  const std::string expires_on = std::to_string(token->expires_on);
  const std::string not_before = std::to_string(token->not_before);
  std::string body;
  body.reserve(token->access_token.size() + 512);
  body += "{\"access_token\":";
  append_json_string(body, token->access_token);
  if (imds) {
    const std::string expires_in = std::to_string(token->expires_in);
    append_string_member(body, "client_id", client->client_id);
    append_string_member(body, "expires_in", expires_in);
    append_string_member(body, "expires_on", expires_on);
    append_string_member(body, "ext_expires_in", expires_in);
    append_string_member(body, "not_before", not_before);
    append_string_member(body, "resource", call.resource);
    append_string_member(body, "token_type", "Bearer");
  } else {
    append_string_member(body, "expires_on", expires_on);
    append_string_member(body, "resource", call.resource);
    append_string_member(body, "token_type", "Bearer");
    append_string_member(body, "client_id", client->client_id);
    append_string_member(body, "not_before", not_before);
  }
  body += '}';
  return call.respond(200, std::move(body));
}

}  // namespace gh::identity
