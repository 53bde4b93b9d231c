#include "policy/rate_limit.h"

#include <gtest/gtest.h>

#include "policy/registry.h"
#include "throttle_fixtures.h"

namespace gh::policy {
namespace {

using throttle_test::Gateway;
using throttle_test::header_change;
using throttle_test::int_variable;
using throttle_test::response_header;

TEST(RateLimit, AdmitsTheCallsThenAnswersAPIMs429WithRetryAfter) {
  Gateway gw;
  auto policy = gw.make(&make_rate_limit, R"x(<rate-limit calls="3" renewal-period="90" />)x");
  ASSERT_TRUE(policy);
  policy->set_id("per-sub");
  for (int i = 0; i < 3; ++i) {
    auto ctx = gw.request(&gw.alice);
    ASSERT_EQ(policy->apply(*ctx), Flow::Continue) << i;
    EXPECT_FALSE(ctx->response);
    EXPECT_TRUE(ctx->response_header_changes.empty());  // no header names configured
  }
  auto ctx = gw.request(&gw.alice);
  ASSERT_EQ(policy->apply(*ctx), Flow::Error);
  ASSERT_TRUE(ctx->response);
  EXPECT_EQ(ctx->response->status, 429);
  EXPECT_EQ(
      ctx->response->body,
      R"x({ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 90 seconds." })x");
  EXPECT_EQ(response_header(*ctx, "Content-Type"), "application/json");
  EXPECT_EQ(response_header(*ctx, "Retry-After"), "90");
  ASSERT_TRUE(ctx->last_error);
  EXPECT_EQ(ctx->last_error->source, "rate-limit");
  EXPECT_EQ(ctx->last_error->reason, "RateLimitExceeded");
  EXPECT_EQ(ctx->last_error->message, "Rate limit is exceeded");
  EXPECT_EQ(ctx->last_error->policy_id, "per-sub");

  gw.clock.advance_ms(89'000);
  auto later = gw.request(&gw.alice);
  ASSERT_EQ(policy->apply(*later), Flow::Error);
  EXPECT_EQ(
      later->response->body,
      R"x({ "statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds." })x");
  EXPECT_EQ(response_header(*later, "Retry-After"), "1");
  gw.clock.advance_ms(1000);
  auto renewed = gw.request(&gw.alice);
  EXPECT_EQ(policy->apply(*renewed), Flow::Continue);
}

TEST(RateLimit, CountsPerSubscriptionAndNotWithoutOne) {
  Gateway gw;
  auto policy = gw.make(&make_rate_limit, R"x(<rate-limit calls="1" renewal-period="10" />)x");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Continue);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Error);
  EXPECT_EQ(policy->apply(*gw.request(&gw.bob)), Flow::Continue);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(policy->apply(*gw.request(nullptr)), Flow::Continue);
}

TEST(RateLimit, ReportsRemainingAndTotalCallsThroughTheConfiguredNames) {
  Gateway gw;
  auto policy = gw.make(&make_rate_limit, R"x(<rate-limit calls="2" renewal-period="60"
      retry-after-header-name="X-Retry-In" retry-after-variable-name="retryIn"
      remaining-calls-header-name="X-Remaining" remaining-calls-variable-name="remaining"
      total-calls-header-name="X-Total" />)x");
  ASSERT_TRUE(policy);
  for (int expected_remaining = 1; expected_remaining >= 0; --expected_remaining) {
    auto ctx = gw.request(&gw.alice);
    ASSERT_EQ(policy->apply(*ctx), Flow::Continue);
    EXPECT_EQ(header_change(*ctx, "X-Remaining"), std::to_string(expected_remaining));
    EXPECT_EQ(header_change(*ctx, "X-Total"), "2");
    EXPECT_EQ(int_variable(*ctx, "remaining"), expected_remaining);
  }
  gw.clock.advance_ms(15'000);
  auto ctx = gw.request(&gw.alice);
  ASSERT_EQ(policy->apply(*ctx), Flow::Error);
  EXPECT_EQ(response_header(*ctx, "X-Retry-In"), "45");
  EXPECT_EQ(response_header(*ctx, "Retry-After"), "");
  EXPECT_EQ(response_header(*ctx, "X-Remaining"), "0");
  EXPECT_EQ(response_header(*ctx, "X-Total"), "2");
  EXPECT_EQ(int_variable(*ctx, "retryIn"), 45);
  EXPECT_EQ(int_variable(*ctx, "remaining"), 0);
}

TEST(RateLimit, NestedApiAndOperationLimitsApplyIndependently) {
  Gateway gw;
  auto policy = gw.make(&make_rate_limit, R"x(<rate-limit calls="4" renewal-period="60"
        remaining-calls-variable-name="remaining">
      <api name="Echo API" calls="3" renewal-period="60">
        <operation id="get-item" calls="1" renewal-period="60" />
      </api>
    </rate-limit>)x");
  ASSERT_TRUE(policy);
  // get-item: its own limit of 1.
  auto first = gw.request(&gw.alice, &gw.echo, &gw.get_item);
  ASSERT_EQ(policy->apply(*first), Flow::Continue);
  EXPECT_EQ(int_variable(*first, "remaining"), 0);  // the most constrained limit
  auto second = gw.request(&gw.alice, &gw.echo, &gw.get_item);
  ASSERT_EQ(policy->apply(*second), Flow::Error);
  // post-item: the API's limit (3, one used by get-item); the refused call above was given
  // back to the product and API limits.
  for (int i = 0; i < 2; ++i) {
    auto ctx = gw.request(&gw.alice, &gw.echo, &gw.post_item);
    ASSERT_EQ(policy->apply(*ctx), Flow::Continue) << i;
  }
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice, &gw.echo, &gw.post_item)), Flow::Error);
  // Another API: only the product-level limit, which has one call left.
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice, &gw.other, &gw.get_item)), Flow::Continue);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice, &gw.other, &gw.get_item)), Flow::Error);
  // Bob's counters are his own.
  EXPECT_EQ(policy->apply(*gw.request(&gw.bob, &gw.echo, &gw.get_item)), Flow::Continue);
}

