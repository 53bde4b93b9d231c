#pragma once

// JWT (RFC 7519) claims validation, reusable on its own, and full token verification (JWS
// signature + claims). Claim rules follow APIM validate-jwt (require-expiration-time,
// clock-skew, audiences, issuers, required-claims with match="all|any" and separator).

#include <boost/json/object.hpp>
#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "jose/jwk_set.h"
#include "jose/jws.h"

namespace gh::jose {

/// One entry of APIM's <required-claims>.
struct ClaimRequirement {
  enum class Match : uint8_t { All, Any };
  std::string name;
  Match match = Match::All;
  /// Splits a string claim into values ("read write" with " "); empty: no splitting. Array
  /// claims are multi-valued already and are not split.
  std::string separator;
  /// Values to look for; empty means the claim only has to be present.
  std::vector<std::string> values;
};

struct ClaimsPolicy {
  bool require_exp = true;             // APIM require-expiration-time (default true)
  bool reject_future_iat = false;      // iat after now + skew fails (IssuedInFuture)
  std::chrono::seconds clock_skew{0};  // APIM clock-skew default is 0, applied to exp and nbf
  std::vector<std::string> audiences;  // aud must match one; empty: aud is not checked
  std::vector<std::string> issuers;    // iss must equal one; empty: iss is not checked
  std::vector<ClaimRequirement> required_claims;
};

/// Validates a claims set against `policy` at `clock`'s current time. exp, nbf, iat are
/// NumericDates and may be decimals. Value comparisons are ordinal (case-sensitive). On failure
/// the detail is MissingExp, Expired, NotYetValid, IssuedInFuture, InvalidClaim, Audience,
/// Issuer, MissingClaim or ClaimMismatch. Thread-safe.
Status validate_claims(const boost::json::object& claims, const ClaimsPolicy& policy,
                       const core::Clock& clock);

/// The clock's time as a NumericDate, with its fraction: what validate_claims compares.
double now_seconds(const core::Clock& clock);

/// A validate_claims verdict that time can only break one way: a claims set accepted at `at`
/// is accepted again under the same policy at any later moment until exp (less the skew), since
/// nbf and iat only pass more as time goes on. A cache of verified tokens keeps one beside each
/// token so that a reused token skips the claim rules.
struct ClaimsAcceptance {
  double at = 0;
  double exp = std::numeric_limits<double>::infinity();  // no exp claim: never expires
  double skew = 0;
  /// Exactly validate_claims' verdict at `now`, without reading a claim.
  bool holds(double now) const noexcept { return now >= at && now - skew < exp; }
};

/// validate_claims at `now` (from now_seconds), and on success what the verdict depends on.
Result<ClaimsAcceptance> accept_claims(const boost::json::object& claims,
                                       const ClaimsPolicy& policy, double now);

struct JwtVerifyOptions {
  JwsVerifyOptions jws;
  ClaimsPolicy claims;
};

struct VerifiedJwt {
  JwsAlg alg;
  std::string kid;
  boost::json::object header;
  boost::json::object claims;
  std::optional<double> exp;  // the exp claim, when present
};

/// Verifies the signature (verify_compact), parses the payload as a strict JSON claims object
/// and validates it. The first failure wins, in that order. Thread-safe.
Result<VerifiedJwt> verify_jwt(std::string_view token, const JwkSet& keys,
                               const JwtVerifyOptions& options, const core::Clock& clock);

/// A NumericDate claim value (integer or decimal seconds), or nullopt if not a number.
std::optional<double> numeric_date(const boost::json::value& v) noexcept;

/// "2026-11-24T05:20:32Z" (UTC, whole seconds) for a NumericDate.
std::string format_numeric_date(double seconds);

}  // namespace gh::jose
