#include "policy/set_backend_service.h"

#include <gtest/gtest.h>

#include "policy/registry.h"
#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using xform_test::FakeBackendCatalog;
using xform_test::load_error;
using xform_test::TestRequest;

class SetBackendServiceTest : public ::testing::Test {
 protected:
  SetBackendServiceTest() {
    catalog.by_url["https://orders.internal/api"] = 3;
    catalog.by_id["orders-v2"] = 5;
    load.backends = &catalog;
  }
  Result<std::unique_ptr<Policy>> make(std::string_view xml, const NamedValues& nv = {}) {
    return make_set_backend_service(xform_test::element(xml, nv), load);
  }

  FakeBackendCatalog catalog;
  LoadContext load;
};

TEST_F(SetBackendServiceTest, BaseUrlIsResolvedAtLoadAndAppliedPerRequest) {
  auto policy = make(R"x(<set-backend-service base-url="https://orders.internal/api" />)x");
  ASSERT_TRUE(policy) << policy.error().message;
  EXPECT_EQ(catalog.calls, 1);
  TestRequest r;
  EXPECT_EQ(r.ctx.backend, -1);
  ASSERT_EQ((*policy)->apply(r.ctx), Flow::Continue);
  EXPECT_EQ(r.ctx.backend, 3);
  EXPECT_EQ(catalog.calls, 1);  // nothing resolved per request
}

TEST_F(SetBackendServiceTest, BackendIdAndNamedValues) {
  auto by_id = make(R"x(<set-backend-service backend-id="orders-v2" />)x");
  ASSERT_TRUE(by_id) << by_id.error().message;
  TestRequest r;
  ASSERT_EQ((*by_id)->apply(r.ctx), Flow::Continue);
  EXPECT_EQ(r.ctx.backend, 5);

  NamedValues nv{{"orders-url", {"https://orders.internal/api", false}}};
  auto named = make(R"x(<set-backend-service base-url="{{orders-url}}" />)x", nv);
  ASSERT_TRUE(named) << named.error().message;
  TestRequest n;
  ASSERT_EQ((*named)->apply(n.ctx), Flow::Continue);
  EXPECT_EQ(n.ctx.backend, 3);
}

TEST_F(SetBackendServiceTest, CatalogErrorsNameTheElement) {
  const std::string error =
      load_error(&make_set_backend_service, R"x(<set-backend-service backend-id="nope" />)x",
                 Section::Inbound, load);
  EXPECT_NE(error.find("test.xml:1: <set-backend-service>: backend 'nope' is not configured"),
            std::string::npos)
      << error;
}

TEST_F(SetBackendServiceTest, ExpressionsAreRefusedBecauseBackendsAreResolvedAtLoad) {
  const std::string error = load_error(
      &make_set_backend_service,
      R"x(<set-backend-service base-url="@(context.Request.Headers.GetValueOrDefault(&quot;X-Route&quot;,&quot;&quot;))" />)x",
      Section::Inbound, load);
  EXPECT_NE(error.find("base-url: policy expressions are not supported here: backends are "
                       "resolved when the configuration loads"),
            std::string::npos)
      << error;
  EXPECT_NE(load_error(&make_set_backend_service,
                       R"x(<set-backend-service backend-id="@(&quot;x&quot;)" />)x",
                       Section::Inbound, load)
                .find("backend-id: policy expressions are not supported here"),
            std::string::npos);
  EXPECT_EQ(catalog.calls, 0);
}

TEST_F(SetBackendServiceTest, SyntaxErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"<set-backend-service />", "one of base-url or backend-id is required"},
      {R"x(<set-backend-service base-url="https://a" backend-id="b" />)x", "mutually exclusive"},
      {R"x(<set-backend-service base-url="ftp://a/b" />)x", "base-url must use http or https"},
      {R"x(<set-backend-service base-url="/relative" />)x", "absolute http or https URL"},
      {R"x(<set-backend-service base-url="https://" />)x", "base-url has no host"},
      {R"x(<set-backend-service base-url="https://u:p@a/" />)x", "must not carry user information"},
      {R"x(<set-backend-service base-url="https://a/b?x=1" />)x", "must not have a query"},
      {R"x(<set-backend-service base-url="https://a/b c" />)x", "whitespace"},
      {R"x(<set-backend-service backend-id="" />)x", "backend-id is empty"},
      {R"x(<set-backend-service backend-id="x" sf-partition-key="1" />)x",
       "sf-partition-key is not supported"},
  };
  for (const auto& [xml, expected] : cases) {
    const std::string error = load_error(&make_set_backend_service, xml, Section::Inbound, load);
    EXPECT_NE(error.find(expected), std::string::npos) << xml << "\n-> " << error;
  }
  EXPECT_EQ(catalog.calls, 0);
}

TEST_F(SetBackendServiceTest, LintChecksSyntaxWithoutACatalog) {
  LoadContext lint;
  lint.lint = true;
  EXPECT_EQ(
      load_error(&make_set_backend_service, R"x(<set-backend-service backend-id="anything" />)x",
                 Section::Inbound, lint),
      "");
  EXPECT_NE(load_error(&make_set_backend_service, R"x(<set-backend-service base-url="nope" />)x",
                       Section::Inbound, lint)
                .find("absolute http or https URL"),
            std::string::npos);
  LoadContext missing;  // not linting, yet no catalog: a wiring error, said so
  EXPECT_NE(load_error(&make_set_backend_service, R"x(<set-backend-service backend-id="x" />)x",
                       Section::Inbound, missing)
                .find("no backend catalog"),
            std::string::npos);
}

TEST(SetBackendService, RegistryListsTheRequestResponseAndBackendKinds) {
  const std::pair<const char*, uint8_t> kinds[] = {
      {"set-header", kAnySection},
      {"set-query-parameter", kInbound | kBackend},
      {"set-status", kAnySection},
      {"return-response", kAnySection},
      {"cors", kInbound},
      {"authentication-basic", kInbound},
      {"authentication-certificate", kInbound},
      {"authentication-managed-identity", kInbound},
      {"set-backend-service", kInbound | kBackend},
      {"forward-request", kBackend},
  };
  for (const auto& [name, sections] : kinds) {
    const PolicyKind* kind = find_policy_kind(name);
    ASSERT_NE(kind, nullptr) << name;
    EXPECT_EQ(kind->sections, sections) << name;
    EXPECT_EQ(kind->scopes, kAnyScope) << name;
    EXPECT_FALSE(is_known_unsupported(name)) << name;
  }
  EXPECT_TRUE(is_known_unsupported("set-body"));
}

}  // namespace
}  // namespace gh::policy
