#include "policy/set_query_parameter.h"

#include <gtest/gtest.h>

#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using xform_test::build;
using xform_test::change_named;
using xform_test::load_error;
using xform_test::TestRequest;

TEST(SetQueryParameter, RecordsDecodedValuesForTheGatewayToEncode) {
  auto policy =
      build(&make_set_query_parameter,
            R"x(<set-query-parameter name="api-version" exists-action="override">)x"
            R"x(<value>2024-01-01</value><value>a&amp;b=c #d</value></set-query-parameter>)x");
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  EXPECT_TRUE(r.ctx.request_header_changes.empty());
  const FieldChange* c = change_named(r.ctx.query_changes, "api-version");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->action, FieldChange::Action::Override);
  EXPECT_EQ(c->values, (std::vector<std::string>{"2024-01-01", "a&b=c #d"}));
}

TEST(SetQueryParameter, LaterPoliciesSeeTheChange) {
  auto set = build(
      &make_set_query_parameter,
      R"x(<set-query-parameter name="k" exists-action="skip"><value>new</value></set-query-parameter>)x");
  auto del = build(&make_set_query_parameter,
                   R"x(<set-query-parameter name="gone" exists-action="delete" />)x");
  ASSERT_TRUE(set && del);
  TestRequest r;
  r.ctx.request.query = "k=old&gone=1";
  ASSERT_EQ((*set)->apply(r.ctx), Flow::Continue);
  ASSERT_EQ((*del)->apply(r.ctx), Flow::Continue);
  EXPECT_EQ(r.ctx.query_parameter("k"), "old");  // skip: it existed
  EXPECT_EQ(r.ctx.query_parameter("gone"), std::nullopt);

  TestRequest absent;
  ASSERT_EQ((*set)->apply(absent.ctx), Flow::Continue);
  EXPECT_EQ(absent.ctx.query_parameter("k"), "new");
}

TEST(SetQueryParameter, NameIsRequiredAndNotEmpty) {
  EXPECT_NE(load_error(&make_set_query_parameter,
                       R"x(<set-query-parameter><value>1</value></set-query-parameter>)x")
                .find("missing required attribute 'name'"),
            std::string::npos);
  EXPECT_NE(load_error(&make_set_query_parameter,
                       R"x(<set-query-parameter name=""><value>1</value></set-query-parameter>)x")
                .find("the query parameter name is empty"),
            std::string::npos);
  // Header rules do not apply to query parameters.
  EXPECT_EQ(
      load_error(&make_set_query_parameter,
                 R"x(<set-query-parameter name="Host"><value>1</value></set-query-parameter>)x"),
      "");
}

TEST(SetQueryParameter, ExpressionValuesAreEvaluatedPerRequest) {
  auto policy = build(
      &make_set_query_parameter,
      R"x(<set-query-parameter name="caller"><value>@(context.Request.Headers.GetValueOrDefault("X-Caller", "anonymous"))</value></set-query-parameter>)x");
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest named("GET", {{"X-Caller", "app 1"}});
  ASSERT_EQ((*policy)->apply(named.ctx), Flow::Continue);
  EXPECT_EQ(named.ctx.query_changes.at(0).values, std::vector<std::string>{"app 1"});
  TestRequest anonymous;
  ASSERT_EQ((*policy)->apply(anonymous.ctx), Flow::Continue);
  EXPECT_EQ(anonymous.ctx.query_changes.at(0).values, std::vector<std::string>{"anonymous"});
}

}  // namespace
}  // namespace gh::policy
