#pragma once

// <set-query-parameter name="..." exists-action="override|skip|append|delete"><value>...</value>
// </set-query-parameter>: the query of the request on its way to the backend, with set-header's
// exists-action semantics (apim-policies.md §7.6). Changes hold decoded names and values
// (ctx.query_changes); the gateway percent-encodes them when it writes the query, and several
// values become repeated parameters (`a=1&a=2`). Inbound and backend sections.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_set_query_parameter(const Element& element, LoadContext& load);

}  // namespace gh::policy
