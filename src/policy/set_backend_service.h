#pragma once

// <set-backend-service base-url="https://host/path" /> or <set-backend-service backend-id="x" />
// (apim-policies.md §7.1): route this request to another backend. Exactly one of the two.
// Backends are resolved when the configuration loads (BackendCatalog: a base URL reuses the
// backend entity with that URL or gets one with default TLS settings), so both attributes must
// be literals or named values: a policy expression is refused at load with a message saying so.
// The Service Fabric attributes (sf-*) are refused. Inbound and backend sections.

#include <memory>
#include <string_view>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

/// OK when `url` is an absolute http(s) URL with a host and no query, fragment, user info or
/// whitespace; else why not.
Status check_base_url(std::string_view url);

Result<std::unique_ptr<Policy>> make_set_backend_service(const Element& element, LoadContext& load);

}  // namespace gh::policy
