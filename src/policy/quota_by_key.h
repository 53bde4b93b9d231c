#pragma once

// <quota-by-key> (apim-policies.md §6.7): calls and/or kilobytes per fixed window aligned to
// first-period-start, per value of the counter-key expression; a request counts once per key
// however many quota-by-key policies name it.

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_quota_by_key(const Element& element, LoadContext& load);

}  // namespace gh::policy
