#include "policy/set_status.h"

#include "core/strings.h"
#include "policy/field_setter.h"

namespace gh::policy {

namespace {

// A final response: 1xx cannot end an exchange, and three digits is all HTTP has.
constexpr int64_t kMinStatus = 200;
constexpr int64_t kMaxStatus = 599;

core::Error invalid(std::string message) {
  return core::Error(ErrorKind::InvalidArgument, std::move(message));
}

Result<uint16_t> status_code(int64_t code) {
  if (code < kMinStatus || code > kMaxStatus)
    return unexpected(invalid("status code " + std::to_string(code) + " is outside 200-599"));
  return static_cast<uint16_t>(code);
}

class SetStatus final : public Policy {
 public:
  explicit SetStatus(StatusSetter setter) : setter_(std::move(setter)) {}

  Flow apply(RequestContext& ctx) const override {
    auto status = setter_.evaluate(ctx);
    if (!status) return fail_evaluation(ctx, "set-status", status.error(), id());
    if (ctx.response) {
      ctx.response->status = status->first;
      ctx.response->reason = std::move(status->second);
    } else {
      ctx.response_status_override = std::move(*status);
    }
    return Flow::Continue;
  }

 private:
  StatusSetter setter_;
};

}  // namespace

Result<StatusSetter> StatusSetter::load(const Element& element) {
  StatusSetter setter;
  AttributeReader attrs(element);
  if (const std::string* code = attrs.required("code")) {
    if (is_expression_text(*code)) {
      if (auto compiled = TextValue::compile(*code, ValueType::Int))
        setter.code_ = std::move(*compiled);
      else
        attrs.problem("code: " + compiled.error().message);
    } else {
      const auto parsed = core::parse_uint(*code);
      if (!parsed || *parsed < kMinStatus || *parsed > kMaxStatus)
        attrs.problem("code must be a status code from 200 to 599");
      else
        setter.literal_code_ = static_cast<uint16_t>(*parsed);
      setter.code_ = TextValue(*code);
    }
  }
  if (const std::string* reason = attrs.raw("reason")) {
    if (auto compiled = TextValue::compile(*reason); !compiled) {
      attrs.problem("reason: " + compiled.error().message);
    } else {
      setter.reason_ = std::move(*compiled);
      if (setter.reason_.is_literal()) {
        if (auto problem = header_value_problem(setter.reason_.literal()); !problem.empty())
          attrs.problem("reason: " + std::string(problem));
      }
    }
  }
  if (!element.children.empty()) attrs.problem("<set-status> has no child elements");
  GH_TRY_STATUS(attrs.finish());
  return setter;
}

Result<std::pair<uint16_t, std::string>> StatusSetter::evaluate(const RequestContext& ctx) const {
  std::pair<uint16_t, std::string> status{literal_code_, std::string()};
  if (!code_.is_literal()) {
    GH_TRY(const int64_t code, code_.evaluate_int(ctx));
    GH_TRY(status.first, status_code(code));
  }
  if (reason_.is_literal()) {
    status.second = reason_.literal();
  } else {
    GH_TRY(status.second, reason_.evaluate(ctx));
    if (auto problem = header_value_problem(status.second); !problem.empty())
      return unexpected(invalid(std::string(problem)));
  }
  return status;
}

Result<std::unique_ptr<Policy>> make_set_status(const Element& element, LoadContext&) {
  GH_TRY(auto setter, StatusSetter::load(element));
  return std::unique_ptr<Policy>(std::make_unique<SetStatus>(std::move(setter)));
}

}  // namespace gh::policy
