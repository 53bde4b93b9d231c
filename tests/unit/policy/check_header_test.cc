#include "policy/check_header.h"

#include <gtest/gtest.h>

#include <array>

#include "policy/pipeline.h"
#include "policy/registry.h"
#include "support/test_pki.h"

namespace gh::policy {
namespace {

class CheckHeaderTest : public ::testing::Test {
 protected:
  CheckHeaderTest() : clock_(1'750'000'000), ctx_(clock_) { ctx_.request.headers = headers_; }

  Result<std::unique_ptr<Policy>> make(const std::string& xml) {
    auto doc = parse_policy_document("<policies><inbound>\n" + xml + "\n</inbound></policies>",
                                     "api.xml", {});
    EXPECT_TRUE(doc) << doc.error().message;
    if (!doc) return unexpected(doc.error());
    docs_.push_back(std::make_unique<Element>(std::move(*doc)));
    LoadContext load;
    load.scope = Scope::Api;
    return make_check_header(docs_.back()->child("inbound")->children.at(0), load);
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
  /// Runs a check-header with `attrs` (name and the rest) and `values` on a fresh context
  /// holding `headers`; returns the Flow.
  Flow run(std::span<const HeaderField> headers, const std::string& xml) {
    auto p = must_make(xml);
    if (!p) return Flow::Await;
    last_ = std::make_unique<RequestContext>(clock_);
    last_->request.headers = headers;
    return p->apply(*last_);
  }

  std::array<HeaderField, 4> headers_{{{"Authorization", "f6dc69a089844cf6b2019bae6d36fac8"},
                                       {"X-Roles", "reader, Writer"},
                                       {"x-roles", "admin"},
                                       {"X-Empty", ""}}};
  test::FixedClock clock_;
  RequestContext ctx_;
  std::unique_ptr<RequestContext> last_;
  std::vector<std::unique_ptr<Element>> docs_;
};

constexpr char kPolicy[] =
    R"x(<check-header name="Authorization" failed-check-httpcode="401" failed-check-error-message="Not authorized" ignore-case="false">
  <value>f6dc69a089844cf6b2019bae6d36fac8</value>
</check-header>)x";

TEST_F(CheckHeaderTest, IsRegisteredForInboundAtEveryScope) {
  const PolicyKind* kind = find_policy_kind("check-header");
  ASSERT_NE(kind, nullptr);
  EXPECT_EQ(kind->sections, kInbound);
  EXPECT_EQ(kind->scopes, kAnyScope);
}

TEST_F(CheckHeaderTest, AllowedValuePasses) {
  auto p = must_make(kPolicy);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->apply(ctx_), Flow::Continue);
  EXPECT_FALSE(ctx_.response);
  EXPECT_FALSE(ctx_.last_error);
}

TEST_F(CheckHeaderTest, MissingHeaderIsHeaderNotFound) {
  std::array<HeaderField, 1> none{{{"Accept", "*/*"}}};
  EXPECT_EQ(run(none, kPolicy), Flow::Error);
  ASSERT_TRUE(last_->last_error);
  EXPECT_EQ(last_->last_error->source, "check-header");
  EXPECT_EQ(last_->last_error->reason, "HeaderNotFound");
  EXPECT_EQ(last_->last_error->message,
            "Header Authorization was not found in the request. Access denied.");
  ASSERT_TRUE(last_->response);
  EXPECT_EQ(last_->response->status, 401);
  EXPECT_EQ(last_->response->body, "{ \"statusCode\": 401, \"message\": \"Not authorized\" }");
}

TEST_F(CheckHeaderTest, OtherValueIsHeaderValueNotAllowedWithoutEchoingIt) {
  std::array<HeaderField, 1> wrong{{{"authorization", "guessed-secret"}}};
  EXPECT_EQ(run(wrong, kPolicy), Flow::Error);
  ASSERT_TRUE(last_->last_error);
  EXPECT_EQ(last_->last_error->reason, "HeaderValueNotAllowed");
  EXPECT_EQ(last_->last_error->message,
            "Header Authorization value of *** is not allowed. Access denied.");
  EXPECT_EQ(last_->last_error->message.find("guessed-secret"), std::string::npos);
  EXPECT_EQ(last_->response->status, 401);
  EXPECT_EQ(last_->response->body, "{ \"statusCode\": 401, \"message\": \"Not authorized\" }");
}

TEST_F(CheckHeaderTest, IgnoreCase) {
  std::array<HeaderField, 1> upper{{{"Authorization", "F6DC69A089844CF6B2019BAE6D36FAC8"}}};
  EXPECT_EQ(run(upper, kPolicy), Flow::Error);
  std::string folded = kPolicy;
  folded.replace(folded.find("ignore-case=\"false\""), 19, "ignore-case=\"True\"");
  EXPECT_EQ(run(upper, folded), Flow::Continue);
}

TEST_F(CheckHeaderTest, PresenceCheckWithoutValues) {
  const std::string policy =
      R"x(<check-header name="X-Empty" failed-check-httpcode="403" failed-check-error-message="Missing" ignore-case="true" />)x";
  EXPECT_EQ(run(headers_, policy), Flow::Continue);  // present, even empty
  std::array<HeaderField, 0> none{};
  EXPECT_EQ(run(none, policy), Flow::Error);
  EXPECT_EQ(last_->response->status, 403);
  EXPECT_EQ(last_->response->body, "{ \"statusCode\": 403, \"message\": \"Missing\" }");
}

TEST_F(CheckHeaderTest, MultiValuedHeaderMatchesAnyElementOrTheWhole) {
  auto policy = [](const std::string& value) {
    return R"x(<check-header name="x-roles" failed-check-httpcode="403" failed-check-error-message="No" ignore-case="false"><value>)x" +
           value + "</value></check-header>";
  };
  // X-Roles arrives as "reader, Writer" and "admin": the value is "reader, Writer,admin".
  EXPECT_EQ(run(headers_, policy("reader")), Flow::Continue);
  EXPECT_EQ(run(headers_, policy("Writer")), Flow::Continue);
  EXPECT_EQ(run(headers_, policy("admin")), Flow::Continue);
  EXPECT_EQ(run(headers_, policy("reader, Writer,admin")), Flow::Continue);
  EXPECT_EQ(run(headers_, policy("writer")), Flow::Error);
  EXPECT_EQ(run(headers_, policy("reader, Writer")), Flow::Error);  // not the whole value
  EXPECT_EQ(run(headers_, policy("read")), Flow::Error);
  EXPECT_EQ(run(headers_, policy("")), Flow::Error);
}

TEST_F(CheckHeaderTest, AnyOfSeveralValues) {
  const std::string policy =
      R"x(<check-header name="Authorization" failed-check-httpcode="401" failed-check-error-message="No" ignore-case="false">
    <value>first</value>
    <value>
      second
    </value>
  </check-header>)x";
  std::array<HeaderField, 1> second{{{"Authorization", "second"}}};
  EXPECT_EQ(run(second, policy), Flow::Continue);
  std::array<HeaderField, 1> third{{{"Authorization", "third"}}};
  EXPECT_EQ(run(third, policy), Flow::Error);
}

TEST_F(CheckHeaderTest, SeesEarlierSetHeaderChanges) {
  auto p = must_make(kPolicy);
  ASSERT_TRUE(p);
  ctx_.request_header_changes.push_back({"Authorization", {}, FieldChange::Action::Delete});
  EXPECT_EQ(p->apply(ctx_), Flow::Error);
  EXPECT_EQ(ctx_.last_error->reason, "HeaderNotFound");

  RequestContext changed(clock_);
  changed.request_header_changes.push_back(
      {"Authorization", {"f6dc69a089844cf6b2019bae6d36fac8"}, FieldChange::Action::Override});
  EXPECT_EQ(p->apply(changed), Flow::Continue);
}

TEST_F(CheckHeaderTest, AttributesMayBeExpressions) {
  ctx_.set_variable("expected", std::string("f6dc69a089844cf6b2019bae6d36fac8"));
  ctx_.set_variable("code", int64_t{418});
  auto p = must_make(
      R"x(<check-header name="@(&quot;Author&quot; + &quot;ization&quot;)" failed-check-httpcode="@((int)context.Variables[&quot;code&quot;])" failed-check-error-message="@(&quot;No &quot; + context.Request.Method)" ignore-case="@(false)">
    <value>@((string)context.Variables["expected"])</value>
  </check-header>)x");
  ASSERT_TRUE(p);
  ctx_.request.method = "GET";
  EXPECT_EQ(p->apply(ctx_), Flow::Continue);
  ctx_.set_variable("expected", std::string("other"));
  EXPECT_EQ(p->apply(ctx_), Flow::Error);
  EXPECT_EQ(ctx_.response->status, 418);
  EXPECT_EQ(ctx_.response->body, "{ \"statusCode\": 418, \"message\": \"No GET\" }");
}

TEST_F(CheckHeaderTest, ExpressionFailureIsA500) {
  auto p = must_make(
      R"x(<check-header name="Authorization" failed-check-httpcode="401" failed-check-error-message="No" ignore-case="@((bool)context.Variables[&quot;missing&quot;])"><value>x</value></check-header>)x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->apply(ctx_), Flow::Error);
  EXPECT_EQ(ctx_.last_error->reason, "ExpressionValueEvaluationFailure");
  EXPECT_EQ(ctx_.response->status, 500);
}

TEST_F(CheckHeaderTest, EmptyConfiguredMessageStaysEmpty) {
  std::array<HeaderField, 0> none{};
  EXPECT_EQ(
      run(none,
          R"x(<check-header name="X" failed-check-httpcode="401" failed-check-error-message="" ignore-case="false" />)x"),
      Flow::Error);
  EXPECT_EQ(last_->response->body, "{ \"statusCode\": 401, \"message\": \"\" }");
  EXPECT_EQ(last_->last_error->message, "Header X was not found in the request. Access denied.");
}

TEST_F(CheckHeaderTest, LoadErrors) {
  EXPECT_EQ(rejection(R"x(<check-header name="X" />)x"),
            "api.xml:2: <check-header>: missing required attribute 'failed-check-httpcode'\n"
            "api.xml:2: <check-header>: missing required attribute 'failed-check-error-message'\n"
            "api.xml:2: <check-header>: missing required attribute 'ignore-case'");
  EXPECT_EQ(
      rejection(
          R"x(<check-header name="X" failed-check-httpcode="99" failed-check-error-message="m" ignore-case="no" />)x"),
      "api.xml:2: <check-header>: attribute 'failed-check-httpcode' must be an HTTP status from "
      "100 to 599\n"
      "api.xml:2: <check-header>: attribute 'ignore-case': expected true or false (or an "
      "expression), found 'no'");
  EXPECT_EQ(
      rejection(
          R"x(<check-header name="Bad Name" failed-check-httpcode="401" failed-check-error-message="m" ignore-case="true" />)x"),
      "api.xml:2: <check-header>: attribute 'name' must be a header name (an HTTP token)");
  EXPECT_EQ(
      rejection(
          R"x(<check-header name="X" failed-check-httpcode="abc" failed-check-error-message="m" ignore-case="true" />)x"),
      "api.xml:2: <check-header>: attribute 'failed-check-httpcode': expected an integer (or an "
      "expression), found 'abc'");
  EXPECT_EQ(
      rejection(
          R"x(<check-header name="X" failed-check-httpcode="401" failed-check-error-message="m" ignore-case="true" extra="1"><value>a</value><other/></check-header>)x"),
      "api.xml:2: <check-header>: unknown child element <other> (expected <value>)\n"
      "api.xml:2: <check-header>: unknown attribute 'extra'");
  EXPECT_EQ(
      rejection(
          R"x(<check-header name="X" failed-check-httpcode="401" failed-check-error-message="m" ignore-case="true"><value>@(DateTime.Now.Ticks)</value></check-header>)x"),
      "api.xml:2: <value>: column 16: '.Ticks' is not supported on a DateTime");
  EXPECT_EQ(
      rejection(
          R"x(<check-header name="X" failed-check-httpcode="401" failed-check-error-message="m" ignore-case="@(1)" />)x"),
      "api.xml:2: <check-header>: attribute 'ignore-case': column 1: the expression must be a "
      "bool, but it is an int");
}

// A global check-header runs before the API's own through <base/>; the API may add another.
TEST_F(CheckHeaderTest, ComposesAcrossScopesWithBase) {
  auto global = parse_policy_document(R"x(<policies><inbound>
      <check-header name="X-Gateway-Key" failed-check-httpcode="401" failed-check-error-message="Gateway key" ignore-case="false"><value>g</value></check-header>
    </inbound><backend /></policies>)x",
                                      "global.xml", {});
  auto api = parse_policy_document(R"x(<policies><inbound>
      <base />
      <check-header name="X-Api-Key" failed-check-httpcode="403" failed-check-error-message="Api key" ignore-case="false"><value>a</value></check-header>
    </inbound></policies>)x",
                                   "api.xml", {});
  ASSERT_TRUE(global && api);
  std::array<ScopeDocument, 2> scopes{{{Scope::Global, &*global}, {Scope::Api, &*api}}};
  auto pipeline = Pipeline::compile(scopes, LoadContext{});
  ASSERT_TRUE(pipeline) << pipeline.error().message;
  const Program& inbound = (*pipeline)->section(Section::Inbound);

  auto request = [&](std::span<const HeaderField> h) {
    last_ = std::make_unique<RequestContext>(clock_);
    last_->request.headers = h;
    size_t pc = 0;
    return inbound.run(*last_, pc);
  };
  std::array<HeaderField, 2> both{{{"X-Gateway-Key", "g"}, {"X-Api-Key", "a"}}};
  EXPECT_EQ(request(both), Flow::Continue);
  std::array<HeaderField, 1> api_only{{{"X-Api-Key", "a"}}};
  EXPECT_EQ(request(api_only), Flow::Error);
  EXPECT_EQ(last_->response->status, 401);
  EXPECT_EQ(last_->last_error->scope, Scope::Global);
  EXPECT_EQ(last_->last_error->path, "check-header[1]");
  std::array<HeaderField, 1> gateway_only{{{"X-Gateway-Key", "g"}}};
  EXPECT_EQ(request(gateway_only), Flow::Error);
  EXPECT_EQ(last_->response->status, 403);
  EXPECT_EQ(last_->last_error->scope, Scope::Api);
}

}  // namespace
}  // namespace gh::policy
