#include "identity/discovery.h"

#include <array>
#include <utility>

#include "core/strings.h"
#include "identity/entra_error.h"
#include "identity/json_writer.h"
#include "identity/key_ring.h"
#include "identity/token_request.h"

namespace gh::identity {

namespace {

/// Appends "name":"value" (value escaped) with a leading comma unless first.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  void string(std::string_view name, std::string_view value) {
    key(name);
    out_ += '"';
    append_json_escaped(out_, value);
    out_ += '"';
  }
  /// "origin/tenant/suffix" without building the string first.
  void url(std::string_view name, std::string_view origin, std::string_view tenant,
           std::string_view suffix) {
    key(name);
    out_ += '"';
    append_json_escaped(out_, origin);
    out_ += '/';
    append_json_escaped(out_, tenant);
    append_json_escaped(out_, suffix);
    out_ += '"';
  }
  void raw(std::string_view name, std::string_view json) {
    key(name);
    out_ += json;
  }
  void close() { out_ += '}'; }

 private:
  void key(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += name;
    out_ += "\":";
  }
  std::string& out_;
  bool first_ = true;
};

constexpr std::string_view kGraphHost = "graph.windows.net";
constexpr std::string_view kMsGraphHost = "graph.microsoft.com";
constexpr std::string_view kRbacUrl = "https://pas.windows.net";

/// The members after the endpoints, shared by both versions (Entra emits them in this order).
void tail_members(JsonObjectWriter& w, std::string_view origin, std::string_view tenant,
                  bool multi_tenant) {
  w.url("kerberos_endpoint", origin, tenant, "/kerberos");
  if (multi_tenant)
    w.raw("tenant_region_scope", "null");
  else
    w.string("tenant_region_scope", "NA");
  w.string("cloud_instance_name", kCloudInstanceName);
  w.string("cloud_graph_host_name", kGraphHost);
  w.string("msgraph_host", kMsGraphHost);
  w.string("rbac_url", kRbacUrl);
}

struct CodeSummary {
  int code;
  std::string_view text;
};

// The codes Gatehouse emits, with the situation each one names (entra-token-service.md §1.6).
constexpr std::array kSummaries = {
    CodeSummary{aadsts::kUnknownTenant, "Tenant not found."},
    CodeSummary{aadsts::kMissingParameter, "A required request parameter is missing."},
    CodeSummary{aadsts::kMethodNotAllowed, "The endpoint does not accept this HTTP method."},
    CodeSummary{aadsts::kResourceOnV2, "The 'resource' parameter is not supported on v2.0."},
    CodeSummary{aadsts::kUnsupportedGrant, "Unsupported grant type."},
    CodeSummary{aadsts::kInvalidScope, "The scope is not valid."},
    CodeSummary{aadsts::kScopeNotDefault,
                "Client credential flows need a scope of the form {resource}/.default."},
    CodeSummary{aadsts::kMultipleResources, "The scope names more than one resource."},
    CodeSummary{aadsts::kResourceNotFound, "The resource application was not found in the tenant."},
    CodeSummary{aadsts::kNotAssigned,
                "The client application is not assigned to a role of the resource application."},
    CodeSummary{aadsts::kUnknownClient, "The client application was not found in the tenant."},
    CodeSummary{aadsts::kAppDisabled, "The application is disabled."},
    CodeSummary{aadsts::kBadSecret, "Invalid client secret."},
    CodeSummary{aadsts::kSecretsExpired, "All client secrets of the application have expired."},
    CodeSummary{aadsts::kNoCredential, "No client credential was presented."},
    CodeSummary{aadsts::kCertificateProblem,
                "The client assertion's certificate is not registered, expired, or its "
                "signature failed."},
    CodeSummary{aadsts::kAssertionClientMismatch,
                "The client assertion's iss/sub do not match client_id."},
    CodeSummary{aadsts::kAssertionAudience,
                "The client assertion's aud is not this token endpoint."},
    CodeSummary{aadsts::kAssertionTime, "The client assertion is expired or not yet valid."},
    CodeSummary{aadsts::kInvalidJwt, "The client assertion is not a valid JWT."},
    CodeSummary{aadsts::kSubjectMismatch, "The client assertion's sub does not match its iss."},
    CodeSummary{aadsts::kMissingClaim, "A required claim is missing from the assertion."},
    CodeSummary{aadsts::kNoFederatedMatch,
                "No federated identity credential matches the presented token."},
    CodeSummary{aadsts::kExternalOidcFailed,
                "The external issuer's OpenID metadata or keys could not be fetched."},
    CodeSummary{aadsts::kMultipleAuthMethods, "More than one client authentication method."},
    CodeSummary{aadsts::kThrottled, "Too many requests; retry after the Retry-After delay."},
    CodeSummary{aadsts::kInternal, "Internal error."},
    CodeSummary{aadsts::kDuplicateParameter, "A request parameter appears more than once."},
    CodeSummary{aadsts::kMalformedRequest, "The request is malformed."},
    CodeSummary{9001023, "Client credentials need a tenant, not /common or /consumers."},
    CodeSummary{90009, "An application asking a token for itself must use its GUID."},
    CodeSummary{50049, "Unknown or invalid instance."},
};

}  // namespace

bool is_multi_tenant_segment(std::string_view segment) noexcept {
  return core::iequals(segment, "common") || core::iequals(segment, "organizations") ||
         core::iequals(segment, "consumers");
}

