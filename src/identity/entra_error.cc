#include "identity/entra_error.h"

#include "identity/json_writer.h"

namespace gh::identity {
namespace {

struct CodeInfo {
  std::string_view error;
  uint16_t status;
};

// The one table of AADSTS number -> OAuth error and HTTP status (entra-token-service.md §1.6).
// Status rule from the captures: invalid_client is 401, everything else 400, except throttling
// (429) and our internal failure (500).
CodeInfo info_of(int code) noexcept {
  using namespace aadsts;
  constexpr std::string_view kInvalidRequest = "invalid_request";
  constexpr std::string_view kInvalidClient = "invalid_client";
  switch (code) {
    case kUnknownTenant:
    case kMissingParameter:
    case kMethodNotAllowed:
    case kResourceOnV2:
    case kMissingClaim:
    case kNoFederatedMatch:
    case kExternalOidcFailed:
    case kMultipleAuthMethods:
      return {kInvalidRequest, 400};
    case kUnsupportedGrant:
      return {"unsupported_grant_type", 400};
    case kInvalidScope:
    case kScopeNotDefault:
    case kMultipleResources:
      return {"invalid_scope", 400};
    case kResourceNotFound:
      return {"invalid_resource", 400};
    case kNotAssigned:
      return {"invalid_grant", 400};  // what captures show (docs say invalid_client)
    case kUnknownClient:
    case kAppDisabled:
      return {"unauthorized_client", 400};
    case kBadSecret:
    case kSecretsExpired:
    case kNoCredential:
    case kCertificateProblem:
    case kAssertionClientMismatch:
    case kAssertionAudience:
    case kAssertionTime:
    case kInvalidJwt:
    case kSubjectMismatch:
      return {kInvalidClient, 401};
    case kThrottled:
      return {"temporarily_unavailable", 429};
    case kInternal:
      return {"server_error", 500};
    default:
      return {kInvalidRequest, 400};
  }
}

core::ErrorKind kind_of(int code, uint16_t status) noexcept {
  using namespace aadsts;
  switch (status) {
    case 401:
      return core::ErrorKind::Unauthenticated;
    case 429:
      return core::ErrorKind::LimitExceeded;
    case 500:
      return core::ErrorKind::Internal;
    default:
      break;
  }
  switch (code) {
    case kUnknownTenant:
    case kResourceNotFound:
    case kUnknownClient:
      return core::ErrorKind::NotFound;
    case kNotAssigned:
    case kAppDisabled:
      return core::ErrorKind::PermissionDenied;
    case kExternalOidcFailed:
      return core::ErrorKind::Unavailable;
    default:
      return core::ErrorKind::InvalidArgument;
  }
}

// AADSTS numbers are at least five digits; smaller details belong to other modules' enums.
constexpr int kSmallestAadsts = 10000;

}  // namespace

std::string_view oauth_error_of(int code) noexcept {
  return info_of(code).error;
}

uint16_t http_status_of(int code) noexcept {
  return info_of(code).status;
}

core::Error entra_error(int code, std::string message) {
  const uint16_t status = http_status_of(code);
  return core::Error(kind_of(code, status), std::move(message), code, status);
}

int aadsts_of(const core::Error& e) noexcept {
  return e.detail >= kSmallestAadsts ? e.detail : aadsts::kInternal;
}

uint16_t http_status_of(const core::Error& e) noexcept {
  if (e.detail >= kSmallestAadsts && e.http_status != 0) return e.http_status;
  return http_status_of(aadsts_of(e));
}

std::string entra_error_body(const core::Error& e, const ErrorContext& ctx,
                             std::string_view error_override) {
  const int code = aadsts_of(e);
  // An error from another module (a database or OpenSSL failure) is not shown to the client:
  // its text is for the server log, which the caller writes.
  const std::string_view message = e.detail >= kSmallestAadsts
                                       ? std::string_view(e.message)
                                       : "An internal error occurred. See the server log.";
  std::string timestamp;
  append_utc_time(timestamp, ctx.now, ' ');
  timestamp += 'Z';

  std::string body;
  body.reserve(320 + message.size() + 2 * (ctx.trace_id.size() + ctx.correlation_id.size()) +
               ctx.error_uri_base.size());
  body += "{\"error\":";
  append_json_string(body, error_override.empty() ? oauth_error_of(code) : error_override);
  body += ",\"error_description\":\"AADSTS";
  append_json_int(body, code);
  body += ": ";
  append_json_escaped(body, message);
  body += "\\r\\nTrace ID: ";
  append_json_escaped(body, ctx.trace_id);
  body += "\\r\\nCorrelation ID: ";
  append_json_escaped(body, ctx.correlation_id);
  body += "\\r\\nTimestamp: ";
  body += timestamp;
  body += "\",\"error_codes\":[";
  append_json_int(body, code);
  body += "],\"timestamp\":";
  append_json_string(body, timestamp);
  body += ",\"trace_id\":";
  append_json_string(body, ctx.trace_id);
  body += ",\"correlation_id\":";
  append_json_string(body, ctx.correlation_id);
  body += ",\"error_uri\":\"";
  append_json_escaped(body, ctx.error_uri_base);
  body += "/error?code=";
  append_json_int(body, code);
  body += "\"}";
  return body;
}

std::string entra_timestamp(int64_t unix_seconds) {
  std::string out;
  out.reserve(20);
  append_utc_time(out, unix_seconds, ' ');
  out += 'Z';
  return out;
}

}  // namespace gh::identity
