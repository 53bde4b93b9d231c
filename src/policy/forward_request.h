#pragma once

// <forward-request timeout="300" | timeout-ms="..." .../> (apim-policies.md §7.7), backend
// section only: send the request to the backend, waiting at most `timeout` seconds (default 300)
// or `timeout-ms` milliseconds for the response head. apply() sets ctx.forward and
// ctx.backend_timeout; the gateway does the sending (the runner clears ctx.forward before the
// backend section of a pipeline that has a forward-request, so a <choose> can skip it).
//
// Accepted: timeout / timeout-ms (1 s .. 1 h; literal or expression, mutually exclusive),
// http-version="1", follow-redirects="false", fail-on-error-status-code="false", and
// buffer-request-body / buffer-response / continue-timeout, which are read and ignored (the
// gateway streams both bodies and never sends Expect: 100-continue itself). Refused at load:
// http-version 2 or 2or1, follow-redirects="true", fail-on-error-status-code="true".

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

Result<std::unique_ptr<Policy>> make_forward_request(const Element& element, LoadContext& load);

}  // namespace gh::policy
