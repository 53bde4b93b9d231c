#pragma once

// Pieces of client-assertion validation that do not depend on the authenticator's state
// (entra-token-service.md §2.3, §2.4): thumbprint hints from the JOSE header, the accepted `aud`
// values, and the time formats Entra's error texts use.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "identity/model.h"

namespace gh::identity {

/// base64url of a thumbprint as clients send it in x5t / x5t#S256 / kid: '=' padding tolerated
/// (MSAL Python ≤1.29 pads x5t). nullopt unless it decodes to exactly `size` bytes.
std::optional<core::Bytes> decode_thumbprint(std::string_view text, size_t size);

/// "scheme://host[:port]" lower-cased with the default port (443/80) removed; nullopt for
/// anything else (path, query, user info, other schemes). Used for EndpointInfo::origins and
/// for the origin part of an assertion's aud.
std::optional<std::string> canonical_origin(std::string_view origin);

/// True when `aud` is this tenant's token endpoint at one of `origins`:
/// {origin}/{tenant GUID or alias}/oauth2/v2.0/token or .../oauth2/token. Scheme and host
/// compare case-insensitively, the port counts, a query string is ignored, the path is exact
/// (the tenant segment compares case-insensitively, as tenant lookup does).
bool is_token_endpoint_audience(std::string_view aud, const Tenant& tenant,
                                std::span<const std::string_view> origins);

/// True for http:// URLs whose host is loopback (127.0.0.0/8, [::1], localhost): the only
/// plain-HTTP issuers a federated credential may name (local test issuers).
bool is_loopback_http_url(std::string_view url);

/// "MM/DD/YYYY HH:MM:SS" (UTC): how 700027 shows a credential's Start/End.
std::string entra_key_time(int64_t unix_seconds);

/// "2023-08-01T11:08:01.5274809Z" (UTC, 7 fractional digits): how 700024 shows times.
std::string entra_precise_time(double unix_seconds);

/// An untrusted value for an error text: at most 200 characters of printable ASCII, anything
/// else replaced by '?', so a client cannot forge lines or flood logs through our messages.
std::string printable(std::string_view value);

}  // namespace gh::identity
