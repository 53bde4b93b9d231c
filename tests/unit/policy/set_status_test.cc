#include "policy/set_status.h"

#include <gtest/gtest.h>

#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using xform_test::build;
using xform_test::load_error;
using xform_test::TestRequest;

TEST(SetStatus, WithoutAResponseItIsRecordedForTheBackendsResponse) {
  auto policy =
      build(&make_set_status, R"x(<set-status code="202" reason="Queued" />)x", Section::Outbound);
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  EXPECT_FALSE(r.ctx.response);
  ASSERT_TRUE(r.ctx.response_status_override);
  EXPECT_EQ(r.ctx.response_status_override->first, 202);
  EXPECT_EQ(r.ctx.response_status_override->second, "Queued");
}

TEST(SetStatus, InOnErrorItChangesTheGatewaysResponse) {
  auto policy = build(&make_set_status, R"x(<set-status code="503" />)x", Section::OnError);
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  r.ctx.fail("check-header", "HeaderNotFound",
             "Header X was not found in the request. Access denied.", 401);
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  ASSERT_TRUE(r.ctx.response);
  EXPECT_EQ(r.ctx.response->status, 503);
  EXPECT_EQ(r.ctx.response->reason, "");  // the standard phrase
  EXPECT_FALSE(r.ctx.response_status_override);
}

TEST(SetStatus, CodeIsRequiredAndAFinalStatus) {
  EXPECT_NE(load_error(&make_set_status, R"x(<set-status reason="x" />)x")
                .find("missing required attribute 'code'"),
            std::string::npos);
  for (const char* code : {"99", "199", "600", "2OO", "-200", ""})
    EXPECT_NE(load_error(&make_set_status, std::string("<set-status code=\"") + code + "\" />")
                  .find("code must be a status code from 200 to 599"),
              std::string::npos)
        << code;
  for (const char* code : {"200", "599", "418"})
    EXPECT_EQ(load_error(&make_set_status, std::string("<set-status code=\"") + code + "\" />"), "")
        << code;
}

TEST(SetStatus, ReasonMustNotSplitTheStatusLine) {
  EXPECT_NE(load_error(&make_set_status, "<set-status code=\"200\" reason=\"OK&#13;&#10;X: 1\" />")
                .find("invalid CRLF characters"),
            std::string::npos);
}

TEST(SetStatus, ExpressionCodeOutsideTheRangeFailsTheRequest) {
  auto policy = build(
      &make_set_status,
      R"x(<set-status code="@(context.Variables.GetValueOrDefault&lt;int&gt;(&quot;code&quot;, 201))" reason="@(context.Variables.GetValueOrDefault&lt;string&gt;(&quot;why&quot;, &quot;&quot;))" />)x");
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  EXPECT_EQ(r.ctx.response_status_override->first, 201);

  TestRequest chosen;
  chosen.ctx.set_variable("code", Value(int64_t{429}));
  chosen.ctx.set_variable("why", Value(std::string("Slow down")));
  ASSERT_EQ((*policy)->apply(chosen.ctx), Flow::Continue);
  EXPECT_EQ(chosen.ctx.response_status_override,
            (std::pair<uint16_t, std::string>{429, "Slow down"}));

  TestRequest far;
  far.ctx.set_variable("code", Value(int64_t{700}));
  EXPECT_EQ((*policy)->apply(far.ctx), Flow::Error);
  EXPECT_EQ(far.ctx.last_error->reason, "ExpressionValueEvaluationFailure");
  EXPECT_FALSE(far.ctx.response_status_override);

  TestRequest split;
  split.ctx.set_variable("why", Value(std::string("OK\r\nX-Injected: 1")));
  EXPECT_EQ((*policy)->apply(split.ctx), Flow::Error);
}

}  // namespace
}  // namespace gh::policy
