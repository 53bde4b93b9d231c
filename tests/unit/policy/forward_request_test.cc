#include "policy/forward_request.h"

#include <gtest/gtest.h>

#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using std::chrono::milliseconds;
using xform_test::build;
using xform_test::load_error;
using xform_test::TestRequest;

milliseconds timeout_of(const char* xml) {
  auto policy = build(&make_forward_request, xml, Section::Backend);
  EXPECT_TRUE(policy) << policy.error().message;
  if (!policy) return milliseconds(-1);
  TestRequest r;
  r.ctx.forward = false;  // as the runner leaves it before the backend section
  EXPECT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  EXPECT_TRUE(r.ctx.forward);
  return r.ctx.backend_timeout.value_or(milliseconds(-1));
}

TEST(ForwardRequest, TurnsForwardingOnWithItsTimeout) {
  EXPECT_EQ(timeout_of("<forward-request />"), milliseconds(300'000));
  EXPECT_EQ(timeout_of(R"x(<forward-request timeout="20" />)x"), milliseconds(20'000));
  EXPECT_EQ(timeout_of(R"x(<forward-request timeout-ms="1500" />)x"), milliseconds(1'500));
  EXPECT_EQ(
      timeout_of(
          R"x(<forward-request timeout="@(context.Variables.GetValueOrDefault&lt;int&gt;(&quot;t&quot;, 7))" />)x"),
      milliseconds(7'000));
}

TEST(ForwardRequest, AcceptsAndIgnoresBufferingAndContinueTimeout) {
  EXPECT_EQ(timeout_of(R"x(<forward-request http-version="1" follow-redirects="false" )x"
                       R"x(fail-on-error-status-code="false" buffer-request-body="true" )x"
                       R"x(buffer-response="false" continue-timeout="5" timeout="9" />)x"),
            milliseconds(9'000));
}

TEST(ForwardRequest, RefusesWhatTheGatewayDoesNotDo) {
  const std::pair<const char*, const char*> cases[] = {
      {R"x(<forward-request http-version="2" />)x", "http-version=\"2\" is not supported"},
      {R"x(<forward-request http-version="2or1" />)x", "http-version=\"2or1\" is not supported"},
      {R"x(<forward-request follow-redirects="true" />)x",
       "follow-redirects=\"true\" is not supported"},
      {R"x(<forward-request fail-on-error-status-code="true" />)x",
       "fail-on-error-status-code=\"true\" is not supported"},
      {R"x(<forward-request timeout="5" timeout-ms="5000" />)x", "mutually exclusive"},
      {R"x(<forward-request timeout="0" />)x", "timeout must be an integer from 1 to 3600"},
      {R"x(<forward-request timeout="3601" />)x", "timeout must be an integer from 1 to 3600"},
      {R"x(<forward-request timeout-ms="x" />)x",
       "timeout-ms must be an integer from 1 to 3600000"},
      {R"x(<forward-request retry="3" />)x", "unknown attribute 'retry'"},
  };
  for (const auto& [xml, expected] : cases) {
    const std::string error = load_error(&make_forward_request, xml, Section::Backend);
    EXPECT_NE(error.find(expected), std::string::npos) << xml << "\n-> " << error;
  }
}

TEST(ForwardRequest, AnExpressionTimeoutOutOfRangeFailsTheRequest) {
  auto policy = build(
      &make_forward_request,
      R"x(<forward-request timeout-ms="@(context.Variables.GetValueOrDefault&lt;int&gt;(&quot;t&quot;, 100))" />)x",
      Section::Backend);
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  r.ctx.forward = false;
  r.ctx.set_variable("t", Value(int64_t{0}));
  EXPECT_EQ((*policy)->apply(r.ctx), Flow::Error);
  EXPECT_FALSE(r.ctx.forward);
  EXPECT_EQ(r.ctx.last_error->source, "forward-request");
}

}  // namespace
}  // namespace gh::policy
