#include "policy/pipeline.h"

#include <map>
#include <optional>

#include "policy/registry.h"

namespace gh::policy {
namespace {

constexpr std::array<std::string_view, 4> kSectionNames{"inbound", "backend", "outbound",
                                                        "on-error"};

uint8_t section_bit(Section s) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(s));
}
uint8_t scope_bit(Scope s) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(s));
}

/// The statement APIM's default global document has in <backend>.
const Element& default_forward_request() {
  static const Element e = [] {
    Element f;
    f.name = "forward-request";
    f.file = "(default global policy)";
    return f;
  }();
  return e;
}

}  // namespace

/// Builds programs; one instance per compile (or lint) call.
class PipelineCompiler {
 public:
  PipelineCompiler(std::span<const ScopeDocument> scopes, const LoadContext& load, Pipeline& out,
                   LoadProblems& problems)
      : scopes_(scopes), load_(load), out_(out), problems_(problems) {}

  void check_roots() {
    for (const auto& sd : scopes_) {
      if (!sd.policies) continue;
      for (const auto& c : sd.policies->children) {
        bool known = false;
        for (auto n : kSectionNames)
          known = known || c.name == n;
        if (!known) {
          problem(c, "unknown section <" + c.name +
                         "> (expected inbound, backend, outbound or on-error)");
        }
      }
      std::map<std::string, int> seen;
      for (const auto& c : sd.policies->children) {
        if (++seen[c.name] == 2) problem(c, "section <" + c.name + "> appears twice");
      }
    }
  }

  void compile_section(Section s) {
    section_ = s;
    program_ = &out_.programs_[static_cast<size_t>(s)];
    program_->section_ = s;
    expand(static_cast<int>(scopes_.size()) - 1, "");
  }

  /// Where the inbound program's preflight cors statement is, if it has one.
  std::optional<size_t> cors_preflight() const noexcept { return cors_preflight_; }

 private:
  /// The statements of section_ at scopes_[i], with <base/> replaced by the parent's.
  void expand(int i, const std::string& prefix) {
    if (i < 0) {
      if (section_ == Section::Backend)
        statement(default_forward_request(), Scope::Global, prefix, 1);
      return;
    }
    const ScopeDocument& sd = scopes_[static_cast<size_t>(i)];
    const Element* sec =
        sd.policies ? sd.policies->child(kSectionNames[static_cast<size_t>(section_)]) : nullptr;
    if (!sec) {
      expand(i - 1, prefix);  // a missing section inherits everything (an implicit <base/>)
      return;
    }
    statements(*sec, sd.scope, i, prefix);
  }

  void statements(const Element& parent, Scope scope, int scope_index, const std::string& prefix) {
    std::map<std::string, int, std::less<>> counts;
    for (const auto& e : parent.children) {
      int n = ++counts[e.name];
      if (e.name == "base") {
        if (!e.attributes.empty() || !e.children.empty()) problem(e, "<base/> takes no content");
        if (scope != Scope::Global) expand(scope_index - 1, prefix);  // no-op at global scope
        continue;
      }
      if (e.name == "choose") {
        choose(e, scope, scope_index, prefix, n);
        continue;
      }
      statement(e, scope, prefix, n);
    }
  }

  void choose(const Element& e, Scope scope, int scope_index, const std::string& prefix, int n) {
    const std::string here = prefix + "choose[" + std::to_string(n) + "]";
    if (!e.attributes.empty() && !(e.attributes.size() == 1 && e.attributes[0].name == "id")) {
      problem(e, "<choose> takes no attributes");
    }
    std::vector<size_t> jumps_to_end;
    int whens = 0;
    bool otherwise_seen = false;
    for (const auto& c : e.children) {
      if (c.name == "when") {
        if (otherwise_seen) problem(c, "<when> after <otherwise>");
        ++whens;
        const std::string path = here + "/when[" + std::to_string(whens) + "]";
        const std::string* cond = c.attribute("condition");
        if (!cond) {
          problem(c, "missing required attribute 'condition'");
          continue;
        }
        auto compiled = TextValue::compile(*cond, ValueType::Bool);
        if (!compiled) {
          problem(c, "condition: " + compiled.error().message);
          continue;
        }
        if (compiled->is_literal() && compiled->literal() != "true" &&
            compiled->literal() != "false" && compiled->literal() != "True" &&
            compiled->literal() != "False") {
          problem(c, "condition must be true, false or an expression @(...)");
          continue;
        }
        out_.conditions_.push_back(std::make_unique<TextValue>(std::move(*compiled)));
        size_t jump_unless = emit(
            {Instruction::Op::JumpUnless, nullptr, out_.conditions_.back().get(), 0, scope, path});
        statements(c, scope, scope_index, path + "/");
        jumps_to_end.push_back(emit({Instruction::Op::Jump, nullptr, nullptr, 0, scope, path}));
        program_->code_[jump_unless].target = static_cast<uint32_t>(program_->code_.size());
      } else if (c.name == "otherwise") {
        if (otherwise_seen) problem(c, "more than one <otherwise>");
        otherwise_seen = true;
        statements(c, scope, scope_index, here + "/otherwise/");
      } else {
        problem(c, "<choose> may contain only <when> and <otherwise>, not <" + c.name + ">");
      }
    }
    if (whens == 0) problem(e, "<choose> needs at least one <when>");
    for (size_t j : jumps_to_end)
      program_->code_[j].target = static_cast<uint32_t>(program_->code_.size());
  }

