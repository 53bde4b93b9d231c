#include "policy/validate_jwt.h"

#include <gtest/gtest.h>
#include <openssl/encoder.h>
#include <openssl/rsa.h>

#include "jose/token_cache.h"
#include "jwt_fixtures.h"
#include "policy/certificates.h"
#include "policy/services.h"
#include "support/static_http_server.h"
#include "support/test_pki.h"

namespace gh::policy {
namespace {

using test::ManualClock;
using test::sign;
namespace json = boost::json;
using jose::JwsAlg;

constexpr const char* kIssuer = "https://issuer.test/";
constexpr const char* kAudience = "api://demo";

/// A request: owns the strings its context's views point into.
struct Call {
  Call(const core::Clock& clock, std::vector<std::pair<std::string, std::string>> headers,
       std::string query = "")
      : owned(std::move(headers)), query_text(std::move(query)), ctx(clock) {
    for (const auto& [n, v] : owned)
      fields.push_back({n, v});
    ctx.request.headers = fields;
    ctx.request.query = query_text;
  }
  std::string response_header(std::string_view name) const {
    if (!ctx.response) return "<no response>";
    for (const auto& [n, v] : ctx.response->headers)
      if (n == name) return v;
    return "<absent>";
  }

  std::vector<std::pair<std::string, std::string>> owned;
  std::vector<HeaderField> fields;
  std::string query_text;
  RequestContext ctx;
};

class ValidateJwtTest : public ::testing::Test {
 protected:
  ValidateJwtTest() : services_(clock_) {
    services_.verified_tokens = std::make_shared<jose::VerifiedTokenCache>(clock_);
    services_.openid = std::make_shared<OpenIdCache>(clock_, OpenIdCache::Options{},
                                                     test::memory_fetcher(docs_, gate_));
    load_.services = &services_;
    load_.certificates = &certificates_;
  }

  Result<std::unique_ptr<Policy>> load(const std::string& xml) {
    const Element e = test::element_of(xml);
    return make_validate_jwt(e, load_);
  }
  std::unique_ptr<Policy> must_load(const std::string& xml) {
    auto p = load(xml);
    EXPECT_TRUE(p) << p.error().message;
    return p ? std::move(*p) : nullptr;
  }
  std::string load_error(const std::string& xml) {
    auto p = load(xml);
    EXPECT_FALSE(p) << "loaded: " << xml;
    return p ? std::string() : p.error().message;
  }

  json::object claims(int64_t expires_in = 3600) const {
    return {{"iss", kIssuer},
            {"aud", kAudience},
            {"sub", "user-1"},
            {"iat", clock_.unix() - 60},
            {"nbf", clock_.unix() - 60},
            {"exp", clock_.unix() + expires_in}};
  }
  std::string hs256(const json::object& c) const { return sign(c, hmac_, JwsAlg::HS256); }

  std::unique_ptr<Call> bearer(const std::string& token, std::string header = "Authorization") {
    return std::make_unique<Call>(clock_, std::vector<std::pair<std::string, std::string>>{
                                              {std::move(header), "Bearer " + token}});
  }
  std::unique_ptr<Call> with_header(std::string name, std::string value) {
    return std::make_unique<Call>(clock_, std::vector<std::pair<std::string, std::string>>{
                                              {std::move(name), std::move(value)}});
  }

  // The HS256 policy most tests use: key as base64 text, audience, issuer.
  std::string hs_policy(const std::string& attributes = "", const std::string& children = "") {
    return "<validate-jwt header-name=\"Authorization\" " + attributes +
           "><issuer-signing-keys><key>" + core::base64_encode(test::hmac_secret()) +
           "</key></issuer-signing-keys><audiences><audience>" + kAudience +
           "</audience></audiences><issuers><issuer>" + kIssuer + "</issuer></issuers>" + children +
           "</validate-jwt>";
  }

  // Expects a refusal: flow, reason, client body, challenge.
  void expect_refused(const Policy& p, Call& call, std::string_view reason,
                      std::string_view body = "Invalid JWT.", uint16_t status = 401) {
    EXPECT_EQ(p.apply(call.ctx), Flow::Error);
    ASSERT_TRUE(call.ctx.last_error);
    EXPECT_EQ(call.ctx.last_error->source, "validate-jwt");
    EXPECT_EQ(call.ctx.last_error->reason, reason);
    EXPECT_EQ(call.ctx.last_error->message.find_first_of("\r\n"), std::string::npos);
    ASSERT_TRUE(call.ctx.response);
    EXPECT_EQ(call.ctx.response->status, status);
    EXPECT_EQ(call.ctx.response->body, "{ \"statusCode\": " + std::to_string(status) +
                                           ", \"message\": \"" + std::string(body) + "\" }");
  }

