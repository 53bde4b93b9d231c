#pragma once

// The token endpoint's request parsing (entra-token-service.md §1.2, §1.3): the form body
// (application/x-www-form-urlencoded, parsed leniently: unknown and telemetry parameters are
// ignored) and the v2 `scope` -> resource rule (HTTP Basic is client_auth.h's). Everything is a
// view: into the body when a value needs no decoding, else into one caller-owned buffer
// reserved once, so parsing a request allocates at most that buffer.

#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gh::identity {

/// AADSTS numbers this parser adds to entra_error.h's table (both 400 invalid_request).
namespace aadsts {
inline constexpr int kDuplicateParameter = 9000411;  // "The parameter '{name}' is duplicated."
inline constexpr int kMalformedRequest = 90023;      // invalid percent-encoding
}  // namespace aadsts

/// The parameters of a client-credentials request that Gatehouse reads. Empty = absent (an
/// empty value counts as absent, as Entra reports "must contain the following parameter").
struct TokenForm {
  std::string_view grant_type;
  std::string_view client_id;
  std::string_view client_secret;
  std::string_view client_assertion_type;
  std::string_view client_assertion;
  std::string_view scope;
  std::string_view resource;
  std::string_view client_request_id;
  std::string_view claims;
};

/// True for "application/x-www-form-urlencoded" with or without parameters (";charset=utf-8"),
/// case-insensitively. Entra treats any other body as carrying no parameters.
bool is_form_content_type(std::string_view content_type) noexcept;

/// Decodes one form component ('+' is a space, %XX a byte) appending it to `out`. False (with
/// `out` unspecified) on a '%' not followed by two hex digits.
bool form_url_decode(std::string_view in, std::string& out);

/// One parameter a form parser looks for, and where its value goes.
struct FormField {
  std::string_view name;
  std::string_view* value;
  bool any_case = false;  // telemetry names (client-request-id) come in several spellings
};

/// Parses `text` (a form body or a query string) into `fields`; other parameters are ignored.
/// `storage` is cleared and reserved to text.size(); decoded values live in it, so it must
/// outlive the views and not be modified meanwhile. Errors (entra_error): 9000411 when a
/// parameter of `fields` appears twice, 90023 on invalid percent-encoding.
Status parse_form(std::string_view text, std::span<const FormField> fields, std::string& storage);

/// Parses a token request's form body: parse_form with TokenForm's parameters.
Result<TokenForm> parse_token_form(std::string_view body, std::string& storage);

/// The value of `name` in a query string (first occurrence, not decoded unless needed; decoded
/// values go to `storage`, which is cleared). "" when absent or malformed.
std::string_view query_parameter(std::string_view query, std::string_view name,
                                 std::string& storage);

/// The resource named by a v2 `scope` (§1.3): the one `{resource}/.default` entry with the
/// final "/.default" removed (a trailing slash kept: "https://x//.default" -> "https://x/");
/// openid, profile, offline_access and email next to it are ignored. Errors (entra_error):
/// 1002012 for a scope that is not ".default", 700022 for two different resources, 70011 when
/// the resource part is empty.
Result<std::string_view> resource_from_scope(std::string_view scope);

}  // namespace gh::identity
