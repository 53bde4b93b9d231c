#include "identity/identity_service.h"

#include <algorithm>
#include <array>
#include <filesystem>

#include "core/encoding.h"
#include "core/event_log.h"
#include "core/files.h"
#include "core/strings.h"
#include "crypto/random.h"
#include "identity/declarative.h"
#include "identity/discovery.h"
#include "identity/entra_error.h"
#include "identity/json_writer.h"
#include "identity/token_request.h"
#include "store/database.h"

namespace gh::identity {

namespace {

// ---- small helpers --------------------------------------------------------------------------

/// A random GUID in a fixed buffer: the per-request trace id without a heap allocation.
struct Guid {
  std::array<char, 36> text;
  Guid() { crypto::random_uuid(text); }
  std::string_view view() const noexcept { return {text.data(), text.size()}; }
};

bool contains_name(const std::vector<std::string>& names, std::string_view name) {
  for (const auto& n : names)
    if (n == name) return true;
  return false;
}

/// Host header characters we are willing to put into URLs and JSON (RFC 3986 reg-name subset,
/// IPv6 literals, port).
bool is_safe_host(std::string_view host) noexcept {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

/// A tenant path segment from elsewhere (instance discovery's authorization_endpoint): GUIDs and
/// domain names only.
bool is_safe_segment(std::string_view s) noexcept {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

/// "scheme://host[:port]" lower-cased without a trailing slash; InvalidArgument when it has a
/// path, query or anything else (the tenant must be the first path segment for every client).
Result<std::string> normalize_public_url(std::string_view url) {
  std::string lower = core::to_lower(url);
  while (!lower.empty() && lower.back() == '/')
    lower.pop_back();
  std::string_view rest = lower;
  if (rest.starts_with("https://"))
    rest.remove_prefix(8);
  else if (rest.starts_with("http://"))
    rest.remove_prefix(7);
  else
    return unexpected(ErrorKind::InvalidArgument,
                      "identity.public_url must start with https:// (clients refuse http)");
  if (!is_safe_host(rest))
    return unexpected(ErrorKind::InvalidArgument,
                      "identity.public_url must be scheme://host[:port] with no path: the tenant "
                      "is the first path segment of every endpoint");
  return lower;
}

std::string_view method_name(AuthMethod m) noexcept {
  switch (m) {
    case AuthMethod::Secret:
      return "secret";
    case AuthMethod::Certificate:
      return "certificate";
    case AuthMethod::Federated:
      return "federated";
    case AuthMethod::ManagedIdentity:
      return "managed_identity";
  }
  return "none";
}

// ---- routing --------------------------------------------------------------------------------

enum class Route : uint8_t {
  None,
  TokenV2,
  TokenV1,
  DiscoveryV2,
  DiscoveryV1,
  KeysV2,
  KeysV1,
  Instance,
  ErrorPage,
  Interactive,  // authorize, devicecode, logout, ... : listed in discovery, not served
};

struct RouteMatch {
  Route route = Route::None;
  std::string_view tenant;
};

/// Matches the path shapes of the header comment. Fixed segments compare case-insensitively, as
/// Entra's do; the tenant segment is whatever is there (looked up later).
RouteMatch match_route(std::string_view path) noexcept {
  if (path.size() < 2 || path.front() != '/') return {};
  std::array<std::string_view, 4> seg;
  size_t n = 0;
  std::string_view rest = path.substr(1);
  while (true) {
    if (n == seg.size()) return {};
    size_t slash = rest.find('/');
    seg[n] = rest.substr(0, slash);
    if (seg[n].empty()) return {};
    ++n;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  using core::iequals;
  auto is = [&](size_t i, std::string_view s) { return iequals(seg[i], s); };
  auto any_of = [&](size_t i, std::initializer_list<std::string_view> names) {
    for (auto s : names)
      if (iequals(seg[i], s)) return true;
    return false;
  };
  const std::string_view t = seg[0];
  switch (n) {
    case 1:
      if (is(0, "error")) return {Route::ErrorPage, {}};
      break;
    case 2:
      if (is(1, "kerberos")) return {Route::Interactive, t};
      break;
    case 3:
      if (is(1, "oauth2")) {
        if (is(2, "token")) return {Route::TokenV1, t};
        if (any_of(2, {"authorize", "devicecode", "logout", "checksession"}))
          return {Route::Interactive, t};
      } else if (is(1, ".well-known") && is(2, "openid-configuration")) {
        return {Route::DiscoveryV1, t};
      } else if (is(1, "discovery")) {
        if (is(2, "keys")) return {Route::KeysV1, t};
        if (is(0, "common") && is(2, "instance")) return {Route::Instance, t};
      } else if (is(1, "openid") && is(2, "userinfo")) {
        return {Route::Interactive, t};
      }
      break;
    case 4:
      if (is(1, "oauth2") && is(2, "v2.0")) {
        if (is(3, "token")) return {Route::TokenV2, t};
        if (any_of(3, {"authorize", "devicecode", "logout"})) return {Route::Interactive, t};
      } else if (is(1, "discovery") && is(2, "v2.0") && is(3, "keys")) {
        return {Route::KeysV2, t};
      } else if (is(1, "v2.0") && is(2, ".well-known") && is(3, "openid-configuration")) {
        return {Route::DiscoveryV2, t};
      }
      break;
    default:
      break;
  }
  return {};
}

}  // namespace

// ---- the service ----------------------------------------------------------------------------

struct IdentityService::Impl {
  config::IdentityConfig config;
  IdentityListeners listeners;
  const core::Clock& clock;
  std::string public_origin;  // normalized public_url, "" when each request's Host decides
  std::shared_ptr<store::Database> db;
  std::unique_ptr<Directory> directory;
  std::unique_ptr<KeyRing> key_ring;
  std::unique_ptr<ClientAuthenticator> authenticator;
  std::unique_ptr<TokenMinter> minter;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<ManagedIdentityEndpoint> managed;

  Impl(const config::IdentityConfig& c, IdentityListeners l, const core::Clock& k)
      : config(c), listeners(std::move(l)), clock(k) {}

  /// "scheme://host[:port]" of this request: public_url when configured, else the scheme of
  /// the connection and the Host the client used (the address the connection arrived on when
  /// Host is unusable). Entra clients only speak https; a plain listener (behind a
  /// TLS-terminating front, or a benchmark) gets http origins that match what its callers sent.
  std::string origin_of(const http::LocalRequest& req) const {
    if (!public_origin.empty()) return public_origin;
    std::string out = req.tls ? "https://" : "http://";
    const size_t scheme_end = out.size();
    if (is_safe_host(req.host)) {
      out += req.host;
      for (size_t i = scheme_end; i < out.size(); ++i)
        if (out[i] >= 'A' && out[i] <= 'Z') out[i] = static_cast<char>(out[i] - 'A' + 'a');
      return out;
    }
    if (req.local_ip.find(':') != std::string_view::npos) {
      out += '[';
      out += req.local_ip;
      out += ']';
    } else {
      out += req.local_ip;
    }
    out += ':';
    out += std::to_string(req.local_port);
    return out;
  }

  net::awaitable<http::LocalResponse> token(const http::LocalRequest& req, std::string_view tenant,
                                            bool v2);
  http::LocalResponse discovery(const http::LocalRequest& req, RouteMatch m);
  http::LocalResponse instance(const http::LocalRequest& req);
  http::LocalResponse error_page(const http::LocalRequest& req);
};

namespace {

/// The delay a throttling error names ("... Retry after 42 seconds."), else 60 s, MSAL's own
/// default. Clamped to MSAL's maximum of an hour.
int64_t retry_after_seconds(std::string_view message) noexcept {
  constexpr std::string_view marker = "Retry after ";
  size_t at = message.find(marker);
  if (at != std::string_view::npos) {
    std::string_view rest = message.substr(at + marker.size());
    auto seconds = core::parse_uint(rest.substr(0, rest.find(' ')));
    if (seconds && *seconds > 0) return static_cast<int64_t>(std::min<uint64_t>(*seconds, 3600));
  }
  return 60;
}

/// Facts of one token request, and its exits: every response goes through respond() (headers)
/// and every outcome through audit().
struct TokenCall {
  TokenCall(const http::LocalRequest& r, AuditLog& a) : req(r), audit(a) {}
  const http::LocalRequest& req;
  AuditLog& audit;
  bool v2 = true;
  int64_t now = 0;
  std::string origin;
  Guid trace;
  std::string_view correlation;  // the client's client-request-id ("" until one is seen)
  bool client_sent_correlation = false;
  bool used_basic = false;
  // Audit fields, filled as they become known.
  std::string_view tenant;
  std::string_view client_id;
  std::string_view method = "none";
  std::string_view credential;
  std::string_view resource;
  std::string_view jti;

  void set_correlation(std::string_view client_value) {
    if (client_sent_correlation || client_value.empty()) return;
    // Echoed in a header and the body: keep it to what a GUID-ish id can contain.
    if (client_value.size() > 64 || !is_safe_segment(client_value)) return;
    correlation = client_value;
    client_sent_correlation = true;
  }

  void write_audit(std::string_view outcome, int code, std::string_view message) const {
    AuditRecord r;
    r.outcome = outcome;
    r.endpoint = v2 ? "token_v2" : "token_v1";
    r.tenant = tenant;
    r.client_id = client_id;
    r.method = method;
    r.credential = credential;
    r.resource = resource;
    r.aadsts = code;
    r.error = message;
    r.source_ip = req.client_ip;
    r.trace_id = trace.view();
    r.jti = jti;
    r.now = now;
    audit.write(r);
  }

  http::LocalResponse respond(uint16_t status, std::string body) const {
    http::LocalResponse out;
    out.status = status;
    out.body = std::move(body);
    out.headers.reserve(7);
    out.headers.emplace_back("Cache-Control", "no-store, no-cache");
    out.headers.emplace_back("Pragma", "no-cache");
    out.headers.emplace_back("Expires", "-1");
    out.headers.emplace_back("X-Content-Type-Options", "nosniff");
    out.headers.emplace_back("x-ms-request-id", trace.view());
    if (client_sent_correlation) out.headers.emplace_back("client-request-id", correlation);
    return out;
  }

  http::LocalResponse fail(const core::Error& e) const {
    // Anything without an AADSTS number is a bug or an I/O failure: the client gets a generic
    // server_error (entra_error_body), the audit log the real message.
    write_audit("failed", aadsts_of(e), e.message);
    const Guid fresh;  // the correlation id when the client sent none (errors only)
    ErrorContext ctx{trace.view(), client_sent_correlation ? correlation : fresh.view(), now,
                     origin};
    const uint16_t status = http_status_of(e);
    http::LocalResponse out = respond(status, entra_error_body(e, ctx));
    // RFC 6749 §5.2: a 401 answers the authentication scheme the client used.
    if (status == 401 && used_basic)
      out.headers.emplace_back("WWW-Authenticate", "Basic realm=\"gatehouse\"");
    // MSAL honours Retry-After on 429/503 only, in integer seconds; never on 400 (it would make
    // the client back off from a request it should fix).
    if (status == 429 || status == 503)
      out.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds(e.message)));
    return out;
  }
};

}  // namespace

net::awaitable<http::LocalResponse> IdentityService::Impl::token(const http::LocalRequest& req,
                                                                 std::string_view tenant_segment,
                                                                 bool v2) {
  TokenCall call(req, *audit);
  call.v2 = v2;
  call.now = clock.now_unix();
  call.origin = origin_of(req);
  call.tenant = tenant_segment;
  call.set_correlation(req.header("client-request-id"));
  std::string query_storage;
  call.set_correlation(query_parameter(req.query, "client-request-id", query_storage));

  if (req.method != "POST")
    co_return call.fail(entra_error(aadsts::kMethodNotAllowed,
                                    "The endpoint only accepts POST requests. Received a " +
                                        std::string(req.method.substr(0, 16)) + " request."));

  auto view = directory->view();  // one snapshot for the whole request
  const Tenant* tenant = view->tenant(tenant_segment);
  if (tenant == nullptr) {
    if (is_multi_tenant_segment(tenant_segment))
      co_return call.fail(entra_error(9001023,
                                      "The grant type isn't supported over the /common or "
                                      "/consumers endpoints. Please use the /organizations or "
                                      "tenant-specific endpoint."));
    co_return call.fail(entra_error(
        aadsts::kUnknownTenant,
        "Tenant '" + std::string(tenant_segment.substr(0, 256)) +
            "' not found. Check to make sure you have the correct tenant ID and are signing into "
            "the correct cloud. Check with your subscription administrator, this may happen if "
            "there are no active subscriptions for the tenant."));
  }
  call.tenant = tenant->id;

  // A body of another media type carries no parameters for Entra (it then reports the first
  // missing one), so only a form body is parsed.
  TokenForm form;
  std::string form_storage;
  if (is_form_content_type(req.header("Content-Type"))) {
    auto parsed = parse_token_form(req.body, form_storage);
    if (!parsed) co_return call.fail(parsed.error());
    form = *parsed;
  }
  call.set_correlation(form.client_request_id);
  call.client_id = form.client_id;

  auto missing = [](std::string_view name) {
    return entra_error(
        aadsts::kMissingParameter,
        "The request body must contain the following parameter: '" + std::string(name) + "'.");
  };
  if (form.grant_type.empty()) co_return call.fail(missing("grant_type"));
  if (form.grant_type != "client_credentials")
    co_return call.fail(entra_error(aadsts::kUnsupportedGrant,
                                    "UnsupportedGrantType - The app returned an unsupported "
                                    "grant type."));

  std::string_view identifier;
  if (v2) {
    if (!form.resource.empty())
      co_return call.fail(
          entra_error(aadsts::kResourceOnV2, "The 'resource' request parameter isn't supported."));
    if (form.scope.empty()) co_return call.fail(missing("scope"));
    auto r = resource_from_scope(form.scope);
    if (!r) co_return call.fail(r.error());
    identifier = *r;
  } else {
    if (form.resource.empty()) co_return call.fail(missing("resource"));
    identifier = form.resource;
  }
  call.resource = identifier;

  const Application* resource = view->resource(tenant->id, identifier);
  if (resource == nullptr)
    co_return call.fail(entra_error(
        aadsts::kResourceNotFound,
        "The resource principal named " + std::string(identifier.substr(0, 512)) +
            " was not found in the tenant named " + tenant->display_name +
            ". This can happen if the application has not been installed by the administrator "
            "of the tenant or consented to by any user in the tenant. You might have sent your "
            "authentication request to the wrong tenant."));

  auto basic = parse_basic_authorization(req.header("Authorization"));
  if (!basic) {
    call.used_basic = true;
    co_return call.fail(basic.error());
  }
  call.used_basic = basic->has_value();
  if (call.client_id.empty() && call.used_basic) call.client_id = (*basic)->user;

  ClientCredentials creds;
  creds.client_id = form.client_id;
  creds.client_secret = form.client_secret;
  if (call.used_basic) {
    creds.has_basic = true;
    creds.basic_user = (*basic)->user;
    creds.basic_password = (*basic)->password;
  }
  creds.assertion_type = form.client_assertion_type;
  creds.assertion = form.client_assertion;

  // The assertion's aud may name the configured public origin, or, without one, the origin
  // the client actually used.
  EndpointInfo where;
  where.directory = view.get();
  where.tenant = tenant;
  where.origins.push_back(call.origin);
  where.now = call.now;

  auto authenticated = co_await authenticator->authenticate(creds, where);
  if (!authenticated) co_return call.fail(authenticated.error());
  const Application& client = *authenticated->app;
  call.client_id = client.client_id;
  call.method = method_name(authenticated->method);
  call.credential = authenticated->credential_id;
  call.jti = authenticated->assertion_jti;

  if (resource == &client && !core::iequals(identifier, client.client_id))
    co_return call.fail(entra_error(
        90009, "Application '" + client.client_id + "'(" + client.display_name +
                   ") is requesting a token for itself. This scenario is supported only if "
                   "resource is specified using the GUID based App Identifier."));
  if (resource->assignment_required && resource != &client &&
      !view->has_assignment(client, *resource))
    co_return call.fail(entra_error(
        aadsts::kNotAssigned, "Application '" + client.client_id + "'(" + client.display_name +
                                  ") is not assigned to a role for the application '" +
                                  std::string(identifier) + "'(" + resource->display_name + ")."));

  MintRequest mint;
  mint.tenant = tenant;
  mint.client = &client;
  mint.resource = resource;
  mint.requested_resource = identifier;
  mint.method = authenticated->method;
  mint.roles = view->roles_for(client, *resource);
  mint.lifetime_seconds = config.tokens.lifetime.count();
  mint.origin = call.origin;
  mint.now = call.now;
  auto token = minter->mint(mint);
  if (!token) co_return call.fail(token.error());
  if (call.jti.empty()) call.jti = token->uti;
  call.write_audit("issued", 0, {});

  // §1.4: v2 numbers are integers, v1 numbers strings plus expires_on/not_before/resource;
  // members in Entra's order. refresh_in (integer) only for long-lived tokens (§7).
  std::string body;
  body.reserve(token->access_token.size() + 256);
  body += "{\"token_type\":\"Bearer\"";
  if (v2) {
    append_int_member(body, "expires_in", token->expires_in);
    append_int_member(body, "ext_expires_in", token->expires_in);
  } else {
    append_string_member(body, "expires_in", std::to_string(token->expires_in));
    append_string_member(body, "ext_expires_in", std::to_string(token->expires_in));
  }
  if (token->expires_in >= 7200) append_int_member(body, "refresh_in", token->expires_in / 2);
  if (!v2) {
    append_string_member(body, "expires_on", std::to_string(token->expires_on));
    append_string_member(body, "not_before", std::to_string(token->not_before));
    append_string_member(body, "resource", identifier);
  }
  body += ",\"access_token\":\"";
  body += token->access_token;  // base64url and dots: nothing to escape
  body += "\"}";
  co_return call.respond(200, std::move(body));
}

http::LocalResponse IdentityService::Impl::discovery(const http::LocalRequest& req, RouteMatch m) {
  const int64_t now = clock.now_unix();
  const std::string origin = origin_of(req);
  Guid trace, fresh;
  std::string_view correlation = req.header("client-request-id");
  if (correlation.empty() || correlation.size() > 64 || !is_safe_segment(correlation))
    correlation = fresh.view();

  http::LocalResponse out;
  out.headers.emplace_back("x-ms-request-id", trace.view());
  auto fail = [&](const core::Error& e, std::string_view error_override) {
    ErrorContext ctx{trace.view(), correlation, now, origin};
    out.status = http_status_of(e);
    out.body = entra_error_body(e, ctx, error_override);
    out.headers.emplace_back("Cache-Control", "no-store, no-cache");
    return std::move(out);
  };

  if (m.route == Route::Interactive)
    return fail(entra_error(aadsts::kMalformedRequest,
                            "This endpoint is listed in discovery only: Gatehouse serves the "
                            "client credentials grant, not interactive, device-code or sign-out "
                            "flows."),
                {});

  if (req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS")
    return fail(entra_error(aadsts::kMethodNotAllowed,
                            "The endpoint only accepts GET, OPTIONS requests. Received a " +
                                std::string(req.method.substr(0, 16)) + " request."),
                {});

  // Documents and keys may be cached for a day (Entra's headers); rotation publishes keys at
  // least that long before they sign (key_ring.h).
  out.headers.emplace_back("Cache-Control", "max-age=86400, private");
  out.headers.emplace_back("Access-Control-Allow-Origin", "*");
  out.headers.emplace_back("Access-Control-Allow-Methods", "GET, OPTIONS");
  if (req.method == "OPTIONS") {
    out.status = 200;
    out.content_type.clear();
    return out;
  }

  auto view = directory->view();
  std::string tenant;  // the GUID, or a lower-cased multi-tenant segment
  if (const Tenant* t = view->tenant(m.tenant)) {
    tenant = t->id;
  } else if (is_multi_tenant_segment(m.tenant)) {
    tenant = core::to_lower(m.tenant);
  } else {
    out.headers.resize(1);  // keep x-ms-request-id only: errors are not cacheable
    return fail(entra_error(aadsts::kUnknownTenant,
                            "Tenant '" + std::string(m.tenant.substr(0, 256)) +
                                "' not found. Check to make sure you have the correct tenant ID "
                                "and are signing into the correct cloud. Check with your "
                                "subscription administrator, this may happen if there are no "
                                "active subscriptions for the tenant."),
                "invalid_tenant");
  }

  out.status = 200;
  switch (m.route) {
    case Route::DiscoveryV2:
      out.body = discovery_v2(origin, tenant);
      break;
    case Route::DiscoveryV1:
      out.body = discovery_v1(origin, tenant);
      break;
    case Route::KeysV2:
      // v2 keys name the issuer they sign for; on the multi-tenant documents it is Entra's
      // literal template.
      out.body = key_ring->current()->jwks_json(is_multi_tenant_segment(tenant)
                                                    ? origin + "/{tenantid}/v2.0"
                                                    : issuer_v2(origin, tenant));
      break;
    case Route::KeysV1:
      out.body = key_ring->current()->jwks_json({});
      break;
    default:
      break;
  }
  return out;
}

http::LocalResponse IdentityService::Impl::instance(const http::LocalRequest& req) {
  const int64_t now = clock.now_unix();
  const std::string origin = origin_of(req);
  const std::string_view authority = std::string_view(origin).substr(origin.find("://") + 3);
  Guid trace;
  http::LocalResponse out;
  out.headers.emplace_back("x-ms-request-id", trace.view());

  // authorization_endpoint=https://host[:port]/{tenant}/oauth2/v2.0/authorize: the tenant is
  // its first path segment; the host must be ours (this is not a directory of other clouds).
  std::string storage;
  std::string_view endpoint = query_parameter(req.query, "authorization_endpoint", storage);
  std::string_view rest = endpoint;
  std::string_view tenant;
  bool ok = false;
  if (size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    rest.remove_prefix(scheme + 3);
    size_t slash = rest.find('/');
    std::string_view host = rest.substr(0, slash);
    if (slash != std::string_view::npos && core::iequals(host, authority)) {
      rest.remove_prefix(slash + 1);
      tenant = rest.substr(0, rest.find('/'));
      ok = is_safe_segment(tenant);
    }
  }
  if (!ok) {
    Guid fresh;
    ErrorContext ctx{trace.view(), fresh.view(), now, origin};
    out.status = 400;
    out.body = entra_error_body(entra_error(50049, "Unknown or invalid instance."), ctx,
                                "invalid_instance");
    return out;
  }
  out.headers.emplace_back("Cache-Control", "max-age=86400, private");
  out.headers.emplace_back("Access-Control-Allow-Origin", "*");
  out.body = instance_discovery(origin, authority, tenant);
  return out;
}

http::LocalResponse IdentityService::Impl::error_page(const http::LocalRequest& req) {
  std::string storage;
  auto code = core::parse_uint(query_parameter(req.query, "code", storage));
  const int n = code && *code < 100'000'000 ? static_cast<int>(*code) : 0;
  const bool html = req.header("Accept").find("text/html") != std::string_view::npos;
  http::LocalResponse out;
  out.status = 200;
  if (html) out.content_type = "text/html; charset=utf-8";
  out.body = identity::error_page(n, html);
  out.headers.emplace_back("Cache-Control", "max-age=86400, public");
  return out;
}

// ---- lifecycle ------------------------------------------------------------------------------

Result<MasterKey> load_master_key(const config::IdentityConfig& config,
                                  const config::Environment& env) {
  std::string env_value;
  if (!config.master_key_env.empty() && env)
    env_value = env(config.master_key_env).value_or(std::string{});
  if (!config.master_key_file.empty() || !env_value.empty())
    return MasterKey::load(config.master_key_file, env_value);
  const std::string file = (std::filesystem::path(config.data_dir) / "master.key").string();
  if (!core::file_exists(file))
    return unexpected(ErrorKind::NotFound, "no master key yet (" + file + ")");
  return MasterKey::load(file, {});
}

std::shared_ptr<store::Database> IdentityService::database() const noexcept {
  return impl_->db;
}

Result<std::shared_ptr<IdentityService>> IdentityService::start(
    const config::IdentityConfig& config, IdentityListeners listeners,
    const config::Environment& env, const core::Clock& clock) {
  auto impl = std::make_unique<Impl>(config, std::move(listeners), clock);
  if (!config.public_url.empty()) {
    GH_TRY(impl->public_origin, normalize_public_url(config.public_url));
  }

  // The data directory holds the database (signing keys sealed, secret hashes) and possibly
  // the master key: owner only.
  GH_TRY_STATUS(core::make_directories(config.data_dir, 0700));
  GH_TRY(auto db,
         store::Database::open((std::filesystem::path(config.data_dir) / "gatehouse.db").string()));
  impl->db = std::shared_ptr<store::Database>(std::move(db));

  // Master key: the configured file, else the configured environment variable, else (first
  // start without either) a new key file in the data directory.
  Result<MasterKey> master = load_master_key(config, env);
  if (!master && master.error().kind == ErrorKind::NotFound) {
    const std::string file = (std::filesystem::path(config.data_dir) / "master.key").string();
    master = MasterKey::create_file(file);
    if (master)
      core::log_event("info",
                      "identity: created a new master key (set identity.master_key_file or " +
                          config.master_key_env + " to manage it yourself)",
                      {{"file", file}});
  }
  if (!master) return unexpected(master.error().with_context("identity master key"));

  auto lookup = [&env](std::string_view name) -> std::string {
    return env ? env(name).value_or(std::string{}) : std::string{};
  };
  GH_TRY(impl->directory, Directory::open(impl->db, clock));
  // The loader already made certificate paths absolute (relative to the configuration file).
  if (auto applied = apply_declared_tenants(*impl->directory, config.tenants, lookup, {}); !applied)
    return unexpected(applied.error().with_context("identity.tenants"));
  GH_TRY(impl->key_ring, KeyRing::open(impl->db, std::move(*master), config.signing, clock));

  ClientAuthOptions auth;
  auth.clock_skew = config.tokens.clock_skew;
  auth.max_assertion_lifetime = config.tokens.max_assertion_lifetime;
  auth.max_federated_lifetime = config.tokens.max_federated_lifetime;
  impl->authenticator = std::make_unique<ClientAuthenticator>(std::move(auth), clock);
  impl->minter = std::make_unique<TokenMinter>(*impl->key_ring);
  GH_TRY(impl->audit, AuditLog::open(config.audit_log));

  GH_TRY(impl->managed, ManagedIdentityEndpoint::create(config.managed_identities, lookup));
  if (impl->managed->size() > 0 && impl->public_origin.empty())
    core::log_event(
        "warn",
        "identity: managed identities are configured without identity.public_url; their "
        "tokens' issuer then follows the Host of each managed-identity request, which "
        "validators using the public discovery document will not accept");

  std::shared_ptr<IdentityService> service(new IdentityService());
  service->impl_ = std::move(impl);
  return service;
}

IdentityService::~IdentityService() {
  if (impl_ && impl_->audit) impl_->audit->flush();
}

bool IdentityService::claims(std::string_view listener, std::string_view path) const {
  if (ManagedIdentityEndpoint::is_path(path))
    return contains_name(impl_->listeners.managed_identity, listener);
  if (!impl_->listeners.identity.empty() && !contains_name(impl_->listeners.identity, listener))
    return false;
  return match_route(path).route != Route::None;
}

net::awaitable<http::LocalResponse> IdentityService::handle(const http::LocalRequest& request) {
  Impl& impl = *impl_;
  if (ManagedIdentityEndpoint::is_path(request.path)) {
    auto view = impl.directory->view();
    co_return impl.managed->handle(request, *view, *impl.minter, *impl.audit,
                                   impl.config.tokens.managed_identity_lifetime.count(),
                                   impl.origin_of(request), impl.clock.now_unix());
  }
  RouteMatch m = match_route(request.path);
  switch (m.route) {
    case Route::TokenV2:
      co_return co_await impl.token(request, m.tenant, true);
    case Route::TokenV1:
      co_return co_await impl.token(request, m.tenant, false);
    case Route::DiscoveryV2:
    case Route::DiscoveryV1:
    case Route::KeysV2:
    case Route::KeysV1:
    case Route::Interactive:
      co_return impl.discovery(request, m);
    case Route::Instance:
      co_return impl.instance(request);
    case Route::ErrorPage:
      co_return impl.error_page(request);
    case Route::None:
      break;
  }
  http::LocalResponse out;
  out.status = 404;
  out.body = R"({"error":"not_found"})";
  co_return out;
}

Directory& IdentityService::directory() noexcept {
  return *impl_->directory;
}

KeyRing& IdentityService::key_ring() noexcept {
  return *impl_->key_ring;
}

const config::IdentityConfig& IdentityService::config() const noexcept {
  return impl_->config;
}

void IdentityService::maintain() {
  if (auto s = impl_->key_ring->tick(); !s)
    core::log_event("error", "identity: key schedule failed", {{"error", s.error().message}});
  if (auto s = impl_->directory->reload_if_changed(); !s)
    core::log_event("error", "identity: directory reload failed", {{"error", s.error().message}});
  impl_->audit->flush();
}

void IdentityService::flush_logs() {
  impl_->audit->flush();
}

}  // namespace gh::identity
