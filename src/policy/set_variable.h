#pragma once

// <set-variable name="x" value="literal | @(expression)"/> (apim-policies.md §7.9): stores a
// value in context.Variables for later policies and expressions.
//
// `name` is a literal (APIM allows no expression there). A literal `value` is stored as a string
// (APIM: System.String); an expression stores its typed value (bool, int, string, Jwt or null).
// Any section, any scope. An expression that fails to evaluate fails the request with
// ExpressionValueEvaluationFailure (500), as in APIM.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

/// Factory for the registry: checks name and value and compiles the value at load.
Result<std::unique_ptr<Policy>> make_set_variable(const Element& element, LoadContext& load);

}  // namespace gh::policy