  ManualClock clock_;
  std::shared_ptr<test::MemoryDocuments> docs_ = std::make_shared<test::MemoryDocuments>();
  std::shared_ptr<test::FetchGate> gate_ = std::make_shared<test::FetchGate>();
  Services services_;
  CertificateCatalog certificates_;
  LoadContext load_;
  jose::Jwk hmac_ = test::hmac_key();
};

TEST_F(ValidateJwtTest, AcceptsAValidHs256TokenAndSetsTheOutputVariable) {
  auto p = must_load(hs_policy("output-token-variable-name=\"jwt\""));
  ASSERT_TRUE(p);
  auto call = bearer(hs256(claims()));
  EXPECT_EQ(p->apply(call->ctx), Flow::Continue);
  EXPECT_FALSE(call->ctx.response);
  const Value* v = call->ctx.variable("jwt");
  ASSERT_NE(v, nullptr);
  ASSERT_TRUE(std::holds_alternative<Jwt>(*v));
  EXPECT_EQ(std::get<Jwt>(*v)->claims.at("sub").as_string(), "user-1");
  EXPECT_EQ(std::get<Jwt>(*v)->alg, JwsAlg::HS256);
}

TEST_F(ValidateJwtTest, MissingTokenIsNotPresentWithABareChallenge) {
  auto p = must_load(hs_policy());
  Call call(clock_, {});
  expect_refused(*p, call, "TokenNotPresent", "JWT not present.");
  EXPECT_EQ(call.ctx.last_error->message, "JWT not present.");
  EXPECT_EQ(call.response_header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(call.response_header("Content-Type"), "application/json");

  auto empty = with_header("Authorization", "Bearer ");
  expect_refused(*p, *empty, "TokenNotPresent", "JWT not present.");
  EXPECT_EQ(empty->response_header("WWW-Authenticate"), "Bearer");
}

TEST_F(ValidateJwtTest, EveryRefusalReasonWithItsBody) {
  auto p = must_load(hs_policy("",
                               "<required-claims><claim name=\"azpacr\"><value>2</value>"
                               "</claim><claim name=\"roles\" match=\"any\"><value>Reader</value>"
                               "<value>Writer</value></claim></required-claims>"));
  json::object good = claims();
  good["azpacr"] = "2";
  good["roles"] = json::array{"Writer"};
  {
    auto call = bearer(hs256(good));
    EXPECT_EQ(p->apply(call->ctx), Flow::Continue);
  }
  {
    json::object c = good;
    c["exp"] = clock_.unix() - 1;
    auto call = bearer(hs256(c));
    expect_refused(*p, *call, "TokenExpired");
    EXPECT_EQ(call->response_header("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
    EXPECT_NE(call->ctx.last_error->message.find("Access denied."), std::string::npos);
  }
  {
    auto token = hs256(good);
    token.back() = token.back() == 'A' ? 'B' : 'A';
    auto call = bearer(token);
    expect_refused(*p, *call, "TokenSignatureInvalid");
  }
  {
    json::object c = good;
    c["aud"] = "api://other";
    auto call = bearer(hs256(c));
    expect_refused(*p, *call, "TokenAudienceNotAllowed");
  }
  {
    json::object c = good;
    c["iss"] = "https://evil.test/";
    auto call = bearer(hs256(c));
    expect_refused(*p, *call, "TokenIssuerNotAllowed");
  }
  {
    json::object c = good;
    c.erase("azpacr");
    c.erase("roles");
    auto call = bearer(hs256(c));
    expect_refused(*p, *call, "TokenClaimNotFound");
    EXPECT_EQ(call->ctx.last_error->message,
              "JWT token is missing the following claims: azpacr, roles. Access denied.");
  }
  {
    json::object c = good;
    c["azpacr"] = "1";
    auto call = bearer(hs256(c));
    expect_refused(*p, *call, "TokenClaimValueNotAllowed");
    EXPECT_EQ(call->ctx.last_error->message,
              "Claim azpacr value of 1 is not allowed. Access denied.");
  }
  {
    json::object c = good;
    c["roles"] = json::array{"Admin", "Guest"};
    auto call = bearer(hs256(c));
    expect_refused(*p, *call, "TokenClaimValueNotAllowed");
    EXPECT_EQ(call->ctx.last_error->message,
              "Claim roles value of Admin,Guest is not allowed. Access denied.");
  }
  {
    auto call = bearer("not-a-jwt");
    expect_refused(*p, *call, "JwtInvalid");
  }
  {
    // A signed token whose kid names no configured key and no inline key verifies it.
    const jose::Jwk other = test::signing_key("rsa-a", "k1");
    auto call = bearer(sign(good, other, JwsAlg::RS256));
    expect_refused(*p, *call, "TokenSignatureKeyNotFound");
  }
}

TEST_F(ValidateJwtTest, UnsignedTokensAreRefused) {
  auto p = must_load(hs_policy());
  const std::string header = core::base64url_encode(std::string(R"({"alg":"none"})"));
  const std::string payload = core::base64url_encode(json::serialize(claims()));
  auto call = bearer(header + "." + payload + ".");
  expect_refused(*p, *call, "TokenSignatureInvalid");
  EXPECT_EQ(load_error(hs_policy("require-signed-tokens=\"false\"")).find("not supported") !=
                std::string::npos,
            true);
  EXPECT_TRUE(load(hs_policy("require-signed-tokens=\"true\"")));
}

TEST_F(ValidateJwtTest, RefusalMessagesNeverEchoTheToken) {
  auto p = must_load(hs_policy());
  json::object c = claims();
  c["iss"] = "https://evil.test/\r\nX-Injected: 1";
  const std::string token = hs256(c);
  auto call = bearer(token);
  expect_refused(*p, *call, "TokenIssuerNotAllowed");
  EXPECT_EQ(call->ctx.last_error->message.find(token), std::string::npos);
  EXPECT_EQ(call->ctx.response->body.find(token), std::string::npos);
}

TEST_F(ValidateJwtTest, CustomMessageAndStatus) {
  auto p = must_load(hs_policy(
      "failed-validation-httpcode=\"403\" failed-validation-error-message=\"Unauthorized. Access "
      "token is missing or invalid.\""));
  auto call = bearer("x.y.z");
  expect_refused(*p, *call, "JwtInvalid", "Unauthorized. Access token is missing or invalid.", 403);
  // RFC 6750 challenges belong to 401 answers.
  EXPECT_EQ(call->response_header("WWW-Authenticate"), "<absent>");
  Call none(clock_, {});
  expect_refused(*p, none, "TokenNotPresent", "Unauthorized. Access token is missing or invalid.",
                 403);
}

TEST_F(ValidateJwtTest, SchemeHandling) {
  const std::string token = hs256(claims());
  {
    auto p = must_load(hs_policy());  // no require-scheme: "Bearer x" and a bare token both do
    auto a = with_header("authorization", "Bearer " + token);
    EXPECT_EQ(p->apply(a->ctx), Flow::Continue);
    auto b = with_header("Authorization", token);
    EXPECT_EQ(p->apply(b->ctx), Flow::Continue);
  }
  {
    auto p = must_load(hs_policy("require-scheme=\"Bearer\""));
    auto a = with_header("Authorization", "bearer  " + token);  // schemes are case-insensitive
    EXPECT_EQ(p->apply(a->ctx), Flow::Continue);
    auto b = with_header("Authorization", "Basic " + token);
    expect_refused(*p, *b, "TokenNotPresent", "JWT not present.");
    auto c = with_header("Authorization", token);
    expect_refused(*p, *c, "TokenNotPresent", "JWT not present.");
  }
  {
    // A custom header carries the bare token; require-scheme is ignored there (§2.2).
    auto p = must_load(
        "<validate-jwt header-name=\"X-Token\" require-scheme=\"Bearer\">"
        "<issuer-signing-keys><key>" +
        core::base64_encode(test::hmac_secret()) + "</key></issuer-signing-keys></validate-jwt>");
    auto bare = with_header("x-token", token);
    EXPECT_EQ(p->apply(bare->ctx), Flow::Continue);
    auto prefixed = with_header("X-Token", "Bearer " + token);
    expect_refused(*p, *prefixed, "JwtInvalid");
  }
  {
    auto p = must_load(
        "<validate-jwt query-parameter-name=\"access_token\">"
        "<issuer-signing-keys><key>" +
        core::base64_encode(test::hmac_secret()) + "</key></issuer-signing-keys></validate-jwt>");
    Call call(clock_, {}, "x=1&access_token=" + token);
    EXPECT_EQ(p->apply(call.ctx), Flow::Continue);
    Call missing(clock_, {}, "x=1");
    expect_refused(*p, missing, "TokenNotPresent", "JWT not present.");
  }
}

TEST_F(ValidateJwtTest, TokenValueExpression) {
  auto p = load(
      "<validate-jwt token-value=\"@(context.Request.Headers.GetValueOrDefault(&quot;"
      "X-Jwt&quot;, &quot;&quot;))\"><issuer-signing-keys><key>" +
      core::base64_encode(test::hmac_secret()) +
      "</key></issuer-signing-keys>"
      "</validate-jwt>");
  ASSERT_TRUE(p) << p.error().message;
  auto call = with_header("X-Jwt", hs256(claims()));
  EXPECT_EQ((*p)->apply(call->ctx), Flow::Continue);
  Call none(clock_, {});
  expect_refused(**p, none, "TokenNotPresent", "JWT not present.");
}

TEST_F(ValidateJwtTest, ClockSkewAndExpirationRequirement) {
  json::object late = claims();
  late["exp"] = clock_.unix() - 30;
  {
    auto p = must_load(hs_policy());  // skew 0 by default
    auto call = bearer(hs256(late));
    expect_refused(*p, *call, "TokenExpired");
  }
  {
    auto p = must_load(hs_policy("clock-skew=\"60\""));
    auto call = bearer(hs256(late));
    EXPECT_EQ(p->apply(call->ctx), Flow::Continue);
  }
  json::object no_exp = claims();
  no_exp.erase("exp");
  {
    auto p = must_load(hs_policy());
    auto call = bearer(hs256(no_exp));
    expect_refused(*p, *call, "JwtInvalid");
  }
  {
    auto p = must_load(hs_policy("require-expiration-time=\"false\""));
    auto call = bearer(hs256(no_exp));
    EXPECT_EQ(p->apply(call->ctx), Flow::Continue);
  }
}

TEST_F(ValidateJwtTest, AsymmetricInlineKeys) {
  const jose::Jwk rsa = test::signing_key("rsa-a");
  const json::object pub = *rsa.to_public_json();
  const std::string ne = "n=\"" + std::string(pub.at("n").as_string()) + "\" e=\"" +
                         std::string(pub.at("e").as_string()) + "\"";
  auto p = must_load(
      "<validate-jwt header-name=\"Authorization\"><issuer-signing-keys>"
      "<key id=\"rsa1\" " +
      ne + "/></issuer-signing-keys></validate-jwt>");
  {
    auto call = bearer(sign(claims(), rsa, JwsAlg::RS256));
    EXPECT_EQ(p->apply(call->ctx), Flow::Continue);
  }
  {
    auto call = bearer(sign(claims(), rsa, JwsAlg::PS256, {{"kid", "rsa1"}}));
    EXPECT_EQ(p->apply(call->ctx), Flow::Continue);
  }
  {
    // "If no keys match the kid, API Management will attempt each specified key."
    auto call = bearer(sign(claims(), rsa, JwsAlg::RS256, {{"kid", "rolled-over"}}));
    EXPECT_EQ(p->apply(call->ctx), Flow::Continue);
  }
  {
    // The kid's key decides alone: another RSA key's signature is invalid.
    auto call =
        bearer(sign(claims(), test::signing_key("rsa-b"), JwsAlg::RS256, {{"kid", "rsa1"}}));
    expect_refused(*p, *call, "TokenSignatureInvalid");
  }
  {
    // An HS256 token cannot be checked with an RSA key as the HMAC secret (alg confusion).
    auto call = bearer(hs256(claims()));
    expect_refused(*p, *call, "TokenSignatureKeyNotFound");
  }
}

TEST_F(ValidateJwtTest, CertificateIdKeys) {
  gh::test::TestPki pki;
  certificates_.add(std::make_shared<const CertificateEntity>(CertificateEntity{
      "signer", x509::Certificate(crypto::share(pki.leaf().cert.get())), {}, "", "", ""}));
  auto p = must_load(
      "<validate-jwt header-name=\"Authorization\"><issuer-signing-keys>"
      "<key certificate-id=\"signer\"/></issuer-signing-keys></validate-jwt>");
  auto signer = jose::Jwk::from_pkey(crypto::share(pki.leaf().key.get()), {});
  ASSERT_TRUE(signer);
  auto call = bearer(sign(claims(), *signer, JwsAlg::ES256));
  EXPECT_EQ(p->apply(call->ctx), Flow::Continue);
  auto other = bearer(sign(claims(), test::signing_key("p256"), JwsAlg::ES256));
  expect_refused(*p, *other, "TokenSignatureInvalid");

  EXPECT_NE(load_error("<validate-jwt header-name=\"Authorization\"><issuer-signing-keys>"
                       "<key certificate-id=\"nope\"/></issuer-signing-keys></validate-jwt>")
                .find("nope"),
            std::string::npos);
  // Linting resolves no certificate ids.
  load_.lint = true;
  EXPECT_TRUE(
      load("<validate-jwt header-name=\"Authorization\"><issuer-signing-keys>"
           "<key certificate-id=\"nope\"/></issuer-signing-keys></validate-jwt>"));
}

// Gatehouse extension: <key> text may be a PEM public key, typically a named value read from a
// file (examples/validate-jwt). PEM cannot be base64, so APIM's HMAC keys keep their meaning.
TEST_F(ValidateJwtTest, PemPublicKeysFromANamedValue) {
  const jose::Jwk rsa = test::signing_key("rsa-a");
  auto pem = crypto::public_key_pem(rsa.pkey());
  ASSERT_TRUE(pem);
  NamedValues named;
  named["jwt-public-key"] = NamedValue{*pem, false};
  auto doc = parse_policy_document(
      "<policies><validate-jwt header-name=\"Authorization\">"
      "<issuer-signing-keys><key>{{jwt-public-key}}</key></issuer-signing-keys>"
      "</validate-jwt></policies>",
      "test.xml", named);
  ASSERT_TRUE(doc) << doc.error().message;
  auto p = make_validate_jwt(doc->children.front(), load_);
  ASSERT_TRUE(p) << p.error().message;
  {
    auto call = bearer(sign(claims(), rsa, JwsAlg::RS256, {{"kid", "any"}}));
    EXPECT_EQ((*p)->apply(call->ctx), Flow::Continue);
  }
  {
    auto call = bearer(sign(claims(), test::signing_key("rsa-b"), JwsAlg::RS256));
    expect_refused(**p, *call, "TokenSignatureInvalid");
  }
  {
    // The public key is never an HMAC secret.
    auto call = bearer(hs256(claims()));
    expect_refused(**p, *call, "TokenSignatureKeyNotFound");
  }
}

TEST_F(ValidateJwtTest, PemPublicKeysInlineEcAndPkcs1) {
  // An EC key written inline with the policy's indentation on every line.
  const jose::Jwk ec = test::signing_key("p256");
  auto ec_pem = crypto::public_key_pem(ec.pkey());
  ASSERT_TRUE(ec_pem);
  std::string indented;
  for (char c : *ec_pem) {
    indented += c;
    if (c == '\n') indented += "        ";
  }
  auto p = must_load(
      "<validate-jwt header-name=\"Authorization\"><issuer-signing-keys>\n"
      "      <key id=\"ec1\">\n        " +
      indented + "</key></issuer-signing-keys></validate-jwt>");
  ASSERT_TRUE(p);
  auto good = bearer(sign(claims(), ec, JwsAlg::ES256, {{"kid", "ec1"}}));
  EXPECT_EQ(p->apply(good->ctx), Flow::Continue);
  auto rsa_token = bearer(sign(claims(), test::signing_key("rsa-a"), JwsAlg::RS256));
  expect_refused(*p, *rsa_token, "TokenSignatureKeyNotFound");

  // PKCS#1 "RSA PUBLIC KEY", as `openssl rsa -RSAPublicKey_out` writes it.
  const jose::Jwk rsa = test::signing_key("rsa-b");
  std::unique_ptr<OSSL_ENCODER_CTX, decltype(&OSSL_ENCODER_CTX_free)> enc(
      OSSL_ENCODER_CTX_new_for_pkey(rsa.pkey(), EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific",
                                    nullptr),
      &OSSL_ENCODER_CTX_free);
  ASSERT_TRUE(enc);
  unsigned char* data = nullptr;
  size_t len = 0;
  ASSERT_EQ(OSSL_ENCODER_to_data(enc.get(), &data, &len), 1);
  const std::string pkcs1(reinterpret_cast<const char*>(data), len);
  OPENSSL_free(data);
  ASSERT_TRUE(pkcs1.starts_with("-----BEGIN RSA PUBLIC KEY-----")) << pkcs1.substr(0, 40);
  auto p1 = must_load("<validate-jwt header-name=\"Authorization\"><issuer-signing-keys><key>" +
                      pkcs1 + "</key></issuer-signing-keys></validate-jwt>");
  ASSERT_TRUE(p1);
  auto call = bearer(sign(claims(), rsa, JwsAlg::RS256));
  EXPECT_EQ(p1->apply(call->ctx), Flow::Continue);
}

TEST_F(ValidateJwtTest, PemKeyLoadErrorsNeverQuoteTheKey) {
  auto policy_with = [](const std::string& text) {
    return "<validate-jwt header-name=\"Authorization\"><issuer-signing-keys><key>" + text +
           "</key></issuer-signing-keys></validate-jwt>";
  };
  // A private key is refused: it must not sit in a policy.
  auto priv = crypto::private_key_pem(test::signing_key("rsa-a").pkey());
  ASSERT_TRUE(priv);
  const std::string e1 = load_error(policy_with(*priv));
  EXPECT_NE(e1.find("private key"), std::string::npos) << e1;
  EXPECT_EQ(e1.find(priv->substr(40, 40)), std::string::npos);
  // Not a key at all.
  const std::string garbage =
      "-----BEGIN PUBLIC KEY-----\nTUlJQklqQU5CZ2txaGtpRzl3MEJBUUVG\n-----END PUBLIC KEY-----\n";
  const std::string e2 = load_error(policy_with(garbage));
  EXPECT_NE(e2.find("cannot be read"), std::string::npos) << e2;
  EXPECT_EQ(e2.find("TUlJQklq"), std::string::npos);
  // Another PEM type.
  EXPECT_NE(load_error(policy_with("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"))
                .find("PUBLIC KEY"),
            std::string::npos);
  // A weak RSA key.
  crypto::EvpPkeyPtr weak(EVP_RSA_gen(1024));
  ASSERT_TRUE(weak);
  auto weak_pem = crypto::public_key_pem(weak.get());
  ASSERT_TRUE(weak_pem);
  EXPECT_NE(load_error(policy_with(*weak_pem)).find("PEM public key:"), std::string::npos);
}

TEST_F(ValidateJwtTest, LoadErrors) {
  const std::string key = "<issuer-signing-keys><key>" + core::base64_encode(test::hmac_secret()) +
                          "</key></issuer-signing-keys>";
  EXPECT_NE(
      load_error("<validate-jwt header-name=\"A\">" + key +
                 "<decryption-keys><key certificate-id=\"c\"/></decryption-keys></validate-jwt>")
          .find("not supported"),
      std::string::npos);
  EXPECT_NE(load_error("<validate-jwt header-name=\"A\" bogus=\"1\">" + key + "</validate-jwt>")
                .find("unknown attribute 'bogus'"),
            std::string::npos);
  EXPECT_NE(load_error("<validate-jwt header-name=\"A\" query-parameter-name=\"q\">" + key +
                       "</validate-jwt>")
                .find("exclude"),
            std::string::npos);
  EXPECT_NE(load_error("<validate-jwt>" + key + "</validate-jwt>").find("required"),
            std::string::npos);
  EXPECT_NE(load_error("<validate-jwt header-name=\"A\"/>").find("openid-config"),
            std::string::npos);
  // Too short for HMAC, and the secret never appears in the message.
  const std::string short_key = core::base64_encode(core::as_bytes(std::string_view("tooshort")));
  const std::string e = load_error("<validate-jwt header-name=\"A\"><issuer-signing-keys><key>" +
                                   short_key + "</key></issuer-signing-keys></validate-jwt>");
  EXPECT_NE(e.find("256 bits"), std::string::npos);
  EXPECT_EQ(e.find(short_key), std::string::npos);
  EXPECT_NE(load_error("<validate-jwt header-name=\"A\"><issuer-signing-keys><key n=\"AQAB\"/>"
                       "</issuer-signing-keys></validate-jwt>")
                .find("together"),
            std::string::npos);
  EXPECT_NE(load_error("<validate-jwt header-name=\"A\">" + key + "<audiences/></validate-jwt>")
                .find("at least one <audience>"),
            std::string::npos);
  EXPECT_NE(load_error("<validate-jwt header-name=\"A\">" + key +
                       "<required-claims><claim name=\"x\" match=\"some\"/></required-claims>"
                       "</validate-jwt>")
                .find("all or any"),
            std::string::npos);
  EXPECT_NE(load_error("<validate-jwt header-name=\"A\">" + key +
                       "<openid-config/>"
                       "</validate-jwt>")
                .find("url"),
            std::string::npos);
  EXPECT_NE(load_error("<validate-jwt header-name=\"A\"><openid-config url=\"http://idp.test/x\"/>"
                       "</validate-jwt>")
                .find("https://"),
            std::string::npos);
  EXPECT_NE(load_error("<validate-jwt header-name=\"A\" output-token-variable-name=\"@(1)\">" +
                       key + "</validate-jwt>")
                .find("expressions"),
            std::string::npos);
  EXPECT_NE(
      load_error("<validate-jwt header-name=\"A\" clock-skew=\"-1\">" + key + "</validate-jwt>")
          .find("clock-skew"),
      std::string::npos);
  EXPECT_NE(load_error("<validate-jwt header-name=\"A\">" + key + "<unknown/></validate-jwt>")
                .find("unknown element"),
            std::string::npos);
  // Two problems, both reported, each with file:line.
  const std::string two = load_error("<validate-jwt header-name=\"A\" x=\"1\">" + key +
                                     "<decryption-keys/></validate-jwt>");
  EXPECT_NE(two.find("test.xml:1"), std::string::npos);
  EXPECT_NE(two.find("unknown attribute 'x'"), std::string::npos);
  EXPECT_NE(two.find("decryption-keys"), std::string::npos);
}

TEST_F(ValidateJwtTest, VerifiedTokensAreCachedButClaimsAreCheckedEveryTime) {
  auto p = must_load(hs_policy());
  const std::string token = hs256(claims(120));
  auto first = bearer(token);
  EXPECT_EQ(p->apply(first->ctx), Flow::Continue);
  EXPECT_EQ(services_.verified_tokens->size(), 1u);
  auto again = bearer(token);
  EXPECT_EQ(p->apply(again->ctx), Flow::Continue);
  EXPECT_EQ(services_.verified_tokens->size(), 1u);

  // The cached token expires on time: lifetimes are checked on every use.
  clock_.advance(121);
  auto late = bearer(token);
  expect_refused(*p, *late, "TokenExpired");

  // A token whose signature failed is never cached.
  std::string bad = hs256(claims());
  bad.back() = bad.back() == 'A' ? 'B' : 'A';
  auto b = bearer(bad);
  expect_refused(*p, *b, "TokenSignatureInvalid");
  EXPECT_LE(services_.verified_tokens->size(), 1u);
}

// A worker remembers the tokens it verified last (in front of the process-wide cache): what it
// remembers is scoped to the key sets and compared in full, and claims are still checked.
TEST_F(ValidateJwtTest, RecentTokensAreScopedAndComparedInFull) {
  const jose::Jwk rsa_a = test::signing_key("rsa-a");
  const jose::Jwk rsa_b = test::signing_key("rsa-b");
  auto policy_for = [&](const jose::Jwk& key) {
    const json::object pub = *key.to_public_json();
    return must_load("<validate-jwt header-name=\"Authorization\"><issuer-signing-keys><key n=\"" +
                     std::string(pub.at("n").as_string()) + "\" e=\"" +
                     std::string(pub.at("e").as_string()) +
                     "\"/></issuer-signing-keys></validate-jwt>");
  };
  auto with_a = policy_for(rsa_a);
  auto with_b = policy_for(rsa_b);
  const std::string token = sign(claims(60), rsa_a, JwsAlg::RS256);
  for (int i = 0; i < 3; ++i) {
    auto call = bearer(token);
    EXPECT_EQ(with_a->apply(call->ctx), Flow::Continue);
  }
  // The same token just accepted on this thread means nothing under other keys.
  auto other_keys = bearer(token);
  expect_refused(*with_b, *other_keys, "TokenSignatureInvalid");

  // Same signature (so the same slot), another payload: compared in full, then refused.
  const size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  json::object forged_claims = claims(60);
  forged_claims["sub"] = "admin";
  const std::string forged =
      token.substr(0, dot1 + 1) +
      core::base64url_encode(core::as_bytes(std::string_view(json::serialize(forged_claims)))) +
      token.substr(dot2);
  auto forged_call = bearer(forged);
  expect_refused(*with_a, *forged_call, "TokenSignatureInvalid");

  // Remembered or not, lifetime is checked on every use.
  clock_.advance(61);
  auto late = bearer(token);
  expect_refused(*with_a, *late, "TokenExpired");
}

// A worker also remembers that a policy's constant claim rules accepted a token, so that a reused
// token skips them: the verdict belongs to that policy only, and to that moment and later, until
// the token expires.
TEST_F(ValidateJwtTest, RememberedClaimVerdictsBelongToOnePolicyAndOnlyMoveForward) {
  auto p = must_load(hs_policy());
  auto other_audience = must_load(
      "<validate-jwt header-name=\"Authorization\"><issuer-signing-keys><key>" +
      core::base64_encode(test::hmac_secret()) +
      "</key></issuer-signing-keys><audiences><audience>api://another</audience></audiences>"
      "</validate-jwt>");
  json::object c = claims(120);
  c["nbf"] = clock_.unix() + 30;  // valid 30 s from now
  const std::string token = hs256(c);
  auto early = bearer(token);
  expect_refused(*p, *early, "JwtInvalid");

  clock_.advance(30);
  for (int i = 0; i < 2; ++i) {  // the second use is accepted from the memo
    auto call = bearer(token);
    EXPECT_EQ(p->apply(call->ctx), Flow::Continue);
  }
  // Same token, same worker, same keys: another policy's rules are its own.
  auto elsewhere = bearer(token);
  expect_refused(*other_audience, *elsewhere, "TokenAudienceNotAllowed");
  auto back = bearer(token);
  EXPECT_EQ(p->apply(back->ctx), Flow::Continue);

  // A clock set back before nbf is not covered by a verdict taken later.
  clock_.advance(-1);
  auto rewound = bearer(token);
  expect_refused(*p, *rewound, "JwtInvalid");
  clock_.advance(1);
  auto again = bearer(token);
  EXPECT_EQ(p->apply(again->ctx), Flow::Continue);

  // And it ends at exp.
  clock_.advance(90);
  auto late = bearer(token);
  expect_refused(*p, *late, "TokenExpired");
}

// The token is read as ctx.header() would give it: a set-header change wins over the request's
// header, and repeated headers are joined (so two tokens are one invalid value).
TEST_F(ValidateJwtTest, TokenReadAfterHeaderChangesAndJoined) {
  auto p = must_load(hs_policy());
  const std::string good = hs256(claims());
  {
    auto call = bearer("not-a-token");
    call->ctx.request_header_changes.push_back(
        {"authorization", {"Bearer " + good}, FieldChange::Action::Override});
    EXPECT_EQ(p->apply(call->ctx), Flow::Continue);
  }
  {
    auto call = bearer(good);
    call->ctx.request_header_changes.push_back({"Authorization", {}, FieldChange::Action::Delete});
    expect_refused(*p, *call, "TokenNotPresent", "JWT not present.");
  }
  {
    Call twice(clock_, {{"Authorization", "Bearer " + good}, {"authorization", "Bearer " + good}});
    expect_refused(*p, twice, "JwtInvalid");
  }
}

// The two examples of apim-policies.md §2.7, as written there.
TEST_F(ValidateJwtTest, ReferenceExamplesLoadVerbatim) {
  const std::string entra =
      R"(<validate-jwt header-name="Authorization" failed-validation-httpcode="401"
    failed-validation-error-message="Unauthorized. Access token is missing or invalid.">
    <openid-config url="https://login.microsoftonline.com/contoso.onmicrosoft.com/.well-known/openid-configuration" />
    <audiences><audience>00001111-aaaa-2222-bbbb-3333cccc4444</audience></audiences>
    <required-claims><claim name="id" match="all"><value>insert claim here</value></claim></required-claims>
</validate-jwt>)";
  EXPECT_TRUE(load(entra));

  const std::string hmac =
      R"(<validate-jwt header-name="Authorization" require-scheme="Bearer" output-token-variable-name="jwt">
    <issuer-signing-keys><key>{{jwt-signing-key}}</key></issuer-signing-keys>
    <audiences><audience>@(context.Request.OriginalUrl.Host)</audience></audiences>
    <issuers><issuer>contoso.com</issuer></issuers>
    <required-claims><claim name="group" match="any"><value>finance</value><value>logistics</value></claim></required-claims>
</validate-jwt>)";
  NamedValues named;
  named["jwt-signing-key"] = NamedValue{core::base64_encode(test::hmac_secret()), true};
  auto doc = parse_policy_document("<policies>" + hmac + "</policies>", "test.xml", named);
  ASSERT_TRUE(doc) << doc.error().message;
  auto p = make_validate_jwt(doc->children.front(), load_);
  ASSERT_TRUE(p) << p.error().message;

  json::object c = claims();
  c["iss"] = "contoso.com";
  c["aud"] = "api.contoso.com";
  c["group"] = json::array{"logistics"};
  auto call = bearer(hs256(c));
  call->ctx.request.host = "api.contoso.com";
  call->ctx.request.scheme = "https";
  call->ctx.request.path = "/orders";
  EXPECT_EQ((*p)->apply(call->ctx), Flow::Continue);
  ASSERT_NE(call->ctx.variable("jwt"), nullptr);

  auto other_host = bearer(hs256(c));
  other_host->ctx.request.host = "evil.example";
  other_host->ctx.request.scheme = "https";
  expect_refused(**p, *other_host, "TokenAudienceNotAllowed");
}

// --- openid-config -----------------------------------------------------------------------------

class ValidateJwtOpenIdTest : public ValidateJwtTest {
 protected:
  static constexpr const char* kMetadataUrl = "https://idp.test/.well-known/openid-configuration";
  static constexpr const char* kJwksUrl = "https://idp.test/keys";

  void SetUp() override {
    docs_->set(kMetadataUrl, test::metadata_of("https://idp.test/", kJwksUrl));
    docs_->set(kJwksUrl, test::jwks_of({&key_a_}));
  }
  std::string openid_policy(const std::string& children = "") {
    return std::string("<validate-jwt header-name=\"Authorization\"><openid-config url=\"") +
           kMetadataUrl + "\"/>" + children + "</validate-jwt>";
  }
  json::object idp_claims() const {
    json::object c = claims();
    c["iss"] = "https://idp.test/";
    return c;
  }
  std::shared_ptr<OpenIdSource> source() { return services_.openid->source(kMetadataUrl); }

  jose::Jwk key_a_ = test::signing_key("rsa-a", "a");
  jose::Jwk key_b_ = test::signing_key("rsa-b", "b");
  jose::Jwk key_c_ = test::signing_key("rsa-c", "c");
};

TEST_F(ValidateJwtOpenIdTest, FirstRequestsWaitForTheKeysFetchedAtLoad) {
  gate_->open = false;  // the fetch started at load has not finished yet
  auto p = must_load(openid_policy());
  auto call = bearer(sign(idp_claims(), key_a_, JwsAlg::RS256));
  EXPECT_EQ(p->apply(call->ctx), Flow::Await);
  gate_->open = true;
  EXPECT_EQ(test::run_async(*p, call->ctx), Flow::Continue);
  EXPECT_EQ(source()->fetches(), 1u);
}

TEST_F(ValidateJwtOpenIdTest, IssuerDefaultsToTheConfigurations) {
  auto p = must_load(openid_policy());
  ASSERT_TRUE(services_.openid->wait_for_first_fetches(std::chrono::seconds(30)));
  auto ok = bearer(sign(idp_claims(), key_a_, JwsAlg::RS256));
  EXPECT_EQ(p->apply(ok->ctx), Flow::Continue);
  json::object c = idp_claims();
  c["iss"] = "https://other.test/";
  auto bad = bearer(sign(c, key_a_, JwsAlg::RS256));
  expect_refused(*p, *bad, "TokenIssuerNotAllowed");
  // Configured issuers replace the configuration's.
  auto q = must_load(openid_policy("<issuers><issuer>https://other.test/</issuer></issuers>"));
  auto other = bearer(sign(c, key_a_, JwsAlg::RS256));
  EXPECT_EQ(q->apply(other->ctx), Flow::Continue);
}

TEST_F(ValidateJwtOpenIdTest, KeyRotationRefetchesOnceThenSucceeds) {
  auto p = must_load(openid_policy());
  ASSERT_TRUE(services_.openid->wait_for_first_fetches(std::chrono::seconds(30)));
  clock_.advance(600);  // past the min interval since the fetch at load

  // The IdP rolls over to key b; a token signed with it names a kid we have not seen.
  docs_->set(kJwksUrl, test::jwks_of({&key_a_, &key_b_}));
  auto rotated = bearer(sign(idp_claims(), key_b_, JwsAlg::RS256));
  EXPECT_EQ(p->apply(rotated->ctx), Flow::Await);
  EXPECT_EQ(test::run_async(*p, rotated->ctx), Flow::Continue);
  EXPECT_EQ(source()->fetches(), 2u);

  // Now known: no waiting, no fetch.
  auto again = bearer(sign(idp_claims(), key_b_, JwsAlg::RS256));
  EXPECT_EQ(p->apply(again->ctx), Flow::Continue);

  // Another unknown kid right after: refused at once, no new fetch (at most one per 5 min).
  docs_->set(kJwksUrl, test::jwks_of({&key_a_, &key_b_, &key_c_}));
  auto third = bearer(sign(idp_claims(), key_c_, JwsAlg::RS256));
  expect_refused(*p, *third, "TokenSignatureKeyNotFound");
  EXPECT_EQ(source()->fetches(), 2u);

  // Five minutes later the next unknown kid may fetch again.
  clock_.advance(300);
  auto later = bearer(sign(idp_claims(), key_c_, JwsAlg::RS256));
  EXPECT_EQ(p->apply(later->ctx), Flow::Await);
  EXPECT_EQ(test::run_async(*p, later->ctx), Flow::Continue);
  EXPECT_EQ(source()->fetches(), 3u);
}

// One request of the concurrency test: waits for keys if it has to.
net::awaitable<void> request(const Policy* policy, Call* call, std::atomic<int>* passed) {
  Flow f = policy->apply(call->ctx);
  if (f == Flow::Await) f = co_await policy->apply_async(call->ctx);
  if (f == Flow::Continue) passed->fetch_add(1);
}

TEST_F(ValidateJwtOpenIdTest, ConcurrentRequestsOnTwoWorkersShareOneRefetch) {
  auto p = must_load(openid_policy());
  ASSERT_TRUE(services_.openid->wait_for_first_fetches(std::chrono::seconds(30)));
  clock_.advance(300);
  docs_->set(kJwksUrl, test::jwks_of({&key_a_, &key_b_}));
  gate_->open = false;

  constexpr int kPerWorker = 40;
  const std::string token = sign(idp_claims(), key_b_, JwsAlg::RS256);
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < 2 * kPerWorker; ++i)
    calls.push_back(bearer(token));
  std::atomic<int> passed{0};
  net::asio::io_context io1(1), io2(1);
  auto worker = [&](net::asio::io_context& io, int first) {
    return std::thread([&io, &calls, &passed, &p, first] {
      for (int i = first; i < first + kPerWorker; ++i) {
        net::asio::co_spawn(io.get_executor(), request(p.get(), calls[i].get(), &passed),
                            net::asio::detached);
      }
      io.run();
    });
  };
  std::thread t1 = worker(io1, 0), t2 = worker(io2, kPerWorker);
  for (int i = 0; i < 20000 && source()->waiting() < 2 * kPerWorker; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(source()->waiting(), 2u * kPerWorker);
  gate_->open = true;
  t1.join();
  t2.join();
  EXPECT_EQ(passed.load(), 2 * kPerWorker);
  EXPECT_EQ(source()->fetches(), 2u);  // the one at load and one for the new kid
  EXPECT_EQ(docs_->requests(kJwksUrl), 2u);
}

TEST_F(ValidateJwtOpenIdTest, UnknownKidStillUnknownAfterTheRefetch) {
  auto p = must_load(openid_policy());
  ASSERT_TRUE(services_.openid->wait_for_first_fetches(std::chrono::seconds(30)));
  clock_.advance(300);
  auto call = bearer(sign(idp_claims(), key_b_, JwsAlg::RS256));
  EXPECT_EQ(p->apply(call->ctx), Flow::Await);
  EXPECT_EQ(test::run_async(*p, call->ctx), Flow::Error);
  EXPECT_EQ(call->ctx.last_error->reason, "TokenSignatureKeyNotFound");
  EXPECT_EQ(call->response_header("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
  EXPECT_EQ(source()->fetches(), 2u);
}

TEST_F(ValidateJwtOpenIdTest, IdpOutageKeepsServingTheLastGoodKeys) {
  auto p = must_load(openid_policy());
  ASSERT_TRUE(services_.openid->wait_for_first_fetches(std::chrono::seconds(30)));
  docs_->make_unreachable(kMetadataUrl);

  // Hours of outage: the hourly refreshes fail, tokens signed with the known key still pass.
  for (int hour = 1; hour <= 5; ++hour) {
    clock_.advance(3600);
    auto call = bearer(sign(idp_claims(), key_a_, JwsAlg::RS256));
    EXPECT_EQ(p->apply(call->ctx), Flow::Continue) << "hour " << hour;
    const uint64_t attempts = source()->fetches();
    for (int i = 0; i < 10000 && source()->failures() + 1 < attempts; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(source()->failures(), 1u);
  EXPECT_LE(source()->fetches(), 6u);  // one attempt per refresh, never one per request

  // Past the maximum staleness the keys are no longer trusted.
  clock_.advance(86400);
  auto stale = bearer(sign(idp_claims(), key_a_, JwsAlg::RS256));
  Flow f = p->apply(stale->ctx);
  if (f == Flow::Await) f = test::run_async(*p, stale->ctx);
  EXPECT_EQ(f, Flow::Error);
  EXPECT_EQ(stale->ctx.last_error->reason, "TokenSignatureKeyNotFound");
}

TEST_F(ValidateJwtOpenIdTest, SeveralConfigurationsUniteKeysAndIssuers) {
  const std::string second_metadata = "https://idp2.test/.well-known/openid-configuration";
  docs_->set(second_metadata, test::metadata_of("https://idp2.test/", "https://idp2.test/keys"));
  docs_->set("https://idp2.test/keys", test::jwks_of({&key_c_}));
  auto p = must_load(openid_policy("<openid-config url=\"" + second_metadata + "\"/>"));
  ASSERT_TRUE(services_.openid->wait_for_first_fetches(std::chrono::seconds(30)));
  auto one = bearer(sign(idp_claims(), key_a_, JwsAlg::RS256));
  EXPECT_EQ(p->apply(one->ctx), Flow::Continue);
  json::object c = idp_claims();
  c["iss"] = "https://idp2.test/";
  auto two = bearer(sign(c, key_c_, JwsAlg::RS256));
  EXPECT_EQ(p->apply(two->ctx), Flow::Continue);
  // A key of one IdP does not make another IdP's issuer acceptable... but both are accepted.
  auto cross = bearer(sign(c, key_a_, JwsAlg::RS256));
  EXPECT_EQ(p->apply(cross->ctx), Flow::Continue);
}

TEST_F(ValidateJwtOpenIdTest, OverHttpFromALoopbackServer) {
  gh::test::StaticHttpServer server;
  const std::string url = server.origin() + "/.well-known/openid-configuration";
  server.set("/.well-known/openid-configuration",
             test::metadata_of("https://idp.test/", server.origin() + "/keys"));
  server.set("/keys", test::jwks_of({&key_a_, &key_b_}));
  Services services(clock_);
  services.openid = std::make_shared<OpenIdCache>(clock_);
  services.verified_tokens = std::make_shared<jose::VerifiedTokenCache>(clock_);
  LoadContext load;
  load.services = &services;
  auto p = make_validate_jwt(
      test::element_of("<validate-jwt header-name=\"Authorization\" require-scheme=\"Bearer\">"
                       "<openid-config url=\"" +
                       url + "\"/><audiences><audience>" + kAudience +
                       "</audience></audiences></validate-jwt>"),
      load);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(services.openid->wait_for_first_fetches(std::chrono::seconds(30)));
  auto es = bearer(sign(idp_claims(), key_b_, JwsAlg::PS256));
  EXPECT_EQ((*p)->apply(es->ctx), Flow::Continue);
  EXPECT_EQ(server.requests("/keys"), 1u);
}

TEST_F(ValidateJwtOpenIdTest, LintFetchesNothing) {
  load_.lint = true;
  load_.services = nullptr;
  auto p = load(openid_policy());
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(docs_->requests(kMetadataUrl), 0u);
}

}  // namespace
}  // namespace gh::policy
