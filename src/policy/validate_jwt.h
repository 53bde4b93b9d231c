#pragma once

// validate-jwt (apim-policies.md §2): verifies a JWT from a header, a query parameter or an
// expression against inline keys and OpenID configurations, checks its lifetime, audience,
// issuer and required claims, and refuses with APIM's reasons and bodies (§1.6) plus an RFC 6750
// challenge. The work is shared with validate-azure-ad-token (policy/jwt_validation.h).

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_validate_jwt(const Element& element, LoadContext& load);

}  // namespace gh::policy
