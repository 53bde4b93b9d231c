#include "policy/set_header.h"

#include "policy/field_setter.h"

namespace gh::policy {

namespace {

class SetHeader final : public Policy {
 public:
  SetHeader(FieldSetter setter, bool response) : setter_(std::move(setter)), response_(response) {}

  Flow apply(RequestContext& ctx) const override {
    auto& changes = response_ ? ctx.response_header_changes : ctx.request_header_changes;
    if (setter_.is_literal()) {
      changes.push_back(setter_.literal_change());
      return Flow::Continue;
    }
    auto change = setter_.evaluate(ctx);
    if (!change) return fail_evaluation(ctx, "set-header", change.error(), id());
    changes.push_back(std::move(*change));
    return Flow::Continue;
  }

 private:
  FieldSetter setter_;
  bool response_;  // outbound / on-error: the response to the client
};

}  // namespace

Result<std::unique_ptr<Policy>> make_set_header(const Element& element, LoadContext& load) {
  const bool response = load.section == Section::Outbound || load.section == Section::OnError;
  GH_TRY(auto setter, FieldSetter::load(element, response ? FieldTarget::ResponseHeader
                                                          : FieldTarget::RequestHeader));
  return std::unique_ptr<Policy>(std::make_unique<SetHeader>(std::move(setter), response));
}

}  // namespace gh::policy
