#pragma once

// Entra's token-endpoint errors (../shared/reference/entra-token-service.md §1.5, §1.6): an
// AADSTS number, the OAuth `error` string and HTTP status that go with it, and the JSON body.
// Failures travel as core::Error with detail = the AADSTS number, http_status set and message =
// the text after "AADSTS<n>: " (never containing a secret), so GH_TRY works across the module.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace gh::identity {

namespace aadsts {
inline constexpr int kUnknownTenant = 90002;  // 400 invalid_request (invalid_tenant on discovery)
inline constexpr int kMissingParameter = 900144;    // 400 invalid_request
inline constexpr int kMethodNotAllowed = 900561;    // 400 invalid_request
inline constexpr int kResourceOnV2 = 901002;        // 400 invalid_request
inline constexpr int kUnsupportedGrant = 70003;     // 400 unsupported_grant_type
inline constexpr int kInvalidScope = 70011;         // 400 invalid_scope
inline constexpr int kScopeNotDefault = 1002012;    // 400 invalid_scope
inline constexpr int kMultipleResources = 700022;   // 400 invalid_scope
inline constexpr int kResourceNotFound = 500011;    // 400 invalid_resource
inline constexpr int kNotAssigned = 501051;         // 400 invalid_grant
inline constexpr int kUnknownClient = 700016;       // 400 unauthorized_client
inline constexpr int kAppDisabled = 7000112;        // 400 unauthorized_client
inline constexpr int kBadSecret = 7000215;          // 401 invalid_client
inline constexpr int kSecretsExpired = 7000222;     // 401 invalid_client
inline constexpr int kNoCredential = 7000218;       // 401 invalid_client
inline constexpr int kCertificateProblem = 700027;  // 401 invalid_client (unknown/expired/bad sig)
inline constexpr int kAssertionClientMismatch = 700021;  // 401 invalid_client
inline constexpr int kAssertionAudience = 700023;        // 401 invalid_client
inline constexpr int kAssertionTime = 700024;            // 401 invalid_client
inline constexpr int kInvalidJwt = 50027;                // 401 invalid_client (malformed, replay)
inline constexpr int kSubjectMismatch = 50048;           // 401 invalid_client
inline constexpr int kMissingClaim = 90016;              // 400 invalid_request
inline constexpr int kNoFederatedMatch = 70021;          // 400 invalid_request
inline constexpr int kExternalOidcFailed = 50166;        // 400 invalid_request
inline constexpr int kMultipleAuthMethods = 90014;       // 400 invalid_request (Gatehouse's choice)
inline constexpr int kThrottled = 90055;                 // 429 temporarily_unavailable
inline constexpr int kInternal = 90099;                  // 500 server_error
}  // namespace aadsts

/// OAuth error string and HTTP status for an AADSTS number (table above; unknown numbers give
/// 400 invalid_request).
std::string_view oauth_error_of(int code) noexcept;
uint16_t http_status_of(int code) noexcept;

/// An Error for `code` with `message` (the text after "AADSTS<code>: "): detail = code,
/// http_status = http_status_of(code), kind by meaning (Unauthenticated for invalid_client,
/// NotFound for unknown tenant/client/resource, LimitExceeded for 429, Internal for 500...).
core::Error entra_error(int code, std::string message);

/// The AADSTS number an Error stands for: its detail when that is one (>= 10000), else
/// kInternal (an error from another module, e.g. the database, that reached the endpoint).
int aadsts_of(const core::Error& e) noexcept;
/// The HTTP status to answer `e` with: its http_status when it is an AADSTS error, else 500.
uint16_t http_status_of(const core::Error& e) noexcept;

/// What goes around every error body: one per request.
struct ErrorContext {
  std::string_view trace_id;        // per-request GUID (also the x-ms-request-id header)
  std::string_view correlation_id;  // the client's client-request-id, else a fresh GUID
  int64_t now = 0;                  // Unix seconds
  std::string_view error_uri_base;  // "https://host:port" for error_uri
};

/// Entra's error JSON: error, error_description ("AADSTS<n>: msg\r\nTrace ID: ..\r\nCorrelation
/// ID: ..\r\nTimestamp: YYYY-MM-DD HH:MM:SSZ"), error_codes, timestamp, trace_id,
/// correlation_id, error_uri. `error_override` replaces the `error` string (discovery answers
/// invalid_tenant for 90002). Compact JSON in exactly that member order. An Error that is not an
/// AADSTS error renders as 90099 with a generic description (its own text belongs in the server
/// log, not in the response).
std::string entra_error_body(const core::Error& e, const ErrorContext& ctx,
                             std::string_view error_override = {});

/// "YYYY-MM-DD HH:MM:SSZ" for Unix seconds.
std::string entra_timestamp(int64_t unix_seconds);

}  // namespace gh::identity
