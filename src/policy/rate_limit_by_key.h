#pragma once

// <rate-limit-by-key> (apim-policies.md §6.5): calls per sliding window of at most 300 s, per
// value of the counter-key expression, shared by every policy that uses the same value.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_rate_limit_by_key(const Element& element, LoadContext& load);

}  // namespace gh::policy
