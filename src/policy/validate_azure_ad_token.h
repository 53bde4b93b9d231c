#pragma once

// validate-azure-ad-token (apim-policies.md §3): validate-jwt preset for a Microsoft Entra ID
// tenant, or any Entra-compatible issuer such as Gatehouse's own identity role: metadata from
// <authentication-endpoint>/<tenant-id>/v2.0/.well-known/openid-configuration, v1 and v2 issuers
// of the tenant, client-application-ids against appid/azp, backend-application-ids and audiences
// against aud. Runs on policy/jwt_validation.h.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_validate_azure_ad_token(const Element& element,
                                                             LoadContext& load);

}  // namespace gh::policy
