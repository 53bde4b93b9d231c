#include "identity/token_minter.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <set>
#include <thread>

#include "core/encoding.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "key_ring_fixtures.h"

namespace gh::identity {
namespace {

using test::kT0;

constexpr std::string_view kTenantId = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
constexpr std::string_view kOrigin = "https://localhost:8443";

class TokenMinterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    clock_ = new gh::test::FixedClock(kT0);
    auto db = test::open_db();
    auto ring = KeyRing::open(db, test::test_master_key(), test::policy("RS256"), *clock_);
    ASSERT_TRUE(ring) << ring.error().message;
    ring_ = ring->release();
  }
  static void TearDownTestSuite() {
    delete ring_;
    delete clock_;
  }

  void SetUp() override {
    tenant_.id = std::string(kTenantId);
    client_.client_id = "6731de76-14a6-49ae-97bc-6eba6914391e";
    client_.service_principal_id = "1e7d0a3e-7b2f-4c1a-9d3e-2f6a4b5c6d7e";
    resource_.client_id = "925bff9f-0c55-4c42-8a3c-6a2f0b4b1f0d";
    resource_.identifier_uris = {"api://orders"};
    resource_.access_token_version = 1;
  }

  MintRequest request() const {
    MintRequest req;
    req.tenant = &tenant_;
    req.client = &client_;
    req.resource = &resource_;
    req.requested_resource = "api://orders";
    req.method = AuthMethod::Certificate;
    req.lifetime_seconds = 3600;
    req.origin = kOrigin;
    req.now = kT0;
    return req;
  }

  static std::string segment(std::string_view token, int index) {
    size_t start = 0;
    for (int i = 0; i < index; ++i)
      start = token.find('.', start) + 1;
    const size_t end = token.find('.', start);
    auto decoded = core::base64url_decode(token.substr(start, end - start));
    EXPECT_TRUE(decoded);
    return decoded ? std::string(decoded->begin(), decoded->end()) : std::string();
  }

  static jose::VerifiedJwt verify(const std::string& token, std::string_view audience,
                                  std::string_view issuer) {
    jose::JwtVerifyOptions options;
    options.jws.allowed_algs = {jose::JwsAlg::RS256};
    options.claims.audiences = {std::string(audience)};
    options.claims.issuers = {std::string(issuer)};
    auto v = jose::verify_jwt(token, ring_->current()->public_keys(), options, *clock_);
    EXPECT_TRUE(v) << v.error().message;
    return v ? std::move(*v) : jose::VerifiedJwt{};
  }

  static std::string kid() { return ring_->current()->signer_info()->kid; }

  static inline gh::test::FixedClock* clock_ = nullptr;
  static inline KeyRing* ring_ = nullptr;
  Tenant tenant_;
  Application client_;
  Application resource_;
};

TEST_F(TokenMinterTest, V1TokenHeaderAndClaimsExactly) {
  const TokenMinter minter(*ring_);
  auto token = minter.mint(request());
  ASSERT_TRUE(token) << token.error().message;
  const std::string& jwt = token->access_token;

  EXPECT_EQ(segment(jwt, 0),
            R"({"typ":"JWT","alg":"RS256","x5t":")" + kid() + R"(","kid":")" + kid() + R"("})");
  const std::string iss = "https://localhost:8443/" + std::string(kTenantId) + "/";
  const std::string expected =
      R"({"aud":"api://orders","iss":")" + iss + R"(","iat":)" + std::to_string(kT0 - 300) +
      R"(,"nbf":)" + std::to_string(kT0 - 300) + R"(,"exp":)" + std::to_string(kT0 + 3600) +
      R"(,"appid":"6731de76-14a6-49ae-97bc-6eba6914391e","appidacr":"2","idp":")" + iss +
      R"(","idtyp":"app","oid":"1e7d0a3e-7b2f-4c1a-9d3e-2f6a4b5c6d7e",)"
      R"("sub":"1e7d0a3e-7b2f-4c1a-9d3e-2f6a4b5c6d7e","tid":")" +
      std::string(kTenantId) + R"(","uti":")" + token->uti + R"(","ver":"1.0"})";
  EXPECT_EQ(segment(jwt, 1), expected);

  EXPECT_EQ(token->issued_at, kT0);
  EXPECT_EQ(token->not_before, kT0 - 300);
  EXPECT_EQ(token->expires_on, kT0 + 3600);
  EXPECT_EQ(token->expires_in, 3599);  // Entra's figure for a one-hour token
  EXPECT_EQ(token->uti.size(), 22u);   // base64url of 16 bytes
  EXPECT_TRUE(core::base64url_decode(token->uti));

  const auto v = verify(jwt, "api://orders", issuer_v1(kOrigin, kTenantId));
  EXPECT_EQ(v.kid, kid());
  EXPECT_TRUE(v.claims.at("iat").is_int64());  // numbers are JSON integers
  EXPECT_TRUE(v.claims.at("exp").is_int64());
  EXPECT_FALSE(v.claims.contains("roles"));  // omitted when empty
  EXPECT_EQ(v.claims.at("idp").as_string(), v.claims.at("iss").as_string());
}

