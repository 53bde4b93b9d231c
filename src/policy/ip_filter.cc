#include "policy/ip_filter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/strings.h"
#include "policy/expression.h"

namespace gh::policy {
namespace {

constexpr std::string_view kSource = "ip-filter";
constexpr std::string_view kParseFailedMessage =
    "Failed to establish IP address for the caller. Access denied.";
constexpr std::string_view kBlockedMessage = "Caller IP address is blocked. Access denied.";

struct Range {
  IpAddress first;
  IpAddress last;
};

/// The address with every bit after `prefix` set (`ones`) or cleared.
IpAddress with_host_bits(IpAddress a, int prefix, bool ones) {
  auto mask_of = [](int bits) -> uint64_t {  // the low (64 - bits) bits set
    if (bits <= 0) return ~uint64_t{0};
    if (bits >= 64) return 0;
    return (uint64_t{1} << (64 - bits)) - 1;
  };
  uint64_t high_host = mask_of(prefix);
  uint64_t low_host = mask_of(prefix - 64);
  if (ones) {
    a.high |= high_host;
    a.low |= low_host;
  } else {
    a.high &= ~high_host;
    a.low &= ~low_host;
  }
  return a;
}

IpAddress plus_one(IpAddress a) {
  if (++a.low == 0) ++a.high;
  return a;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

bool is_expression(std::string_view s) {
  s = trimmed(s);
  return s.starts_with("@(") || s.starts_with("@{");
}

enum class Action : uint8_t { Allow, Forbid };

std::optional<Action> parse_action(std::string_view s) {
  s = trimmed(s);
  if (core::iequals(s, "allow")) return Action::Allow;
  if (core::iequals(s, "forbid")) return Action::Forbid;
  return std::nullopt;
}

class IpFilter final : public Policy {
 public:
  std::optional<Action> action;  // set when literal
  TextValue action_expression;
  std::vector<Range> ranges;  // sorted, disjoint, not adjacent

  Flow apply(RequestContext& ctx) const override {
    Action act = Action::Allow;
    if (action) {
      act = *action;
    } else {
      auto text = action_expression.evaluate(ctx);
      std::optional<Action> parsed = text ? parse_action(*text) : std::nullopt;
      if (!parsed) {
        std::string why = text ? "the action is neither allow nor forbid" : text.error().message;
        ctx.fail(kSource, "ExpressionValueEvaluationFailure", "ip-filter action: " + why, 500,
                 "Internal server error", id());
        return Flow::Error;
      }
      act = *parsed;
    }
    auto caller = parse_ip_address(ctx.request.client_ip);
    if (!caller) {
      ctx.fail(kSource, kFailedToParseCallerIp, kParseFailedMessage, 403, {}, id());
      return Flow::Error;
    }
    bool listed = contains(*caller);
    if (act == Action::Allow && !listed) {
      // The address parsed, so it is plain ASCII: safe in a message.
      ctx.fail(kSource, kCallerIpNotAllowed,
               "Caller IP address " + std::string(ctx.request.client_ip) +
                   " is not allowed. Access denied.",
               403, {}, id());
      return Flow::Error;
    }
    if (act == Action::Forbid && listed) {
      ctx.fail(kSource, kCallerIpBlocked, kBlockedMessage, 403, {}, id());
      return Flow::Error;
    }
    return Flow::Continue;
  }

  bool contains(const IpAddress& ip) const {
    // The last range starting at or before ip.
    auto it = std::upper_bound(ranges.begin(), ranges.end(), ip,
                               [](const IpAddress& a, const Range& r) { return a < r.first; });
    if (it == ranges.begin()) return false;
    --it;
    return ip <= it->last;
  }
};

/// `address` text: one address, or a CIDR block (Gatehouse extension).
std::optional<Range> parse_address(std::string_view text, std::string& error) {
  text = trimmed(text);
  size_t slash = text.find('/');
  bool v4 = false;
  auto ip = parse_ip_address(text.substr(0, slash), &v4);
  if (!ip) {
    error = "'" + std::string(text.substr(0, 64)) + "' is not an IPv4 or IPv6 address";
    return std::nullopt;
  }
  if (slash == std::string_view::npos) return Range{*ip, *ip};
  auto bits = core::parse_uint(text.substr(slash + 1));
  uint64_t max = v4 ? 32 : 128;
  if (!bits || *bits > max) {
    error = "'" + std::string(text.substr(0, 64)) + "': the prefix length must be from 0 to " +
            std::to_string(max);
    return std::nullopt;
  }
  int prefix = static_cast<int>(*bits) + (v4 ? 96 : 0);
  IpAddress network = with_host_bits(*ip, prefix, false);
  if (network != *ip) {
    error = "'" + std::string(text.substr(0, 64)) +
            "' has bits set after the prefix (write the network address)";
    return std::nullopt;
  }
  return Range{network, with_host_bits(*ip, prefix, true)};
}

}  // namespace

std::optional<IpAddress> parse_ip_address(std::string_view text, bool* is_v4) noexcept {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  // An IPv6 zone ("fe80::1%eth0") names an interface, not part of the address.
  if (size_t zone = text.find('%'); zone != std::string_view::npos) {
    if (text.substr(0, zone).find(':') == std::string_view::npos) return std::nullopt;
    text = text.substr(0, zone);
  }
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buffer)) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress out;
  if (text.find(':') == std::string_view::npos) {
    unsigned char v4[4];
    if (inet_pton(AF_INET, buffer, v4) != 1) return std::nullopt;
    out.high = 0;
    out.low = (uint64_t{0xFFFF} << 32) | (uint64_t{v4[0]} << 24) | (uint64_t{v4[1]} << 16) |
              (uint64_t{v4[2]} << 8) | uint64_t{v4[3]};
    if (is_v4) *is_v4 = true;
    return out;
  }
  unsigned char v6[16];
  if (inet_pton(AF_INET6, buffer, v6) != 1) return std::nullopt;
  for (int i = 0; i < 8; ++i)
    out.high = (out.high << 8) | v6[i];
  for (int i = 8; i < 16; ++i)
    out.low = (out.low << 8) | v6[i];
  if (is_v4) *is_v4 = false;
  return out;
}

