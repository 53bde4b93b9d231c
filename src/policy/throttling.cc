#include "policy/throttling.h"

#include <cstdio>

#include "core/strings.h"
#include "policy/services.h"

namespace gh::policy::throttling {
namespace {

bool is_expression(std::string_view v) noexcept {
  return v.starts_with("@(") || v.starts_with("@{");
}

bool is_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// "\x1f" + part: key pieces never run into one another.
void add_part(std::string& key, std::string_view part) {
  key += kSeparator;
  key += part;
}

struct Level {
  std::string id, name;
};

Level read_reference(AttributeReader& r) {
  Level l;
  if (const std::string* id = literal(r, "id", false)) l.id = *id;
  if (const std::string* name = literal(r, "name", false)) l.name = *name;
  if (l.id.empty() && l.name.empty()) r.problem("needs a 'name' or an 'id' attribute");
  return l;
}

std::string level_part(std::string_view what, const Level& l) {
  // id wins over name (APIM); both spellings are kept apart in the key.
  return std::string(what) + (l.id.empty() ? "n=" + l.name : "i=" + l.id);
}

void read_amounts(AttributeReader& r, const LimitRules& rules, NestedLimit& out) {
  if (rules.quota) {
    out.calls = literal_integer(r, "calls", false, 1, kMaxCalls);
    out.kilobytes = literal_integer(r, "bandwidth", false, 1, INT64_MAX / 1024);
    if (!r.element().attribute("calls") && !r.element().attribute("bandwidth"))
      r.problem("needs 'calls', 'bandwidth' or both");
  } else {
    out.calls = literal_integer(r, "calls", true, 1, kMaxCalls);
  }
  out.renewal_period =
      literal_integer(r, "renewal-period", true, rules.min_period, rules.max_period);
}

void keep_problems(Status s, std::vector<std::string>& problems) {
  if (!s) problems.push_back(s.error().message);
}

}  // namespace

const std::string* literal(AttributeReader& r, std::string_view name, bool required) {
  const std::string* v = required ? r.required(name) : r.raw(name);
  if (v && is_expression(*v))
    r.problem("attribute '" + std::string(name) + "' does not accept policy expressions");
  return v;
}

int64_t literal_integer(AttributeReader& r, std::string_view name, bool required, int64_t min,
                        int64_t max, int64_t fallback) {
  const std::string* v = literal(r, name, required);
  if (!v || is_expression(*v)) return fallback;
  return r.integer(name, fallback, min, max);
}

TextValue counter_key(AttributeReader& r) {
  const std::string* raw = r.required("counter-key");
  if (!raw) return {};
  auto compiled = TextValue::compile(*raw, ValueType::String);
  if (!compiled) {
    r.problem("attribute 'counter-key': " + compiled.error().message);
    return {};
  }
  return std::move(*compiled);
}

std::optional<TextValue> increment_condition(AttributeReader& r) {
  const std::string* raw = r.raw("increment-condition");
  if (!raw) return std::nullopt;
  auto compiled = TextValue::compile(*raw, ValueType::Bool);
  if (!compiled) {
    r.problem("attribute 'increment-condition': " + compiled.error().message);
    return std::nullopt;
  }
  if (compiled->is_literal() && !core::iequals(compiled->literal(), "true") &&
      !core::iequals(compiled->literal(), "false")) {
    r.problem("attribute 'increment-condition' must be true, false or an expression @(...)");
    return std::nullopt;
  }
  return std::move(*compiled);
}

std::string header_name(AttributeReader& r, std::string_view name, std::string fallback) {
  const std::string* v = literal(r, name, false);
  if (!v) return fallback;
  if (is_expression(*v)) return fallback;
  bool ok = !v->empty();
  for (char c : *v)
    ok = ok && is_token_char(c);
  if (!ok) {
    r.problem("attribute '" + std::string(name) + "' must be a header name, not '" + *v + "'");
    return fallback;
  }
  return *v;
}

std::string variable_name(AttributeReader& r, std::string_view name) {
  const std::string* v = literal(r, name, false);
  if (!v || is_expression(*v)) return {};
  if (v->empty()) r.problem("attribute '" + std::string(name) + "' must not be empty");
  return *v;
}

std::shared_ptr<CounterStore> store_for(const LoadContext& load, AttributeReader& r) {
  if (load.lint) return nullptr;
  if (!load.services || !load.services->counters) {
    r.problem("the gateway has no counter store (Services::counters)");
    return nullptr;
  }
  return load.services->counters;
}

std::string definition_identity(const LoadContext& load) {
  switch (load.scope) {
    case Scope::Global:
      return "g";
    case Scope::Product:
      // A product subscription belongs to one product: its id already tells products apart.
      return "p";
    case Scope::Api:
      return "a=" + (load.api ? load.api->id : std::string());
    case Scope::Operation:
      return "o=" + (load.api ? load.api->id : std::string()) + "/" +
             (load.operation ? load.operation->id : std::string());
  }
  return {};
}

RateReporting RateReporting::read(AttributeReader& r) {
  RateReporting out;
  out.retry_after_header = header_name(r, "retry-after-header-name", "Retry-After");
  out.retry_after_variable = variable_name(r, "retry-after-variable-name");
  out.remaining_calls_header = header_name(r, "remaining-calls-header-name");
  out.remaining_calls_variable = variable_name(r, "remaining-calls-variable-name");
  out.total_calls_header = header_name(r, "total-calls-header-name");
  return out;
}

void RateReporting::admitted(RequestContext& ctx, int64_t remaining, int64_t total) const {
  if (!remaining_calls_header.empty()) {
    ctx.response_header_changes.push_back(
        {remaining_calls_header, {std::to_string(remaining)}, FieldChange::Action::Override});
  }
  if (!total_calls_header.empty()) {
    ctx.response_header_changes.push_back(
        {total_calls_header, {std::to_string(total)}, FieldChange::Action::Override});
  }
  if (!remaining_calls_variable.empty()) ctx.set_variable(remaining_calls_variable, remaining);
}

Flow RateReporting::refuse(RequestContext& ctx, std::string_view source,
                           int64_t retry_after_seconds, int64_t total,
                           std::string_view policy_id) const {
  std::string seconds = std::to_string(retry_after_seconds);
  // APIM does not singularise: "Try again in 1 seconds."
  ctx.fail(source, "RateLimitExceeded", "Rate limit is exceeded", 429,
           "Rate limit is exceeded. Try again in " + seconds + " seconds.", policy_id);
  auto& headers = ctx.response->headers;
  if (!remaining_calls_header.empty()) headers.emplace_back(remaining_calls_header, "0");
  if (!total_calls_header.empty()) headers.emplace_back(total_calls_header, std::to_string(total));
  headers.emplace_back(retry_after_header, std::move(seconds));
  if (!retry_after_variable.empty()) ctx.set_variable(retry_after_variable, retry_after_seconds);
  if (!remaining_calls_variable.empty()) ctx.set_variable(remaining_calls_variable, int64_t{0});
  return Flow::Error;
}

IntSetting IntSetting::read(AttributeReader& r, std::string_view name, bool required,
                            int64_t fallback, int64_t min, int64_t max) {
  IntSetting out;
  out.literal_ = fallback;
  out.min_ = min;
  out.max_ = max;
  out.name_ = name;
  const std::string* v = required ? r.required(name) : r.raw(name);
  if (!v) return out;
  if (is_expression(*v)) {
    auto compiled = TextValue::compile(*v, ValueType::Int);
    if (!compiled) {
      r.problem("attribute '" + std::string(name) + "': " + compiled.error().message);
    } else {
      out.expression_ = std::make_shared<const TextValue>(std::move(*compiled));
    }
    return out;
  }
  out.literal_ = r.integer(name, fallback, min, max);
  return out;
}

Result<int64_t> IntSetting::get(const RequestContext& ctx) const {
  if (!expression_) return literal_;
  GH_TRY(int64_t v, expression_->evaluate_int(ctx));
  if (v < min_ || v > max_) {
    return unexpected(ErrorKind::InvalidArgument, name_ + " evaluated to " + std::to_string(v) +
                                                      ", outside " + std::to_string(min_) + ".." +
                                                      std::to_string(max_));
  }
  return v;
}

std::string format_timespan(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  char buf[48];
  if (days > 0) {
    std::snprintf(buf, sizeof buf, "%lld.%02lld:%02lld:%02lld", static_cast<long long>(days),
                  static_cast<long long>(rest / 3600), static_cast<long long>(rest / 60 % 60),
                  static_cast<long long>(rest % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(rest / 3600),
                  static_cast<long long>(rest / 60 % 60), static_cast<long long>(rest % 60));
  }
  return buf;
}

Flow refuse_quota(RequestContext& ctx, std::string_view source, bool bandwidth,
                  int64_t seconds_to_renewal, std::string_view policy_id) {
  std::string message = bandwidth ? "Out of bandwidth quota. " : "Out of call volume quota. ";
  if (seconds_to_renewal < 0) {
    message += "Quota will not be replenished.";
  } else {
    message += "Quota will be replenished in " + format_timespan(seconds_to_renewal) + ".";
  }
  ctx.fail(source, "QuotaExceeded", message, 403, {}, policy_id);
  if (seconds_to_renewal >= 0)
    ctx.response->headers.emplace_back("Retry-After", std::to_string(seconds_to_renewal));
  return Flow::Error;
}

Flow expression_failed(RequestContext& ctx, std::string_view source, std::string_view what,
                       const Error& error, std::string_view policy_id) {
  ctx.fail(source, "ExpressionValueEvaluationFailure", std::string(what) + ": " + error.message,
           500, "Internal server error", policy_id);
  return Flow::Error;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t& pos, size_t n, int64_t& out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

Result<int64_t> parse_period_start(std::string_view text) {
  auto bad = [&] {
    return unexpected(
        ErrorKind::InvalidArgument,
        "'" + std::string(text) + "' is not an ISO 8601 date and time (yyyy-MM-ddTHH:mm:ssZ)");
  };
  size_t pos = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(text, pos, 4, year) || !expect(text, pos, '-') || !digits(text, pos, 2, month) ||
      !expect(text, pos, '-') || !digits(text, pos, 2, day))
    return bad();
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == 't' || text[pos] == ' ')) {
    ++pos;
    if (!digits(text, pos, 2, hour) || !expect(text, pos, ':') || !digits(text, pos, 2, minute))
      return bad();
    if (expect(text, pos, ':')) {
      if (!digits(text, pos, 2, second)) return bad();
      if (expect(text, pos, '.')) {
        size_t first = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
          ++pos;
        if (pos == first) return bad();
      }
    }
  }
  int64_t offset = 0;
  if (expect(text, pos, 'Z') || expect(text, pos, 'z')) {
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int64_t sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t oh = 0, om = 0;
    if (!digits(text, pos, 2, oh)) return bad();
    expect(text, pos, ':');
    if (!digits(text, pos, 2, om) || oh > 14 || om > 59) return bad();
    offset = sign * (oh * 3600 + om * 60);
  }
  if (pos != text.size()) return bad();
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
    return bad();
  int64_t month_days = kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0);
  if (day > month_days) return bad();
  return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
}

