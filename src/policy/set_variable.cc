#include "policy/set_variable.h"

#include <optional>
#include <string>

#include "policy/expression.h"

namespace gh::policy {
namespace {

constexpr std::string_view kSource = "set-variable";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

bool is_expression(std::string_view s) {
  s = trimmed(s);
  return s.starts_with("@(") || s.starts_with("@{");
}

class SetVariable final : public Policy {
 public:
  SetVariable(std::string name, Value literal, std::optional<Expression> expression)
      : name_(std::move(name)), literal_(std::move(literal)), expression_(std::move(expression)) {}

  Flow apply(RequestContext& ctx) const override {
    if (!expression_) {
      ctx.set_variable(name_, literal_);
      return Flow::Continue;
    }
    auto value = expression_->evaluate(ctx);
    if (!value) {
      ctx.fail(kSource, "ExpressionValueEvaluationFailure",
               "set-variable '" + name_ + "': " + value.error().message, 500,
               "Internal server error", id());
      return Flow::Error;
    }
    ctx.set_variable(name_, std::move(*value));
    return Flow::Continue;
  }

 private:
  std::string name_;
  Value literal_;
  std::optional<Expression> expression_;
};

}  // namespace

Result<std::unique_ptr<Policy>> make_set_variable(const Element& element, LoadContext&) {
  AttributeReader reader(element);
  const std::string* name = reader.required("name");
  const std::string* value = reader.required("value");
  if (name) {
    if (is_expression(*name)) {
      reader.problem("attribute 'name' does not accept policy expressions");
    } else if (trimmed(*name).empty()) {
      reader.problem("attribute 'name' must not be empty");
    }
  }
  std::optional<Expression> expression;
  if (value && is_expression(*value)) {
    auto compiled = Expression::compile(trimmed(*value), ValueType::Any);
    if (!compiled) {
      reader.problem("attribute 'value': " + compiled.error().message);
    } else {
      expression = std::move(*compiled);
    }
  }
  if (!element.children.empty()) reader.problem("<set-variable> takes no child elements");
  if (!trimmed(element.text).empty()) reader.problem("<set-variable> takes no text");
  GH_TRY_STATUS(reader.finish());
  Value literal = expression ? Value{} : Value{*value};
  return std::unique_ptr<Policy>(
      std::make_unique<SetVariable>(*name, std::move(literal), std::move(expression)));
}

}  // namespace gh::policy
