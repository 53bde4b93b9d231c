#pragma once

// What the admin REST APIs (identity_api.h, vault_api.h) share: the request and response they
// exchange with the admin server, the one error shape {"error": code, "message": ...}, strict
// JSON request bodies, query parameters and path segments. docs/admin-api.md, "Conventions".

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gh::admin {

/// Largest accepted request body (a PEM certificate chain or a base64 PKCS#12 fits).
inline constexpr size_t kMaxAdminBodyBytes = 64 * 1024;

struct AdminRequest {
  std::string_view method;         // "GET", "POST", "PATCH", "DELETE", ...
  std::string_view target;         // origin-form: path and query
  std::string_view authorization;  // the Authorization header, "" when absent
  std::string_view body;
  std::string_view source_ip;  // the peer's address, for audit records ("" when unknown)
};

struct AdminResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields
  std::string body;
  std::string caller;  // who was authenticated ("" when nobody), for the admin server's log
};

// ----- responses -----

AdminResponse json_response(unsigned status, const boost::json::value& body);
/// {"error": code, "message": message}; the message is escaped so that bytes of the request
/// that are not UTF-8 become U+FFFD and the body stays valid JSON.
AdminResponse error_response(unsigned status, std::string_view code, std::string_view message);
/// The status and code documented for an error kind (400, 404, 409, 401, 403, else 500).
AdminResponse from_error(const Error& e);
AdminResponse no_content();
AdminResponse method_not_allowed(std::string_view allow);
core::Unexpected bad_request(std::string message);

/// "2026-11-24T05:20:32Z" for a Unix time, null for 0 (unset).
boost::json::value time_value(int64_t unix_seconds);

// ----- request parsing -----

/// RFC 3986 percent-decoding; `plus_is_space` for query values (form encoding). nullopt for a
/// malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);
/// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or > U+10FFFF).
bool is_utf8(std::string_view s);
/// The decoded value of query parameter `name`; nullopt when absent. InvalidArgument naming the
/// parameter for bad percent-encoding or a value that is not UTF-8.
Result<std::optional<std::string>> query_param(std::string_view query, std::string_view name);
/// The decoded segments of `path` after `prefix` ("/v1/"); InvalidArgument for bad
/// percent-encoding, NotFound for an empty segment ("a//b").
Result<std::vector<std::string>> path_segments(std::string_view path, std::string_view prefix);

/// A JSON request body: an object whose members are checked against the fields a resource
/// takes, so that a typo is a 400 naming it rather than a silently ignored setting. Errors are
/// InvalidArgument naming the field.
class Body {
 public:
  /// An empty (or blank) text is an empty object.
  static Result<Body> parse(std::string_view text, std::initializer_list<std::string_view> known);

  Result<std::optional<std::string>> text(std::string_view name) const;
  Result<std::string> required_text(std::string_view name) const;
  Result<std::optional<bool>> flag(std::string_view name) const;
  Result<std::optional<int64_t>> integer(std::string_view name) const;
  Result<std::optional<std::vector<std::string>>> texts(std::string_view name) const;
  /// An object of string values ({"env": "prod"}), in the body's order.
  Result<std::optional<std::vector<std::pair<std::string, std::string>>>> string_map(
      std::string_view name) const;
  /// A nested object checked against its own known fields (the message names "outer.inner").
  Result<std::optional<Body>> object(std::string_view name,
                                     std::initializer_list<std::string_view> known) const;

 private:
  static Result<Body> check(boost::json::object object, std::string_view prefix,
                            std::initializer_list<std::string_view> known);
  std::string field(std::string_view name) const { return prefix_ + std::string(name); }

  boost::json::object object_;
  std::string prefix_;  // "policy." for a nested object, for messages
};

}  // namespace gh::admin
