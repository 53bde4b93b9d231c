#include "policy/authentication_basic.h"

#include <string>

#include "core/encoding.h"
#include "policy/expression.h"
#include "policy/field_setter.h"

namespace gh::policy {

namespace {

FieldChange authorization(std::string_view username, std::string_view password) {
  std::string credentials;
  credentials.reserve(username.size() + 1 + password.size());
  credentials.append(username).append(1, ':').append(password);
  FieldChange change;
  change.name = "Authorization";
  change.values.push_back("Basic " + core::base64_encode(core::as_bytes(credentials)));
  change.action = FieldChange::Action::Override;
  return change;
}

class AuthenticationBasic final : public Policy {
 public:
  AuthenticationBasic(TextValue username, TextValue password)
      : username_(std::move(username)), password_(std::move(password)) {
    if (username_.is_literal() && password_.is_literal())
      literal_ = authorization(username_.literal(), password_.literal());
  }

  Flow apply(RequestContext& ctx) const override {
    if (literal_) {
      ctx.request_header_changes.push_back(*literal_);
      return Flow::Continue;
    }
    auto username = username_.evaluate(ctx);
    if (!username) return fail_evaluation(ctx, "authentication-basic", username.error(), id());
    auto password = password_.evaluate(ctx);
    if (!password) return fail_evaluation(ctx, "authentication-basic", password.error(), id());
    ctx.request_header_changes.push_back(authorization(*username, *password));
    return Flow::Continue;
  }

 private:
  TextValue username_;
  TextValue password_;
  std::optional<FieldChange> literal_;  // both literal: the change, computed once
};

}  // namespace

Result<std::unique_ptr<Policy>> make_authentication_basic(const Element& element, LoadContext&) {
  AttributeReader attrs(element);
  TextValue username;
  TextValue password;
  if (const std::string* raw = attrs.required("username")) {
    if (auto v = TextValue::compile(*raw))
      username = std::move(*v);
    else
      attrs.problem("username: " + v.error().message);
  }
  if (const std::string* raw = attrs.required("password")) {
    if (auto v = TextValue::compile(*raw))
      password = std::move(*v);
    else  // the compiler's message may quote the text: keep a secret's text out of it
      attrs.problem(element.secret ? std::string("password: unsupported expression")
                                   : "password: " + v.error().message);
  }
  if (!element.children.empty()) attrs.problem("<authentication-basic> has no child elements");
  GH_TRY_STATUS(attrs.finish());
  return std::unique_ptr<Policy>(
      std::make_unique<AuthenticationBasic>(std::move(username), std::move(password)));
}

}  // namespace gh::policy
