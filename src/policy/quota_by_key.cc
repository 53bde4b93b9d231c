#include "policy/quota_by_key.h"

#include <optional>

#include "policy/counter_store.h"
#include "policy/expression.h"
#include "policy/throttling.h"

namespace gh::policy {
namespace {

namespace th = throttling;
using Outcome = CounterStore::QuotaResult::Outcome;
constexpr std::string_view kSource = "quota-by-key";

class QuotaByKey final : public Policy {
 public:
  QuotaByKey(std::shared_ptr<CounterStore> store, TextValue counter_key,
             std::optional<TextValue> increment_condition, int64_t calls, int64_t kilobytes,
             CounterStore::QuotaPeriod period)
      : store_(std::move(store)),
        counter_key_(std::move(counter_key)),
        increment_condition_(std::move(increment_condition)),
        calls_(calls),
        kilobytes_(kilobytes),
        period_(period) {}

  Flow apply(RequestContext& ctx) const override {
    if (!store_) return Flow::Continue;
    Result<std::string> evaluated;
    std::string_view value;
    if (counter_key_.is_literal()) {
      value = counter_key_.literal();
    } else {
      evaluated = counter_key_.evaluate(ctx);
      if (!evaluated) {
        return th::expression_failed(ctx, kSource, "counter-key", evaluated.error(), id());
      }
      value = *evaluated;
    }
    // One counter per key value and window geometry, shared by every policy naming it.
    CounterKey key;
    key.append(th::kKeyQuotaPrefix)
        .append_number(period_.period_seconds)
        .append(std::string_view(&th::kSeparator, 1))
        .append_number(period_.start_unix)
        .append(std::string_view(&th::kSeparator, 1))
        .append(value);
    // APIM: "If multiple policies would increment the same key value, it is incremented only
    // once per request." A later policy on the same counter only checks its own limits.
    bool counted = false;
    for (const Deferred& d : ctx.deferred) {
      if (d.key == key.view() && dynamic_cast<const QuotaByKey*>(d.policy) != nullptr) {
        counted = true;
        break;
      }
    }
    auto r =
        store_->acquire_quota(key.view(), period_, {calls_, kilobytes_ * 1024}, counted ? 0 : 1);
    if (r.outcome != Outcome::Admitted) {
      return th::refuse_quota(ctx, kSource, r.outcome == Outcome::BandwidthExceeded,
                              r.seconds_to_renewal, id());
    }
    // Counted now (so that requests in flight hold their place); complete() adds the bytes, or
    // gives the call back when the increment-condition turns out false.
    if (!counted) ctx.deferred.push_back({this, std::string(key.view()), 1, r.period_index});
    return Flow::Continue;
  }

  void complete(const RequestContext& ctx, const Deferred& entry) const override {
    if (!store_) return;
    bool count = true;
    if (increment_condition_) {
      auto v = increment_condition_->evaluate_bool(ctx);
      count = !v || *v;  // a condition that cannot be evaluated leaves the call counted
    }
    if (!count) {
      store_->add_quota_usage(entry.key, period_, entry.stamp, -entry.amount, 0);
      return;
    }
    store_->add_quota_usage(entry.key, period_, entry.stamp, 0,
                            static_cast<int64_t>(ctx.request_bytes + ctx.response_bytes));
  }

 private:
  std::shared_ptr<CounterStore> store_;
  TextValue counter_key_;
  std::optional<TextValue> increment_condition_;
  int64_t calls_;      // 0: no call limit
  int64_t kilobytes_;  // 0: no bandwidth limit
  CounterStore::QuotaPeriod period_;
};

}  // namespace

Result<std::unique_ptr<Policy>> make_quota_by_key(const Element& element, LoadContext& load) {
  AttributeReader r(element);
  int64_t calls = th::literal_integer(r, "calls", false, 1, th::kMaxCalls);
  int64_t kilobytes = th::literal_integer(r, "bandwidth", false, 1, INT64_MAX / 1024);
  if (!element.attribute("calls") && !element.attribute("bandwidth"))
    r.problem("needs 'calls', 'bandwidth' or both");
  int64_t renewal_period = th::literal_integer(r, "renewal-period", true, 0, INT32_MAX);
  if (renewal_period > 0 && renewal_period < 300)
    r.problem("attribute 'renewal-period' must be 0 (no renewal) or at least 300 seconds");
  int64_t start = th::kYearOneUnix;
  if (const std::string* v = th::literal(r, "first-period-start", false);
      v && !v->starts_with("@(") && !v->starts_with("@{")) {
    auto parsed = th::parse_period_start(*v);
    if (parsed) {
      start = *parsed;
    } else {
      r.problem("attribute 'first-period-start': " + parsed.error().message);
    }
  }
  TextValue counter_key = th::counter_key(r);
  std::optional<TextValue> condition = th::increment_condition(r);
  auto store = th::store_for(load, r);
  GH_TRY_STATUS(r.finish());
  return std::unique_ptr<Policy>(std::make_unique<QuotaByKey>(
      std::move(store), std::move(counter_key), std::move(condition), calls, kilobytes,
      CounterStore::QuotaPeriod{start, renewal_period}));
}

}  // namespace gh::policy
