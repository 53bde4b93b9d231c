#include "policy/set_variable.h"

#include <gtest/gtest.h>

#include <array>

#include "policy/pipeline.h"
#include "policy/registry.h"
#include "support/test_pki.h"

namespace gh::policy {
namespace {

class SetVariableTest : public ::testing::Test {
 protected:
  SetVariableTest() : clock_(1'750'000'000), ctx_(clock_) {
    ctx_.request.method = "GET";
    ctx_.request.headers = headers_;
  }

  Result<std::unique_ptr<Policy>> make(const std::string& xml) {
    auto doc = parse_policy_document("<policies><inbound>\n" + xml + "\n</inbound></policies>",
                                     "api.xml", {});
    EXPECT_TRUE(doc) << doc.error().message;
    if (!doc) return unexpected(doc.error());
    docs_.push_back(std::make_unique<Element>(std::move(*doc)));
    LoadContext load;
    load.scope = Scope::Api;
    return make_set_variable(docs_.back()->child("inbound")->children.at(0), load);
  }
  std::unique_ptr<Policy> must_make(const std::string& xml) {
    auto p = make(xml);
    EXPECT_TRUE(p) << p.error().message;
    return p ? std::move(*p) : nullptr;
  }
  std::string rejection(const std::string& xml) {
    auto p = make(xml);
    return p ? "" : p.error().message;
  }

