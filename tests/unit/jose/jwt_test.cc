#include "jose/jwt.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "jose/jwt_error.h"
#include "unit/jose/jose_fixtures.h"

namespace gh::jose {
namespace {

namespace json = boost::json;
using Match = ClaimRequirement::Match;

constexpr double kNow = 1'800'000'000;

JwtError check(std::string_view claims_json, const ClaimsPolicy& policy, double now = kNow) {
  test::FakeClock clock(now);
  auto claims = parse_strict_json_object(claims_json);
  EXPECT_TRUE(claims) << claims_json;
  auto r = validate_claims(*claims, policy, clock);
  return r ? JwtError::None : jwt_error(r.error());
}

ClaimsPolicy no_exp_needed() {
  ClaimsPolicy p;
  p.require_exp = false;
  return p;
}

TEST(Claims, ExpiryWithSkewAndDecimalDates) {
  ClaimsPolicy p;
  EXPECT_EQ(check(R"({"exp":1800000001})", p), JwtError::None);
  EXPECT_EQ(check(R"({"exp":1800000000})", p), JwtError::Expired);  // must be before exp
  EXPECT_EQ(check(R"({"exp":1799999999.5})", p), JwtError::Expired);
  EXPECT_EQ(check(R"({"exp":1800000000.25})", p), JwtError::None);  // MSAL Python decimals
  EXPECT_EQ(check(R"({})", p), JwtError::MissingExp);
  EXPECT_EQ(check(R"({"exp":"1800000001"})", p), JwtError::InvalidClaim);
  EXPECT_EQ(check(R"({"exp":null})", p), JwtError::InvalidClaim);
  EXPECT_EQ(check(R"({})", no_exp_needed()), JwtError::None);
  p.clock_skew = std::chrono::seconds(300);
  EXPECT_EQ(check(R"({"exp":1799999800})", p), JwtError::None);
  EXPECT_EQ(check(R"({"exp":1799999700})", p), JwtError::Expired);
}

TEST(Claims, NotBeforeAndIssuedAt) {
  ClaimsPolicy p = no_exp_needed();
  EXPECT_EQ(check(R"({"nbf":1800000000})", p), JwtError::None);  // at nbf is valid
  EXPECT_EQ(check(R"({"nbf":1800000000.5})", p), JwtError::NotYetValid);
  p.clock_skew = std::chrono::seconds(60);
  EXPECT_EQ(check(R"({"nbf":1800000060})", p), JwtError::None);
  EXPECT_EQ(check(R"({"nbf":1800000061})", p), JwtError::NotYetValid);
  EXPECT_EQ(check(R"({"iat":1900000000})", p), JwtError::None);  // not checked by default
  p.reject_future_iat = true;
  EXPECT_EQ(check(R"({"iat":1900000000})", p), JwtError::IssuedInFuture);
  EXPECT_EQ(check(R"({"iat":true})", p), JwtError::InvalidClaim);
}

TEST(Claims, AudienceStringOrArray) {
  ClaimsPolicy p = no_exp_needed();
  p.audiences = {"api://one", "api://two"};
  EXPECT_EQ(check(R"({"aud":"api://two"})", p), JwtError::None);
  EXPECT_EQ(check(R"({"aud":["x","api://one"]})", p), JwtError::None);
  EXPECT_EQ(check(R"({"aud":"API://ONE"})", p), JwtError::Audience);  // ordinal comparison
  EXPECT_EQ(check(R"({"aud":[]})", p), JwtError::Audience);
  EXPECT_EQ(check(R"({})", p), JwtError::Audience);
  EXPECT_EQ(check(R"({"aud":5})", p), JwtError::InvalidClaim);
  EXPECT_EQ(check(R"({"aud":["api://one",5]})", p), JwtError::InvalidClaim);
  EXPECT_EQ(check(R"({"aud":"anything"})", no_exp_needed()), JwtError::None);
}

TEST(Claims, Issuer) {
  ClaimsPolicy p = no_exp_needed();
  p.issuers = {"https://login.example/tenant/v2.0"};
  EXPECT_EQ(check(R"({"iss":"https://login.example/tenant/v2.0"})", p), JwtError::None);
  EXPECT_EQ(check(R"({"iss":"https://login.example/other/v2.0"})", p), JwtError::Issuer);
  EXPECT_EQ(check(R"({})", p), JwtError::Issuer);
  EXPECT_EQ(check(R"({"iss":["a"]})", p), JwtError::InvalidClaim);
}

TEST(Claims, RequiredClaimsFollowApimSemantics) {
  ClaimsPolicy p = no_exp_needed();
  p.required_claims.push_back({"roles", Match::All, "", {"Reader", "Writer"}});
  EXPECT_EQ(check(R"({"roles":["Writer","Reader","Admin"]})", p), JwtError::None);
  EXPECT_EQ(check(R"({"roles":["Reader"]})", p), JwtError::ClaimMismatch);
  EXPECT_EQ(check(R"({})", p), JwtError::MissingClaim);
  p.required_claims[0].match = Match::Any;
  EXPECT_EQ(check(R"({"roles":["Reader"]})", p), JwtError::None);
  EXPECT_EQ(check(R"({"roles":"Reader"})", p), JwtError::None);
  EXPECT_EQ(check(R"({"roles":["reader"]})", p), JwtError::ClaimMismatch);

  ClaimsPolicy scp = no_exp_needed();
  scp.required_claims.push_back({"scp", Match::All, " ", {"read", "write"}});
  EXPECT_EQ(check(R"({"scp":"write  read profile"})", scp), JwtError::None);
  EXPECT_EQ(check(R"({"scp":"read profile"})", scp), JwtError::ClaimMismatch);
  // Without a separator the whole string is one value.
  scp.required_claims[0].separator.clear();
  EXPECT_EQ(check(R"({"scp":"read write"})", scp), JwtError::ClaimMismatch);

  ClaimsPolicy presence = no_exp_needed();
  presence.required_claims.push_back({"tid", Match::All, "", {}});
  EXPECT_EQ(check(R"({"tid":"x"})", presence), JwtError::None);
  EXPECT_EQ(check(R"({"tid":null})", presence), JwtError::MissingClaim);

  ClaimsPolicy scalar = no_exp_needed();
  scalar.required_claims.push_back({"ver", Match::Any, "", {"2", "true"}});
  EXPECT_EQ(check(R"({"ver":2})", scalar), JwtError::None);
  EXPECT_EQ(check(R"({"ver":true})", scalar), JwtError::None);
  EXPECT_EQ(check(R"({"ver":{"x":2}})", scalar), JwtError::ClaimMismatch);
}

// An acceptance holds exactly where validate_claims would accept again: from its moment on,
// until exp less the skew (nbf and iat only pass more as time goes on).
TEST(Claims, AcceptanceHoldsWhereValidateClaimsWouldAccept) {
  ClaimsPolicy p;
  p.clock_skew = std::chrono::seconds(5);
  p.reject_future_iat = true;
  const std::string claims_json = R"({"nbf":1800000010,"iat":1800000010,"exp":1800000100.5})";
  auto claims = parse_strict_json_object(claims_json);
  ASSERT_TRUE(claims);
  EXPECT_FALSE(accept_claims(*claims, p, kNow));  // nbf - skew is 1800000005
  auto accepted = accept_claims(*claims, p, kNow + 5);
  ASSERT_TRUE(accepted);
  for (double t : {kNow + 4, kNow + 5, kNow + 50, kNow + 105.25, kNow + 105.5, kNow + 106}) {
    EXPECT_EQ(accepted->holds(t), t >= kNow + 5 && check(claims_json, p, t) == JwtError::None)
        << std::fixed << t;
  }
  auto forever = accept_claims(*parse_strict_json_object("{}"), no_exp_needed(), kNow);
  ASSERT_TRUE(forever);
  EXPECT_TRUE(forever->holds(kNow + 1e9));
  EXPECT_FALSE(forever->holds(kNow - 1));
}

TEST(Jwt, VerifyChecksSignatureThenClaims) {
  Jwk key = test::private_jwk("P-256", "e1");
  auto set = test::set_of(test::public_of(key));
  test::FakeClock clock(kNow);
  JwtVerifyOptions opts;
  opts.claims.audiences = {"api"};
  auto sign = [&](std::string_view claims) {
    return *sign_compact(core::as_bytes(claims), key, JwsAlg::ES256);
  };
  auto ok = verify_jwt(sign(R"({"aud":"api","exp":1800000100})"), set, opts, clock);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->kid, "e1");
  EXPECT_EQ(ok->exp, 1800000100.0);
  EXPECT_EQ(ok->claims.at("aud").as_string(), "api");

  auto expired = verify_jwt(sign(R"({"aud":"api","exp":1700000000})"), set, opts, clock);
  ASSERT_FALSE(expired);
  EXPECT_EQ(jwt_error(expired.error()), JwtError::Expired);
  EXPECT_NE(expired.error().message.find("2023-11-14T22:13:20Z"), std::string::npos);

  auto not_json = verify_jwt(sign("hello"), set, opts, clock);
  ASSERT_FALSE(not_json);
  EXPECT_EQ(jwt_error(not_json.error()), JwtError::Malformed);
  auto dup = verify_jwt(sign(R"({"aud":"x","aud":"api","exp":1800000100})"), set, opts, clock);
  ASSERT_FALSE(dup);
  EXPECT_EQ(jwt_error(dup.error()), JwtError::Malformed);
}

TEST(Jwt, FormatsNumericDates) {
  EXPECT_EQ(format_numeric_date(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_numeric_date(1300819380.9), "2011-03-22T18:43:00Z");
}

}  // namespace
}  // namespace gh::jose
