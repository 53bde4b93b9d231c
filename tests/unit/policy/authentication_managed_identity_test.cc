#include "policy/authentication_managed_identity.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "policy/managed_identity_tokens.h"
#include "policy/services.h"
#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using xform_test::apply_async_now;
using xform_test::change_named;
using xform_test::FakeClock;
using xform_test::FakeTokenProvider;
using xform_test::load_error;
using xform_test::TestRequest;

constexpr int64_t kStart = 1'800'000'000;  // FakeClock's default start, in seconds

class ManagedIdentityTest : public ::testing::Test {
 protected:
  ManagedIdentityTest() : services(clock) {
    provider = std::make_shared<FakeTokenProvider>();
    provider->next = AccessToken{"eyJ.token.1", kStart + 3600};
    services.managed_identity = provider;
    load.services = &services;
  }
  std::unique_ptr<Policy> make(std::string_view xml) {
    auto policy = make_authentication_managed_identity(xform_test::element(xml), load);
    EXPECT_TRUE(policy) << policy.error().message;
    return policy ? std::move(*policy) : nullptr;
  }
  /// Runs the policy as the pipeline runner does: apply, and apply_async when it must wait.
  Flow run(const Policy& policy, TestRequest& r) {
    r.clock.set_ms(clock.ms());
    Flow flow = policy.apply(r.ctx);
    if (flow == Flow::Await) flow = apply_async_now(policy, r.ctx);
    return flow;
  }
  static std::string authorization(const TestRequest& r) {
    const FieldChange* c = change_named(r.ctx.request_header_changes, "Authorization");
    if (!c) return "<absent>";
    EXPECT_EQ(c->action, FieldChange::Action::Override);
    return c->values.size() == 1 ? c->values[0] : "<several>";
  }

  FakeClock clock;
  Services services;
  std::shared_ptr<FakeTokenProvider> provider;
  LoadContext load;
};