TEST_F(TokenMinterTest, V2TokenHeaderAndClaimsExactly) {
  resource_.access_token_version = 2;
  MintRequest req = request();
  req.method = AuthMethod::Secret;
  req.roles = {"Orders.Read", "Orders.Write"};
  const TokenMinter minter(*ring_);
  auto token = minter.mint(req);
  ASSERT_TRUE(token) << token.error().message;
  const std::string& jwt = token->access_token;

  EXPECT_EQ(segment(jwt, 0), R"({"typ":"JWT","alg":"RS256","kid":")" + kid() + R"("})");
  const std::string iss = "https://localhost:8443/" + std::string(kTenantId) + "/v2.0";
  const std::string expected =
      R"({"aud":"925bff9f-0c55-4c42-8a3c-6a2f0b4b1f0d","iss":")" + iss + R"(","iat":)" +
      std::to_string(kT0 - 300) + R"(,"nbf":)" + std::to_string(kT0 - 300) + R"(,"exp":)" +
      std::to_string(kT0 + 3600) +
      R"(,"azp":"6731de76-14a6-49ae-97bc-6eba6914391e","azpacr":"1","idtyp":"app",)"
      R"("oid":"1e7d0a3e-7b2f-4c1a-9d3e-2f6a4b5c6d7e","roles":["Orders.Read","Orders.Write"],)"
      R"("sub":"1e7d0a3e-7b2f-4c1a-9d3e-2f6a4b5c6d7e","tid":")" +
      std::string(kTenantId) + R"(","uti":")" + token->uti + R"(","ver":"2.0"})";
  EXPECT_EQ(segment(jwt, 1), expected);

  // v2's aud is always the resource's client id, whatever was requested.
  const auto v = verify(jwt, resource_.client_id, issuer_v2(kOrigin, kTenantId));
  EXPECT_FALSE(v.header.contains("x5t"));
  EXPECT_FALSE(v.claims.contains("appid"));
  EXPECT_FALSE(v.claims.contains("idp"));
  ASSERT_EQ(v.claims.at("roles").as_array().size(), 2u);
}

TEST_F(TokenMinterTest, AcrPerMethodAndV1AudienceFallback) {
  const TokenMinter minter(*ring_);
  const std::pair<AuthMethod, const char*> methods[] = {{AuthMethod::Secret, "1"},
                                                        {AuthMethod::Certificate, "2"},
                                                        {AuthMethod::Federated, "2"},
                                                        {AuthMethod::ManagedIdentity, "2"}};
  for (const auto& [method, acr] : methods) {
    MintRequest req = request();
    req.method = method;
    auto token = minter.mint(req);
    ASSERT_TRUE(token);
    const auto claims = boost::json::parse(segment(token->access_token, 1)).as_object();
    EXPECT_EQ(claims.at("appidacr").as_string(), acr);
  }
  MintRequest req = request();
  req.requested_resource = {};  // nothing requested by name: the resource's client id
  auto token = minter.mint(req);
  ASSERT_TRUE(token);
  const auto claims = boost::json::parse(segment(token->access_token, 1)).as_object();
  EXPECT_EQ(claims.at("aud").as_string(), resource_.client_id);
}

TEST_F(TokenMinterTest, LifetimeAndTimes) {
  const TokenMinter minter(*ring_);
  MintRequest req = request();
  req.lifetime_seconds = 86400;  // managed identity
  req.now = kT0 + 17;
  auto token = minter.mint(req);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->expires_in, 86399);
  EXPECT_EQ(token->expires_on, kT0 + 17 + 86400);
  const auto claims = boost::json::parse(segment(token->access_token, 1)).as_object();
  EXPECT_EQ(claims.at("exp").as_int64() - claims.at("iat").as_int64(), 86700);
  EXPECT_EQ(claims.at("nbf").as_int64(), kT0 + 17 - 300);

  req.lifetime_seconds = 0;
  EXPECT_FALSE(minter.mint(req));
  req = request();
  req.tenant = nullptr;
  EXPECT_FALSE(minter.mint(req));
}

TEST_F(TokenMinterTest, StringsAreEscaped) {
  const TokenMinter minter(*ring_);
  MintRequest req = request();
  const std::string odd = "api://x\"y\\z\n\xff";
  req.requested_resource = odd;
  req.roles = {"Role\"Quote"};
  auto token = minter.mint(req);
  ASSERT_TRUE(token);
  const auto claims = boost::json::parse(segment(token->access_token, 1)).as_object();
  EXPECT_EQ(claims.at("aud").as_string(), "api://x\"y\\z\n\xef\xbf\xbd");
  EXPECT_EQ(claims.at("roles").as_array()[0].as_string(), "Role\"Quote");
}

TEST_F(TokenMinterTest, UtisAreUniqueAndTokensVerifyAcrossThreads) {
  const TokenMinter minter(*ring_);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::vector<MintedToken>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto token = minter.mint(request());
        if (token) results[t].push_back(std::move(*token));
      }
    });
  }
  for (auto& t : threads)
    t.join();
  std::set<std::string> utis;
  for (const auto& per_thread : results) {
    ASSERT_EQ(per_thread.size(), static_cast<size_t>(kPerThread));
    for (const auto& token : per_thread) {
      utis.insert(token.uti);
      ASSERT_TRUE(jose::verify_compact(token.access_token, ring_->current()->public_keys()));
    }
  }
  EXPECT_EQ(utis.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(TokenMinterTest, IssuerHelpers) {
  EXPECT_EQ(issuer_v1("https://h:8443", "t"), "https://h:8443/t/");
  EXPECT_EQ(issuer_v2("https://h:8443", "t"), "https://h:8443/t/v2.0");
}

}  // namespace
}  // namespace gh::identity
