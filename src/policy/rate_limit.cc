#include "policy/rate_limit.h"

#include <array>
#include <vector>

#include "policy/counter_store.h"
#include "policy/throttling.h"

namespace gh::policy {
namespace {

namespace th = throttling;
constexpr std::string_view kSource = "rate-limit";

class RateLimit final : public Policy {
 public:
  RateLimit(std::shared_ptr<CounterStore> store, std::vector<th::NestedLimit> limits,
            th::RateReporting reporting)
      : store_(std::move(store)), limits_(std::move(limits)), reporting_(std::move(reporting)) {}

  Flow apply(RequestContext& ctx) const override {
    // APIM counts per subscription: without one the policy does nothing.
    if (!ctx.subscription || !store_) return Flow::Continue;
    // Each covering limit counts on its own; a refusal takes back what the earlier ones counted
    // (beyond kRefundable of them the count stays: over-counting only ever refuses early).
    constexpr size_t kRefundable = 8;
    std::array<int64_t, kRefundable> counted_at{};
    size_t taken = 0;
    int64_t remaining = INT64_MAX;
    int64_t total = limits_.front().calls;
    for (size_t i = 0; i < limits_.size(); ++i) {
      const th::NestedLimit& limit = limits_[i];
      if (!limit.applies(ctx)) continue;
      CounterKey key;
      key_of(ctx, limit, key);
      auto r = store_->acquire_rate(key.view(), limit.calls, limit.renewal_period);
      if (!r.admitted) {
        give_back(ctx, i, counted_at, taken);
        return reporting_.refuse(ctx, kSource, r.retry_after_seconds, limit.calls, id());
      }
      if (taken < kRefundable) counted_at[taken] = r.at_ms;
      ++taken;
      if (r.remaining < remaining) {
        remaining = r.remaining;
        total = limit.calls;
      }
    }
    reporting_.admitted(ctx, remaining, total);
    return Flow::Continue;
  }

 private:
  void key_of(const RequestContext& ctx, const th::NestedLimit& limit, CounterKey& key) const {
    key.append(th::kSubscriptionRatePrefix)
        .append(ctx.subscription->id)
        .append(std::string_view(&th::kSeparator, 1))
        .append(limit.key_suffix);
  }

  template <size_t N>
  void give_back(const RequestContext& ctx, size_t refused, const std::array<int64_t, N>& at,
                 size_t taken) const {
    size_t k = 0;
    for (size_t j = 0; j < refused && k < taken && k < N; ++j) {
      const th::NestedLimit& limit = limits_[j];
      if (!limit.applies(ctx)) continue;
      CounterKey key;
      key_of(ctx, limit, key);
      store_->release_rate(key.view(), limit.renewal_period, 1, at[k++]);
    }
  }

  std::shared_ptr<CounterStore> store_;
  std::vector<th::NestedLimit> limits_;  // the top-level limit first
  th::RateReporting reporting_;
};

}  // namespace

Result<std::unique_ptr<Policy>> make_rate_limit(const Element& element, LoadContext& load) {
  AttributeReader r(element);
  std::vector<std::string> problems;
  auto limits = th::read_limits(element, r, {.quota = false, .min_period = 1, .max_period = 300},
                                th::definition_identity(load), problems);
  auto reporting = th::RateReporting::read(r);
  auto store = th::store_for(load, r);
  GH_TRY_STATUS(th::finish(r, problems));
  return std::unique_ptr<Policy>(
      std::make_unique<RateLimit>(std::move(store), std::move(limits), std::move(reporting)));
}

}  // namespace gh::policy
