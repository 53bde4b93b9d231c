#include "policy/cors.h"

#include <gtest/gtest.h>

#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using xform_test::build;
using xform_test::change_named;
using xform_test::header_of;
using xform_test::load_error;
using xform_test::TestRequest;

constexpr const char* kListed = R"x(<cors allow-credentials="true">
  <allowed-origins><origin>https://app.contoso.com</origin><origin>http://localhost:3000/</origin></allowed-origins>
  <allowed-methods preflight-result-max-age="300"><method>GET</method><method>PUT</method></allowed-methods>
  <allowed-headers><header>Content-Type</header><header>Authorization</header></allowed-headers>
  <expose-headers><header>X-Request-Id</header><header>ETag</header></expose-headers>
</cors>)x";

constexpr const char* kWildcard = R"x(<cors>
  <allowed-origins><origin>*</origin></allowed-origins>
  <allowed-headers><header>*</header></allowed-headers>
</cors>)x";

std::unique_ptr<Policy> make(const char* xml) {
  auto policy = build(&make_cors, xml);
  EXPECT_TRUE(policy) << policy.error().message;
  return policy ? std::move(*policy) : nullptr;
}

TEST(Cors, ParsesSerialisedOrigins) {
  auto https = parse_origin("https://App.Contoso.com");
  ASSERT_TRUE(https);
  EXPECT_EQ(https->scheme, "https");
  EXPECT_EQ(https->host, "App.Contoso.com");
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(parse_origin("http://localhost:3000")->port, 3000);
  EXPECT_EQ(parse_origin("http://[::1]:8080")->host, "[::1]");
  EXPECT_EQ(parse_origin("app://x")->port, 0);
  for (const char* bad :
       {"null", "", "https://", "://x", "https://a.com/", "https://a.com:", "https://a.com:0",
        "https://a.com:65536", "https://a.com:1x", "https://a b", "https://[::1", "https://[]",
        "1https://a", "https://user@a.com", "https://a.com?x"})
    EXPECT_FALSE(parse_origin(bad)) << bad;
}

