#include "policy/set_header.h"

#include <gtest/gtest.h>

#include "policy/field_setter.h"
#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using xform_test::build;
using xform_test::change_named;
using xform_test::load_error;
using xform_test::TestRequest;

using Headers = std::vector<std::pair<std::string, std::string>>;

TEST(SetHeader, InboundRecordsARequestChangeWithAllValues) {
  auto policy = build(&make_set_header, R"x(<set-header name="X-Tenant" exists-action="append">)x"
                                        R"x(<value>a</value><value>b c</value></set-header>)x");
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  EXPECT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  EXPECT_TRUE(r.ctx.response_header_changes.empty());
  const FieldChange* c = change_named(r.ctx.request_header_changes, "X-Tenant");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->action, FieldChange::Action::Append);
  EXPECT_EQ(c->values, (std::vector<std::string>{"a", "b c"}));
}

TEST(SetHeader, SectionDecidesRequestOrResponse) {
  for (Section s : {Section::Inbound, Section::Backend, Section::Outbound, Section::OnError}) {
    auto policy =
        build(&make_set_header, R"x(<set-header name="X-A"><value>1</value></set-header>)x", s);
    ASSERT_TRUE(policy) << policy.error().message;
    TestRequest r;
    ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
    const bool response = s == Section::Outbound || s == Section::OnError;
    EXPECT_EQ(r.ctx.response_header_changes.size(), response ? 1u : 0u) << to_string(s);
    EXPECT_EQ(r.ctx.request_header_changes.size(), response ? 0u : 1u) << to_string(s);
  }
}

TEST(SetHeader, ExistsActionDefaultsToOverrideAndTakesTheFourActions) {
  const std::pair<const char*, FieldChange::Action> cases[] = {
      {"", FieldChange::Action::Override},
      {R"x( exists-action="override")x", FieldChange::Action::Override},
      {R"x( exists-action="skip")x", FieldChange::Action::Skip},
      {R"x( exists-action="append")x", FieldChange::Action::Append},
      {R"x( exists-action="delete")x", FieldChange::Action::Delete},
  };
  for (const auto& [attr, action] : cases) {
    auto policy = build(&make_set_header, std::string(R"x(<set-header name="X-A")x") + attr +
                                              "><value>v</value></set-header>");
    ASSERT_TRUE(policy) << policy.error().message;
    TestRequest r;
    ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
    ASSERT_EQ(r.ctx.request_header_changes.size(), 1u);
    EXPECT_EQ(r.ctx.request_header_changes[0].action, action) << attr;
  }
  EXPECT_NE(load_error(&make_set_header, R"x(<set-header name="X-A" exists-action="Override"/>)x")
                .find("exists-action must be override, skip, append or delete"),
            std::string::npos);
  EXPECT_NE(load_error(&make_set_header,
                       R"x(<set-header name="X-A" exists-action="@(&quot;skip&quot;)"/>)x")
                .find("exists-action: policy expressions are not supported"),
            std::string::npos);
}

TEST(SetHeader, DeleteDropsValuesAndNoValueSetsAnEmptyOne) {
  TestRequest r;
  auto del = build(
      &make_set_header,
      R"x(<set-header name="X-Powered-By" exists-action="delete"><value>x</value></set-header>)x");
  ASSERT_TRUE(del) << del.error().message;
  ASSERT_EQ((*del)->apply(r.ctx), Flow::Continue);
  auto empty = build(&make_set_header, R"x(<set-header name="X-Empty" />)x");
  ASSERT_TRUE(empty) << empty.error().message;
  ASSERT_EQ((*empty)->apply(r.ctx), Flow::Continue);
  ASSERT_EQ(r.ctx.request_header_changes.size(), 2u);
  EXPECT_TRUE(r.ctx.request_header_changes[0].values.empty());
  EXPECT_EQ(r.ctx.request_header_changes[1].values, std::vector<std::string>{""});
}