TEST(RateLimit, DistinctDefinitionsDoNotShareCounters) {
  Gateway gw;
  const char* xml = R"x(<rate-limit calls="1" renewal-period="30" />)x";
  auto at_product = gw.make(&make_rate_limit, xml, Scope::Product);
  auto at_api = gw.make(&make_rate_limit, xml, Scope::Api);
  auto at_operation = gw.make(&make_rate_limit, xml, Scope::Operation);
  ASSERT_TRUE(at_product && at_api && at_operation);
  EXPECT_EQ(at_product->apply(*gw.request(&gw.alice)), Flow::Continue);
  EXPECT_EQ(at_api->apply(*gw.request(&gw.alice)), Flow::Continue);
  EXPECT_EQ(at_operation->apply(*gw.request(&gw.alice)), Flow::Continue);
  EXPECT_EQ(at_product->apply(*gw.request(&gw.alice)), Flow::Error);
  EXPECT_EQ(at_api->apply(*gw.request(&gw.alice)), Flow::Error);
  EXPECT_EQ(at_operation->apply(*gw.request(&gw.alice)), Flow::Error);
  // The same definition built again (a configuration reload, or the same product policy in
  // another operation's pipeline) keeps counting.
  auto reloaded = gw.make(&make_rate_limit, xml, Scope::Product);
  EXPECT_EQ(reloaded->apply(*gw.request(&gw.alice)), Flow::Error);
}

TEST(RateLimit, RefusesWhatAPIMRefusesAtLoad) {
  Gateway gw;
  auto error = [&](std::string_view xml) { return gw.load_error(&make_rate_limit, xml); };
  auto has = [](const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
  };
  EXPECT_EQ(error(R"x(<rate-limit calls="5" renewal-period="300" />)x"), "");
  EXPECT_TRUE(has(error(R"x(<rate-limit calls="5" renewal-period="301" />)x"), "renewal-period"));
  EXPECT_TRUE(
      has(error(R"x(<rate-limit renewal-period="60" />)x"), "missing required attribute 'calls'"));
  EXPECT_TRUE(has(error(R"x(<rate-limit calls="@(5)" renewal-period="60" />)x"),
                  "'calls' does not accept policy expressions"));
  EXPECT_TRUE(has(error(R"x(<rate-limit calls="5" renewal-period="60"
                     remaining-calls-header-name="@(&quot;x&quot;)" />)x"),
                  "does not accept policy expressions"));
  EXPECT_TRUE(has(error(R"x(<rate-limit calls="5" renewal-period="60"
                     total-calls-header-name="bad name" />)x"),
                  "must be a header name"));
  EXPECT_TRUE(has(error(R"x(<rate-limit calls="5" renewal-period="60" counter-key="x" />)x"),
                  "unknown attribute 'counter-key'"));
  EXPECT_TRUE(has(error(R"x(<rate-limit calls="5" renewal-period="60">
                     <api calls="1" renewal-period="1"/></rate-limit>)x"),
                  "needs a 'name' or an 'id'"));
  EXPECT_TRUE(has(error(R"x(<rate-limit calls="5" renewal-period="60">
                     <api name="a" calls="1"/></rate-limit>)x"),
                  "renewal-period"));
  EXPECT_TRUE(has(error(R"x(<rate-limit calls="5" renewal-period="60">
                     <product name="a"/></rate-limit>)x"),
                  "test.xml:2"));
  // Every problem is reported.
  std::string many = error("<rate-limit calls=\"0\"\n renewal-period=\"0\" />");
  EXPECT_TRUE(has(many, "'calls'"));
  EXPECT_TRUE(has(many, "'renewal-period'"));
  // Linting checks the same without a counter store.
  EXPECT_EQ(gw.load_error(&make_rate_limit, R"x(<rate-limit calls="5" renewal-period="60" />)x",
                          Scope::Product, true),
            "");
}

TEST(RateLimit, RegisteredForInboundAtProductApiAndOperationScope) {
  const PolicyKind* kind = find_policy_kind("rate-limit");
  ASSERT_TRUE(kind);
  EXPECT_EQ(kind->sections, kInbound);
  EXPECT_EQ(kind->scopes, kProductScope | kApiScope | kOperationScope);
}

}  // namespace
}  // namespace gh::policy
