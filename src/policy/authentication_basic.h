#pragma once

// <authentication-basic username="..." password="..."/> (apim-policies.md §7.5): the request to
// the backend carries `Authorization: Basic base64(username:password)` (replacing any the client
// sent). Both attributes are required and may be expressions; with literals (named values
// included) the header value is computed once at load. The password never appears in a message.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_authentication_basic(const Element& element,
                                                          LoadContext& load);

}  // namespace gh::policy
