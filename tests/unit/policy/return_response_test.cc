#include "policy/return_response.h"

#include <gtest/gtest.h>

#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using xform_test::build;
using xform_test::header_of;
using xform_test::load_error;
using xform_test::TestRequest;

TEST(ReturnResponse, EmptyElementAnswers200WithNothing) {
  auto policy = build(&make_return_response, "<return-response />");
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Return);
  ASSERT_TRUE(r.ctx.response);
  EXPECT_EQ(r.ctx.response->status, 200);
  EXPECT_EQ(r.ctx.response->reason, "");
  EXPECT_TRUE(r.ctx.response->headers.empty());
  EXPECT_EQ(r.ctx.response->body, "");
}

TEST(ReturnResponse, TheDocumentedExample) {
  auto policy = build(&make_return_response, R"x(<return-response>
  <set-status code="401" reason="Unauthorized"/>
  <set-header name="WWW-Authenticate" exists-action="override"><value>Bearer error="invalid_token"</value></set-header>
  <set-header name="Content-Type"><value>application/json</value></set-header>
  <set-body>{"error":"denied"}</set-body>
</return-response>)x",
                      Section::OnError);
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  r.ctx.fail("validate-jwt", "TokenNotPresent", "JWT not present.", 401);
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Return);
  const GatewayResponse& response = *r.ctx.response;
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.reason, "Unauthorized");
  EXPECT_EQ(response.headers.size(), 2u);  // the failure's own Content-Type is gone
  EXPECT_EQ(header_of(response, "WWW-Authenticate"), R"x(Bearer error="invalid_token")x");
  EXPECT_EQ(header_of(response, "Content-Type"), "application/json");
  EXPECT_EQ(response.body, R"x({"error":"denied"})x");
}

TEST(ReturnResponse, SeveralValuesAreJoinedExceptForRepeatedHeaders) {
  auto policy =
      build(&make_return_response,
            "<return-response>"
            "<set-header "
            "name=\"Cache-Control\"><value>no-store</value><value>private</value></set-header>"
            "<set-header name=\"Set-Cookie\"><value>a=1</value><value>b=2</value></set-header>"
            "<set-header name=\"X-Gone\"><value>1</value></set-header>"
            "<set-header name=\"x-gone\" exists-action=\"delete\" />"
            "</return-response>");
  ASSERT_TRUE(policy) << policy.error().message;
  TestRequest r;
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Return);
  using Headers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(r.ctx.response->headers, (Headers{{"Cache-Control", "no-store,private"},
                                              {"Set-Cookie", "a=1"},
                                              {"Set-Cookie", "b=2"}}));
}

TEST(ReturnResponse, BodyIsKeptAsWrittenOrEvaluated) {
  auto literal =
      build(&make_return_response,
            "<return-response><set-body>\n  line 1\n  line 2\n</set-body></return-response>");
  ASSERT_TRUE(literal) << literal.error().message;
  TestRequest r;
  ASSERT_EQ((*literal)->apply(r.ctx), Flow::Return);
  EXPECT_EQ(r.ctx.response->body, "\n  line 1\n  line 2\n");

  auto expr =
      build(&make_return_response,
            "<return-response><set-status "
            "code=\"@(context.Variables.GetValueOrDefault&lt;int&gt;(&quot;code&quot;, 400))\" />"
            "<set-body>\n  @(context.Request.Headers.GetValueOrDefault(\"X-Msg\", "
            "\"none\"))\n</set-body></return-response>");
  ASSERT_TRUE(expr) << expr.error().message;
  TestRequest e("GET", {{"X-Msg", "hello"}});
  ASSERT_EQ((*expr)->apply(e.ctx), Flow::Return);
  EXPECT_EQ(e.ctx.response->status, 400);
  EXPECT_EQ(e.ctx.response->body, "hello");

  TestRequest failing;
  failing.ctx.set_variable("code", Value(int64_t{99}));
  EXPECT_EQ((*expr)->apply(failing.ctx), Flow::Error);
  EXPECT_EQ(failing.ctx.last_error->source, "return-response");
  EXPECT_EQ(failing.ctx.response->status, 500);
}

TEST(ReturnResponse, UnsupportedPartsAreRefusedWithTheReason) {
  const std::string variable =
      load_error(&make_return_response, R"x(<return-response response-variable-name="r" />)x");
  EXPECT_NE(variable.find("test.xml:1: <return-response>: response-variable-name is not supported"),
            std::string::npos)
      << variable;
  EXPECT_NE(
      load_error(&make_return_response,
                 R"x(<return-response><set-body template="liquid">x</set-body></return-response>)x")
          .find("template is not supported"),
      std::string::npos);
  EXPECT_NE(load_error(&make_return_response,
                       "<return-response><set-method>GET</set-method></return-response>")
                .find("unsupported child element <set-method>"),
            std::string::npos);
  EXPECT_NE(
      load_error(
          &make_return_response,
          "<return-response><set-status code=\"200\"/><set-status code=\"201\"/></return-response>")
          .find("at most one <set-status>"),
      std::string::npos);
  EXPECT_NE(
      load_error(&make_return_response,
                 "<return-response><set-body>a</set-body><set-body>b</set-body></return-response>")
          .find("at most one <set-body>"),
      std::string::npos);
}

TEST(ReturnResponse, ChildrensProblemsKeepTheirOwnLines) {
  const std::string error =
      load_error(&make_return_response,
                 "<return-response>\n"
                 "<set-status code=\"700\"/>\n"
                 "<set-header name=\"Content-Length\"><value>1</value></set-header>\n"
                 "</return-response>");
  EXPECT_NE(error.find("test.xml:2: <set-status>: code must be"), std::string::npos) << error;
  EXPECT_NE(error.find("test.xml:3: <set-header>: name 'Content-Length'"), std::string::npos)
      << error;
  EXPECT_EQ(error.find("<return-response>: test.xml"), std::string::npos) << error;
}

}  // namespace
}  // namespace gh::policy
