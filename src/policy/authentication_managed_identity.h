#pragma once

// <authentication-managed-identity resource="..." client-id="..." output-token-variable-name="..."
//     ignore-error="false"/> (apim-policies.md §7.4): the gateway gets an access token for
// `resource` as its managed identity from the identity role (Services::managed_identity) and
// sends it to the backend as `Authorization: Bearer <token>`, or, with
// output-token-variable-name, puts it in that variable instead (the header is then left alone).
//
// Tokens are cached process-wide by (resource, client-id) (policy/managed_identity_tokens.h)
// and served while valid for more than 5 minutes; apply() finishes synchronously then and
// returns Flow::Await only to fetch. `resource` may be an expression; `client-id` (a
// user-assigned identity; absent = the system-assigned one) and the variable name may not.
//
// When no token can be had: LastError source "authentication-managed-identity", reason
// "TokenAcquisitionFailed", and APIM's generic 500 `Internal server error` to the client; with
// ignore-error="true" the request goes on without the token. Inbound section.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_authentication_managed_identity(const Element& element,
                                                                     LoadContext& load);

}  // namespace gh::policy
