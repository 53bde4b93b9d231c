#include "config/value_parsers.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <set>
#include <vector>

#include "core/strings.h"

namespace gh::config {
namespace {

constexpr uint64_t kDayMs = 24ULL * 60 * 60 * 1000;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

core::Unexpected invalid(std::string message) {
  return unexpected(ErrorKind::InvalidArgument, std::move(message));
}

// A DNS name or IPv4 literal as written in a URL or address (no brackets, no port).
bool is_reg_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '_';
  });
}

// The inside of `[...]`: an IPv6 literal, optionally with a `%zone`.
bool is_ipv6_literal(std::string_view host) {
  // Every IPv6 text form has at least two colons ("::" or eight groups).
  if (std::count(host.begin(), host.end(), ':') < 2) return false;
  const size_t zone = host.find('%');
  const std::string_view addr = host.substr(0, zone);
  if (!std::all_of(addr.begin(), addr.end(),
                   [](char c) { return is_hex(c) || c == ':' || c == '.'; })) {
    return false;
  }
  if (zone == std::string_view::npos) return true;
  const std::string_view id = host.substr(zone + 1);
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '_';
  });
}

Result<uint16_t> parse_port(std::string_view text) {
  const auto port = core::parse_uint(text);
  if (!port || *port < 1 || *port > 65535) return invalid("port must be a number from 1 to 65535");
  return static_cast<uint16_t>(*port);
}

// `host`, `host:port`, `[v6]` or `[v6]:port`; port is optional here.
struct Authority {
  std::string host;
  std::optional<uint16_t> port;
};

Result<Authority> parse_authority(std::string_view text) {
  Authority out;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return invalid("missing ']' after an IPv6 address");
    const std::string_view host = text.substr(1, close - 1);
    if (!is_ipv6_literal(host)) return invalid("invalid IPv6 address in brackets");
    out.host = std::string(host);
    rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return invalid("unexpected text after ']'");
  } else {
    const size_t colon = text.find(':');
    const std::string_view host = text.substr(0, colon);
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return invalid("IPv6 addresses must be written in brackets, e.g. [::1]:8080");
    }
    if (host.empty()) return invalid("missing host");
    if (!is_reg_name(host)) return invalid("invalid host (letters, digits, '.', '-' expected)");
    out.host = std::string(host);
    if (colon != std::string_view::npos) rest = text.substr(colon);
  }
  if (!rest.empty()) {
    GH_TRY(out.port, parse_port(rest.substr(1)));
  }
  return out;
}

}  // namespace

Result<HostPort> parse_address(std::string_view text) {
  GH_TRY(Authority authority, parse_authority(text));
  if (!authority.port) return invalid("expected host:port or [ipv6]:port (the port is missing)");
  return HostPort{std::move(authority.host), *authority.port};
}

Result<ParsedUrl> parse_backend_url(std::string_view text) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos)
    return invalid("expected an absolute URL like http://host:port");
  ParsedUrl url;
  url.scheme = core::to_lower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") return invalid("scheme must be http or https");
  std::string_view rest = text.substr(sep + 3);
  const size_t path_start = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, path_start);
  const std::string_view path =
      path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return invalid("credentials in URLs are not supported");
  }
  if (authority.empty()) return invalid("missing host");
  GH_TRY(Authority parsed, parse_authority(authority));
  url.host = std::move(parsed.host);
  url.port = parsed.port.value_or(url.scheme == "https" ? 443 : 80);
  if (path.find_first_of("?#") != std::string_view::npos) {
    return invalid("query and fragment are not allowed in a backend URL");
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return invalid("the path contains a space or control character");
    }
  }
  std::string_view base = path;
  while (!base.empty() && base.back() == '/')
    base.remove_suffix(1);
  url.base_path = std::string(base);
  return url;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                 std::chrono::milliseconds max) {
  constexpr std::string_view kExpected =
      "expected a duration like 250ms, 10s, 5m, 1h, 2d or a number of seconds";
  size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits]))
    ++digits;
  const std::string_view unit = text.substr(digits);
  uint64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 60 * 60 * 1000;
  } else if (unit == "d") {
    scale = kDayMs;
  } else {
    return invalid(std::string(kExpected));
  }
  const auto count = core::parse_uint(text.substr(0, digits));
  if (!count) return invalid(std::string(kExpected));
  const uint64_t max_ms = max.count() > 0 ? static_cast<uint64_t>(max.count()) : 0;
  if (*count > max_ms / scale) {
    return invalid("duration must be at most " + format_duration(max));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(*count * scale));
}

