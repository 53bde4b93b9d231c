#pragma once

// The documents clients fetch before asking for a token (entra-token-service.md §4): OpenID
// Connect discovery v2 and v1 with every member Entra publishes, field order included, instance
// discovery (§4.4) and the small page behind error_uri. Pure rendering: no I/O.

#include <cstdint>
#include <string>
#include <string_view>

namespace gh::identity {

/// The tenant path segment Entra reserves for multi-tenant documents: "common",
/// "organizations", "consumers" (case-insensitive).
bool is_multi_tenant_segment(std::string_view segment) noexcept;

/// /{tenant}/v2.0/.well-known/openid-configuration. `origin` is "https://host[:port]" (already
/// validated: no characters that need escaping), `tenant` the GUID, or a multi-tenant segment,
/// for which issuer is the literal template ".../{tenantid}/v2.0" as Entra's.
std::string discovery_v2(std::string_view origin, std::string_view tenant);

/// /{tenant}/.well-known/openid-configuration: issuer "{origin}/{tenant}/", jwks_uri the common
/// v1 keys (as Entra's tenant documents point at /common/discovery/keys).
std::string discovery_v1(std::string_view origin, std::string_view tenant);

/// /common/discovery/instance: tenant_discovery_endpoint for `tenant` and one metadata entry
/// whose preferred_network, preferred_cache and aliases are `authority` ("host[:port]").
std::string instance_discovery(std::string_view origin, std::string_view authority,
                               std::string_view tenant);

/// A short description of an AADSTS number for the /error page ("" when unknown).
std::string_view error_code_summary(int code) noexcept;

/// The /error?code=N page: JSON {"code":N,"error":"...","status":S,"description":"..."} or, when
/// `html`, a minimal HTML page with the same facts (values escaped).
std::string error_page(int code, bool html);

}  // namespace gh::identity
