#pragma once

// <cors allow-credentials="false" terminate-unmatched-request="true"> (apim-policies.md §6.3):
//   <allowed-origins><origin>* | scheme://host[:port]</origin>...</allowed-origins>   (required)
//   <allowed-methods preflight-result-max-age="0"><method>* | VERB</method>...</allowed-methods>
//                                                          (absent: GET and POST)
//   <allowed-headers><header>* | name</header>...</allowed-headers>                    (required)
//   <expose-headers><header>name</header>...</expose-headers>
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here with an
// empty 200 and Flow::Return: with Access-Control-Allow-Origin/-Credentials/-Methods/-Headers/
// -Max-Age when it matches; without them when it does not and terminate-unmatched-request is
// true (when false, the next cors policy gets its turn: Flow::Continue). An actual request with
// a matching Origin gets Access-Control-Allow-Origin (`*` for a wildcard without credentials,
// else the origin, with `Vary: Origin`), -Allow-Credentials and -Expose-Headers added to the
// response (ctx.response_header_changes). An unmatched GET or HEAD is answered with an empty
// 200 when terminate-unmatched-request is true; other unmatched requests go on without CORS
// headers.
//
// terminate-unmatched-request defaults to true, as the newer APIM documentation says (its
// attribute table once said false). Origins compare by scheme, host (both case-insensitive) and
// port, 80/443 implied for http/https. allow-credentials="true" with origin `*` is refused at
// load; should an expression make it true at run time, the origin is echoed instead of `*`.

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

/// A serialised origin (RFC 6454 §6.2) split into parts; views into the parsed text.
struct OriginParts {
  std::string_view scheme;  // as written; compare case-insensitively
  std::string_view host;    // as written (an IPv6 literal keeps its brackets)
  uint16_t port = 0;        // explicit, or 80/443 for http/https, or 0 for other schemes
};

/// Parses `scheme "://" host [":" port]` with nothing after it; nullopt for anything else
/// (including the opaque origin "null").
std::optional<OriginParts> parse_origin(std::string_view text) noexcept;

/// True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.
bool is_cors_preflight(const RequestView& request) noexcept;

Result<std::unique_ptr<Policy>> make_cors(const Element& element, LoadContext& load);

}  // namespace gh::policy
