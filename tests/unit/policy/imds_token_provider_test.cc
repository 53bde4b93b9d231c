#include "policy/imds_token_provider.h"

#include <gtest/gtest.h>

namespace gh::policy {
namespace {

TEST(ImdsTokenProvider, BuildsTheImdsRequestUrl) {
  ImdsTokenProvider p("http://169.254.169.254/metadata/identity/oauth2/token");
  EXPECT_EQ(p.request_url("https://storage.azure.com/", ""),
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
            "&resource=https%3A%2F%2Fstorage.azure.com%2F");
  EXPECT_EQ(p.request_url("api://demo", "c1 &x"),
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
            "&resource=api%3A%2F%2Fdemo&client_id=c1%20%26x");
  ImdsTokenProvider q("http://127.0.0.1:8080/metadata/identity/oauth2/token?x=1");
  EXPECT_EQ(q.request_url("r", ""),
            "http://127.0.0.1:8080/metadata/identity/oauth2/token?x=1&api-version=2018-02-01"
            "&resource=r");
}

TEST(ImdsTokenProvider, ParsesImdsAndAppServiceShapes) {
  auto a = parse_imds_token_response(
      R"({"access_token":"eyJ.a.b","expires_in":"3599","expires_on":"1700003600",)"
      R"("resource":"r","token_type":"Bearer"})",
      1700000000);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->token, "eyJ.a.b");
  EXPECT_EQ(a->expires_on, 1700003600);
  auto b = parse_imds_token_response(R"({"access_token":"t","expires_in":600})", 1000);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->expires_on, 1600);
}

TEST(ImdsTokenProvider, RejectsResponsesWithoutTokenOrExpiryAndNeverQuotesThem) {
  auto a = parse_imds_token_response(R"({"expires_in":600})", 0);
  ASSERT_FALSE(a);
  auto b = parse_imds_token_response(R"({"access_token":"secret-token-value"})", 0);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message.find("secret-token-value"), std::string::npos);
  EXPECT_FALSE(parse_imds_token_response("not json", 0));
}

}  // namespace
}  // namespace gh::policy
