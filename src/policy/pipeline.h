#pragma once

// One operation's policies, composed from its scopes with APIM's <base/> rules
// (apim-policies.md §1.2) and compiled once at load into four flat programs (inbound, backend,
// outbound, on-error). choose/when/otherwise become conditional jumps, so a program is a plain
// array walked by index: the runner can stop at a step that must wait (Flow::Await), let the
// gateway co_await it, and resume at the same index with no coroutine per request.

#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "policy/document.h"
#include "policy/expression.h"
#include "policy/policy.h"

namespace gh::policy {

/// One scope's document (root <policies>), or null when the scope has none.
struct ScopeDocument {
  Scope scope = Scope::Global;
  const Element* policies = nullptr;
};

struct Instruction {
  enum class Op : uint8_t { Run, JumpUnless, Jump };
  Op op = Op::Run;
  const Policy* policy = nullptr;        // Run
  const TextValue* condition = nullptr;  // JumpUnless: a when's condition
  uint32_t target = 0;                   // JumpUnless, Jump: index to continue at
  Scope scope = Scope::Global;           // the scope the statement was written at
  std::string path;                      // LastError.Path: "choose[1]/when[2]/set-header[1]"
};

class Program {
 public:
  /// Runs from `pc` until the end (Continue), a Return or Error, or a step that must wait
  /// (Await: `pc` is that step; call awaiting(pc)->apply_async, then resume at pc + 1 on
  /// Continue). Keeps ctx.scope/section/path current for LastError.
  Flow run(RequestContext& ctx, size_t& pc) const;
  const Policy* awaiting(size_t pc) const noexcept { return code_[pc].policy; }
  bool empty() const noexcept { return code_.empty(); }
  size_t size() const noexcept { return code_.size(); }
  const std::vector<Instruction>& code() const noexcept { return code_; }

 private:
  friend class PipelineCompiler;
  Section section_ = Section::Inbound;
  std::vector<Instruction> code_;
};

class Pipeline {
 public:
  /// Composes `scopes` (ordered global, product, api, operation; missing ones skipped) and
  /// builds every policy through the registry. A scope's missing section counts as `<base/>`;
  /// a missing global backend section counts as `<forward-request/>` (APIM's default global
  /// document). Errors list every problem found, each with file and line.
  static Result<std::shared_ptr<const Pipeline>> compile(std::span<const ScopeDocument> scopes,
                                                         const LoadContext& load);

  const Program& section(Section s) const noexcept { return programs_[static_cast<size_t>(s)]; }
  /// False when the composed backend section has no forward-request: the request never goes to
  /// the backend (outbound runs right after inbound).
  bool forwards() const noexcept { return forwards_; }
  /// Every policy in the pipeline, for end-of-request hooks.
  size_t policy_count() const noexcept { return policies_.size(); }
  /// The first `cors` statement written directly in the composed inbound section (not inside
  /// a choose), or null: on a CORS preflight APIM runs that policy alone (§6.3).
  const Instruction* cors_preflight() const noexcept { return cors_preflight_; }

 private:
  friend class PipelineCompiler;
  std::array<Program, 4> programs_;
  const Instruction* cors_preflight_ = nullptr;
  std::vector<std::unique_ptr<Policy>> policies_;
  std::vector<std::unique_ptr<TextValue>> conditions_;
  bool forwards_ = true;
};

/// Checks one document without building anything that needs the running gateway (the
/// `gatehouse policy lint` command): every element known and allowed where it is, every
/// attribute valid, every expression supported. Returns all problems.
LoadProblems lint_policy_document(const Element& policies, Scope scope);

}  // namespace gh::policy