std::string discovery_v2(std::string_view origin, std::string_view tenant) {
  const bool multi = is_multi_tenant_segment(tenant);
  std::string out;
  out.reserve(2048);
  JsonObjectWriter w(out);
  w.url("token_endpoint", origin, tenant, "/oauth2/v2.0/token");
  w.raw("token_endpoint_auth_methods_supported",
        R"(["client_secret_post","private_key_jwt","client_secret_basic"])");
  w.url("jwks_uri", origin, tenant, "/discovery/v2.0/keys");
  w.raw("response_modes_supported", R"(["query","fragment","form_post"])");
  w.raw("subject_types_supported", R"(["pairwise"])");
  w.raw("id_token_signing_alg_values_supported", R"(["RS256"])");
  w.raw("response_types_supported", R"(["code","id_token","code id_token","id_token token"])");
  w.raw("scopes_supported", R"(["openid","profile","email","offline_access"])");
  w.url("issuer", origin, multi ? "{tenantid}" : tenant, "/v2.0");
  w.raw("request_uri_parameter_supported", "false");
  w.url("userinfo_endpoint", origin, tenant, "/openid/userinfo");
  w.url("authorization_endpoint", origin, tenant, "/oauth2/v2.0/authorize");
  w.url("device_authorization_endpoint", origin, tenant, "/oauth2/v2.0/devicecode");
  w.raw("http_logout_supported", "true");
  w.raw("frontchannel_logout_supported", "true");
  w.url("end_session_endpoint", origin, tenant, "/oauth2/v2.0/logout");
  w.raw("claims_supported",
        R"(["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name",)"
        R"("msgraph_host","aud","exp","iat","auth_time","acr","nonce","preferred_username",)"
        R"("name","tid","ver","at_hash","c_hash","email"])");
  tail_members(w, origin, tenant, multi);
  w.close();
  return out;
}

std::string discovery_v1(std::string_view origin, std::string_view tenant) {
  const bool multi = is_multi_tenant_segment(tenant);
  std::string out;
  out.reserve(2048);
  JsonObjectWriter w(out);
  w.url("token_endpoint", origin, tenant, "/oauth2/token");
  w.raw("token_endpoint_auth_methods_supported",
        R"(["client_secret_post","private_key_jwt","client_secret_basic"])");
  w.url("jwks_uri", origin, "common", "/discovery/keys");
  w.raw("response_modes_supported", R"(["query","fragment","form_post"])");
  w.raw("subject_types_supported", R"(["pairwise"])");
  w.raw("id_token_signing_alg_values_supported", R"(["RS256"])");
  w.raw("response_types_supported",
        R"(["code","id_token","code id_token","token id_token","token"])");
  w.raw("scopes_supported", R"(["openid"])");
  w.url("issuer", origin, multi ? "{tenantid}" : tenant, "/");
  w.raw("microsoft_multi_refresh_token", "true");
  w.url("authorization_endpoint", origin, tenant, "/oauth2/authorize");
  w.url("device_authorization_endpoint", origin, tenant, "/oauth2/devicecode");
  w.raw("http_logout_supported", "true");
  w.raw("frontchannel_logout_supported", "true");
  w.url("end_session_endpoint", origin, tenant, "/oauth2/logout");
  w.raw("claims_supported",
        R"(["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name",)"
        R"("msgraph_host","aud","exp","iat","auth_time","acr","amr","nonce","email",)"
        R"("given_name","family_name","nickname"])");
  w.url("check_session_iframe", origin, tenant, "/oauth2/checksession");
  w.url("userinfo_endpoint", origin, tenant, "/openid/userinfo");
  tail_members(w, origin, tenant, multi);
  w.close();
  return out;
}

std::string instance_discovery(std::string_view origin, std::string_view authority,
                               std::string_view tenant) {
  std::string out;
  out.reserve(512);
  JsonObjectWriter w(out);
  w.url("tenant_discovery_endpoint", origin, tenant, "/v2.0/.well-known/openid-configuration");
  w.string("api-version", "1.1");
  std::string entry = "[{\"preferred_network\":\"";
  append_json_escaped(entry, authority);
  entry += "\",\"preferred_cache\":\"";
  append_json_escaped(entry, authority);
  entry += "\",\"aliases\":[\"";
  append_json_escaped(entry, authority);
  entry += "\"]}]";
  w.raw("metadata", entry);
  w.close();
  return out;
}

std::string_view error_code_summary(int code) noexcept {
  for (const auto& s : kSummaries)
    if (s.code == code) return s.text;
  return {};
}

std::string error_page(int code, bool html) {
  std::string_view summary = error_code_summary(code);
  if (summary.empty()) summary = "Unknown error code.";
  const std::string_view error = oauth_error_of(code);
  const unsigned status = http_status_of(code);
  std::string out;
  if (!html) {
    out = "{\"code\":" + std::to_string(code) + ",\"error\":\"";
    append_json_escaped(out, error);
    out += "\",\"status\":" + std::to_string(status) + ",\"description\":\"";
    append_json_escaped(out, summary);
    out += "\"}";
    return out;
  }
  // Every value is a number or a fixed text from the table above: nothing needs escaping.
  out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>AADSTS" +
        std::to_string(code) + "</title></head><body>\n<h1>AADSTS" + std::to_string(code) +
        "</h1>\n<p>" + std::string(summary) + "</p>\n<p>OAuth error: <code>" + std::string(error) +
        "</code>, HTTP status " + std::to_string(status) + ".</p>\n</body></html>\n";
  return out;
}

}  // namespace gh::identity