TEST(Cors, PreflightIsAnsweredHereWhenItMatches) {
  auto cors = make(kListed);
  ASSERT_TRUE(cors);
  TestRequest r("OPTIONS", {{"Origin", "https://app.contoso.com"},
                            {"Access-Control-Request-Method", "PUT"},
                            {"Access-Control-Request-Headers", "content-type, authorization"}});
  EXPECT_TRUE(is_cors_preflight(r.ctx.request));
  ASSERT_EQ(cors->apply(r.ctx), Flow::Return);
  const GatewayResponse& response = *r.ctx.response;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "");
  EXPECT_EQ(header_of(response, "Access-Control-Allow-Origin"), "https://app.contoso.com");
  EXPECT_EQ(header_of(response, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(header_of(response, "Access-Control-Allow-Methods"), "PUT");
  EXPECT_EQ(header_of(response, "Access-Control-Allow-Headers"), "content-type,authorization");
  EXPECT_EQ(header_of(response, "Access-Control-Max-Age"), "300");
  EXPECT_EQ(header_of(response, "Vary"), "Origin");
  EXPECT_TRUE(r.ctx.response_header_changes.empty());
}

TEST(Cors, OriginsCompareBySchemeHostAndPortWithDefaultPorts) {
  auto cors = make(kListed);
  ASSERT_TRUE(cors);
  const std::pair<const char*, bool> cases[] = {
      {"https://app.contoso.com", true},
      {"HTTPS://APP.CONTOSO.COM:443", true},
      {"http://localhost:3000", true},
      {"http://app.contoso.com", false},
      {"https://app.contoso.com:8443", false},
      {"https://evil.com", false},
      {"https://app.contoso.com.evil.com", false},
      {"null", false},
      {"http://localhost", false},
  };
  for (const auto& [origin, matches] : cases) {
    TestRequest r("OPTIONS", {{"Origin", origin}, {"Access-Control-Request-Method", "GET"}});
    ASSERT_EQ(cors->apply(r.ctx), Flow::Return) << origin;
    EXPECT_EQ(header_of(*r.ctx.response, "Access-Control-Allow-Origin"),
              matches ? std::string(origin) : "<absent>")
        << origin;
  }
}

TEST(Cors, UnmatchedPreflightEndsEmptyUnlessTerminateIsFalse) {
  auto cors = make(kListed);
  ASSERT_TRUE(cors);
  // Method not allowed, header not allowed, origin not allowed.
  const std::vector<std::pair<std::string, std::string>> unmatched[] = {
      {{"Origin", "https://app.contoso.com"}, {"Access-Control-Request-Method", "DELETE"}},
      {{"Origin", "https://app.contoso.com"},
       {"Access-Control-Request-Method", "GET"},
       {"Access-Control-Request-Headers", "content-type,x-secret"}},
      {{"Origin", "https://evil.com"}, {"Access-Control-Request-Method", "GET"}},
      {{"Origin", "https://app.contoso.com"},
       {"Origin", "https://app.contoso.com"},
       {"Access-Control-Request-Method", "GET"}},
  };
  for (const auto& headers : unmatched) {
    TestRequest r("OPTIONS", headers);
    ASSERT_EQ(cors->apply(r.ctx), Flow::Return);
    EXPECT_EQ(r.ctx.response->status, 200);
    EXPECT_TRUE(r.ctx.response->headers.empty());
    EXPECT_EQ(r.ctx.response->body, "");
  }

  auto lenient = make(R"x(<cors terminate-unmatched-request="false">
    <allowed-origins><origin>https://app.contoso.com</origin></allowed-origins>
    <allowed-headers><header>*</header></allowed-headers></cors>)x");
  ASSERT_TRUE(lenient);
  TestRequest r("OPTIONS",
                {{"Origin", "https://evil.com"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(lenient->apply(r.ctx), Flow::Continue);
  EXPECT_FALSE(r.ctx.response);
}

TEST(Cors, MethodsDefaultToGetAndPost) {
  auto cors = make(R"x(<cors><allowed-origins><origin>https://a.example</origin></allowed-origins>
    <allowed-headers><header>x-a</header></allowed-headers></cors>)x");
  ASSERT_TRUE(cors);
  for (const char* method : {"GET", "POST", "PUT"}) {
    TestRequest r("OPTIONS",
                  {{"Origin", "https://a.example"}, {"Access-Control-Request-Method", method}});
    ASSERT_EQ(cors->apply(r.ctx), Flow::Return);
    EXPECT_EQ(header_of(*r.ctx.response, "Access-Control-Allow-Methods"),
              std::string(method) == "PUT" ? "<absent>" : method);
  }
}

TEST(Cors, ActualRequestGetsTheResponseHeaders) {
  auto cors = make(kListed);
  ASSERT_TRUE(cors);
  TestRequest r("GET", {{"Origin", "https://app.contoso.com"}});
  ASSERT_EQ(cors->apply(r.ctx), Flow::Continue);
  EXPECT_FALSE(r.ctx.response);
  const auto& changes = r.ctx.response_header_changes;
  ASSERT_NE(change_named(changes, "Access-Control-Allow-Origin"), nullptr);
  EXPECT_EQ(change_named(changes, "Access-Control-Allow-Origin")->values,
            std::vector<std::string>{"https://app.contoso.com"});
  EXPECT_EQ(change_named(changes, "Access-Control-Allow-Origin")->action,
            FieldChange::Action::Override);
  ASSERT_NE(change_named(changes, "Vary"), nullptr);
  EXPECT_EQ(change_named(changes, "Vary")->action, FieldChange::Action::Append);
  EXPECT_EQ(change_named(changes, "Vary")->values, std::vector<std::string>{"Origin"});
  ASSERT_NE(change_named(changes, "Access-Control-Allow-Credentials"), nullptr);
  EXPECT_EQ(change_named(changes, "Access-Control-Allow-Credentials")->values,
            std::vector<std::string>{"true"});
  ASSERT_NE(change_named(changes, "Access-Control-Expose-Headers"), nullptr);
  EXPECT_EQ(change_named(changes, "Access-Control-Expose-Headers")->values,
            std::vector<std::string>{"X-Request-Id,ETag"});
  EXPECT_TRUE(r.ctx.request_header_changes.empty());
}

TEST(Cors, WildcardWithoutCredentialsSendsAStarAndNoVary) {
  auto cors = make(kWildcard);
  ASSERT_TRUE(cors);
  TestRequest r("POST", {{"Origin", "https://anyone.example"}});
  ASSERT_EQ(cors->apply(r.ctx), Flow::Continue);
  ASSERT_EQ(r.ctx.response_header_changes.size(), 1u);
  EXPECT_EQ(r.ctx.response_header_changes[0].name, "Access-Control-Allow-Origin");
  EXPECT_EQ(r.ctx.response_header_changes[0].values, std::vector<std::string>{"*"});

  TestRequest pre("OPTIONS", {{"Origin", "https://anyone.example"},
                              {"Access-Control-Request-Method", "POST"},
                              {"Access-Control-Request-Headers", "X-Anything"}});
  ASSERT_EQ(cors->apply(pre.ctx), Flow::Return);
  EXPECT_EQ(header_of(*pre.ctx.response, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header_of(*pre.ctx.response, "Access-Control-Allow-Headers"), "X-Anything");
  EXPECT_EQ(header_of(*pre.ctx.response, "Vary"), "<absent>");
  EXPECT_EQ(header_of(*pre.ctx.response, "Access-Control-Max-Age"), "<absent>");
  EXPECT_EQ(header_of(*pre.ctx.response, "Access-Control-Allow-Credentials"), "<absent>");
}

TEST(Cors, UnmatchedActualRequests) {
  auto cors = make(kListed);
  ASSERT_TRUE(cors);
  for (const char* method : {"GET", "HEAD"}) {
    TestRequest r(method, {{"Origin", "https://evil.com"}});
    ASSERT_EQ(cors->apply(r.ctx), Flow::Return) << method;
    EXPECT_EQ(r.ctx.response->status, 200);
    EXPECT_TRUE(r.ctx.response->headers.empty());
  }
  TestRequest post("POST", {{"Origin", "https://evil.com"}});
  EXPECT_EQ(cors->apply(post.ctx), Flow::Continue);
  EXPECT_FALSE(post.ctx.response);
  EXPECT_TRUE(post.ctx.response_header_changes.empty());

  TestRequest same_site("GET");  // no Origin: not a CORS request at all
  EXPECT_EQ(cors->apply(same_site.ctx), Flow::Continue);
  EXPECT_TRUE(same_site.ctx.response_header_changes.empty());
  EXPECT_FALSE(same_site.ctx.response);
}

TEST(Cors, CredentialsExpressionWithWildcardEchoesTheOrigin) {
  auto cors = make(
      R"x(<cors allow-credentials="@(context.Request.Headers.GetValueOrDefault(&quot;X-Creds&quot;, &quot;&quot;) == &quot;yes&quot;)">
    <allowed-origins><origin>*</origin></allowed-origins>
    <allowed-headers><header>*</header></allowed-headers></cors>)x");
  ASSERT_TRUE(cors);
  TestRequest r("GET", {{"Origin", "https://a.example"}, {"X-Creds", "yes"}});
  ASSERT_EQ(cors->apply(r.ctx), Flow::Continue);
  EXPECT_EQ(xform_test::change_named(r.ctx.response_header_changes, "Access-Control-Allow-Origin")
                ->values,
            std::vector<std::string>{"https://a.example"});
  EXPECT_NE(xform_test::change_named(r.ctx.response_header_changes, "Vary"), nullptr);
}

TEST(Cors, LoadErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {R"x(<cors><allowed-headers><header>a</header></allowed-headers></cors>)x",
       "missing required element <allowed-origins>"},
      {R"x(<cors><allowed-origins><origin>*</origin></allowed-origins></cors>)x",
       "missing required element <allowed-headers>"},
      {R"x(<cors allow-credentials="true"><allowed-origins><origin>*</origin></allowed-origins><allowed-headers><header>a</header></allowed-headers></cors>)x",
       "allow-credentials=\"true\" cannot be combined with <origin>*</origin>"},
      {R"x(<cors><allowed-origins><origin>contoso.com</origin></allowed-origins><allowed-headers><header>a</header></allowed-headers></cors>)x",
       "'contoso.com' is not an origin"},
      {R"x(<cors><allowed-origins/><allowed-headers><header>a</header></allowed-headers></cors>)x",
       "needs at least one <origin>"},
      {R"x(<cors><allowed-origins><origin>*</origin></allowed-origins><allowed-headers><header>a b</header></allowed-headers></cors>)x",
       "'a b' is not a valid header name"},
      {R"x(<cors><allowed-origins><origin>*</origin></allowed-origins><allowed-headers><header>a</header></allowed-headers><allowed-methods preflight-result-max-age="-1"><method>GET</method></allowed-methods></cors>)x",
       "preflight-result-max-age"},
      {R"x(<cors allow-credentials="yes"><allowed-origins><origin>*</origin></allowed-origins><allowed-headers><header>a</header></allowed-headers></cors>)x",
       "allow-credentials must be true or false"},
      {R"x(<cors><allowed-origins><origin>*</origin></allowed-origins><allowed-headers><header>a</header></allowed-headers><allow-all/></cors>)x",
       "unknown child element <allow-all>"},
  };
  for (const auto& [xml, expected] : cases) {
    const std::string error = load_error(&make_cors, xml);
    EXPECT_NE(error.find(expected), std::string::npos) << xml << "\n-> " << error;
    EXPECT_NE(error.find("test.xml:1: <"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace gh::policy
