#include "gateway/policy_run.h"

#include <algorithm>

#include "core/encoding.h"
#include "core/strings.h"
#include "http/error_response.h"
#include "http/forward_head.h"
#include "policy/cors.h"
#include "policy/field_setter.h"

namespace gh::gateway {
namespace {

using policy::Flow;
using policy::Section;

// A section runs synchronously until a step must await (a key or revocation fetch): the caller
// runs it with start_section and only then enters the coroutine, so a request whose policies
// all complete at once allocates no coroutine frame per section.
Flow start_section(const policy::Pipeline& pl, Section s, policy::RequestContext& ctx, size_t& pc) {
  pc = 0;
  return pl.section(s).run(ctx, pc);
}

/// Continues a section that start_section left at Flow::Await on step `pc`.
net::awaitable<Flow> resume_section(const policy::Pipeline& pl, Section s,
                                    policy::RequestContext& ctx, size_t pc) {
  const policy::Program& program = pl.section(s);
  for (;;) {
    ctx.section = s;
    Flow f = co_await program.awaiting(pc)->apply_async(ctx);
    if (f != Flow::Continue) co_return f;
    ++pc;
    f = program.run(ctx, pc);
    if (f != Flow::Await) co_return f;
  }
}

net::awaitable<Flow> run_section(const policy::Pipeline& pl, Section s,
                                 policy::RequestContext& ctx) {
  size_t pc = 0;
  Flow f = start_section(pl, s, ctx, pc);
  if (f == Flow::Await) f = co_await resume_section(pl, s, ctx, pc);
  co_return f;
}

/// APIM's answer when on-error itself fails: a generic 500 (apim-policies.md §0).
void internal_error(policy::RequestContext& ctx) {
  policy::GatewayResponse r;
  r.status = 500;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = "{ \"statusCode\": 500, \"message\": \"Internal server error\", \"activityId\": \"";
  core::append_json_escaped(r.body, ctx.request.request_id);
  r.body += "\" }";
  ctx.response = std::move(r);
}

net::awaitable<void> run_on_error(const policy::Pipeline& pl, policy::RequestContext& ctx) {
  if (!pl.section(Section::OnError).empty()) {
    Flow f = co_await run_section(pl, Section::OnError, ctx);
    if (f == Flow::Error && !ctx.response) internal_error(ctx);
  }
  if (!ctx.response) internal_error(ctx);
}

bool has_crlf(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

PolicyProgress respond() {
  return {PolicyProgress::Next::Done, PolicyVerdict::Respond};
}

/// What follows a finished inbound and backend section: the verdict, or what must still run.
PolicyProgress conclude(const policy::RequestContext& ctx, Flow f) {
  if (f == Flow::Error) return {PolicyProgress::Next::OnError};
  if (f == Flow::Return) return respond();
  if (!ctx.forward) return {PolicyProgress::Next::Outbound};
  return {PolicyProgress::Next::Done, PolicyVerdict::Forward};
}

PolicyProgress after_backend(const policy::Pipeline& pl, policy::RequestContext& ctx, Flow f) {
  if (f == Flow::Continue && !pl.forwards()) ctx.forward = false;
  return conclude(ctx, f);
}

/// After inbound: the backend section runs when inbound continued.
PolicyProgress after_inbound(const policy::Pipeline& pl, policy::RequestContext& ctx, Flow f) {
  if (f != Flow::Continue) return conclude(ctx, f);
  ctx.forward = !pl.forwards();  // forward-request turns it back on
  if (pl.section(Section::Backend).empty()) return after_backend(pl, ctx, f);
  size_t pc = 0;
  f = start_section(pl, Section::Backend, ctx, pc);
  if (f == Flow::Await) return {PolicyProgress::Next::Backend, PolicyVerdict::Forward, pc};
  return after_backend(pl, ctx, f);
}

}  // namespace

PolicyProgress start_request_policies(const OperationPolicies& op, const PolicySet& set,
                                      policy::RequestContext& ctx,
                                      const policy::Pipeline*& pipeline) {
  ctx.api = op.api;
  if (!op.operation.id.empty()) ctx.operation = &op.operation;
  pipeline = op.pipeline.get();

  // A CORS preflight runs the inbound section's cors policy alone, before the subscription
  // step: a browser's preflight carries no key and no token (APIM §6.3). An operation that
  // defines OPTIONS itself gets the request like any other.
  if (const policy::Instruction* cors = pipeline->cors_preflight();
      cors && op.operation.method != "OPTIONS" && policy::is_cors_preflight(ctx.request)) {
    ctx.section = Section::Inbound;
    ctx.scope = cors->scope;
    ctx.path = cors->path;
    Flow f = cors->policy->apply(ctx);
    if (f == Flow::Error) return {PolicyProgress::Next::OnError};
    if (f == Flow::Return) return respond();
  }

  // The built-in subscription step (§5): header first, then the query parameter.
  std::optional<std::string> key = ctx.header(op.api->key_header);
  if (!key) key = ctx.query_parameter(op.api->key_query);
  auto check = set.subscriptions->check(op.api->id, op.subscription_required,
                                        key ? std::optional<std::string_view>(*key) : std::nullopt,
                                        ctx.managed_subscriptions.get());
  if (check.outcome != policy::SubscriptionCheck::Outcome::Granted) {
    const bool missing = check.outcome == policy::SubscriptionCheck::Outcome::Missing;
    ctx.section = Section::Inbound;
    ctx.fail("authorization", missing ? "SubscriptionKeyNotFound" : "SubscriptionKeyInvalid",
             missing ? policy::kMissingKeyMessage : policy::kInvalidKeyMessage, 401);
    std::string challenge = "AzureApiManagementKey realm=\"";
    challenge.append(ctx.request.scheme);
    challenge += "://";
    challenge.append(ctx.request.host);
    challenge += op.api->path;
    challenge += "\",name=\"" + op.api->key_header + "\",type=\"header\"";
    if (!has_crlf(challenge)) ctx.response->headers.emplace_back("WWW-Authenticate", challenge);
    return {PolicyProgress::Next::OnError};
  }
  ctx.subscription = check.subscription;
  ctx.product = check.product;
  if (key && check.subscription) ctx.subscription_key = std::move(*key);
  pipeline = &op.for_product(check.product);

  size_t pc = 0;
  Flow f = Flow::Continue;
  if (!pipeline->section(Section::Inbound).empty()) {
    f = start_section(*pipeline, Section::Inbound, ctx, pc);
    if (f == Flow::Await) return {PolicyProgress::Next::Inbound, PolicyVerdict::Forward, pc};
  }
  return after_inbound(*pipeline, ctx, f);
}

net::awaitable<PolicyVerdict> finish_request_policies(PolicyProgress progress,
                                                      policy::RequestContext& ctx,
                                                      const policy::Pipeline& pipeline) {
  using Next = PolicyProgress::Next;
  for (;;) {
    switch (progress.next) {
      case Next::Done:
        co_return progress.verdict;
      case Next::OnError:
        co_await run_on_error(pipeline, ctx);
        co_return PolicyVerdict::Respond;
      case Next::Inbound: {
        Flow f = co_await resume_section(pipeline, Section::Inbound, ctx, progress.pc);
        progress = after_inbound(pipeline, ctx, f);
        break;
      }
      case Next::Backend: {
        Flow f = co_await resume_section(pipeline, Section::Backend, ctx, progress.pc);
        progress = after_backend(pipeline, ctx, f);
        break;
      }
      case Next::Outbound:
        // No forward-request: outbound runs on an empty 200 (APIM's behaviour without a backend).
        if (!ctx.response) ctx.response.emplace();
        co_await run_response_policies(pipeline, ctx);
        co_return PolicyVerdict::Respond;
    }
  }
}

net::awaitable<PolicyVerdict> run_response_policies(const policy::Pipeline& pipeline,
                                                    policy::RequestContext& ctx) {
  if (pipeline.section(Section::Outbound).empty()) co_return PolicyVerdict::Forward;
  Flow f = co_await run_section(pipeline, Section::Outbound, ctx);
  if (f == Flow::Error) {
    co_await run_on_error(pipeline, ctx);
    co_return PolicyVerdict::Respond;
  }
  co_return f == Flow::Return ? PolicyVerdict::Respond : PolicyVerdict::Forward;
}

void complete_policies(policy::RequestContext& ctx) {
  for (const auto& d : ctx.deferred)
    d.policy->complete(ctx, d);
  ctx.deferred.clear();
}

void field_edits(std::span<const policy::HeaderField> original,
                 std::span<const policy::FieldChange> changes, std::vector<std::string_view>& drop,
                 std::string& extra) {
  using A = policy::FieldChange::Action;
  const size_t first = drop.size();  // earlier entries are the caller's (stripped headers)
  std::vector<std::string_view> values;
  for (const auto& c : changes) {
    std::string_view name = c.name;
    if (std::any_of(drop.begin() + static_cast<ptrdiff_t>(first), drop.end(),
                    [&](std::string_view d) { return core::iequals(d, name); }))
      continue;
    drop.push_back(name);
    // Every change to this name, in order, over the original values (set-header semantics).
    values.clear();
    bool present = false;
    for (const auto& h : original) {
      if (core::iequals(h.name, name)) {
        values.push_back(h.value);
        present = true;
      }
    }
    for (const auto& ch : changes) {
      if (!core::iequals(ch.name, name)) continue;
      switch (ch.action) {
        case A::Override:
          values.assign(ch.values.begin(), ch.values.end());
          present = true;
          break;
        case A::Skip:
          if (!present) {
            values.assign(ch.values.begin(), ch.values.end());
            present = true;
          }
          break;
        case A::Append:
          values.insert(values.end(), ch.values.begin(), ch.values.end());
          present = true;
          break;
        case A::Delete:
          values.clear();
          present = false;
          break;
      }
    }
    if (!present || has_crlf(name)) continue;
    // One field per value for the names APIM repeats, else one comma-joined field (§7.6).
    const bool repeated = policy::is_repeated_header(name);
    for (size_t i = 0; i < values.size() || i == 0; ++i) {
      if (i == 0 || repeated) {
        if (i > 0) extra += "\r\n";
        extra.append(name);
        extra += ": ";
      } else {
        extra += ',';
      }
      if (i < values.size() && !has_crlf(values[i])) extra.append(values[i]);
      if (values.empty()) break;
    }
    extra += "\r\n";
  }
}

std::string gateway_response_bytes(const policy::RequestContext& ctx, std::string_view request_id,
                                   bool close, bool head_request) {
  static const policy::GatewayResponse kEmpty;
  const policy::GatewayResponse& r = ctx.response ? *ctx.response : kEmpty;
  std::vector<policy::HeaderField> fields;
  fields.reserve(r.headers.size());
  for (const auto& [n, v] : r.headers)
    fields.push_back({n, v});
  std::vector<std::string_view> drop;
  std::string extra;
  field_edits(fields, ctx.response_header_changes, drop, extra);

  std::string out;
  out.reserve(256 + r.body.size() + extra.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  std::string_view reason = r.reason.empty() || has_crlf(r.reason) ? http::reason_phrase(r.status)
                                                                   : std::string_view(r.reason);
  out += reason;
  out += "\r\n";
  for (const auto& f : fields) {
    if (core::iequals(f.name, "Content-Length") || core::iequals(f.name, "Connection") ||
        core::iequals(f.name, "Transfer-Encoding") || core::iequals(f.name, "X-Request-Id"))
      continue;
    if (std::any_of(drop.begin(), drop.end(),
                    [&](std::string_view d) { return core::iequals(d, f.name); }))
      continue;
    if (has_crlf(f.name) || has_crlf(f.value)) continue;
    out.append(f.name);
    out += ": ";
    out.append(f.value);
    out += "\r\n";
  }
  out += extra;
  const bool bodiless = r.status == 204 || r.status == 304 || r.status < 200;
  if (!bodiless) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  out += "X-Request-Id: ";
  out.append(request_id);
  out += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
  if (!head_request && !bodiless) out += r.body;
  return out;
}

std::string apply_query_changes(std::string_view target,
                                std::span<const policy::FieldChange> changes) {
  const size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  // Parameters that no change names pass through as sent; changed ones are rewritten.
  std::string out(path);
  std::string rebuilt;
  auto changed = [&](std::string_view raw_name) {
    for (const auto& c : changes)
      if (c.name == raw_name) return true;
    return false;
  };
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty() || changed(pair.substr(0, pair.find('=')))) continue;
    if (!rebuilt.empty()) rebuilt += '&';
    rebuilt.append(pair);
  }
  std::vector<std::string_view> done;
  for (const auto& c : changes) {
    if (std::find(done.begin(), done.end(), std::string_view(c.name)) != done.end()) continue;
    done.push_back(c.name);
    // The final values for this name: the original ones (kept as sent), then every change to
    // it in order (new values percent-encoded).
    std::optional<std::vector<std::string>> values;
    std::string_view original =
        q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    while (!original.empty()) {
      size_t amp = original.find('&');
      std::string_view pair = original.substr(0, amp);
      original = amp == std::string_view::npos ? std::string_view() : original.substr(amp + 1);
      size_t eq = pair.find('=');
      if (pair.substr(0, eq) != c.name) continue;
      if (!values) values.emplace();
      values->emplace_back(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    }
    for (const auto& ch : changes) {
      if (ch.name != c.name) continue;
      using A = policy::FieldChange::Action;
      if (ch.action == A::Delete) {
        values.reset();
        continue;
      }
      if (ch.action == A::Skip && values) continue;
      if (ch.action == A::Override || !values) values.emplace();
      for (const auto& v : ch.values) {
        std::string e;
        core::append_percent_encoded(e, v);
        values->push_back(std::move(e));
      }
    }
    if (!values) continue;
    for (const auto& v : *values) {
      if (!rebuilt.empty()) rebuilt += '&';
      core::append_percent_encoded(rebuilt, c.name);
      rebuilt += '=';
      rebuilt += v;
    }
  }
  if (!rebuilt.empty()) {
    out += '?';
    out += rebuilt;
  }
  return out;
}

}  // namespace gh::gateway