bool NestedLimit::applies(const RequestContext& ctx) const noexcept {
  if (api_id.empty() && api_name.empty()) return true;
  if (!ctx.api) return false;
  if (!(api_id.empty() ? ctx.api->name == api_name : ctx.api->id == api_id)) return false;
  if (operation_id.empty() && operation_name.empty()) return true;
  if (!ctx.operation) return false;
  return operation_id.empty() ? ctx.operation->name == operation_name
                              : ctx.operation->id == operation_id;
}

std::vector<NestedLimit> read_limits(const Element& e, AttributeReader& r, const LimitRules& rules,
                                     std::string_view identity,
                                     std::vector<std::string>& problems) {
  std::vector<NestedLimit> limits;
  NestedLimit top;
  read_amounts(r, rules, top);
  top.key_suffix.assign(identity.begin(), identity.end());
  add_part(top.key_suffix, std::to_string(top.renewal_period));
  limits.push_back(std::move(top));
  for (const Element& api : e.children) {
    if (api.name != "api") {
      problems.push_back(element_error(api, "unknown element inside <" + e.name + ">").message);
      continue;
    }
    AttributeReader ar(api);
    Level api_level = read_reference(ar);
    NestedLimit api_limit;
    api_limit.api_id = api_level.id;
    api_limit.api_name = api_level.id.empty() ? api_level.name : std::string();
    read_amounts(ar, rules, api_limit);
    std::string api_base(identity);
    add_part(api_base, level_part("api:", api_level));
    api_limit.key_suffix = api_base;
    add_part(api_limit.key_suffix, std::to_string(api_limit.renewal_period));
    keep_problems(ar.finish(), problems);
    limits.push_back(api_limit);
    for (const Element& op : api.children) {
      if (op.name != "operation") {
        problems.push_back(element_error(op, "unknown element inside <api>").message);
        continue;
      }
      AttributeReader orr(op);
      Level op_level = read_reference(orr);
      NestedLimit op_limit;
      op_limit.api_id = api_limit.api_id;
      op_limit.api_name = api_limit.api_name;
      op_limit.operation_id = op_level.id;
      op_limit.operation_name = op_level.id.empty() ? op_level.name : std::string();
      read_amounts(orr, rules, op_limit);
      op_limit.key_suffix = api_base;
      add_part(op_limit.key_suffix, level_part("operation:", op_level));
      add_part(op_limit.key_suffix, std::to_string(op_limit.renewal_period));
      keep_problems(orr.finish(), problems);
      limits.push_back(std::move(op_limit));
    }
  }
  return limits;
}

Status finish(AttributeReader& r, const std::vector<std::string>& more) {
  Status s = r.finish();
  if (s && more.empty()) return s;
  std::string joined = s ? std::string() : s.error().message;
  for (const auto& m : more) {
    if (!joined.empty()) joined += '\n';
    joined += m;
  }
  return unexpected(ErrorKind::InvalidArgument, std::move(joined));
}

}  // namespace gh::policy::throttling