  void statement(const Element& e, Scope scope, const std::string& prefix, int n) {
    const std::string path = prefix + e.name + "[" + std::to_string(n) + "]";
    const PolicyKind* kind = find_policy_kind(e.name);
    if (!kind) {
      if (is_known_unsupported(e.name)) {
        problem(e, "<" + e.name + "> is an APIM policy that Gatehouse does not support");
      } else {
        problem(e, "unknown policy <" + e.name + ">");
      }
      return;
    }
    if (!(kind->sections & section_bit(section_))) {
      problem(e, "<" + e.name + "> is not allowed in the " + std::string(to_string(section_)) +
                     " section");
      return;
    }
    if (!(kind->scopes & scope_bit(scope))) {
      problem(e, "<" + e.name + "> is not allowed at " + std::string(to_string(scope)) + " scope");
      return;
    }
    if (e.name == "forward-request") out_.forwards_ = true;
    LoadContext load = load_;
    load.scope = scope;
    load.section = section_;
    auto made = kind->make(e, load);
    if (!made) {
      problems_.lines.push_back(made.error().message);
      return;
    }
    if (const std::string* id = e.attribute("id")) (*made)->set_id(*id);
    out_.policies_.push_back(std::move(*made));
    const size_t at =
        emit({Instruction::Op::Run, out_.policies_.back().get(), nullptr, 0, scope, path});
    // On a CORS preflight APIM runs the first cors written directly in inbound, alone (§6.3):
    // top level is an empty prefix (a choose's statements have one).
    if (section_ == Section::Inbound && prefix.empty() && e.name == "cors" && !cors_preflight_)
      cors_preflight_ = at;
  }

  size_t emit(Instruction in) {
    program_->code_.push_back(std::move(in));
    return program_->code_.size() - 1;
  }

  void problem(const Element& e, std::string_view message) {
    problems_.lines.push_back(e.where() + ": " + std::string(message));
  }

  std::span<const ScopeDocument> scopes_;
  const LoadContext& load_;
  Pipeline& out_;
  LoadProblems& problems_;
  Section section_ = Section::Inbound;
  Program* program_ = nullptr;
  std::optional<size_t> cors_preflight_;  // index in the inbound program
};

Flow Program::run(RequestContext& ctx, size_t& pc) const {
  ctx.section = section_;
  while (pc < code_.size()) {
    const Instruction& in = code_[pc];
    switch (in.op) {
      case Instruction::Op::Jump:
        pc = in.target;
        break;
      case Instruction::Op::JumpUnless: {
        ctx.scope = in.scope;
        ctx.path = in.path;
        auto value = in.condition->evaluate_bool(ctx);
        if (!value) {
          ctx.fail("choose", "ExpressionValueEvaluationFailure", value.error().message, 500,
                   "Internal server error");
          return Flow::Error;
        }
        pc = *value ? pc + 1 : in.target;
        break;
      }
      case Instruction::Op::Run: {
        ctx.scope = in.scope;
        ctx.path = in.path;
        Flow f = in.policy->apply(ctx);
        if (f != Flow::Continue) return f;
        ++pc;
        break;
      }
    }
  }
  return Flow::Continue;
}

Result<std::shared_ptr<const Pipeline>> Pipeline::compile(std::span<const ScopeDocument> scopes,
                                                          const LoadContext& load) {
  auto out = std::make_shared<Pipeline>();
  out->forwards_ = false;
  LoadProblems problems;
  PipelineCompiler c(scopes, load, *out, problems);
  c.check_roots();
  for (Section s : {Section::Inbound, Section::Backend, Section::Outbound, Section::OnError}) {
    c.compile_section(s);
  }
  if (!problems.empty()) return unexpected(ErrorKind::InvalidArgument, problems.joined());
  if (const auto at = c.cors_preflight())
    out->cors_preflight_ = &out->section(Section::Inbound).code()[*at];
  return std::shared_ptr<const Pipeline>(std::move(out));
}

LoadProblems lint_policy_document(const Element& policies, Scope scope) {
  LoadProblems problems;
  LoadContext load;
  load.lint = true;
  ScopeDocument docs[] = {{scope, &policies}};
  Pipeline scratch;
  PipelineCompiler c(docs, load, scratch, problems);
  c.check_roots();
  // <base/> expands to nothing here (no parent documents): each statement is still checked.
  for (Section s : {Section::Inbound, Section::Backend, Section::Outbound, Section::OnError}) {
    c.compile_section(s);
  }
  return problems;
}

}  // namespace gh::policy