std::string format_duration(std::chrono::milliseconds value) {
  const int64_t ms = value.count();
  // Whole days read best from two days up; "24h" is clearer than "1d" next to hour settings.
  if (ms >= 2 * static_cast<int64_t>(kDayMs) && ms % static_cast<int64_t>(kDayMs) == 0) {
    return std::to_string(ms / static_cast<int64_t>(kDayMs)) + "d";
  }
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

namespace {

// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

Result<int64_t> parse_utc_time(std::string_view text) {
  auto bad = [&] {
    return unexpected(ErrorKind::InvalidArgument,
                      "expected a UTC date and time like 2024-01-01T00:00:00Z or a date like "
                      "2024-01-01");
  };
  std::string_view t = text;
  if (!t.empty() && t.back() == 'Z') t.remove_suffix(1);
  if (t.size() != 10 && t.size() != 19) return bad();
  auto number = [&](size_t at, size_t len, int64_t& out) {
    out = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!number(0, 4, y) || t[4] != '-' || !number(5, 2, mo) || t[7] != '-' || !number(8, 2, d)) {
    return bad();
  }
  if (t.size() == 19 && (t[10] != 'T' || !number(11, 2, h) || t[13] != ':' || !number(14, 2, mi) ||
                         t[16] != ':' || !number(17, 2, sec))) {
    return bad();
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] ||
      (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59) {
    return bad();
  }
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + sec;
}

Result<uint64_t> parse_size(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits]))
    ++digits;
  const std::string_view unit = text.substr(digits);
  uint64_t scale = 0;
  if (unit.empty()) {
    scale = 1;
  } else if (unit == "KiB") {
    scale = 1ULL << 10;
  } else if (unit == "MiB") {
    scale = 1ULL << 20;
  } else if (unit == "GiB") {
    scale = 1ULL << 30;
  } else {
    return invalid("expected a byte count: an integer, optionally with KiB, MiB or GiB");
  }
  const auto count = core::parse_uint(text.substr(0, digits));
  if (!count) return invalid("expected a byte count: an integer, optionally with KiB, MiB or GiB");
  if (*count > UINT64_MAX / scale) return invalid("size is too large");
  return *count * scale;
}

Status check_name(std::string_view text) {
  if (text.empty() || text.size() > 64) return invalid("names must be 1 to 64 characters long");
  for (char c : text) {
    if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '_' && c != '-') {
      return invalid("names may only contain letters, digits, '.', '_' and '-'");
    }
  }
  return {};
}

Result<std::string> normalize_api_path(std::string_view text) {
  if (!text.empty() && text.front() != '/') return invalid("path must start with '/'");
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#') {
      return invalid("path must not contain spaces, control characters, '?' or '#'");
    }
    if (c == '{' || c == '}') {
      return invalid("path is a plain prefix; put {parameters} in operations[].url_template");
    }
  }
  std::string_view base = text;
  while (!base.empty() && base.back() == '/')
    base.remove_suffix(1);
  return std::string(base);
}

Status check_url_template(std::string_view text) {
  if (text.empty() || text.front() != '/') return invalid("url_template must start with '/'");
  std::set<std::string_view, std::less<>> names;
  size_t pos = 1;
  while (pos <= text.size()) {
    size_t end = text.find('/', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view segment = text.substr(pos, end - pos);
    const bool last = end == text.size();
    if (segment.empty() && !last) return invalid("url_template must not contain '//'");
    if (segment.find_first_of("{}") != std::string_view::npos) {
      if (segment.size() < 3 || segment.front() != '{' || segment.back() != '}') {
        return invalid("a {parameter} must be a whole path segment, like /orders/{id}");
      }
      const std::string_view name = segment.substr(1, segment.size() - 2);
      if (!(is_alpha(name.front()) || name.front() == '_') ||
          !std::all_of(name.begin(), name.end(),
                       [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; })) {
        return invalid(
            "parameter names must be letters, digits and '_', not starting with a digit");
      }
      if (!names.insert(name).second) return invalid("a parameter name is used twice");
    } else {
      for (char c : segment) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#') {
          return invalid("url_template must not contain spaces, control characters, '?' or '#'");
        }
      }
    }
    pos = end + 1;
  }
  return {};
}