TEST_F(ManagedIdentityTest, FetchesOnceThenServesFromTheCacheWithoutWaiting) {
  auto policy = make(R"x(<authentication-managed-identity resource="api://orders" />)x");
  ASSERT_TRUE(policy);
  TestRequest first;
  EXPECT_EQ(policy->apply(first.ctx), Flow::Await);
  EXPECT_TRUE(first.ctx.request_header_changes.empty());
  EXPECT_EQ(apply_async_now(*policy, first.ctx), Flow::Continue);
  EXPECT_EQ(authorization(first), "Bearer eyJ.token.1");
  EXPECT_EQ(provider->calls, 1);
  EXPECT_EQ(provider->last_resource, "api://orders");
  EXPECT_EQ(provider->last_client_id, "");

  TestRequest second;
  EXPECT_EQ(policy->apply(second.ctx), Flow::Continue);  // synchronous: no await
  EXPECT_EQ(authorization(second), "Bearer eyJ.token.1");
  EXPECT_EQ(provider->calls, 1);
}

TEST_F(ManagedIdentityTest, RefetchesWhenLessThanFiveMinutesRemain) {
  auto policy = make(R"x(<authentication-managed-identity resource="api://orders" />)x");
  ASSERT_TRUE(policy);
  TestRequest a;
  ASSERT_EQ(run(*policy, a), Flow::Continue);

  clock.set_ms((kStart + 3600 - 301) * 1000);  // 301 s left: still served
  TestRequest b;
  b.clock.set_ms(clock.ms());
  EXPECT_EQ(policy->apply(b.ctx), Flow::Continue);
  EXPECT_EQ(provider->calls, 1);

  clock.set_ms((kStart + 3600 - 300) * 1000);  // 300 s left: fetched again
  provider->next = AccessToken{"eyJ.token.2", kStart + 7200};
  TestRequest c;
  c.clock.set_ms(clock.ms());
  EXPECT_EQ(policy->apply(c.ctx), Flow::Await);
  EXPECT_EQ(apply_async_now(*policy, c.ctx), Flow::Continue);
  EXPECT_EQ(authorization(c), "Bearer eyJ.token.2");
  EXPECT_EQ(provider->calls, 2);
}

TEST_F(ManagedIdentityTest, CacheIsSharedAcrossPoliciesAndKeyedByResourceAndClientId) {
  auto a = make(R"x(<authentication-managed-identity resource="api://orders" />)x");
  auto same = make(R"x(<authentication-managed-identity resource="api://orders" />)x");
  auto other_client = make(
      R"x(<authentication-managed-identity resource="api://orders" client-id="11111111-2222-3333-4444-555555555555" />)x");
  auto other_resource = make(R"x(<authentication-managed-identity resource="api://billing" />)x");
  ASSERT_TRUE(a && same && other_client && other_resource);
  TestRequest r1, r2, r3, r4;
  ASSERT_EQ(run(*a, r1), Flow::Continue);
  ASSERT_EQ(run(*same, r2), Flow::Continue);
  EXPECT_EQ(provider->calls, 1);
  ASSERT_EQ(run(*other_client, r3), Flow::Continue);
  EXPECT_EQ(provider->last_client_id, "11111111-2222-3333-4444-555555555555");
  ASSERT_EQ(run(*other_resource, r4), Flow::Continue);
  EXPECT_EQ(provider->last_resource, "api://billing");
  EXPECT_EQ(provider->calls, 3);
  ASSERT_NE(services.managed_identity_tokens, nullptr);
  EXPECT_EQ(services.managed_identity_tokens->size(), 3u);
}

TEST_F(ManagedIdentityTest, OutputVariableInsteadOfTheHeader) {
  auto policy = make(
      R"x(<authentication-managed-identity resource="api://orders" output-token-variable-name="msi-token" />)x");
  ASSERT_TRUE(policy);
  for (int i = 0; i < 2; ++i) {  // fetched, then cached
    TestRequest r;
    ASSERT_EQ(run(*policy, r), Flow::Continue);
    EXPECT_TRUE(r.ctx.request_header_changes.empty());
    const Value* v = r.ctx.variable("msi-token");
    ASSERT_NE(v, nullptr);
    ASSERT_TRUE(std::holds_alternative<std::string>(*v));
    EXPECT_EQ(std::get<std::string>(*v), "eyJ.token.1");
  }
}

TEST_F(ManagedIdentityTest, ExpressionResource) {
  auto policy = make(
      R"x(<authentication-managed-identity resource="@(context.Request.Headers.GetValueOrDefault(&quot;X-Audience&quot;, &quot;api://default&quot;))" />)x");
  ASSERT_TRUE(policy);
  TestRequest r("GET", {{"X-Audience", "api://chosen"}});
  ASSERT_EQ(run(*policy, r), Flow::Continue);
  EXPECT_EQ(provider->last_resource, "api://chosen");
}

TEST_F(ManagedIdentityTest, FailureIsA500UnlessIgnored) {
  provider->next = unexpected(ErrorKind::Unavailable, "identity role\r\nunreachable");
  auto policy = make(R"x(<authentication-managed-identity resource="api://orders" />)x");
  ASSERT_TRUE(policy);
  TestRequest r;
  ASSERT_EQ(run(*policy, r), Flow::Error);
  ASSERT_TRUE(r.ctx.last_error);
  EXPECT_EQ(r.ctx.last_error->source, "authentication-managed-identity");
  EXPECT_EQ(r.ctx.last_error->reason, "TokenAcquisitionFailed");
  EXPECT_EQ(r.ctx.last_error->message.find_first_of("\r\n"), std::string::npos);
  EXPECT_NE(r.ctx.last_error->message.find("identity role  unreachable"), std::string::npos)
      << r.ctx.last_error->message;
  ASSERT_TRUE(r.ctx.response);
  EXPECT_EQ(r.ctx.response->status, 500);
  EXPECT_EQ(r.ctx.response->body, R"x({ "statusCode": 500, "message": "Internal server error" })x");
  EXPECT_EQ(authorization(r), "<absent>");

  auto ignoring =
      make(R"x(<authentication-managed-identity resource="api://orders" ignore-error="true" />)x");
  ASSERT_TRUE(ignoring);
  TestRequest i;
  EXPECT_EQ(run(*ignoring, i), Flow::Continue);
  EXPECT_FALSE(i.ctx.response);
  EXPECT_EQ(authorization(i), "<absent>");
  EXPECT_EQ(services.managed_identity_tokens->size(), 0u);  // failures are not cached
}

TEST_F(ManagedIdentityTest, ATokenThatCouldSplitTheHeadIsRefused) {
  provider->next = AccessToken{"abc\r\nX-Injected: 1", kStart + 3600};
  auto policy = make(R"x(<authentication-managed-identity resource="api://orders" />)x");
  ASSERT_TRUE(policy);
  TestRequest r;
  EXPECT_EQ(run(*policy, r), Flow::Error);
  EXPECT_EQ(authorization(r), "<absent>");
}

TEST_F(ManagedIdentityTest, LoadErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"<authentication-managed-identity />", "missing required attribute 'resource'"},
      {R"x(<authentication-managed-identity resource="" />)x", "resource is empty"},
      {R"x(<authentication-managed-identity resource="r" client-id="@(&quot;x&quot;)" />)x",
       "client-id: policy expressions are not allowed"},
      {R"x(<authentication-managed-identity resource="r" output-token-variable-name="" />)x",
       "output-token-variable-name must be a variable name"},
      {R"x(<authentication-managed-identity resource="r" ignore-error="maybe" />)x",
       "ignore-error"},
  };
  for (const auto& [xml, expected] : cases) {
    const std::string error =
        load_error(&make_authentication_managed_identity, xml, Section::Inbound, load);
    EXPECT_NE(error.find(expected), std::string::npos) << xml << "\n-> " << error;
  }
  LoadContext no_identity;
  Services bare(clock);
  no_identity.services = &bare;
  EXPECT_NE(load_error(&make_authentication_managed_identity,
                       R"x(<authentication-managed-identity resource="r" />)x", Section::Inbound,
                       no_identity)
                .find("no managed identity token source"),
            std::string::npos);
  LoadContext lint;
  lint.lint = true;
  EXPECT_EQ(
      load_error(&make_authentication_managed_identity,
                 R"x(<authentication-managed-identity resource="r" />)x", Section::Inbound, lint),
      "");
}

TEST(ManagedIdentityTokenCache, IsBounded) {
  ManagedIdentityTokenCache cache(16);
  for (int i = 0; i < 100; ++i)
    cache.store("api://r" + std::to_string(i), "", AccessToken{"t", kStart + 3600}, kStart);
  EXPECT_LE(cache.size(), 16u);
  EXPECT_GT(cache.size(), 0u);
}

TEST(ManagedIdentityTokenCache, KeysDoNotCollideAcrossTheirParts) {
  ManagedIdentityTokenCache cache;
  cache.store("api://a", "b", AccessToken{"ab", kStart + 3600}, kStart);
  EXPECT_EQ(cache.find("api://ab", "", kStart), nullptr);
  EXPECT_EQ(cache.find("api://a", "", kStart), nullptr);
  auto hit = cache.find("api://a", "b", kStart);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->token, "ab");
  EXPECT_EQ(hit->bearer, "Bearer ab");
}

TEST(ManagedIdentityTokenCache, WorkersShareItConcurrently) {
  ManagedIdentityTokenCache cache(64);
  std::atomic<int> misses_after_store{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&cache, &misses_after_store, w] {
      for (int i = 0; i < 2000; ++i) {
        const std::string resource = "api://r" + std::to_string((i + w) % 8);
        cache.store(resource, "", AccessToken{resource, kStart + 3600}, kStart);
        auto hit = cache.find(resource, "", kStart);
        if (!hit || hit->token != resource) ++misses_after_store;
      }
    });
  }
  for (auto& t : workers)
    t.join();
  EXPECT_EQ(misses_after_store.load(), 0);
  EXPECT_EQ(cache.size(), 8u);
}

}  // namespace
}  // namespace gh::policy
