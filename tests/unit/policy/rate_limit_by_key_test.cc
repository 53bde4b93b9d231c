#include "policy/rate_limit_by_key.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "policy/registry.h"
#include "throttle_fixtures.h"

namespace gh::policy {
namespace {

using throttle_test::Gateway;
using throttle_test::header_change;
using throttle_test::response_header;

TEST(RateLimitByKey, OneCounterPerKeyValue) {
  Gateway gw;
  auto policy = gw.make(&make_rate_limit_by_key, R"x(<rate-limit-by-key calls="2"
      renewal-period="60" counter-key="@(context.Request.IpAddress)" />)x",
                        Scope::Global);
  ASSERT_TRUE(policy);
  auto from = [&](std::string_view ip) {
    auto ctx = gw.request(nullptr);
    ctx->request.client_ip = ip;
    return ctx;
  };
  EXPECT_EQ(policy->apply(*from("192.0.2.1")), Flow::Continue);
  EXPECT_EQ(policy->apply(*from("192.0.2.1")), Flow::Continue);
  auto refused = from("192.0.2.1");
  ASSERT_EQ(policy->apply(*refused), Flow::Error);
  EXPECT_EQ(refused->response->status, 429);
  EXPECT_EQ(
      refused->response->body,
      R"x({ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 60 seconds." })x");
  EXPECT_EQ(response_header(*refused, "Retry-After"), "60");
  EXPECT_EQ(refused->last_error->source, "rate-limit-by-key");
  EXPECT_EQ(refused->last_error->reason, "RateLimitExceeded");
  EXPECT_EQ(policy->apply(*from("192.0.2.2")), Flow::Continue);
  gw.clock.advance_ms(60'000);
  EXPECT_EQ(policy->apply(*from("192.0.2.1")), Flow::Continue);
}

TEST(RateLimitByKey, EveryPolicyNamingTheSameKeyValueSharesItsCounter) {
  // APIM (MicrosoftDocs/azure-docs#95252): by-key counters are global to the key value, whatever
  // scope or API the policy is written at.
  Gateway gw;
  auto at_global =
      gw.make(&make_rate_limit_by_key,
              R"x(<rate-limit-by-key calls="3" renewal-period="30" counter-key="shared" />)x",
              Scope::Global);
  auto at_api = gw.make(&make_rate_limit_by_key,
                        R"x(<rate-limit-by-key calls="3" renewal-period="30"
          counter-key="@(&quot;shared&quot;)" />)x",
                        Scope::Api);
  auto other_key =
      gw.make(&make_rate_limit_by_key,
              R"x(<rate-limit-by-key calls="3" renewal-period="30" counter-key="separate" />)x",
              Scope::Api);
  ASSERT_TRUE(at_global && at_api && other_key);
  EXPECT_EQ(at_global->apply(*gw.request(nullptr)), Flow::Continue);
  EXPECT_EQ(at_api->apply(*gw.request(nullptr, &gw.other)), Flow::Continue);
  EXPECT_EQ(at_global->apply(*gw.request(nullptr)), Flow::Continue);
  EXPECT_EQ(at_api->apply(*gw.request(nullptr)), Flow::Error);
  EXPECT_EQ(at_global->apply(*gw.request(nullptr)), Flow::Error);
  EXPECT_EQ(other_key->apply(*gw.request(nullptr)), Flow::Continue);
}

TEST(RateLimitByKey, IncrementConditionCountsOnlyTheResponsesItNames) {
  Gateway gw;
  auto policy = gw.make(&make_rate_limit_by_key, R"x(<rate-limit-by-key calls="1"
      renewal-period="60" counter-key="@(context.Subscription.Id)"
      increment-condition="@(context.Response.StatusCode == 200)" />)x");
  ASSERT_TRUE(policy);
  auto respond = [&](uint16_t status) {
    auto ctx = gw.request(&gw.alice);
    Flow f = policy->apply(*ctx);
    if (f == Flow::Continue) {
      ctx->backend_response = BackendResponseView{status, {}};
      Gateway::finish(*ctx);
    }
    return f;
  };
  // Failed calls do not count...
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(respond(500), Flow::Continue) << i;
  // ...a successful one does.
  EXPECT_EQ(respond(200), Flow::Continue);
  EXPECT_EQ(respond(200), Flow::Error);
}

TEST(RateLimitByKey, RequestsInFlightHoldTheirPlace) {
  // A slow backend must not let more than `calls` through: the call is counted when admitted and
  // given back at the end only if the condition is false.
  Gateway gw;
  auto policy = gw.make(&make_rate_limit_by_key, R"x(<rate-limit-by-key calls="1"
      renewal-period="60" counter-key="k"
      increment-condition="@(context.Response.StatusCode &lt; 400)" />)x");
  ASSERT_TRUE(policy);
  auto slow = gw.request(&gw.alice);
  ASSERT_EQ(policy->apply(*slow), Flow::Continue);
  auto meanwhile = gw.request(&gw.alice);
  EXPECT_EQ(policy->apply(*meanwhile), Flow::Error);
  slow->backend_response = BackendResponseView{404, {}};
  Gateway::finish(*slow);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Continue);
}

