#pragma once

// <authentication-certificate certificate-id="x" /> or <... thumbprint="SHA-1 hex" />
// (apim-policies.md §7.3): the gateway presents this client certificate (a certificate entity
// with a private key) to the backend, i.e. backend mTLS. Resolved at load through the
// BackendCatalog, so both attributes must be literals or named values; `body` / `password`
// (certificate bytes from an expression) are refused: use certificate-id. Prefer certificate-id:
// a thumbprint changes when the certificate is renewed. Inbound section.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_authentication_certificate(const Element& element,
                                                                LoadContext& load);

}  // namespace gh::policy
