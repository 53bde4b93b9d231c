#pragma once

// <set-header name="..."
// exists-action="override|skip|append|delete"><value>...</value></set-header> (apim-policies.md
// §7.6). In inbound and backend it changes the request on its way to the backend
// (ctx.request_header_changes); in outbound and on-error the response on its way to the client
// (ctx.response_header_changes). The change is recorded, not applied; the gateway writes several
// values as one comma-joined field except for the names is_repeated_header() lists
// (policy/field_setter.h). Connection, Content-Length, Keep-Alive, Transfer-Encoding and Host are
// refused at load; a value with CR, LF or another control character fails the request
// (ExpressionValueEvaluationFailure) rather than ever reaching the wire.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_set_header(const Element& element, LoadContext& load);

}  // namespace gh::policy
