#include "policy/validate_azure_ad_token.h"

#include <gtest/gtest.h>

#include "jose/token_cache.h"
#include "jwt_fixtures.h"
#include "policy/services.h"
#include "support/static_http_server.h"

namespace gh::policy {
namespace {

using jose::JwsAlg;
using test::sign;
namespace json = boost::json;

constexpr const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr const char* kEndpoint = "https://login.test";

std::string v2_issuer(std::string_view origin = kEndpoint) {
  return std::string(origin) + "/" + kTenant + "/v2.0";
}

class ValidateAzureAdTokenTest : public ::testing::Test {
 protected:
  ValidateAzureAdTokenTest() : services_(clock_) {
    services_.verified_tokens = std::make_shared<jose::VerifiedTokenCache>(clock_);
    services_.openid = std::make_shared<OpenIdCache>(clock_, OpenIdCache::Options{},
                                                     test::memory_fetcher(docs_, gate_));
    load_.services = &services_;
    const std::string base = std::string(kEndpoint) + "/" + kTenant;
    docs_->set(base + "/v2.0/.well-known/openid-configuration",
               test::metadata_of(v2_issuer(), base + "/discovery/v2.0/keys"));
    docs_->set(base + "/discovery/v2.0/keys", test::jwks_of({&key_}));
  }

  Result<std::unique_ptr<Policy>> load(const std::string& xml) {
    return make_validate_azure_ad_token(test::element_of(xml), load_);
  }
  std::unique_ptr<Policy> must_load(const std::string& xml) {
    auto p = load(xml);
    EXPECT_TRUE(p) << p.error().message;
    if (!p) return nullptr;
    EXPECT_TRUE(services_.openid->wait_for_first_fetches(std::chrono::seconds(30)));
    return std::move(*p);
  }
  std::string load_error(const std::string& xml) {
    auto p = load(xml);
    EXPECT_FALSE(p) << "loaded: " << xml;
    return p ? std::string() : p.error().message;
  }
  static std::string policy(const std::string& children,
                            const std::string& attributes =
                                std::string("authentication-endpoint=\"") + kEndpoint + "\"") {
    return std::string("<validate-azure-ad-token tenant-id=\"") + kTenant + "\" " + attributes +
           ">" + children + "</validate-azure-ad-token>";
  }
  static std::string clients(const std::string& id = "client-1") {
    return "<client-application-ids><application-id>" + id +
           "</application-id></client-application-ids>";
  }

  json::object v2_claims() const {
    return {{"aud", "backend-app"},
            {"iss", v2_issuer()},
            {"iat", clock_.unix() - 10},
            {"nbf", clock_.unix() - 10},
            {"exp", clock_.unix() + 3600},
            {"azp", "client-1"},
            {"azpacr", "2"},
            {"tid", kTenant},
            {"ver", "2.0"}};
  }
  json::object v1_claims(std::string issuer) const {
    return {{"aud", "api://backend-app"},
            {"iss", std::move(issuer)},
            {"iat", clock_.unix() - 10},
            {"nbf", clock_.unix() - 10},
            {"exp", clock_.unix() + 3600},
            {"appid", "client-1"},
            {"appidacr", "2"},
            {"tid", kTenant},
            {"ver", "1.0"}};
  }
  Flow apply(const Policy& p, RequestContext& ctx) {
    const Flow f = p.apply(ctx);
    return f == Flow::Await ? test::run_async(p, ctx) : f;
  }
  // The outcome for a bearer token: "ok" or the refusal reason.
  std::string outcome(const Policy& p, const std::string& authorization) {
    const std::string value = authorization;
    HeaderField h{"Authorization", value};
    RequestContext ctx(clock_);
    ctx.request.headers = std::span<const HeaderField>(&h, 1);
    const Flow f = apply(p, ctx);
    if (f == Flow::Continue) return "ok";
    if (!ctx.last_error) return "no LastError";
    EXPECT_EQ(ctx.last_error->source, "validate-azure-ad-token");
    last_message_ = ctx.last_error->message;
    last_body_ = ctx.response ? ctx.response->body : "";
    return ctx.last_error->reason;
  }
  std::string bearer(const json::object& claims) {
    return "Bearer " + sign(claims, key_, JwsAlg::RS256);
  }

