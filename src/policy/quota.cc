#include "policy/quota.h"

#include <array>
#include <vector>

#include "policy/counter_store.h"
#include "policy/throttling.h"

namespace gh::policy {
namespace {

namespace th = throttling;
using Outcome = CounterStore::QuotaResult::Outcome;
constexpr std::string_view kSource = "quota";

class Quota final : public Policy {
 public:
  Quota(std::shared_ptr<CounterStore> store, std::vector<th::NestedLimit> limits)
      : store_(std::move(store)), limits_(std::move(limits)) {}

  Flow apply(RequestContext& ctx) const override {
    // APIM counts per subscription: without one the policy does nothing.
    if (!ctx.subscription || !store_) return Flow::Continue;
    constexpr size_t kRefundable = 8;  // beyond: the call stays counted (refuses early only)
    std::array<int64_t, kRefundable> windows{};
    size_t taken = 0;
    for (size_t i = 0; i < limits_.size(); ++i) {
      const th::NestedLimit& limit = limits_[i];
      if (!limit.applies(ctx)) continue;
      CounterKey key;
      key_of(ctx, limit, key);
      auto r = store_->acquire_quota(key.view(), period_of(ctx, limit),
                                     {limit.calls, limit.kilobytes * 1024});
      if (r.outcome != Outcome::Admitted) {
        give_back(ctx, i, windows, taken);
        return th::refuse_quota(ctx, kSource, r.outcome == Outcome::BandwidthExceeded,
                                r.seconds_to_renewal, id());
      }
      if (taken < kRefundable) windows[taken] = r.period_index;
      ++taken;
      // Bandwidth is known at the end of the request.
      if (limit.kilobytes > 0) {
        ctx.deferred.push_back(
            {this, std::string(key.view()), static_cast<int64_t>(i), r.period_index});
      }
    }
    return Flow::Continue;
  }

  void complete(const RequestContext& ctx, const Deferred& entry) const override {
    if (!store_ || !ctx.subscription || entry.amount < 0 ||
        static_cast<size_t>(entry.amount) >= limits_.size())
      return;
    const th::NestedLimit& limit = limits_[static_cast<size_t>(entry.amount)];
    store_->add_quota_usage(entry.key, period_of(ctx, limit), entry.stamp, 0,
                            static_cast<int64_t>(ctx.request_bytes + ctx.response_bytes));
  }

 private:
  static CounterStore::QuotaPeriod period_of(const RequestContext& ctx,
                                             const th::NestedLimit& limit) {
    // Windows start at the subscription's creation (APIM: its start time).
    return {ctx.subscription->created_unix, limit.renewal_period};
  }

  void key_of(const RequestContext& ctx, const th::NestedLimit& limit, CounterKey& key) const {
    key.append(th::kSubscriptionQuotaPrefix)
        .append(ctx.subscription->id)
        .append(std::string_view(&th::kSeparator, 1))
        .append(limit.key_suffix);
  }

  template <size_t N>
  void give_back(const RequestContext& ctx, size_t refused, const std::array<int64_t, N>& windows,
                 size_t taken) const {
    size_t k = 0;
    for (size_t j = 0; j < refused && k < taken && k < N; ++j) {
      const th::NestedLimit& limit = limits_[j];
      if (!limit.applies(ctx)) continue;
      CounterKey key;
      key_of(ctx, limit, key);
      store_->add_quota_usage(key.view(), period_of(ctx, limit), windows[k++], -1, 0);
    }
  }

  std::shared_ptr<CounterStore> store_;
  std::vector<th::NestedLimit> limits_;  // the top-level quota first
};

}  // namespace

Result<std::unique_ptr<Policy>> make_quota(const Element& element, LoadContext& load) {
  AttributeReader r(element);
  std::vector<std::string> problems;
  auto limits =
      th::read_limits(element, r, {.quota = true, .min_period = 0, .max_period = INT32_MAX},
                      th::definition_identity(load), problems);
  auto store = th::store_for(load, r);
  GH_TRY_STATUS(th::finish(r, problems));
  return std::unique_ptr<Policy>(std::make_unique<Quota>(std::move(store), std::move(limits)));
}

}  // namespace gh::policy
