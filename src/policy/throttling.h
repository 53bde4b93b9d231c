#pragma once

// What rate-limit, rate-limit-by-key, quota and quota-by-key share (apim-policies.md §6.4–6.7):
// reading their attributes where APIM allows no expressions, the nested <api>/<operation> limits,
// the counter identities, and APIM's refusals (429 "Rate limit is exceeded. Try again in N
// seconds." / 403 "Out of call volume quota. Quota will be replenished in hh:mm:ss.").

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "policy/context.h"
#include "policy/document.h"
#include "policy/expression.h"
#include "policy/policy.h"

namespace gh::policy {

class CounterStore;

namespace throttling {

/// Counter keys start with one of these, so that a counter-key value can never name a
/// subscription's counter (or the other way round).
inline constexpr std::string_view kSubscriptionRatePrefix = "rs\x1f";
inline constexpr std::string_view kKeyRatePrefix = "rk\x1f";
inline constexpr std::string_view kSubscriptionQuotaPrefix = "qs\x1f";
inline constexpr std::string_view kKeyQuotaPrefix = "qk\x1f";
inline constexpr char kSeparator = '\x1f';

/// Largest calls value accepted (a counter slot holds 32 bits).
inline constexpr int64_t kMaxCalls = 2'147'483'647;

/// A value APIM documents as "policy expressions aren't allowed": records a problem when it is
/// one ('@(' or '@{'). Returns the value (null when absent).
const std::string* literal(AttributeReader& r, std::string_view name, bool required);

/// A literal integer attribute in [min, max] (expressions refused); `fallback` when absent.
int64_t literal_integer(AttributeReader& r, std::string_view name, bool required, int64_t min,
                        int64_t max, int64_t fallback = 0);

/// counter-key (required; a literal or an expression).
TextValue counter_key(AttributeReader& r);
/// increment-condition (optional; true, false or a boolean expression).
std::optional<TextValue> increment_condition(AttributeReader& r);

/// A header name (an HTTP token) or variable name, literal; "" when absent.
std::string header_name(AttributeReader& r, std::string_view name, std::string fallback = {});
std::string variable_name(AttributeReader& r, std::string_view name);

/// The counters' store from the load context; null while linting. A missing store outside
/// linting is a problem recorded on `r` (the gateway builds one at start).
std::shared_ptr<CounterStore> store_for(const LoadContext& load, AttributeReader& r);

/// The part of a counter key that tells one policy definition from another: the scope it was
/// written at and, at API and operation scope, which API and operation ("" while linting).
std::string definition_identity(const LoadContext& load);

/// Where rate-limit and rate-limit-by-key report: the five header and variable name attributes.
struct RateReporting {
  std::string retry_after_header = "Retry-After";
  std::string retry_after_variable;
  std::string remaining_calls_header;
  std::string remaining_calls_variable;
  std::string total_calls_header;

  /// Reads the five attributes (no expressions).
  static RateReporting read(AttributeReader& r);
  /// After an admitted call: the remaining-calls and total-calls headers and variable.
  void admitted(RequestContext& ctx, int64_t remaining, int64_t total) const;
  /// Refuses with APIM's 429, Retry-After and the configured headers and variables.
  Flow refuse(RequestContext& ctx, std::string_view source, int64_t retry_after_seconds,
              int64_t total, std::string_view policy_id) const;
};

/// .NET TimeSpan's invariant format as APIM prints it: "[d.]hh:mm:ss" (e.g. "03:30:56",
/// "22.14:18:12").
std::string format_timespan(int64_t seconds);

/// Refuses with APIM's 403 quota answer; `seconds_to_renewal` < 0: a lifetime quota (no
/// Retry-After; "Quota will not be replenished.").
Flow refuse_quota(RequestContext& ctx, std::string_view source, bool bandwidth,
                  int64_t seconds_to_renewal, std::string_view policy_id);

/// Fails the request because an expression could not be evaluated (500, as APIM does).
Flow expression_failed(RequestContext& ctx, std::string_view source, std::string_view what,
                       const Error& error, std::string_view policy_id);

/// An integer attribute that may be an expression (rate-limit-by-key's calls, renewal-period,
/// increment-count): a literal is checked at load and costs nothing per request.
class IntSetting {
 public:
  /// Reads `name` (absent: `fallback`; required: a problem); literals must lie in [min, max].
  static IntSetting read(AttributeReader& r, std::string_view name, bool required, int64_t fallback,
                         int64_t min, int64_t max);
  /// The value for this request; an expression's value must lie in [min, max].
  Result<int64_t> get(const RequestContext& ctx) const;
  bool is_literal() const noexcept { return !expression_; }
  int64_t literal() const noexcept { return literal_; }

 private:
  int64_t literal_ = 0;
  int64_t min_ = 0, max_ = 0;
  std::string name_;
  std::shared_ptr<const TextValue> expression_;
};

/// An ISO 8601 date and time ("2024-01-01T00:00:00Z"; fractions of a second are ignored; 'Z',
/// "+hh:mm", "-hh:mm" or no zone, which means UTC) as seconds since the Unix epoch. Years
/// 0001–9999.
Result<int64_t> parse_period_start(std::string_view text);

/// APIM's first-period-start default, 0001-01-01T00:00:00Z.
inline constexpr int64_t kYearOneUnix = -62'135'596'800;

/// One limit of rate-limit or quota, nested <api>/<operation> ones included.
struct NestedLimit {
  std::string api_id, api_name;              // empty at the top level
  std::string operation_id, operation_name;  // empty above the operation level
  int64_t calls = 0;                         // 0: no call limit (quota with bandwidth only)
  int64_t kilobytes = 0;                     // quota only; 0: no bandwidth limit
  int64_t renewal_period = 0;
  std::string key_suffix;  // after the subscription id: the definition, the level, the period

  /// Whether this limit covers the request (the top level always does).
  bool applies(const RequestContext& ctx) const noexcept;
};

/// Which attributes the limits of a kind take.
struct LimitRules {
  bool quota = false;  // calls and/or bandwidth (at least one); else calls only
  int64_t min_period = 1;
  int64_t max_period = 300;
};

/// Reads the top-level limit from `r` and every nested <api>/<operation> of `e` (each with
/// `name` or `id`; `id` wins, as in APIM). Problems go to `problems` (one per line).
std::vector<NestedLimit> read_limits(const Element& e, AttributeReader& r, const LimitRules& rules,
                                     std::string_view identity, std::vector<std::string>& problems);

/// OK, or the reader's problems plus `more` joined.
Status finish(AttributeReader& r, const std::vector<std::string>& more);

}  // namespace throttling
}  // namespace gh::policy
