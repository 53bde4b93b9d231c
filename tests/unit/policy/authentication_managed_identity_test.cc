#include "policy/authentication_managed_identity.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <optional>
#include <thread>

#include "policy/managed_identity_tokens.h"
#include "policy/services.h"
#include "support/wait.h"
#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using ::gh::test::wait_until;
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

// A token provider that holds every call until the test opens it, as a slow identity role.
class GatedTokenProvider final : public TokenProvider {
 public:
  std::atomic<bool> open{false};
  std::atomic<int> calls{0};
  Result<AccessToken> next = AccessToken{"eyJ.gated", kStart + 3600};

  net::awaitable<Result<AccessToken>> token(std::string, std::string) override {
    calls.fetch_add(1);
    while (!open.load()) {
      net::SteadyTimer timer(co_await net::asio::this_coro::executor, std::chrono::milliseconds(1));
      co_await timer.async_wait(net::use_tuple);
    }
    co_return next;
  }
};

// Requests on two worker threads, each with its own event loop, all missing the same token.
struct ConcurrentRequests {
  static constexpr int kPerThread = 20;
  std::vector<std::unique_ptr<TestRequest>> requests;
  std::vector<Flow> flows = std::vector<Flow>(2 * kPerThread, Flow::Await);
  std::atomic<int> done{0};

  /// True once one request fetches and every other one waits for its flight.
  static bool all_joined(ManagedIdentityTokenCache& cache, const GatedTokenProvider& provider) {
    if (provider.calls.load() != 1 || cache.flights() != 1) return false;
    // A flight is in progress, so this join only looks it up (never leads).
    auto joined = cache.join("api://orders", "", kStart);
    return joined.flight && joined.flight->waiting() == 2 * kPerThread - 1;
  }

  void run(const Policy& policy, const std::function<void()>& while_waiting) {
    for (int i = 0; i < 2 * kPerThread; ++i)
      requests.push_back(std::make_unique<TestRequest>());
    net::asio::io_context io[2] = {net::asio::io_context(1), net::asio::io_context(1)};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t * kPerThread; i < (t + 1) * kPerThread; ++i) {
          EXPECT_EQ(policy.apply(requests[i]->ctx), Flow::Await);
          net::asio::co_spawn(io[t].get_executor(),
                              xform_test::run_apply_async(&policy, &requests[i]->ctx, &flows[i]),
                              [this](std::exception_ptr) { done.fetch_add(1); });
        }
        io[t].run();
      });
    }
    while_waiting();
    for (auto& t : threads)
      t.join();
  }
};