  test::ManualClock clock_;
  std::shared_ptr<test::MemoryDocuments> docs_ = std::make_shared<test::MemoryDocuments>();
  std::shared_ptr<test::FetchGate> gate_ = std::make_shared<test::FetchGate>();
  Services services_;
  LoadContext load_;
  jose::Jwk key_ = test::signing_key("rsa-a", "entra-key-1");
  std::string last_message_, last_body_;
};

TEST_F(ValidateAzureAdTokenTest, AcceptsV2AndV1TokensOfTheTenant) {
  auto p = must_load(policy(clients()));
  ASSERT_TRUE(p);
  EXPECT_EQ(outcome(*p, bearer(v2_claims())), "ok");
  EXPECT_EQ(outcome(*p, bearer(v1_claims(std::string("https://sts.windows.net/") + kTenant + "/"))),
            "ok");
  // The endpoint's own v1 issuer (Gatehouse's identity role issues `<origin>/<tid>/`).
  EXPECT_EQ(outcome(*p, bearer(v1_claims(std::string(kEndpoint) + "/" + kTenant + "/"))), "ok");
}

TEST_F(ValidateAzureAdTokenTest, RefusesOtherTenantsAndIssuers) {
  auto p = must_load(policy(clients()));
  const std::vector<std::string> issuers = {
      "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
      "https://login.test/00000000-0000-0000-0000-000000000000/v2.0",
      std::string("https://sts.windows.net/") + kTenant,
      std::string("https://evil.test/") + kTenant + "/",
      std::string(kEndpoint) + "/" + kTenant + "/v2.0/"};
  for (const std::string& issuer : issuers) {
    json::object c = v2_claims();
    c["iss"] = issuer;
    EXPECT_EQ(outcome(*p, bearer(c)), "TokenIssuerNotAllowed") << issuer;
  }
  EXPECT_EQ(last_body_, "{ \"statusCode\": 401, \"message\": \"Invalid JWT.\" }");
}

TEST_F(ValidateAzureAdTokenTest, ClientApplicationIds) {
  auto p = must_load(policy(clients("client-1")));
  json::object other = v2_claims();
  other["azp"] = "client-2";
  EXPECT_EQ(outcome(*p, bearer(other)), "TokenClaimValueNotAllowed");
  EXPECT_EQ(last_message_, "Client application client-2 is not allowed. Access denied.");
  json::object anonymous = v2_claims();
  anonymous.erase("azp");
  EXPECT_EQ(outcome(*p, bearer(anonymous)), "TokenClaimNotFound");
  json::object v1 = v1_claims(std::string("https://sts.windows.net/") + kTenant + "/");
  v1["appid"] = "client-3";
  EXPECT_EQ(outcome(*p, bearer(v1)), "TokenClaimValueNotAllowed");
}

TEST_F(ValidateAzureAdTokenTest, AudiencesAndBackendApplicationIds) {
  {
    auto p = must_load(policy("<audiences><audience>api://other</audience></audiences>"));
    EXPECT_EQ(outcome(*p, bearer(v2_claims())), "TokenAudienceNotAllowed");
    json::object c = v2_claims();
    c["aud"] = "api://other";
    c["azp"] = "any-client";  // no client-application-ids: any client of the tenant
    EXPECT_EQ(outcome(*p, bearer(c)), "ok");
  }
  {
    auto p =
        must_load(policy("<backend-application-ids><application-id>backend-app</application-id>"
                         "</backend-application-ids>"));
    EXPECT_EQ(outcome(*p, bearer(v2_claims())), "ok");  // aud = the client id (v2)
    EXPECT_EQ(
        outcome(*p, bearer(v1_claims(std::string("https://sts.windows.net/") + kTenant + "/"))),
        "ok");  // aud = api://<client id> (v1)
    json::object c = v2_claims();
    c["aud"] = "someone-else";
    EXPECT_EQ(outcome(*p, bearer(c)), "TokenAudienceNotAllowed");
  }
}

TEST_F(ValidateAzureAdTokenTest, RequiredClaims) {
  auto p = must_load(policy(clients() +
                            "<required-claims><claim name=\"roles\" match=\"any\">"
                            "<value>Demo.Read</value><value>Demo.Write</value></claim>"
                            "<claim name=\"azpacr\"><value>2</value></claim></required-claims>"));
  json::object c = v2_claims();
  c["roles"] = json::array{"Demo.Read"};
  EXPECT_EQ(outcome(*p, bearer(c)), "ok");
  c["roles"] = json::array{"Other"};
  EXPECT_EQ(outcome(*p, bearer(c)), "TokenClaimValueNotAllowed");
  c.erase("roles");
  EXPECT_EQ(outcome(*p, bearer(c)), "TokenClaimNotFound");
  EXPECT_EQ(last_message_, "JWT token is missing the following claims: roles. Access denied.");
}

TEST_F(ValidateAzureAdTokenTest, BearerIsRequiredInAuthorization) {
  auto p = must_load(policy(clients()));
  const std::string token = sign(v2_claims(), key_, JwsAlg::RS256);
  EXPECT_EQ(outcome(*p, token), "TokenNotPresent");
  EXPECT_EQ(last_body_, "{ \"statusCode\": 401, \"message\": \"JWT not present.\" }");
  EXPECT_EQ(outcome(*p, "Basic " + token), "TokenNotPresent");
  EXPECT_EQ(outcome(*p, "bearer " + token), "ok");
}

TEST_F(ValidateAzureAdTokenTest, LifetimeAndSignatureAlwaysChecked) {
  auto p = must_load(policy(clients()));
  json::object c = v2_claims();
  c["exp"] = clock_.unix() - 100;  // within the default 5-minute skew
  EXPECT_EQ(outcome(*p, bearer(c)), "ok");
  c["exp"] = clock_.unix() - 301;
  EXPECT_EQ(outcome(*p, bearer(c)), "TokenExpired");
  c.erase("exp");
  EXPECT_EQ(outcome(*p, bearer(c)), "JwtInvalid");
  const jose::Jwk stranger = test::signing_key("rsa-b", "entra-key-1");
  EXPECT_EQ(outcome(*p, "Bearer " + sign(v2_claims(), stranger, JwsAlg::RS256)),
            "TokenSignatureInvalid");
  auto strict = must_load(policy(
      clients(), std::string("authentication-endpoint=\"") + kEndpoint + "\" clock-skew=\"0\""));
  c = v2_claims();
  c["exp"] = clock_.unix() - 100;
  EXPECT_EQ(outcome(*strict, bearer(c)), "TokenExpired");
}

TEST_F(ValidateAzureAdTokenTest, EndpointWithoutSchemeMeansHttps) {
  auto p = must_load(policy(clients(), "authentication-endpoint=\"login.test/\""));
  EXPECT_EQ(docs_->requests(std::string(kEndpoint) + "/" + kTenant +
                            "/v2.0/.well-known/openid-configuration"),
            1u);
  EXPECT_EQ(outcome(*p, bearer(v2_claims())), "ok");
}

TEST_F(ValidateAzureAdTokenTest, GatehouseIdentityRoleOverLoopback) {
  gh::test::StaticHttpServer identity;
  const std::string origin = identity.origin();
  const std::string base = std::string("/") + kTenant;
  identity.set(base + "/v2.0/.well-known/openid-configuration",
               test::metadata_of(v2_issuer(origin), origin + base + "/discovery/v2.0/keys"));
  identity.set(base + "/discovery/v2.0/keys", test::jwks_of({&key_}));
  Services services(clock_);
  services.openid = std::make_shared<OpenIdCache>(clock_);
  LoadContext load;
  load.services = &services;
  auto p = make_validate_azure_ad_token(
      test::element_of(policy(clients(), "authentication-endpoint=\"" + origin + "\"")), load);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(services.openid->wait_for_first_fetches(std::chrono::seconds(30)));
  json::object v2 = v2_claims();
  v2["iss"] = v2_issuer(origin);
  EXPECT_EQ(outcome(**p, bearer(v2)), "ok");
  EXPECT_EQ(outcome(**p, bearer(v1_claims(origin + "/" + kTenant + "/"))), "ok");
  EXPECT_EQ(outcome(**p, bearer(v2_claims())), "TokenIssuerNotAllowed");  // login.test's issuer
  EXPECT_EQ(identity.requests(base + "/discovery/v2.0/keys"), 1u);
}

TEST_F(ValidateAzureAdTokenTest, LoadErrors) {
  EXPECT_NE(load_error("<validate-azure-ad-token>" + clients() + "</validate-azure-ad-token>")
                .find("tenant-id"),
            std::string::npos);
  EXPECT_NE(load_error(policy("")).find("client-application-ids"), std::string::npos);
  EXPECT_NE(load_error(policy(clients() + "<decryption-keys><key certificate-id=\"c\"/>"
                                          "</decryption-keys>"))
                .find("not supported"),
            std::string::npos);
  EXPECT_NE(load_error("<validate-azure-ad-token tenant-id=\"@(context.Api.Id)\">" + clients() +
                       "</validate-azure-ad-token>")
                .find("expressions"),
            std::string::npos);
  EXPECT_NE(load_error("<validate-azure-ad-token tenant-id=\"a/b\">" + clients() +
                       "</validate-azure-ad-token>")
                .find("tenant"),
            std::string::npos);
  EXPECT_NE(load_error(policy(clients(), "authentication-endpoint=\"http://login.test\""))
                .find("authentication-endpoint"),
            std::string::npos);
  EXPECT_NE(load_error(policy(clients(), "issuers=\"x\"")).find("unknown attribute 'issuers'"),
            std::string::npos);
  EXPECT_NE(load_error(policy(clients() + "<issuers><issuer>x</issuer></issuers>"))
                .find("unknown element"),
            std::string::npos);
}

}  // namespace
}  // namespace gh::policy