Result<std::unique_ptr<Policy>> make_ip_filter(const Element& element, LoadContext&) {
  auto policy = std::make_unique<IpFilter>();
  AttributeReader reader(element);
  if (const std::string* action = reader.required("action")) {
    if (is_expression(*action)) {
      auto v = TextValue::compile(*action, ValueType::String);
      if (!v) {
        reader.problem("attribute 'action': " + v.error().message);
      } else {
        policy->action_expression = std::move(*v);
      }
    } else {
      policy->action = parse_action(*action);
      if (!policy->action) reader.problem("attribute 'action' must be allow or forbid");
    }
  }

  std::vector<std::string> child_problems;
  std::vector<Range> ranges;
  for (const Element& child : element.children) {
    AttributeReader child_reader(child);
    if (!child.children.empty())
      child_reader.problem("<" + child.name + "> takes no child elements");
    std::string error;
    if (child.name == "address") {
      if (is_expression(child.text)) {
        child_reader.problem("addresses do not accept policy expressions");
      } else if (auto r = parse_address(child.text, error)) {
        ranges.push_back(*r);
      } else {
        child_reader.problem(error);
      }
    } else if (child.name == "address-range") {
      const std::string* from = child_reader.required("from");
      const std::string* to = child_reader.required("to");
      if (!trimmed(child.text).empty()) child_reader.problem("<address-range> takes no text");
      if (from && to) {
        bool from_v4 = false;
        bool to_v4 = false;
        auto first = parse_ip_address(trimmed(*from), &from_v4);
        auto last = parse_ip_address(trimmed(*to), &to_v4);
        if (is_expression(*from) || is_expression(*to)) {
          child_reader.problem("addresses do not accept policy expressions");
        } else if (!first) {
          child_reader.problem("from '" + from->substr(0, 64) + "' is not an IPv4 or IPv6 address");
        } else if (!last) {
          child_reader.problem("to '" + to->substr(0, 64) + "' is not an IPv4 or IPv6 address");
        } else if (from_v4 != to_v4) {
          child_reader.problem("from and to must both be IPv4 or both be IPv6");
        } else if (*last < *first) {
          child_reader.problem("from must not be greater than to");
        } else {
          ranges.push_back(Range{*first, *last});
        }
      }
    } else {
      reader.problem("unknown child element <" + child.name +
                     "> (expected <address> or <address-range>)");
      continue;
    }
    if (auto st = child_reader.finish(); !st) child_problems.push_back(st.error().message);
  }
  if (element.children.empty()) reader.problem("needs at least one <address> or <address-range>");

  // Sorted and merged, so that apply() is one binary search.
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.first < b.first; });
  for (const Range& r : ranges) {
    auto& merged = policy->ranges;
    if (!merged.empty() && (r.first <= merged.back().last ||
                            (merged.back().last != IpAddress{~uint64_t{0}, ~uint64_t{0}} &&
                             r.first == plus_one(merged.back().last)))) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }

  auto status = reader.finish();
  if (!status || !child_problems.empty()) {
    std::string joined = status ? std::string() : status.error().message;
    for (const auto& p : child_problems) {
      if (!joined.empty()) joined += '\n';
      joined += p;
    }
    return unexpected(ErrorKind::InvalidArgument, std::move(joined));
  }
  return std::unique_ptr<Policy>(std::move(policy));
}

}  // namespace gh::policy
