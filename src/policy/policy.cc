#include "policy/policy.h"

namespace gh::policy {

net::awaitable<Flow> Policy::apply_async(RequestContext& ctx) const {
  co_return apply(ctx);
}

void Policy::complete(const RequestContext&, const Deferred&) const {}

}  // namespace gh::policy