Result<std::string> normalize_method(std::string_view text) {
  if (text == "*") return std::string("*");
  if (text.empty()) return invalid("method must not be empty");
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    // RFC 9110 §5.6.2 tchar.
    const bool tchar = is_alpha(c) || is_digit(c) ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!tchar) return invalid("method must be an HTTP token like GET, or * for any method");
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

Result<std::string> normalize_host_name(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    if (!is_ipv6_literal(text)) return invalid("invalid IPv6 address in brackets");
  }
  if (text.find(':') != std::string_view::npos) {
    if (is_ipv6_literal(text)) return core::to_lower(text);
    return invalid("expected a host name without a port");
  }
  if (!is_reg_name(text)) return invalid("expected a host name (letters, digits, '.', '-')");
  return core::to_lower(text);
}

Result<std::string> normalize_sha256_pin(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    if (!is_hex(c)) return invalid("pinned_sha256 must be 64 hex digits (SHA-256 of the DER leaf)");
    out.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  if (out.size() != 64)
    return invalid("pinned_sha256 must be 64 hex digits (SHA-256 of the DER leaf)");
  return out;
}

Result<std::string> normalize_guid(std::string_view text) {
  constexpr std::string_view kExpected =
      "expected a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47";
  if (text.size() != 36) return invalid(std::string(kExpected));
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? c != '-' : !is_hex(c)) return invalid(std::string(kExpected));
    out.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

Result<std::string> normalize_cidr(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  std::array<uint8_t, 16> bytes{};
  size_t width = 0;
  if (::inet_pton(AF_INET, address.c_str(), bytes.data()) == 1) {
    width = 4;
  } else if (::inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1) {
    width = 16;
  } else {
    return invalid("expected an IP address or CIDR range like 10.0.0.0/24 or fd00::/64");
  }
  uint64_t prefix = width * 8;
  if (slash != std::string_view::npos) {
    const auto parsed = core::parse_uint(text.substr(slash + 1));
    if (!parsed || *parsed > width * 8) {
      return invalid(width == 4 ? "the prefix length must be 0 to 32"
                                : "the prefix length must be 0 to 128");
    }
    prefix = *parsed;
  }
  for (size_t bit = prefix; bit < width * 8; ++bit) {
    if (bytes[bit / 8] & (0x80u >> (bit % 8))) {
      return invalid("the address has bits set beyond the prefix length (use the network address)");
    }
  }
  std::array<char, INET6_ADDRSTRLEN> shown{};
  ::inet_ntop(width == 4 ? AF_INET : AF_INET6, bytes.data(), shown.data(), shown.size());
  return std::string(shown.data()) + "/" + std::to_string(prefix);
}

Status check_env_name(std::string_view text) {
  if (text.empty() || text.size() > 128 || is_digit(text.front()) ||
      !std::all_of(text.begin(), text.end(),
                   [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; })) {
    return invalid("expected an environment variable name (letters, digits and '_')");
  }
  return {};
}

size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions ("tsl" -> "tls" is 1).
  const size_t w = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * w);
  for (size_t i = 0; i <= a.size(); ++i)
    d[i * w] = i;
  for (size_t j = 0; j <= b.size(); ++j)
    d[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best =
          std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1, d[(i - 1) * w + j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        best = std::min(best, d[(i - 2) * w + j - 2] + 1);
      }
      d[i * w + j] = best;
    }
  }
  return d[a.size() * w + b.size()];
}

std::optional<std::string_view> suggest(std::string_view word,
                                        std::span<const std::string_view> candidates) {
  // A third of the word, at least 1 and at most 3 edits: catches typos, not unrelated words.
  const size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  if (word.size() > 64) return std::nullopt;  // not a typo of a key; keep garbage input cheap
  std::optional<std::string_view> best;
  size_t best_distance = limit + 1;
  for (const std::string_view candidate : candidates) {
    const size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace gh::config
