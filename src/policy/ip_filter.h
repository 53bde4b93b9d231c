#pragma once

// <ip-filter> (apim-policies.md §6.2): lets through, or refuses, callers by IP address.
//
//   <ip-filter action="allow | forbid">
//     <address>13.66.201.169</address>
//     <address>10.0.0.0/8</address>              (CIDR: a Gatehouse extension)
//     <address-range from="13.66.140.128" to="13.66.140.143" />
//   </ip-filter>
//
// The caller is context.Request.IpAddress (RequestView::client_ip: the TCP peer). IPv4 and IPv6
// both work. An IPv4 address also matches its IPv4-mapped IPv6 form (::ffff:a.b.c.d), as
// dual-stack sockets report it. Addresses are parsed once at load into sorted, merged 128-bit
// ranges, so a request costs a binary search and no allocation.
// Failure: 403 with LastError CallerIpNotAllowed / CallerIpBlocked / FailedToParseCallerIP and
// APIM's messages (docs/policies/ip-filter.md).

#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

/// LastError.Reason values (apim-policies.md §1.6).
inline constexpr std::string_view kCallerIpNotAllowed = "CallerIpNotAllowed";
inline constexpr std::string_view kCallerIpBlocked = "CallerIpBlocked";
inline constexpr std::string_view kFailedToParseCallerIp = "FailedToParseCallerIP";

/// An address as a 128-bit number; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d).
struct IpAddress {
  uint64_t high = 0;
  uint64_t low = 0;
  auto operator<=>(const IpAddress&) const = default;
};

/// Parses an IPv4 dotted quad or an IPv6 address (optionally in brackets, optionally with a
/// %zone, which is ignored). `is_v4` tells which it was. No allocation.
std::optional<IpAddress> parse_ip_address(std::string_view text, bool* is_v4 = nullptr) noexcept;

/// Factory for the registry: parses every address at load (no expressions in addresses; `action`
/// may be an expression).
Result<std::unique_ptr<Policy>> make_ip_filter(const Element& element, LoadContext& load);

}  // namespace gh::policy
