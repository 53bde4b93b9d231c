#include "policy/rate_limit_by_key.h"

#include <optional>

#include "policy/counter_store.h"
#include "policy/expression.h"
#include "policy/throttling.h"

namespace gh::policy {
namespace {

namespace th = throttling;
constexpr std::string_view kSource = "rate-limit-by-key";

class RateLimitByKey final : public Policy {
 public:
  RateLimitByKey(std::shared_ptr<CounterStore> store, TextValue counter_key,
                 std::optional<TextValue> increment_condition, th::IntSetting calls,
                 th::IntSetting renewal_period, th::IntSetting increment_count,
                 th::RateReporting reporting)
      : store_(std::move(store)),
        counter_key_(std::move(counter_key)),
        increment_condition_(std::move(increment_condition)),
        calls_(std::move(calls)),
        renewal_period_(std::move(renewal_period)),
        increment_count_(std::move(increment_count)),
        reporting_(std::move(reporting)) {}

  Flow apply(RequestContext& ctx) const override {
    if (!store_) return Flow::Continue;
    Result<std::string> evaluated;
    std::string_view value;
    if (counter_key_.is_literal()) {
      value = counter_key_.literal();
    } else {
      evaluated = counter_key_.evaluate(ctx);
      if (!evaluated)
        return th::expression_failed(ctx, kSource, "counter-key", evaluated.error(), id());
      value = *evaluated;
    }
    auto calls = calls_.get(ctx);
    if (!calls) return th::expression_failed(ctx, kSource, "calls", calls.error(), id());
    auto period = renewal_period_.get(ctx);
    if (!period) return th::expression_failed(ctx, kSource, "renewal-period", period.error(), id());
    auto amount = increment_count_.get(ctx);
    if (!amount) {
      return th::expression_failed(ctx, kSource, "increment-count", amount.error(), id());
    }
    // One counter per key value and window length, whichever policy, scope or API names it
    // (APIM shares by-key counters the same way).
    CounterKey key;
    key.append(th::kKeyRatePrefix)
        .append_number(*period)
        .append(std::string_view(&th::kSeparator, 1))
        .append(value);
    // Counted now even with an increment-condition: requests in flight hold their place, so a
    // slow backend cannot let more than `calls` through (complete() gives it back when the
    // condition turns out false).
    auto r = store_->acquire_rate(key.view(), *calls, *period, *amount);
    if (!r.admitted) return reporting_.refuse(ctx, kSource, r.retry_after_seconds, *calls, id());
    if (increment_condition_ && *amount > 0)
      ctx.deferred.push_back({this, std::string(key.view()), *amount, r.at_ms});
    reporting_.admitted(ctx, r.remaining, *calls);
    return Flow::Continue;
  }

  void complete(const RequestContext& ctx, const Deferred& entry) const override {
    if (!store_ || !increment_condition_) return;
    auto count = increment_condition_->evaluate_bool(ctx);
    // A condition that cannot be evaluated leaves the call counted (refusing early is safer).
    if (!count || *count) return;
    store_->release_rate(entry.key, period_in_key(entry.key), entry.amount, entry.stamp);
  }

 private:
  /// The window length apply() put first in the key (it may come from an expression).
  static int64_t period_in_key(std::string_view key) {
    key.remove_prefix(th::kKeyRatePrefix.size());
    int64_t period = 0;
    for (char c : key.substr(0, key.find(th::kSeparator)))
      period = period * 10 + (c - '0');
    return period;
  }

  std::shared_ptr<CounterStore> store_;
  TextValue counter_key_;
  std::optional<TextValue> increment_condition_;
  th::IntSetting calls_;
  th::IntSetting renewal_period_;
  th::IntSetting increment_count_;
  th::RateReporting reporting_;
};

}  // namespace

Result<std::unique_ptr<Policy>> make_rate_limit_by_key(const Element& element, LoadContext& load) {
  AttributeReader r(element);
  auto calls = th::IntSetting::read(r, "calls", true, 0, 1, th::kMaxCalls);
  auto period =
      th::IntSetting::read(r, "renewal-period", true, 0, 1, CounterStore::kMaxRatePeriodSeconds);
  auto increment_count = th::IntSetting::read(r, "increment-count", false, 1, 0, th::kMaxCalls);
  TextValue counter_key = th::counter_key(r);
  std::optional<TextValue> condition = th::increment_condition(r);
  auto reporting = th::RateReporting::read(r);
  auto store = th::store_for(load, r);
  GH_TRY_STATUS(r.finish());
  return std::unique_ptr<Policy>(std::make_unique<RateLimitByKey>(
      std::move(store), std::move(counter_key), std::move(condition), std::move(calls),
      std::move(period), std::move(increment_count), std::move(reporting)));
}

}  // namespace gh::policy
