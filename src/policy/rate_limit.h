#pragma once

// <rate-limit> (apim-policies.md §6.4): calls per sliding window of at most 300 s, per
// subscription, with nested <api>/<operation> limits applied independently.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_rate_limit(const Element& element, LoadContext& load);

}  // namespace gh::policy