  std::array<HeaderField, 1> headers_{{{"X-Tenant", "contoso"}}};
  test::FixedClock clock_;
  RequestContext ctx_;
  std::vector<std::unique_ptr<Element>> docs_;
};

TEST_F(SetVariableTest, IsRegisteredForEverySectionAndScope) {
  const PolicyKind* kind = find_policy_kind("set-variable");
  ASSERT_NE(kind, nullptr);
  EXPECT_EQ(kind->sections, kAnySection);
  EXPECT_EQ(kind->scopes, kAnyScope);
}

TEST_F(SetVariableTest, LiteralIsStoredAsString) {
  auto p = must_make(R"x(<set-variable name="flag" value="true" />)x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->apply(ctx_), Flow::Continue);
  ASSERT_NE(ctx_.variable("flag"), nullptr);
  EXPECT_EQ(std::get<std::string>(*ctx_.variable("flag")), "true");  // APIM: System.String
}

TEST_F(SetVariableTest, ExpressionStoresItsTypedValue) {
  auto b = must_make(
      R"x(<set-variable name="isGet" value="@(context.Request.Method == &quot;GET&quot;)" />)x");
  auto i = must_make(R"x(<set-variable name="n" value="@(40 + 2)" />)x");
  auto s = must_make(
      R"x(<set-variable name="tenant" value="@(context.Request.Headers.GetValueOrDefault(&quot;X-Tenant&quot;, &quot;none&quot;))" />)x");
  auto n = must_make(R"x(<set-variable name="missing" value="@(context.Subscription?.Id)" />)x");
  ASSERT_TRUE(b && i && s && n);
  for (auto* p : {b.get(), i.get(), s.get(), n.get()})
    EXPECT_EQ(p->apply(ctx_), Flow::Continue);
  EXPECT_EQ(std::get<bool>(*ctx_.variable("isGet")), true);
  EXPECT_EQ(std::get<int64_t>(*ctx_.variable("n")), 42);
  EXPECT_EQ(std::get<std::string>(*ctx_.variable("tenant")), "contoso");
  ASSERT_NE(ctx_.variable("missing"), nullptr);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*ctx_.variable("missing")));
}

TEST_F(SetVariableTest, LaterSetReplacesAndExpressionsSeeEarlierValues) {
  auto first = must_make(R"x(<set-variable name="count" value="@(1)" />)x");
  auto again = must_make(
      R"x(<set-variable name="count" value="@(context.Variables.GetValueOrDefault&lt;int&gt;(&quot;count&quot;) + 1)" />)x");
  ASSERT_TRUE(first && again);
  EXPECT_EQ(first->apply(ctx_), Flow::Continue);
  EXPECT_EQ(again->apply(ctx_), Flow::Continue);
  EXPECT_EQ(again->apply(ctx_), Flow::Continue);
  EXPECT_EQ(std::get<int64_t>(*ctx_.variable("count")), 3);
}

TEST_F(SetVariableTest, EvaluationFailureIsAnExpressionError) {
  ctx_.set_variable("s", std::string("text"));
  auto p = must_make(
      R"x(<set-variable name="b" value="@(context.Variables.GetValueOrDefault&lt;bool&gt;(&quot;s&quot;))" />)x");
  ASSERT_TRUE(p);
  p->set_id("sv1");
  EXPECT_EQ(p->apply(ctx_), Flow::Error);
  ASSERT_TRUE(ctx_.last_error);
  EXPECT_EQ(ctx_.last_error->source, "set-variable");
  EXPECT_EQ(ctx_.last_error->reason, "ExpressionValueEvaluationFailure");
  EXPECT_NE(ctx_.last_error->message.find("invalid cast"), std::string::npos)
      << ctx_.last_error->message;
  EXPECT_EQ(ctx_.last_error->policy_id, "sv1");
  ASSERT_TRUE(ctx_.response);
  EXPECT_EQ(ctx_.response->status, 500);
  EXPECT_EQ(ctx_.response->body, "{ \"statusCode\": 500, \"message\": \"Internal server error\" }");
  EXPECT_EQ(ctx_.variable("b"), nullptr);
}

TEST_F(SetVariableTest, LoadErrors) {
  EXPECT_EQ(rejection(R"x(<set-variable value="x" />)x"),
            "api.xml:2: <set-variable>: missing required attribute 'name'");
  EXPECT_EQ(rejection(R"x(<set-variable name="x" />)x"),
            "api.xml:2: <set-variable>: missing required attribute 'value'");
  EXPECT_EQ(rejection(R"x(<set-variable name="@(&quot;x&quot;)" value="v" />)x"),
            "api.xml:2: <set-variable>: attribute 'name' does not accept policy expressions");
  EXPECT_EQ(rejection(R"x(<set-variable name="" value="v" />)x"),
            "api.xml:2: <set-variable>: attribute 'name' must not be empty");
  EXPECT_EQ(rejection(R"x(<set-variable name="x" value="@(context.User.Id)" />)x"),
            "api.xml:2: <set-variable>: attribute 'value': column 11: 'context.User' is not "
            "supported");
  EXPECT_NE(rejection(R"x(<set-variable name="x" value="@(context.Subscription.PrimaryKey)" />)x")
                .find("is refused: subscription keys are secrets"),
            std::string::npos);
  EXPECT_EQ(rejection(R"x(<set-variable name="x" value="v" other="1" />)x"),
            "api.xml:2: <set-variable>: unknown attribute 'other'");
  EXPECT_EQ(rejection(R"x(<set-variable name="x" value="v"><value/></set-variable>)x"),
            "api.xml:2: <set-variable>: <set-variable> takes no child elements");
  EXPECT_EQ(rejection(R"x(<set-variable id="s1" name="x" value="v" />)x"), "");
}

// Global sets a variable, the API's <base/> brings it in, then the API's choose reads it.
TEST_F(SetVariableTest, ComposesAcrossScopesWithBase) {
  auto global = parse_policy_document(R"x(<policies><inbound>
      <set-variable name="tier" value="@(context.Request.Headers.GetValueOrDefault(&quot;X-Tenant&quot;, &quot;&quot;) == &quot;contoso&quot; ? &quot;gold&quot; : &quot;basic&quot;)" />
    </inbound><backend /></policies>)x",
                                      "global.xml", {});
  auto api = parse_policy_document(R"x(<policies><inbound>
      <base />
      <choose><when condition="@((string)context.Variables[&quot;tier&quot;] == &quot;gold&quot;)">
        <set-variable name="limit" value="@(1000)" />
      </when><otherwise><set-variable name="limit" value="@(10)" /></otherwise></choose>
    </inbound></policies>)x",
                                   "api.xml", {});
  ASSERT_TRUE(global) << global.error().message;
  ASSERT_TRUE(api) << api.error().message;
  std::array<ScopeDocument, 2> scopes{{{Scope::Global, &*global}, {Scope::Api, &*api}}};
  LoadContext load;
  auto pipeline = Pipeline::compile(scopes, load);
  ASSERT_TRUE(pipeline) << pipeline.error().message;
  size_t pc = 0;
  EXPECT_EQ((*pipeline)->section(Section::Inbound).run(ctx_, pc), Flow::Continue);
  EXPECT_EQ(std::get<std::string>(*ctx_.variable("tier")), "gold");
  EXPECT_EQ(std::get<int64_t>(*ctx_.variable("limit")), 1000);

  test::FixedClock clock(1);
  RequestContext other(clock);
  pc = 0;
  EXPECT_EQ((*pipeline)->section(Section::Inbound).run(other, pc), Flow::Continue);
  EXPECT_EQ(std::get<std::string>(*other.variable("tier")), "basic");
  EXPECT_EQ(std::get<int64_t>(*other.variable("limit")), 10);
}

}  // namespace
}  // namespace gh::policy
