#include "identity/token_request.h"

#include <gtest/gtest.h>

#include "identity/entra_error.h"

namespace gh::identity {
namespace {

TEST(TokenRequest, FormContentTypeAcceptsParameters) {
  EXPECT_TRUE(is_form_content_type("application/x-www-form-urlencoded"));
  EXPECT_TRUE(is_form_content_type("application/x-www-form-urlencoded;charset=utf-8"));
  EXPECT_TRUE(is_form_content_type("Application/X-WWW-Form-Urlencoded ; charset=UTF-8"));
  EXPECT_FALSE(is_form_content_type("application/json"));
  EXPECT_FALSE(is_form_content_type(""));
  EXPECT_FALSE(is_form_content_type("application/x-www-form-urlencodedx"));
}

TEST(TokenRequest, DecodesPlusAndPercent) {
  std::string out;
  ASSERT_TRUE(form_url_decode("a+b%2Fc%3a%7E", out));
  EXPECT_EQ(out, "a b/c:~");
  for (std::string_view bad : {"%", "%2", "%zz", "a%g0", "%2x"}) {
    out.clear();
    EXPECT_FALSE(form_url_decode(bad, out)) << bad;
  }
}

TEST(TokenRequest, ParsesWhatMsalPythonSends) {
  // MSAL Python 1.21's body (clients.md), with a secret instead of the assertion.
  std::string body =
      "client_id=jwt-client&grant_type=client_credentials&client_secret=s3cr%2Bt%26%3D"
      "&client_info=1&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type"
      "%3Ajwt-bearer&scope=api%3A%2F%2Fdemo%2F.default";
  std::string storage;
  auto form = parse_token_form(body, storage);
  ASSERT_TRUE(form) << form.error().message;
  EXPECT_EQ(form->client_id, "jwt-client");
  EXPECT_EQ(form->grant_type, "client_credentials");
  EXPECT_EQ(form->client_secret, "s3cr+t&=");
  EXPECT_EQ(form->client_assertion_type, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  EXPECT_EQ(form->scope, "api://demo/.default");
  EXPECT_TRUE(form->resource.empty());
  EXPECT_TRUE(form->client_assertion.empty());
}

TEST(TokenRequest, IgnoresTelemetryAndReadsClientRequestId) {
  // msal-node puts its telemetry into the body.
  std::string body =
      "client_id=c&scope=api%3A%2F%2Fx%2F.default&grant_type=client_credentials"
      "&x-client-SKU=msal.js.node&x-client-VER=7.2.1&x-client-OS=linux&x-client-CPU=x64"
      "&x-ms-lib-capability=retry-after,+h429&x-client-current-telemetry=5|771,2,,,|,"
      "&x-client-last-telemetry=5|0|||0,0&Client-Request-Id=4f0e7a9c-1111-2222-3333-444455556666"
      "&client_secret=abc&&=&unknown";
  std::string storage;
  auto form = parse_token_form(body, storage);
  ASSERT_TRUE(form) << form.error().message;
  EXPECT_EQ(form->client_request_id, "4f0e7a9c-1111-2222-3333-444455556666");
  EXPECT_EQ(form->client_secret, "abc");
  EXPECT_EQ(form->scope, "api://x/.default");
}

TEST(TokenRequest, RejectsDuplicatesOfKnownParameters) {
  std::string storage;
  auto form = parse_token_form("scope=a&grant_type=client_credentials&scope=b", storage);
  ASSERT_FALSE(form);
  EXPECT_EQ(form.error().detail, aadsts::kDuplicateParameter);
  EXPECT_EQ(http_status_of(form.error()), 400);
  EXPECT_EQ(oauth_error_of(form.error().detail), "invalid_request");
  EXPECT_NE(form.error().message.find("'scope' is duplicated"), std::string::npos);
  // Duplicates of ignored parameters are nobody's business.
  EXPECT_TRUE(parse_token_form("client_info=1&client_info=1&client_id=x", storage));
}

TEST(TokenRequest, RejectsInvalidPercentEncoding) {
  std::string storage;
  auto form = parse_token_form("client_id=abc&client_secret=%ZZsecret", storage);
  ASSERT_FALSE(form);
  EXPECT_EQ(form.error().detail, aadsts::kMalformedRequest);
  EXPECT_EQ(http_status_of(form.error()), 400);
  // Names the parameter, never the value (a secret).
  EXPECT_NE(form.error().message.find("client_secret"), std::string::npos);
  EXPECT_EQ(form.error().message.find("ZZsecret"), std::string::npos);
}

TEST(TokenRequest, DecodedViewsStayValidAcrossManyParameters) {
  std::string body;
  body += "client_assertion=" + std::string(3000, 'a') + "%2E";
  body += "&scope=" + std::string(200, '%');  // invalid, but comes after
  std::string storage;
  EXPECT_FALSE(parse_token_form(body, storage));
  std::string ok = "client_secret=%41%42&scope=%43+%44&resource=%45&claims=%7B%7D";
  auto form = parse_token_form(ok, storage);
  ASSERT_TRUE(form);
  EXPECT_EQ(form->client_secret, "AB");
  EXPECT_EQ(form->scope, "C D");
  EXPECT_EQ(form->resource, "E");
  EXPECT_EQ(form->claims, "{}");
}

TEST(TokenRequest, QueryParameter) {
  std::string storage;
  EXPECT_EQ(query_parameter("client-request-id=abc&x=1", "client-request-id", storage), "abc");
  EXPECT_EQ(query_parameter("a=1&code=90002", "code", storage), "90002");
  EXPECT_EQ(query_parameter("u=https%3A%2F%2Fh%2Ft", "u", storage), "https://h/t");
  EXPECT_EQ(query_parameter("a=1", "b", storage), "");
  EXPECT_EQ(query_parameter("", "b", storage), "");
  EXPECT_EQ(query_parameter("b=%zz", "b", storage), "");
}

TEST(TokenRequest, ScopeGivesTheResource) {
  auto r = resource_from_scope("api://demo/.default");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "api://demo");
  // §1.3: a trailing slash of the resource is kept.
  r = resource_from_scope("https://management.azure.com//.default");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "https://management.azure.com/");
  // Old msal-node sent OIDC scopes along; they are ignored.
  r = resource_from_scope("api://demo/.default openid profile offline_access email");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "api://demo");
  r = resource_from_scope("  openid  11111111-2222-3333-4444-555555555555/.default ");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "11111111-2222-3333-4444-555555555555");
  // The same resource twice (any case) is one resource.
  r = resource_from_scope("api://demo/.default API://Demo/.default");
  ASSERT_TRUE(r);
}

TEST(TokenRequest, ScopeErrors) {
  auto r = resource_from_scope("api://demo/Orders.Read");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, aadsts::kScopeNotDefault);
  EXPECT_EQ(oauth_error_of(r.error().detail), "invalid_scope");
  EXPECT_NE(r.error().message.find("scope api://demo/Orders.Read is not valid"), std::string::npos);

  r = resource_from_scope("api://a/.default api://b/.default");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, aadsts::kMultipleResources);

  r = resource_from_scope("openid profile");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, aadsts::kScopeNotDefault);

  r = resource_from_scope("/.default");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, aadsts::kInvalidScope);

  r = resource_from_scope("api://demo/.default api://demo/read");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, aadsts::kScopeNotDefault);
}

}  // namespace
}  // namespace gh::identity