// A cold cache under concurrent load sends one token request, not one per request: the first
// request fetches and the others, on both workers, wait for that fetch.
TEST_F(ManagedIdentityTest, ConcurrentMissesShareOneFetch) {
  auto gated = std::make_shared<GatedTokenProvider>();
  services.managed_identity = gated;
  auto policy = make(R"x(<authentication-managed-identity resource="api://orders" />)x");
  ASSERT_TRUE(policy);
  auto cache = services.managed_identity_tokens;
  ASSERT_NE(cache, nullptr);
  ConcurrentRequests load_;
  load_.run(*policy, [&] {
    // Every request has either started the one fetch or joined its flight.
    wait_until([&] { return ConcurrentRequests::all_joined(*cache, *gated); });
    gated->open = true;
  });
  EXPECT_EQ(gated->calls.load(), 1);
  EXPECT_EQ(load_.done.load(), 2 * ConcurrentRequests::kPerThread);
  for (size_t i = 0; i < load_.requests.size(); ++i) {
    EXPECT_EQ(load_.flows[i], Flow::Continue) << i;
    EXPECT_EQ(authorization(*load_.requests[i]), "Bearer eyJ.gated") << i;
  }
  EXPECT_EQ(cache->flights(), 0u);
}

// The fetch's failure reaches every request that waited for it (500 each), and the next miss
// starts a new fetch rather than keep the failure.
TEST_F(ManagedIdentityTest, AFailedSharedFetchFailsEveryWaiterOnce) {
  auto gated = std::make_shared<GatedTokenProvider>();
  gated->next = unexpected(ErrorKind::Unavailable, "identity role unreachable");
  services.managed_identity = gated;
  auto policy = make(R"x(<authentication-managed-identity resource="api://orders" />)x");
  ASSERT_TRUE(policy);
  ConcurrentRequests load_;
  load_.run(*policy, [&] {
    wait_until(
        [&] { return ConcurrentRequests::all_joined(*services.managed_identity_tokens, *gated); });
    gated->open = true;
  });
  EXPECT_EQ(gated->calls.load(), 1);
  for (size_t i = 0; i < load_.requests.size(); ++i) {
    EXPECT_EQ(load_.flows[i], Flow::Error) << i;
    const auto& error = load_.requests[i]->ctx.last_error;
    ASSERT_TRUE(error.has_value()) << i;
    EXPECT_NE(error->message.find("identity role unreachable"), std::string::npos) << i;
  }
  gated->next = AccessToken{"eyJ.later", kStart + 3600};
  TestRequest later;
  EXPECT_EQ(run(*policy, later), Flow::Continue);
  EXPECT_EQ(authorization(later), "Bearer eyJ.later");
  EXPECT_EQ(gated->calls.load(), 2);
}

// The leader's coroutine destroyed before its fetch returned (its worker stopping at
// shutdown): the requests waiting for it are resumed with an error, never left waiting.
TEST_F(ManagedIdentityTest, AnAbandonedFetchReleasesItsWaiters) {
  auto gated = std::make_shared<GatedTokenProvider>();
  services.managed_identity = gated;
  auto policy = make(R"x(<authentication-managed-identity resource="api://orders" />)x");
  ASSERT_TRUE(policy);
  TestRequest leader, waiter;
  Flow leader_flow = Flow::Await, waiter_flow = Flow::Await;
  auto leader_io = std::make_unique<net::asio::io_context>(1);
  net::asio::co_spawn(leader_io->get_executor(),
                      xform_test::run_apply_async(policy.get(), &leader.ctx, &leader_flow),
                      net::asio::detached);
  while (gated->calls.load() == 0)
    leader_io->run_one();  // until the leader is inside the (held) fetch
  net::asio::io_context waiter_io(1);
  net::asio::co_spawn(waiter_io.get_executor(),
                      xform_test::run_apply_async(policy.get(), &waiter.ctx, &waiter_flow),
                      net::asio::detached);
  waiter_io.run_one();  // the waiter joins the flight and is queued
  EXPECT_EQ(waiter_flow, Flow::Await);
  leader_io.reset();  // destroys the leader's coroutine mid-fetch
  waiter_io.restart();
  waiter_io.run();
  EXPECT_EQ(leader_flow, Flow::Await);  // never finished
  EXPECT_EQ(waiter_flow, Flow::Error);
  ASSERT_TRUE(waiter.ctx.last_error.has_value());
  EXPECT_NE(waiter.ctx.last_error->message.find("abandoned"), std::string::npos);
  EXPECT_EQ(services.managed_identity_tokens->flights(), 0u);
  EXPECT_EQ(gated->calls.load(), 1);
}

TEST(ManagedIdentityTokenCache, JoinLeadsOnceAndLandingResumesTheWaiters) {
  ManagedIdentityTokenCache cache;
  auto first = cache.join("api://r", "", kStart);
  ASSERT_TRUE(first.leader);
  ASSERT_NE(first.flight, nullptr);
  auto second = cache.join("api://r", "", kStart);
  EXPECT_FALSE(second.leader);
  EXPECT_EQ(second.flight, first.flight);
  EXPECT_TRUE(cache.join("api://other", "", kStart).leader);  // another key, another flight

  std::optional<Result<std::shared_ptr<const ManagedIdentityTokenCache::Entry>>> seen;
  net::asio::io_context io(1);
  net::asio::co_spawn(
      io.get_executor(),
      [](std::shared_ptr<ManagedIdentityTokenCache::Flight> flight, decltype(seen)* out)
          -> net::awaitable<void> { *out = co_await flight->wait(); }(second.flight, &seen),
      net::asio::detached);
  io.run_one();  // the waiter is queued, not resumed
  EXPECT_FALSE(seen.has_value());

  auto entry = cache.store("api://r", "", AccessToken{"eyJ.r", kStart + 3600}, kStart);
  cache.land(first.flight, entry);
  io.restart();
  io.run();
  ASSERT_TRUE(seen.has_value());
  ASSERT_TRUE(*seen);
  EXPECT_EQ((**seen)->token, "eyJ.r");
  // Landed: the next miss finds the stored token instead of a flight.
  auto third = cache.join("api://r", "", kStart);
  EXPECT_FALSE(third.leader);
  EXPECT_EQ(third.flight, nullptr);
  ASSERT_NE(third.entry, nullptr);
  EXPECT_EQ(cache.flights(), 1u);  // api://other's
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
