#pragma once

// <quota> (apim-policies.md §6.6): calls and/or kilobytes per fixed window aligned to the
// subscription's start (renewal-period 0: for the subscription's lifetime), product scope only,
// with nested <api>/<operation> quotas applied independently.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_quota(const Element& element, LoadContext& load);

}  // namespace gh::policy
