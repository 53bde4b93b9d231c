#include "identity/assertion_checks.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/strings.h"

namespace gh::identity {
namespace {

struct OriginParts {
  std::string_view scheme;  // "http" or "https", as written
  std::string_view host;    // as written, IPv6 with brackets
  std::string_view port;    // explicit, else the scheme's default
};

// Splits "scheme://host[:port]" without allocating. Anything after the authority (path, query)
// or user info makes it not an origin.
std::optional<OriginParts> split_origin(std::string_view o) {
  const size_t sep = o.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  OriginParts p;
  p.scheme = o.substr(0, sep);
  const bool https = core::iequals(p.scheme, "https");
  if (!https && !core::iequals(p.scheme, "http")) return std::nullopt;
  std::string_view authority = o.substr(sep + 3);
  if (authority.empty() || authority.find_first_of("/?#@\\ ") != std::string_view::npos) {
    return std::nullopt;
  }
  size_t host_end = authority.size();
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host_end = close + 1;
    if (host_end < authority.size() && authority[host_end] != ':') return std::nullopt;
  } else if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host_end = colon;
  }
  p.host = authority.substr(0, host_end);
  if (p.host.empty()) return std::nullopt;
  if (host_end < authority.size()) {
    p.port = authority.substr(host_end + 1);
    const auto n = core::parse_uint(p.port);
    if (!n || *n == 0 || *n > 65535) return std::nullopt;
  }
  if (p.port.empty()) p.port = https ? "443" : "80";
  return p;
}

bool same_origin(const OriginParts& a, const OriginParts& b) {
  return core::iequals(a.scheme, b.scheme) && core::iequals(a.host, b.host) && a.port == b.port;
}

bool names_tenant(std::string_view segment, const Tenant& tenant) {
  if (segment.empty()) return false;
  if (core::iequals(segment, tenant.id)) return true;
  for (const std::string& alias : tenant.aliases) {
    if (core::iequals(segment, alias)) return true;
  }
  return false;
}

}  // namespace

std::optional<core::Bytes> decode_thumbprint(std::string_view text, size_t size) {
  // At most two '=' of padding: base64 never needs more.
  for (int i = 0; i < 2 && !text.empty() && text.back() == '='; ++i)
    text.remove_suffix(1);
  auto bytes = core::base64url_decode(text);
  if (!bytes || bytes->size() != size) return std::nullopt;
  return std::move(*bytes);
}

std::optional<std::string> canonical_origin(std::string_view origin) {
  const auto p = split_origin(origin);
  if (!p) return std::nullopt;
  std::string out = core::to_lower(p->scheme);
  out += "://";
  out += core::to_lower(p->host);
  const bool https = out.starts_with("https");
  if (p->port != (https ? "443" : "80")) {
    out += ':';
    out += p->port;
  }
  return out;
}

bool is_token_endpoint_audience(std::string_view aud, const Tenant& tenant,
                                std::span<const std::string_view> origins) {
  // msal-node adds ?client-request-id=... to the request URL; aud never has it, but a query on
  // aud is not part of the endpoint's identity either.
  aud = aud.substr(0, aud.find('?'));
  const size_t sep = aud.find("://");
  if (sep == std::string_view::npos) return false;
  const size_t path_start = aud.find('/', sep + 3);
  if (path_start == std::string_view::npos) return false;
  const auto aud_origin = split_origin(aud.substr(0, path_start));
  if (!aud_origin) return false;

  std::string_view path = aud.substr(path_start + 1);  // "{tenant}/oauth2/v2.0/token"
  const size_t seg_end = path.find('/');
  if (seg_end == std::string_view::npos) return false;
  const std::string_view rest = path.substr(seg_end);
  if (rest != "/oauth2/v2.0/token" && rest != "/oauth2/token") return false;
  if (!names_tenant(path.substr(0, seg_end), tenant)) return false;

  for (std::string_view o : origins) {
    if (o.ends_with('/')) o.remove_suffix(1);
    const auto accepted = split_origin(o);
    if (accepted && same_origin(*accepted, *aud_origin)) return true;
  }
  return false;
}

bool is_loopback_http_url(std::string_view url) {
  if (url.size() < 8 || !core::iequals(url.substr(0, 7), "http://")) return false;
  const size_t end = url.find_first_of("/?#", 7);
  const auto p = split_origin(url.substr(0, end));
  if (!p) return false;
  std::string_view host = p->host;
  if (core::iequals(host, "localhost")) return true;
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && addr.is_loopback();
}

namespace {

// Years 1..9999, the range Entra's DateTime can print (0001-01-01 .. 9999-12-31 23:59:59).
constexpr int64_t kMinDateTime = -62135596800;
constexpr int64_t kMaxDateTime = 253402300799;

std::tm utc_fields(int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(std::clamp(unix_seconds, kMinDateTime, kMaxDateTime));
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string entra_key_time(int64_t unix_seconds) {
  const std::tm tm = utc_fields(unix_seconds);
  // Four-digit years always (strftime's %Y prints year 1 as "1").
  char buf[96];
  const int n = std::snprintf(buf, sizeof buf, "%02d/%02d/%04d %02d:%02d:%02d", tm.tm_mon + 1,
                              tm.tm_mday, tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(buf, static_cast<size_t>(n));
}

std::string entra_precise_time(double unix_seconds) {
  if (!std::isfinite(unix_seconds)) unix_seconds = 0;
  unix_seconds = std::clamp(unix_seconds, static_cast<double>(kMinDateTime),
                            static_cast<double>(kMaxDateTime));
  double whole = std::floor(unix_seconds);
  auto ticks = static_cast<int64_t>(std::llround((unix_seconds - whole) * 1e7));
  if (ticks >= 10'000'000) {
    ticks -= 10'000'000;
    whole += 1;
  }
  const std::tm tm = utc_fields(static_cast<int64_t>(whole));
  char buf[96];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%07lldZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<long long>(ticks));
  return std::string(buf, static_cast<size_t>(n));
}

std::string printable(std::string_view value) {
  constexpr size_t kMax = 200;
  std::string out;
  out.reserve(std::min(value.size(), kMax) + 3);
  for (size_t i = 0; i < value.size() && i < kMax; ++i) {
    const char c = value[i];
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (value.size() > kMax) out += "...";
  return out;
}

}  // namespace gh::identity
