#include "policy/context.h"

#include <gtest/gtest.h>

#include <array>

namespace gh::policy {
namespace {

TEST(RequestContext, HeadersJoinAndFollowChanges) {
  RequestContext ctx(core::SystemClock::instance());
  std::array<HeaderField, 3> h{{{"Accept", "a"}, {"X-Multi", "1"}, {"x-multi", "2"}}};
  ctx.request.headers = h;
  EXPECT_EQ(ctx.header("x-MULTI"), "1,2");
  EXPECT_EQ(ctx.header("Missing"), std::nullopt);
  ctx.request_header_changes.push_back({"x-multi", {"3"}, FieldChange::Action::Append});
  EXPECT_EQ(ctx.header("X-Multi"), "1,2,3");
  ctx.request_header_changes.push_back({"Accept", {"b"}, FieldChange::Action::Skip});
  EXPECT_EQ(ctx.header("accept"), "a");
  ctx.request_header_changes.push_back({"New", {"n1", "n2"}, FieldChange::Action::Skip});
  EXPECT_EQ(ctx.header("new"), "n1,n2");
  ctx.request_header_changes.push_back({"ACCEPT", {}, FieldChange::Action::Delete});
  EXPECT_EQ(ctx.header("Accept"), std::nullopt);
  ctx.request_header_changes.push_back({"accept", {"c"}, FieldChange::Action::Override});
  EXPECT_EQ(ctx.header("Accept"), "c");
}

TEST(RequestContext, QueryParametersAreDecodedAndCaseSensitive) {
  RequestContext ctx(core::SystemClock::instance());
  ctx.request.query = "a=1&subscription-key=k%2By+z&empty&A=2&bad=%zz";
  EXPECT_EQ(ctx.query_parameter("a"), "1");
  EXPECT_EQ(ctx.query_parameter("A"), "2");
  EXPECT_EQ(ctx.query_parameter("subscription-key"), "k+y z");
  EXPECT_EQ(ctx.query_parameter("empty"), "");
  EXPECT_EQ(ctx.query_parameter("bad"), "%zz");
  EXPECT_EQ(ctx.query_parameter("none"), std::nullopt);
  ctx.query_changes.push_back({"a", {}, FieldChange::Action::Delete});
  EXPECT_EQ(ctx.query_parameter("a"), std::nullopt);
}

TEST(RequestContext, VariablesReplace) {
  RequestContext ctx(core::SystemClock::instance());
  EXPECT_EQ(ctx.variable("x"), nullptr);
  ctx.set_variable("x", Value{int64_t{1}});
  ctx.set_variable("x", Value{std::string("s")});
  ASSERT_NE(ctx.variable("x"), nullptr);
  EXPECT_EQ(std::get<std::string>(*ctx.variable("x")), "s");
}

TEST(RequestContext, FailPreparesApimErrorAndLastError) {
  RequestContext ctx(core::SystemClock::instance());
  ctx.scope = Scope::Api;
  ctx.section = Section::Inbound;
  ctx.path = "check-header[1]";
  ctx.fail("check-header", "HeaderNotFound",
           "Header X was not found in the request. Access denied.", 401, "Not authorized", "p1");
  ASSERT_TRUE(ctx.last_error);
  EXPECT_EQ(ctx.last_error->source, "check-header");
  EXPECT_EQ(ctx.last_error->reason, "HeaderNotFound");
  EXPECT_EQ(ctx.last_error->scope, Scope::Api);
  EXPECT_EQ(ctx.last_error->path, "check-header[1]");
  EXPECT_EQ(ctx.last_error->policy_id, "p1");
  ASSERT_TRUE(ctx.response);
  EXPECT_EQ(ctx.response->status, 401);
  EXPECT_EQ(ctx.response->body, "{ \"statusCode\": 401, \"message\": \"Not authorized\" }");
}

}  // namespace
}  // namespace gh::policy
