#include "policy/validate_azure_ad_token.h"

#include <algorithm>

#include "core/strings.h"
#include "policy/jwt_validation.h"
#include "policy/openid_cache.h"

namespace gh::policy {
namespace {

constexpr std::string_view kDefaultEndpoint = "https://login.microsoftonline.com";
// Microsoft.IdentityModel's default: APIM documents no clock-skew for this policy, so Gatehouse
// takes the library's and lets `clock-skew` (a Gatehouse extension) change it.
constexpr int64_t kDefaultClockSkewSeconds = 300;
constexpr int64_t kMaxClockSkewSeconds = 365 * 86400;

void problem(LoadProblems& problems, const Element& e, std::string_view message) {
  problems.lines.push_back(element_error(e, message).message);
}

// A tenant is one path segment: a GUID or a domain name.
bool is_tenant_segment(std::string_view tenant) noexcept {
  return !tenant.empty() && tenant.size() <= 256 &&
         std::all_of(tenant.begin(), tenant.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_';
         });
}

// "login.microsoftonline.us" or "https://127.0.0.1:8443/": https:// is implied when no scheme is
// given (APIM: "prefix https:// is optional"); a trailing '/' is dropped.
std::string normalize_endpoint(std::string_view raw) {
  std::string endpoint(raw);
  const bool has_scheme =
      (endpoint.size() >= 8 && core::iequals(endpoint.substr(0, 8), "https://")) ||
      (endpoint.size() >= 7 && core::iequals(endpoint.substr(0, 7), "http://"));
  if (!has_scheme) endpoint = "https://" + endpoint;
  while (endpoint.ends_with('/'))
    endpoint.pop_back();
  return endpoint;
}

// <client-application-ids> / <backend-application-ids>: constants (named values work).
std::vector<std::string> read_application_ids(const Element& list, LoadProblems& problems) {
  std::vector<std::string> out;
  for (auto& value : read_value_list(list, "application-id", problems)) {
    if (!value.is_constant()) {
      problem(problems, list, "application ids do not accept policy expressions");
      continue;
    }
    out.push_back(std::move(value.constant));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Policy>> make_validate_azure_ad_token(const Element& element,
                                                             LoadContext& load) {
  LoadProblems problems;
  JwtValidationSpec spec;
  spec.source = "validate-azure-ad-token";
  spec.entra_issuer_variants = true;
  spec.require_expiration.constant = true;  // expiration and signature are always required
  spec.clock_skew.constant = kDefaultClockSkewSeconds;
  // In the Authorization header the token must come as "Bearer <token>"; a custom header, a
  // query parameter or token-value carry it bare.
  spec.require_scheme = StringSetting{"Bearer", {}};

  AttributeReader reader(element);
  std::string tenant;
  if (const std::string* raw = reader.required("tenant-id")) {
    if (!reject_expression(element, "tenant-id", *raw, problems)) {
      if (!is_tenant_segment(*raw)) {
        reader.problem("attribute 'tenant-id' must be a tenant id or domain name");
      }
      tenant = *raw;
    }
  }
  std::string endpoint(kDefaultEndpoint);
  if (const std::string* raw = reader.raw("authentication-endpoint")) {
    if (!reject_expression(element, "authentication-endpoint", *raw, problems)) {
      endpoint = normalize_endpoint(*raw);
      if (!is_fetchable_url(endpoint)) {
        reader.problem(
            "attribute 'authentication-endpoint' must be an https:// base URL (or http:// to a "
            "loopback host)");
      }
    }
  }
  read_token_location(reader, spec, "Authorization");
  read_failure_settings(reader, spec, problems);
  if (const std::string* raw = reader.raw("clock-skew")) {
    if (!reject_expression(element, "clock-skew", *raw, problems)) {
      spec.clock_skew.constant =
          reader.integer("clock-skew", kDefaultClockSkewSeconds, 0, kMaxClockSkewSeconds);
    }
  }
  add_problems(reader.finish(), problems);

  bool seen_clients = false, seen_backends = false, seen_audiences = false, seen_claims = false;
  auto once = [&](const Element& child, bool& seen) {
    if (seen) problem(problems, child, "may appear only once");
    seen = true;
  };
  std::vector<std::string> backend_ids;
  for (const Element& child : element.children) {
    if (child.name == "client-application-ids") {
      once(child, seen_clients);
      spec.client_application_ids = read_application_ids(child, problems);
    } else if (child.name == "backend-application-ids") {
      once(child, seen_backends);
      backend_ids = read_application_ids(child, problems);
    } else if (child.name == "audiences") {
      once(child, seen_audiences);
      spec.audiences = read_value_list(child, "audience", problems);
    } else if (child.name == "required-claims") {
      once(child, seen_claims);
      spec.required_claims = read_required_claims(child, problems);
    } else if (child.name == "decryption-keys") {
      problem(problems, child,
              "is not supported: Gatehouse does not decrypt encrypted tokens (JWE)");
    } else {
      problem(problems, child, "unknown element inside <validate-azure-ad-token>");
    }
  }
  // A token for the backend application names it in aud: its client id (v2) or App ID URI (v1).
  for (const std::string& id : backend_ids) {
    spec.audiences.push_back(StringSetting{id, {}});
    spec.audiences.push_back(StringSetting{"api://" + id, {}});
  }
  if (spec.client_application_ids.empty() && spec.audiences.empty()) {
    problem(problems, element,
            "needs <client-application-ids>, <audiences> or <backend-application-ids>: without "
            "them any application's token for the tenant would pass");
  }
  if (!problems.empty()) return unexpected(ErrorKind::InvalidArgument, problems.joined());

  spec.openid_urls.push_back(endpoint + "/" + tenant + "/v2.0/.well-known/openid-configuration");
  auto policy = make_jwt_validation(std::move(spec), load);
  if (!policy) return unexpected(element_error(element, policy.error().message));
  return policy;
}

}  // namespace gh::policy
