#include "jose/jwt.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <ctime>

#include "jose/jwt_error.h"

namespace gh::jose {
namespace {

namespace json = boost::json;

// The claim's values for required-claims matching: array elements, or the string split on
// `separator`; non-string scalars compare as their JSON text ("true", "2").
std::vector<std::string> claim_values(const json::value& v, std::string_view separator) {
  std::vector<std::string> out;
  auto scalar = [&](const json::value& e) {
    if (e.is_string()) {
      const std::string_view s = e.get_string();
      if (separator.empty() || &e != &v) {
        out.emplace_back(s);
        return;
      }
      size_t start = 0;
      while (start <= s.size()) {
        size_t end = s.find(separator, start);
        if (end == std::string_view::npos) end = s.size();
        if (end > start) out.emplace_back(s.substr(start, end - start));
        start = end + separator.size();
      }
    } else if (!e.is_object() && !e.is_array() && !e.is_null()) {
      out.push_back(json::serialize(e));
    }
  };
  if (v.is_array()) {
    for (const auto& e : v.get_array())
      scalar(e);
  } else {
    scalar(v);
  }
  return out;
}

Status check_required(const json::object& claims, const ClaimRequirement& req) {
  const json::value* v = claims.if_contains(req.name);
  if (v == nullptr || v->is_null()) {
    return fail(JwtError::MissingClaim, "required claim \"" + req.name + "\" is absent");
  }
  if (req.values.empty()) return {};
  const auto have = claim_values(*v, req.separator);
  auto present = [&](const std::string& want) {
    return std::find(have.begin(), have.end(), want) != have.end();
  };
  const bool ok = req.match == ClaimRequirement::Match::All
                      ? std::all_of(req.values.begin(), req.values.end(), present)
                      : std::any_of(req.values.begin(), req.values.end(), present);
  if (!ok) {
    return fail(JwtError::ClaimMismatch,
                "claim \"" + req.name + "\" lacks " +
                    (req.match == ClaimRequirement::Match::All ? "a required value"
                                                               : "any of the accepted values"));
  }
  return {};
}

Result<std::optional<double>> date_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr) return std::optional<double>{};
  auto d = numeric_date(*v);
  if (!d)
    return fail(JwtError::InvalidClaim, "claim \"" + std::string(name) + "\" is not a number");
  return d;
}

}  // namespace

std::optional<double> numeric_date(const json::value& v) noexcept {
  switch (v.kind()) {
    case json::kind::int64:
      return static_cast<double>(v.get_int64());
    case json::kind::uint64:
      return static_cast<double>(v.get_uint64());
    case json::kind::double_:
      return std::isfinite(v.get_double()) ? std::optional<double>(v.get_double()) : std::nullopt;
    default:
      return std::nullopt;
  }
}

std::string format_numeric_date(double seconds) {
  const double clamped = std::clamp(seconds, -62135596800.0, 253402300799.0);  // years 1..9999
  const std::time_t t = static_cast<std::time_t>(std::floor(clamped));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

double now_seconds(const core::Clock& clock) {
  return std::chrono::duration<double>(clock.now().time_since_epoch()).count();
}

Status validate_claims(const json::object& claims, const ClaimsPolicy& policy,
                       const core::Clock& clock) {
  GH_TRY_STATUS(accept_claims(claims, policy, now_seconds(clock)));
  return {};
}

Result<ClaimsAcceptance> accept_claims(const json::object& claims, const ClaimsPolicy& policy,
                                       double now) {
  const double skew = static_cast<double>(policy.clock_skew.count());
  GH_TRY(auto exp, date_claim(claims, "exp"));
  GH_TRY(auto nbf, date_claim(claims, "nbf"));
  GH_TRY(auto iat, date_claim(claims, "iat"));
  if (!exp && policy.require_exp) return fail(JwtError::MissingExp, "token has no exp claim");
  // RFC 7519 §4.1.4: the current time must be before exp.
  if (exp && now - skew >= *exp) {
    return fail(JwtError::Expired, "token expired at " + format_numeric_date(*exp));
  }
  // RFC 7519 §4.1.5: the current time must be at or after nbf.
  if (nbf && now + skew < *nbf) {
    return fail(JwtError::NotYetValid, "token not valid before " + format_numeric_date(*nbf));
  }
  if (iat && policy.reject_future_iat && now + skew < *iat) {
    return fail(JwtError::IssuedInFuture,
                "token issued in the future, at " + format_numeric_date(*iat));
  }

  const json::value* aud = claims.if_contains("aud");
  if (aud != nullptr && !aud->is_string()) {
    if (!aud->is_array()) return fail(JwtError::InvalidClaim, "claim \"aud\" is not a string");
    for (const auto& a : aud->get_array()) {
      if (!a.is_string()) return fail(JwtError::InvalidClaim, "claim \"aud\" holds a non-string");
    }
  }
  if (!policy.audiences.empty()) {
    if (aud == nullptr) return fail(JwtError::Audience, "token has no aud claim");
    auto accepted = [&](std::string_view a) {
      return std::find(policy.audiences.begin(), policy.audiences.end(), a) !=
             policy.audiences.end();
    };
    bool ok = false;
    if (aud->is_string()) {
      ok = accepted(aud->get_string());
    } else {
      for (const auto& a : aud->get_array())
        ok = ok || accepted(a.get_string());
    }
    if (!ok) return fail(JwtError::Audience, "token audience is not accepted");
  }

  const json::value* iss = claims.if_contains("iss");
  if (iss != nullptr && !iss->is_string()) {
    return fail(JwtError::InvalidClaim, "claim \"iss\" is not a string");
  }
  if (!policy.issuers.empty()) {
    if (iss == nullptr) return fail(JwtError::Issuer, "token has no iss claim");
    const std::string_view i = iss->get_string();
    if (std::find(policy.issuers.begin(), policy.issuers.end(), i) == policy.issuers.end()) {
      return fail(JwtError::Issuer, "token issuer " + quote_untrusted(i) + " is not accepted");
    }
  }

  for (const auto& req : policy.required_claims)
    GH_TRY_STATUS(check_required(claims, req));
  ClaimsAcceptance accepted;
  accepted.at = now;
  accepted.skew = skew;
  if (exp) accepted.exp = *exp;
  return accepted;
}

Result<VerifiedJwt> verify_jwt(std::string_view token, const JwkSet& keys,
                               const JwtVerifyOptions& options, const core::Clock& clock) {
  GH_TRY(VerifiedJws jws, verify_compact(token, keys, options.jws));
  auto claims = parse_strict_json_object(core::as_string_view(jws.payload), options.jws.limits);
  if (!claims) return core::unexpected(claims.error().with_context("JWT claims"));
  GH_TRY_STATUS(validate_claims(*claims, options.claims, clock));
  VerifiedJwt out{jws.alg, std::move(jws.kid), std::move(jws.header), std::move(*claims), {}};
  if (const json::value* exp = out.claims.if_contains("exp")) out.exp = numeric_date(*exp);
  return out;
}

}  // namespace gh::jose
