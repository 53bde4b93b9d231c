#include "policy/registry.h"

#include <algorithm>
#include <vector>

#include "policy/authentication_basic.h"
#include "policy/authentication_certificate.h"
#include "policy/authentication_managed_identity.h"
#include "policy/check_header.h"
#include "policy/cors.h"
#include "policy/forward_request.h"
#include "policy/ip_filter.h"
#include "policy/quota.h"
#include "policy/quota_by_key.h"
#include "policy/rate_limit.h"
#include "policy/rate_limit_by_key.h"
#include "policy/return_response.h"
#include "policy/set_backend_service.h"
#include "policy/set_header.h"
#include "policy/set_query_parameter.h"
#include "policy/set_status.h"
#include "policy/set_variable.h"
#include "policy/validate_azure_ad_token.h"
#include "policy/validate_client_certificate.h"
#include "policy/validate_jwt.h"

// Each kind's factory is declared in its own header; one line per kind below.
// (Blocks by area keep additions from different changes apart.)

namespace gh::policy {
namespace {

// clang-format off
const std::vector<PolicyKind> kKinds = {
    // Expressions and flow helpers.
    {"set-variable", &make_set_variable, kAnySection, kAnyScope},
    {"check-header", &make_check_header, kInbound, kAnyScope},
    {"ip-filter", &make_ip_filter, kInbound, kAnyScope},

    // Request and response changes, backends.
    {"set-header", &make_set_header, kAnySection, kAnyScope},
    {"set-query-parameter", &make_set_query_parameter, kInbound | kBackend, kAnyScope},
    {"set-status", &make_set_status, kAnySection, kAnyScope},
    {"return-response", &make_return_response, kAnySection, kAnyScope},
    {"cors", &make_cors, kInbound, kAnyScope},
    {"authentication-basic", &make_authentication_basic, kInbound, kAnyScope},
    {"authentication-certificate", &make_authentication_certificate, kInbound, kAnyScope},
    {"authentication-managed-identity", &make_authentication_managed_identity, kInbound, kAnyScope},
    {"set-backend-service", &make_set_backend_service, kInbound | kBackend, kAnyScope},
    {"forward-request", &make_forward_request, kBackend, kAnyScope},

    // Tokens.
    {"validate-jwt", &make_validate_jwt, kInbound, kAnyScope},
    {"validate-azure-ad-token", &make_validate_azure_ad_token, kInbound, kAnyScope},

    // Client certificates.
    {"validate-client-certificate", &make_validate_client_certificate, kInbound, kAnyScope},

    // Throttling.
    {"rate-limit",        &make_rate_limit,        kInbound, kProductScope | kApiScope | kOperationScope},
    {"rate-limit-by-key", &make_rate_limit_by_key, kInbound, kAnyScope},
    {"quota",             &make_quota,             kInbound, kProductScope},
    {"quota-by-key",      &make_quota_by_key,      kInbound, kAnyScope},

};
// clang-format on

constexpr std::string_view kKnownUnsupported[] = {
    "cache-lookup",
    "cache-store",
    "cache-lookup-value",
    "cache-store-value",
    "cache-remove-value",
    "send-request",
    "send-one-way-request",
    "log-to-eventhub",
    "emit-metric",
    "trace",
    "find-and-replace",
    "json-to-xml",
    "xml-to-json",
    "xsl-transform",
    "set-body",
    "rewrite-uri",
    "set-method",
    "mock-response",
    "retry",
    "wait",
    "jsonp",
    "proxy",
    "validate-content",
    "validate-parameters",
    "validate-headers",
    "validate-status-code",
    "validate-odata-request",
    "validate-graphql-request",
    "get-authorization-context",
    "invoke-dapr-binding",
    "publish-to-dapr",
    "set-graphql-resolver",
    "llm-token-limit",
    "azure-openai-token-limit",
    "limit-concurrency",
    "cross-domain",
    "publish-to-dapr",
};

}  // namespace

std::span<const PolicyKind> policy_kinds() noexcept {
  return kKinds;
}

const PolicyKind* find_policy_kind(std::string_view element) noexcept {
  for (const auto& k : kKinds)
    if (k.element == element) return &k;
  return nullptr;
}

bool is_known_unsupported(std::string_view element) noexcept {
  return std::find(std::begin(kKnownUnsupported), std::end(kKnownUnsupported), element) !=
         std::end(kKnownUnsupported);
}

}  // namespace gh::policy
