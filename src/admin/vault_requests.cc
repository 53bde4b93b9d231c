#include "admin/vault_requests.h"

#include <optional>

#include "admin/api_support.h"
#include "core/encoding.h"
#include "core/strings.h"

namespace gh::admin {
namespace {

constexpr int kDefaultRenewPercentage = 80;  // Key Vault's default lifetime action

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned days_in_month(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// A time member: Unix seconds, or a UTC time string.
Result<std::optional<int64_t>> time_field(const Body& body, std::string_view name) {
  if (auto seconds = body.integer(name)) {
    if (*seconds && **seconds < 0) {
      return bad_request("field '" + std::string(name) + "' must not be negative");
    }
    return *seconds;
  }
  auto text = body.text(name);
  const std::string message = "field '" + std::string(name) +
                              "' must be Unix seconds or a UTC time like 2027-01-31T00:00:00Z";
  if (!text) return bad_request(message);
  auto t = parse_utc_time(**text);
  if (!t) return bad_request(message);
  return std::optional<int64_t>(*t);
}

Result<int> int_field(const Body& body, std::string_view name, int fallback, int min, int max) {
  GH_TRY(auto v, body.integer(name));
  if (!v) return fallback;
  if (*v < min || *v > max) {
    return bad_request("field '" + std::string(name) + "' must be between " + std::to_string(min) +
                       " and " + std::to_string(max));
  }
  return static_cast<int>(*v);
}

Result<vault::Tags> tags_field(const Body& body) {
  GH_TRY(auto tags, body.string_map("tags"));
  return tags.value_or(vault::Tags{});
}

}  // namespace

Result<int64_t> parse_utc_time(std::string_view s) {
  // Exactly "YYYY-MM-DDTHH:MM:SSZ".
  const auto bad = [] { return bad_request("expected a UTC time like 2027-01-31T00:00:00Z"); };
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z') {
    return bad();
  }
  const auto number = [s](size_t at, size_t length) -> std::optional<uint64_t> {
    return core::parse_uint(s.substr(at, length));
  };
  const auto year = number(0, 4), month = number(5, 2), day = number(8, 2), hour = number(11, 2),
             minute = number(14, 2), second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return bad();
  if (*year < 1970 || *month < 1 || *month > 12 || *day < 1 ||
      *day > days_in_month(static_cast<int64_t>(*year), static_cast<unsigned>(*month)) ||
      *hour > 23 || *minute > 59 || *second > 59) {
    return bad();
  }
  const int64_t days = days_from_civil(static_cast<int64_t>(*year), static_cast<unsigned>(*month),
                                       static_cast<unsigned>(*day));
  return days * 86400 + static_cast<int64_t>(*hour * 3600 + *minute * 60 + *second);
}

Result<vault::NewSecret> parse_secret_request(std::string_view name, std::string_view text) {
  GH_TRY(Body body,
         Body::parse(text, {"value", "content_type", "enabled", "not_before", "expires", "tags"}));
  vault::NewSecret s;
  s.name = std::string(name);
  GH_TRY(s.value, body.required_text("value"));
  GH_TRY(auto content_type, body.text("content_type"));
  s.content_type = content_type.value_or("");
  GH_TRY(auto enabled, body.flag("enabled"));
  s.enabled = enabled.value_or(true);
  GH_TRY(auto not_before, time_field(body, "not_before"));
  s.not_before = not_before.value_or(0);
  GH_TRY(auto expires, time_field(body, "expires"));
  s.expires = expires.value_or(0);
  if (s.not_before != 0 && s.expires != 0 && s.expires <= s.not_before) {
    return bad_request("field 'expires' must be after 'not_before'");
  }
  GH_TRY(s.tags, tags_field(body));
  return s;
}

Result<CertificateRequest> parse_certificate_request(std::string_view text) {
  GH_TRY(Body body, Body::parse(text, {"policy", "tags"}));
  GH_TRY(auto policy, body.object("policy", {"subject", "dns_names", "key_type", "key_size",
                                             "curve", "validity_months", "issuer", "content_type",
                                             "renew_days_before_expiry",
                                             "renew_at_lifetime_percentage", "exportable"}));
  if (!policy) return bad_request("field 'policy' is required");
  const Body& p = *policy;
  CertificateRequest out;
  vault::CertificatePolicy& c = out.policy;
  GH_TRY(c.subject, p.required_text("subject"));
  GH_TRY(auto dns, p.texts("dns_names"));
  c.dns_names = dns.value_or(std::vector<std::string>{});
  GH_TRY(auto key_type, p.text("key_type"));
  if (key_type) c.key_type = *key_type;
  GH_TRY(c.key_size, int_field(p, "key_size", c.key_size, 0, 16384));
  GH_TRY(auto curve, p.text("curve"));
  if (curve) c.curve = *curve;
  GH_TRY(c.validity_months, int_field(p, "validity_months", c.validity_months, 1, 120));
  GH_TRY(auto issuer, p.text("issuer"));
  if (issuer && !issuer->empty()) c.issuer = *issuer;
  GH_TRY(auto content_type, p.text("content_type"));
  if (content_type && !content_type->empty()) c.content_type = *content_type;
  GH_TRY(auto days, p.integer("renew_days_before_expiry"));
  GH_TRY(c.renew_days_before_expiry, int_field(p, "renew_days_before_expiry", 0, 0, 3650));
  GH_TRY(c.renew_at_lifetime_percentage,
         int_field(p, "renew_at_lifetime_percentage", days ? 0 : kDefaultRenewPercentage, 0, 99));
  GH_TRY(auto exportable, p.flag("exportable"));
  c.exportable = exportable.value_or(true);
  GH_TRY(out.tags, tags_field(body));
  return out;
}

Result<ImportRequest> parse_import_request(std::string_view text) {
  GH_TRY(Body body, Body::parse(text, {"value", "password", "tags"}));
  ImportRequest out;
  GH_TRY(std::string value, body.required_text("value"));
  if (value.find("-----BEGIN") != std::string::npos) {
    out.data = std::move(value);
  } else {
    // Base64 as Key Vault's import takes a PFX; line breaks (base64 -w76) are allowed.
    std::string compact;
    compact.reserve(value.size());
    for (const char ch : value)
      if (ch != '\n' && ch != '\r' && ch != ' ' && ch != '\t') compact.push_back(ch);
    auto bytes = core::base64_decode(compact, true);
    if (!bytes || bytes->empty()) {
      return bad_request("field 'value' must be PEM text or base64 of a PKCS#12 (.pfx) file");
    }
    out.data.assign(bytes->begin(), bytes->end());
  }
  GH_TRY(auto password, body.text("password"));
  out.password = password.value_or("");
  GH_TRY(out.tags, tags_field(body));
  return out;
}

Result<ExportRequest> parse_export_request(std::string_view text) {
  GH_TRY(Body body, Body::parse(text, {"format", "version", "password"}));
  ExportRequest out;
  GH_TRY(auto format, body.text("format"));
  if (format) out.format = core::to_lower(*format);
  if (out.format != "pem" && out.format != "pfx") {
    return bad_request("field 'format' must be pem or pfx");
  }
  GH_TRY(auto version, body.text("version"));
  out.version = version.value_or("");
  GH_TRY(auto password, body.text("password"));
  out.password = password.value_or("");
  if (!out.password.empty() && out.format == "pem") {
    return bad_request("field 'password' applies to format pfx only (PEM is not encrypted)");
  }
  return out;
}

}  // namespace gh::admin