TEST(SetHeader, ValuesLoseXmlIndentation) {
  auto policy = build(&make_set_header,
                      "<set-header name=\"X-A\">\n  <value>\n    v 1\n  </value>\n</set-header>");
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  EXPECT_EQ(r.ctx.request_header_changes.at(0).values, std::vector<std::string>{"v 1"});
}

TEST(SetHeader, RefusesTheHeadersTheGatewayOwnsInAnyCase) {
  for (const char* name :
       {"Connection", "content-length", "Keep-Alive", "TRANSFER-ENCODING", "Host"}) {
    for (const char* action : {"override", "delete"}) {
      const std::string error = load_error(
          &make_set_header, std::string("<set-header name=\"") + name + "\" exists-action=\"" +
                                action + "\"><value>x</value></set-header>");
      EXPECT_NE(error.find("test.xml:1: <set-header>: name '" + std::string(name) + "'"),
                std::string::npos)
          << error;
      EXPECT_NE(error.find("managed by the gateway"), std::string::npos) << error;
    }
  }
  EXPECT_EQ(load_error(&make_set_header,
                       R"x(<set-header name="Content-Type"><value>x</value></set-header>)x"),
            "");
}

TEST(SetHeader, RefusesBadNamesAndLiteralValuesThatCouldSplitTheHead) {
  EXPECT_NE(
      load_error(&make_set_header, R"x(<set-header name="X Bad"><value>x</value></set-header>)x")
          .find("not a valid HTTP header name"),
      std::string::npos);
  EXPECT_NE(load_error(&make_set_header, R"x(<set-header name=""><value>x</value></set-header>)x")
                .find("not a valid HTTP header name"),
            std::string::npos);
  const std::string crlf =
      load_error(&make_set_header,
                 "<set-header name=\"X-A\"><value>a&#13;&#10;Injected: 1</value></set-header>");
  EXPECT_NE(crlf.find("invalid CRLF characters"), std::string::npos) << crlf;
  const std::string nul =
      load_error(&make_set_header, "<set-header name=\"X-A\"><value>a&#1;b</value></set-header>");
  EXPECT_NE(nul.find("invalid control characters"), std::string::npos) << nul;
  EXPECT_EQ(
      load_error(&make_set_header, "<set-header name=\"X-A\"><value>a&#9;b</value></set-header>"),
      "");
}

TEST(SetHeader, UnknownAttributesAndChildrenFailTheLoadWithTheirLines) {
  const std::string error = load_error(&make_set_header,
                                       "<set-header name=\"X-A\" mode=\"x\">\n<val>1</val>\n"
                                       "<value><b>1</b></value></set-header>");
  EXPECT_NE(error.find("test.xml:1: <set-header>: unknown attribute 'mode'"), std::string::npos)
      << error;
  EXPECT_NE(error.find("unknown child element <val>"), std::string::npos) << error;
  EXPECT_NE(error.find("test.xml:3: <value>: <value> holds text only"), std::string::npos) << error;
  EXPECT_NE(load_error(&make_set_header, "<set-header><value>1</value></set-header>")
                .find("missing required attribute 'name'"),
            std::string::npos);
}

TEST(SetHeader, NamedValuesAreLiterals) {
  NamedValues nv{{"tenant", {"contoso", false}}};
  LoadContext load;
  auto policy = make_set_header(
      xform_test::element(R"x(<set-header name="X-Tenant"><value>{{tenant}}</value></set-header>)x",
                          nv),
      load);
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  EXPECT_EQ(r.ctx.request_header_changes.at(0).values, std::vector<std::string>{"contoso"});
}

