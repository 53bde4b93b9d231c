#include "policy/return_response.h"

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "policy/expression.h"
#include "policy/field_setter.h"
#include "policy/set_status.h"

namespace gh::policy {

namespace {

class ReturnResponse final : public Policy {
 public:
  ReturnResponse(std::optional<StatusSetter> status, std::vector<FieldSetter> headers,
                 TextValue body)
      : status_(std::move(status)), headers_(std::move(headers)), body_(std::move(body)) {
    literal_ = (!status_ || status_->is_literal()) && body_.is_literal();
    for (const auto& h : headers_)
      literal_ = literal_ && h.is_literal();
    if (literal_) {
      if (status_) std::tie(prebuilt_.status, prebuilt_.reason) = status_->literal();
      for (const auto& h : headers_)
        apply_header_change(prebuilt_.headers, h.literal_change());
      prebuilt_.body = body_.literal();
    }
  }

  Flow apply(RequestContext& ctx) const override {
    if (literal_) {
      ctx.response = prebuilt_;
      return Flow::Return;
    }
    auto built = build(ctx);
    if (!built) return fail_evaluation(ctx, "return-response", built.error(), id());
    ctx.response = std::move(*built);
    return Flow::Return;
  }

 private:
  Result<GatewayResponse> build(const RequestContext& ctx) const {
    GatewayResponse response;  // APIM: 200 OK, no headers, empty body by default
    if (status_) {
      GH_TRY(auto status, status_->evaluate(ctx));
      response.status = status.first;
      response.reason = std::move(status.second);
    }
    for (const auto& setter : headers_) {
      if (setter.is_literal()) {
        apply_header_change(response.headers, setter.literal_change());
      } else {
        GH_TRY(auto change, setter.evaluate(ctx));
        apply_header_change(response.headers, change);
      }
    }
    if (body_.is_literal()) {
      response.body = body_.literal();
    } else {
      GH_TRY(response.body, body_.evaluate(ctx));
    }
    return response;
  }

  std::optional<StatusSetter> status_;
  std::vector<FieldSetter> headers_;
  TextValue body_;
  bool literal_ = false;
  GatewayResponse prebuilt_;  // the whole response when every part is a literal
};

// <set-body>: its text, or one expression when the text (trimmed) starts with @( or @{.
Result<TextValue> load_body(const Element& element) {
  AttributeReader attrs(element);
  if (attrs.raw("template"))
    attrs.problem(
        "template is not supported (no Liquid templates): write the body as text or "
        "one supported expression");
  if (!element.children.empty())
    attrs.problem("<set-body> holds text only (write markup as escaped text or CDATA)");
  GH_TRY_STATUS(attrs.finish());
  std::string_view text = element.text;
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos) {
    const std::string_view rest = text.substr(first);
    if (is_expression_text(rest)) {
      auto compiled = TextValue::compile(rest.substr(0, rest.find_last_not_of(" \t\r\n") + 1));
      if (!compiled) return unexpected(element_error(element, compiled.error().message));
      return compiled;
    }
  }
  return TextValue(element.text);
}

}  // namespace

Result<std::unique_ptr<Policy>> make_return_response(const Element& element, LoadContext&) {
  AttributeReader attrs(element);
  if (attrs.raw("response-variable-name"))
    attrs.problem(
        "response-variable-name is not supported (Gatehouse has no send-request, so "
        "there is no response variable to start from)");
  std::optional<StatusSetter> status;
  std::vector<FieldSetter> headers;
  std::optional<TextValue> body;
  std::vector<std::string> nested;  // children's problems, already located
  for (const Element& child : element.children) {
    if (child.name == "set-status") {
      if (status) {
        attrs.problem("at most one <set-status> (line " + std::to_string(child.line) + ")");
        continue;
      }
      if (auto loaded = StatusSetter::load(child))
        status = std::move(*loaded);
      else
        nested.push_back(loaded.error().message);
    } else if (child.name == "set-header") {
      if (auto loaded = FieldSetter::load(child, FieldTarget::ResponseHeader))
        headers.push_back(std::move(*loaded));
      else
        nested.push_back(loaded.error().message);
    } else if (child.name == "set-body") {
      if (body) {
        attrs.problem("at most one <set-body> (line " + std::to_string(child.line) + ")");
        continue;
      }
      if (auto loaded = load_body(child))
        body = std::move(*loaded);
      else
        nested.push_back(loaded.error().message);
    } else {
      attrs.problem("unsupported child element <" + child.name +
                    "> (return-response takes set-status, set-header and set-body)");
    }
  }
  GH_TRY_STATUS(combine_problems(attrs.finish(), nested));
  return std::unique_ptr<Policy>(std::make_unique<ReturnResponse>(
      std::move(status), std::move(headers), body ? std::move(*body) : TextValue()));
}

}  // namespace gh::policy
