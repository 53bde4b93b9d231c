#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_escape.h"

namespace gh::http {

/// Why the gateway itself answered instead of the backend. One table (error_response.cc) maps
/// each reason to its status and default message (style rule 11).
enum class ProxyError : uint8_t {
  BadRequest,          // 400: malformed or ambiguous framing (smuggling defences)
  NotFound,            // 404: no API or operation matches
  HeaderTimeout,       // 408: headers not complete within timeouts.header_read
  BodyTooLarge,        // 413: limits.max_body_bytes
  UriTooLong,          // 414: limits.max_uri_length
  HeadersTooLarge,     // 431: limits.max_header_bytes / max_header_count
  BadGateway,          // 502: backend unreachable, reset, or invalid response
  GatewayTimeout,      // 504: backend connect or response timeout
  ServiceUnavailable,  // 503: draining
  Internal,            // 500: a local endpoint failed unexpectedly (a bug)
};

uint16_t status_of(ProxyError e) noexcept;
std::string_view default_message(ProxyError e) noexcept;
/// A short machine-readable reason for logs and metric labels ("bad_request", ...).
std::string_view reason_label(ProxyError e) noexcept;

/// APIM's error body, byte for byte: `{ "statusCode": N, "message": "..." }` (one line, one space
/// after `{`, after each `:` and `,`, and before `}`), with the message JSON-escaped.
std::string apim_error_body(uint16_t status, std::string_view message);

/// Appends `s` JSON-escaped (without quotes) to `out`: see core/json_escape.h.
using core::append_json_escaped;

}  // namespace gh::http
