#pragma once

// <return-response> (apim-policies.md §7.8): ends the pipeline with a response the gateway makes
// itself. Children, in any order: at most one <set-status code reason/> (default 200 OK), any
// number of <set-header> (exists-action applied to the response being built; several values
// joined per policy/field_setter.h), at most one <set-body> (literal text, kept as written, or
// one expression). No Content-Type is added: set it with a <set-header>.
//
// Not supported, refused at load: `response-variable-name` (there is no send-request to have
// produced a response variable) and <set-body template="...">. The standalone <set-body> policy
// stays unsupported; only return-response's child is.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_return_response(const Element& element, LoadContext& load);

}  // namespace gh::policy
