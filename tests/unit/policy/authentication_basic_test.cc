#include "policy/authentication_basic.h"

#include <gtest/gtest.h>

#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using xform_test::build;
using xform_test::change_named;
using xform_test::load_error;
using xform_test::TestRequest;

TEST(AuthenticationBasic, SetsTheRfc7617Header) {
  // RFC 7617 §2's example credentials.
  auto policy = build(&make_authentication_basic,
                      R"x(<authentication-basic username="Aladdin" password="open sesame" />)x");
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r("GET", {{"Authorization", "Bearer client-token"}});
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  const FieldChange* c = change_named(r.ctx.request_header_changes, "Authorization");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->action, FieldChange::Action::Override);
  EXPECT_EQ(c->values, std::vector<std::string>{"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="});
  EXPECT_EQ(r.ctx.header("Authorization"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(AuthenticationBasic, ExpressionsAreEvaluatedPerRequest) {
  auto policy = build(
      &make_authentication_basic,
      R"x(<authentication-basic username="@(context.Request.Headers.GetValueOrDefault(&quot;X-User&quot;, &quot;&quot;))" password="p" />)x");
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r("GET", {{"X-User", "Aladdin"}});
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  EXPECT_EQ(r.ctx.request_header_changes.at(0).values,
            std::vector<std::string>{"Basic QWxhZGRpbjpw"});  // "Aladdin:p"
}

TEST(AuthenticationBasic, BothAttributesAreRequiredAndThePasswordIsNeverEchoed) {
  EXPECT_NE(load_error(&make_authentication_basic, R"x(<authentication-basic username="u" />)x")
                .find("missing required attribute 'password'"),
            std::string::npos);
  EXPECT_NE(load_error(&make_authentication_basic, R"x(<authentication-basic password="p" />)x")
                .find("missing required attribute 'username'"),
            std::string::npos);
  NamedValues nv{{"backend-password", {"@(hunter2-secret", true}}};
  LoadContext load;
  auto bad = make_authentication_basic(
      xform_test::element(
          R"x(<authentication-basic username="u" password="{{backend-password}}" />)x", nv),
      load);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("password:"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace gh::policy