TEST(RateLimitByKey, IncrementCountWeighsEachCall) {
  Gateway gw;
  auto policy = gw.make(&make_rate_limit_by_key, R"x(<rate-limit-by-key calls="5"
      renewal-period="10" counter-key="k" increment-count="2"
      remaining-calls-header-name="X-Left" total-calls-header-name="X-Total" />)x");
  ASSERT_TRUE(policy);
  auto first = gw.request(nullptr);
  ASSERT_EQ(policy->apply(*first), Flow::Continue);
  EXPECT_EQ(header_change(*first, "X-Left"), "3");
  EXPECT_EQ(header_change(*first, "X-Total"), "5");
  auto second = gw.request(nullptr);
  ASSERT_EQ(policy->apply(*second), Flow::Continue);
  EXPECT_EQ(header_change(*second, "X-Left"), "1");
  auto third = gw.request(nullptr);
  ASSERT_EQ(policy->apply(*third), Flow::Error);  // 4 + 2 > 5
  EXPECT_EQ(response_header(*third, "X-Left"), "0");
}

TEST(RateLimitByKey, CallsAndPeriodMayBeExpressions) {
  Gateway gw;
  auto policy = gw.make(&make_rate_limit_by_key, R"x(<rate-limit-by-key
      calls="@(context.Subscription.Id == &quot;sub-alice&quot; ? 2 : 1)"
      renewal-period="@(30)" counter-key="@(context.Subscription.Id)" />)x");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Continue);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Continue);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Error);
  EXPECT_EQ(policy->apply(*gw.request(&gw.bob)), Flow::Continue);
  EXPECT_EQ(policy->apply(*gw.request(&gw.bob)), Flow::Error);
}

TEST(RateLimitByKey, AnExpressionOutOfRangeFailsTheRequest) {
  Gateway gw;
  auto policy = gw.make(&make_rate_limit_by_key, R"x(<rate-limit-by-key calls="5"
      renewal-period="@(301)" counter-key="k" />)x");
  ASSERT_TRUE(policy);
  auto ctx = gw.request(nullptr);
  ASSERT_EQ(policy->apply(*ctx), Flow::Error);
  EXPECT_EQ(ctx->response->status, 500);
  EXPECT_EQ(ctx->last_error->reason, "ExpressionValueEvaluationFailure");
}

TEST(RateLimitByKey, ConcurrentRequestsOnOneKeyAreAdmittedExactlyTheLimit) {
  Gateway gw;
  auto policy = gw.make(&make_rate_limit_by_key, R"x(<rate-limit-by-key calls="1500"
      renewal-period="300" counter-key="@(context.Request.IpAddress)" />)x");
  ASSERT_TRUE(policy);
  constexpr int kThreads = 4;
  constexpr int kRequests = 1000;
  std::vector<int> admitted(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        RequestContext ctx(gw.clock);
        ctx.request.client_ip = "198.51.100.7";
        if (policy->apply(ctx) == Flow::Continue) ++admitted[static_cast<size_t>(t)];
      }
    });
  }
  for (auto& th : threads)
    th.join();
  int total = 0;
  for (int a : admitted)
    total += a;
  EXPECT_EQ(total, 1500);
}

TEST(RateLimitByKey, RefusesWhatAPIMRefusesAtLoad) {
  Gateway gw;
  auto error = [&](std::string_view xml) { return gw.load_error(&make_rate_limit_by_key, xml); };
  auto has = [](const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
  };
  EXPECT_EQ(error(R"x(<rate-limit-by-key calls="1" renewal-period="1" counter-key="k" />)x"), "");
  EXPECT_TRUE(has(error(R"x(<rate-limit-by-key calls="1" renewal-period="60" />)x"),
                  "missing required attribute 'counter-key'"));
  EXPECT_TRUE(
      has(error(R"x(<rate-limit-by-key calls="1" renewal-period="301" counter-key="k" />)x"),
          "renewal-period"));
  EXPECT_TRUE(has(error(R"x(<rate-limit-by-key calls="1" renewal-period="60" counter-key="k"
                     increment-condition="maybe" />)x"),
                  "increment-condition"));
  EXPECT_TRUE(has(error(R"x(<rate-limit-by-key calls="1" renewal-period="60" counter-key="k"
                     increment-count="-1" />)x"),
                  "increment-count"));
  EXPECT_TRUE(has(error(R"x(<rate-limit-by-key calls="1" renewal-period="60" counter-key="k"
                     retry-after-variable-name="@(&quot;v&quot;)" />)x"),
                  "does not accept policy expressions"));
  EXPECT_TRUE(has(error(R"x(<rate-limit-by-key calls="1" renewal-period="60"
                     counter-key="@(context.User.Id)" />)x"),
                  "counter-key"));
}

TEST(RateLimitByKey, RegisteredForInboundAtEveryScope) {
  const PolicyKind* kind = find_policy_kind("rate-limit-by-key");
  ASSERT_TRUE(kind);
  EXPECT_EQ(kind->sections, kInbound);
  EXPECT_EQ(kind->scopes, kAnyScope);
}

}  // namespace
}  // namespace gh::policy
