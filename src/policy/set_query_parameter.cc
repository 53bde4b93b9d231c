#include "policy/set_query_parameter.h"

#include "policy/field_setter.h"

namespace gh::policy {

namespace {

class SetQueryParameter final : public Policy {
 public:
  explicit SetQueryParameter(FieldSetter setter) : setter_(std::move(setter)) {}

  Flow apply(RequestContext& ctx) const override {
    if (setter_.is_literal()) {
      ctx.query_changes.push_back(setter_.literal_change());
      return Flow::Continue;
    }
    auto change = setter_.evaluate(ctx);
    if (!change) return fail_evaluation(ctx, "set-query-parameter", change.error(), id());
    ctx.query_changes.push_back(std::move(*change));
    return Flow::Continue;
  }

 private:
  FieldSetter setter_;
};

}  // namespace

Result<std::unique_ptr<Policy>> make_set_query_parameter(const Element& element, LoadContext&) {
  GH_TRY(auto setter, FieldSetter::load(element, FieldTarget::QueryParameter));
  return std::unique_ptr<Policy>(std::make_unique<SetQueryParameter>(std::move(setter)));
}

}  // namespace gh::policy
