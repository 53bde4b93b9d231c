#pragma once

// Running an operation's policies on the request path (apim-policies.md §1.1): the built-in
// subscription check, then inbound and backend before forwarding, outbound once the backend's
// response head is in, on-error whenever a step fails. proxy_session calls these; they do not
// touch sockets.

#include <string>
#include <string_view>
#include <vector>

#include "gateway/policy_set.h"
#include "net/asio.h"
#include "policy/context.h"
#include "policy/pipeline.h"

namespace gh::gateway {

/// What the request path does after the inbound and backend sections.
enum class PolicyVerdict : uint8_t {
  Forward,  // send the request to the backend (with the context's changes)
  Respond,  // answer with ctx.response (a policy returned or failed); the backend is not called
};

/// How far start_request_policies got: Done (with its verdict), or what must still run, which
/// finish_request_policies does in a coroutine.
struct PolicyProgress {
  enum class Next : uint8_t {
    Done,
    OnError,   // a step failed: on-error, then Respond
    Inbound,   // inbound's step `pc` awaits (a key or revocation fetch)
    Backend,   // backend's step `pc` awaits
    Outbound,  // no forward-request: outbound on an empty 200, then Respond
  };
  Next next = Next::Done;
  PolicyVerdict verdict = PolicyVerdict::Forward;
  size_t pc = 0;
};

/// Subscription check, inbound, then backend (when the pipeline forwards), synchronously as far
/// as no step awaits: the usual request needs no coroutine frame for its policies. Picks the
/// pipeline for the product context and returns it in `pipeline`.
PolicyProgress start_request_policies(const OperationPolicies& op, const PolicySet& set,
                                      policy::RequestContext& ctx,
                                      const policy::Pipeline*& pipeline);

/// Runs what start_request_policies left (progress.next != Done) and returns the verdict.
net::awaitable<PolicyVerdict> finish_request_policies(PolicyProgress progress,
                                                      policy::RequestContext& ctx,
                                                      const policy::Pipeline& pipeline);

/// Outbound, after the backend's response head is known (ctx.backend_response set). Returns
/// Respond when a policy replaced the response (then ctx.response is the answer).
net::awaitable<PolicyVerdict> run_response_policies(const policy::Pipeline& pipeline,
                                                    policy::RequestContext& ctx);

/// Calls every deferred end-of-request hook (counting on the response).
void complete_policies(policy::RequestContext& ctx);

/// Turns field changes into what the head writers take: the names to leave out of `original`
/// and the lines to add ("Name: value\r\n"), values re-checked for CR/LF. `drop` views point into
/// `changes`.
void field_edits(std::span<const policy::HeaderField> original,
                 std::span<const policy::FieldChange> changes, std::vector<std::string_view>& drop,
                 std::string& extra);

/// The gateway's own response (ctx.response plus outbound header changes) as bytes.
std::string gateway_response_bytes(const policy::RequestContext& ctx, std::string_view request_id,
                                   bool close, bool head_request);

/// The request target after query changes: `path` plus the rebuilt query.
std::string apply_query_changes(std::string_view target,
                                std::span<const policy::FieldChange> changes);

}  // namespace gh::gateway