TEST(SetHeader, AnExpressionValueWithCrLfFailsTheRequestInsteadOfReachingTheWire) {
  auto policy = build(
      &make_set_header,
      R"x(<set-header name="X-Copy"><value>@(context.Request.Headers.GetValueOrDefault("X-In", ""))</value></set-header>)x");
  ASSERT_TRUE(policy) << policy.error().message;

  TestRequest good("GET", {{"X-In", "plain"}});
  ASSERT_EQ((*policy)->apply(good.ctx), Flow::Continue);
  EXPECT_EQ(good.ctx.request_header_changes.at(0).values, std::vector<std::string>{"plain"});

  TestRequest bad("GET", {{"X-In", "a\r\nInjected: yes"}});
  ASSERT_EQ((*policy)->apply(bad.ctx), Flow::Error);
  EXPECT_TRUE(bad.ctx.request_header_changes.empty());
  ASSERT_TRUE(bad.ctx.last_error);
  EXPECT_EQ(bad.ctx.last_error->source, "set-header");
  EXPECT_EQ(bad.ctx.last_error->reason, "ExpressionValueEvaluationFailure");
  EXPECT_EQ(bad.ctx.last_error->message,
            "Expression value is invalid. Specified value has invalid CRLF characters.");
  ASSERT_TRUE(bad.ctx.response);
  EXPECT_EQ(bad.ctx.response->status, 500);
  EXPECT_EQ(bad.ctx.response->body,
            R"x({ "statusCode": 500, "message": "Internal server error" })x");
}

TEST(SetHeader, AnExpressionNameIsCheckedPerRequest) {
  auto policy = build(
      &make_set_header,
      R"x(<set-header name="@(context.Request.Headers.GetValueOrDefault(&quot;X-Name&quot;, &quot;X-Default&quot;))"><value>1</value></set-header>)x");
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest fine;
  ASSERT_EQ((*policy)->apply(fine.ctx), Flow::Continue);
  EXPECT_NE(change_named(fine.ctx.request_header_changes, "X-Default"), nullptr);
  TestRequest owned("GET", {{"X-Name", "Content-Length"}});
  EXPECT_EQ((*policy)->apply(owned.ctx), Flow::Error);
  EXPECT_TRUE(owned.ctx.request_header_changes.empty());
}

TEST(SetHeader, RepeatedHeadersAreTheOnesApimSendsAsSeparateFields) {
  for (const char* name : {"User-Agent", "www-authenticate", "Proxy-Authenticate", "Cookie",
                           "SET-COOKIE", "Warning", "Date", "Expires", "If-Modified-Since",
                           "If-Unmodified-Since", "Last-Modified", "Retry-After"})
    EXPECT_TRUE(is_repeated_header(name)) << name;
  for (const char* name : {"Accept", "X-Forwarded-For", "Cache-Control", "Set-Cookie2"})
    EXPECT_FALSE(is_repeated_header(name)) << name;
}

TEST(SetHeader, ApplyingChangesToAWrittenHeadList) {
  Headers h{{"X-A", "1"}, {"Set-Cookie", "a=1"}};
  apply_header_change(h, FieldChange{"x-a", {"2", "3"}, FieldChange::Action::Append});
  apply_header_change(h, FieldChange{"Set-Cookie", {"b=2", "c=3"}, FieldChange::Action::Append});
  EXPECT_EQ(
      h,
      (Headers{
          {"X-A", "1,2,3"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}, {"Set-Cookie", "c=3"}}));

  apply_header_change(h, FieldChange{"X-A", {"9"}, FieldChange::Action::Skip});
  apply_header_change(h, FieldChange{"X-B", {"7", "8"}, FieldChange::Action::Skip});
  apply_header_change(h, FieldChange{"set-cookie", {"z=1"}, FieldChange::Action::Override});
  EXPECT_EQ(h, (Headers{{"X-A", "1,2,3"}, {"X-B", "7,8"}, {"set-cookie", "z=1"}}));

  apply_header_change(h, FieldChange{"x-a", {}, FieldChange::Action::Delete});
  EXPECT_EQ(h, (Headers{{"X-B", "7,8"}, {"set-cookie", "z=1"}}));
}

}  // namespace
}  // namespace gh::policy
