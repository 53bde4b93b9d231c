#include "policy/quota.h"

#include <gtest/gtest.h>

#include "policy/registry.h"
#include "throttle_fixtures.h"

namespace gh::policy {
namespace {

using throttle_test::Gateway;
using throttle_test::response_header;

int64_t now_unix(const Gateway& gw) {
  return gw.clock.ms() / 1000;
}

TEST(Quota, RefusesWithAPIMs403AndTheTimeUntilTheSubscriptionsNextPeriod) {
  Gateway gw;
  // Daily windows from the subscription's creation; 03:30:56 left in the current one.
  gw.alice.created_unix = now_unix(gw) - (86400 - (3 * 3600 + 30 * 60 + 56));
  auto policy = gw.make(&make_quota, R"x(<quota calls="2" renewal-period="86400" />)x");
  ASSERT_TRUE(policy);
  policy->set_id("daily");
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Continue);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Continue);
  auto ctx = gw.request(&gw.alice);
  ASSERT_EQ(policy->apply(*ctx), Flow::Error);
  EXPECT_EQ(ctx->response->status, 403);
  EXPECT_EQ(
      ctx->response->body,
      R"x({ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 03:30:56." })x");
  EXPECT_EQ(response_header(*ctx, "Retry-After"), "12656");
  EXPECT_EQ(response_header(*ctx, "Content-Type"), "application/json");
  EXPECT_EQ(ctx->last_error->source, "quota");
  EXPECT_EQ(ctx->last_error->reason, "QuotaExceeded");
  EXPECT_EQ(ctx->last_error->message,
            "Out of call volume quota. Quota will be replenished in 03:30:56.");
  EXPECT_EQ(ctx->last_error->policy_id, "daily");
  // Bob's subscription has its own quota.
  EXPECT_EQ(policy->apply(*gw.request(&gw.bob)), Flow::Continue);
  // The next period starts exactly when the time given has passed.
  gw.clock.advance_ms(12'655'999);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Error);
  gw.clock.advance_ms(1);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Continue);
}

TEST(Quota, LongPeriodsPrintDaysAsDotNetDoes) {
  Gateway gw;
  constexpr int64_t kLeft = 22 * 86400 + 14 * 3600 + 18 * 60 + 12;
  gw.alice.created_unix = now_unix(gw) - (30 * 86400 - kLeft);
  auto policy = gw.make(&make_quota, R"x(<quota calls="1" renewal-period="2592000" />)x");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Continue);
  auto ctx = gw.request(&gw.alice);
  ASSERT_EQ(policy->apply(*ctx), Flow::Error);
  EXPECT_EQ(
      ctx->response->body,
      R"x({ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 22.14:18:12." })x");
  EXPECT_EQ(response_header(*ctx, "Retry-After"), std::to_string(kLeft));
}

TEST(Quota, BandwidthCountsRequestAndResponseBytesAtTheEnd) {
  Gateway gw;
  gw.alice.created_unix = now_unix(gw) - 600;
  auto policy = gw.make(&make_quota, R"x(<quota bandwidth="2" renewal-period="3600" />)x");
  ASSERT_TRUE(policy);
  for (int i = 0; i < 2; ++i) {
    auto ctx = gw.request(&gw.alice);
    ASSERT_EQ(policy->apply(*ctx), Flow::Continue) << i;
    ctx->request_bytes = 600;
    ctx->response_bytes = 424;  // 1 KB a request
    Gateway::finish(*ctx);
  }
  auto ctx = gw.request(&gw.alice);
  ASSERT_EQ(policy->apply(*ctx), Flow::Error);
  EXPECT_EQ(
      ctx->response->body,
      R"x({ "statusCode": 403, "message": "Out of bandwidth quota. Quota will be replenished in 00:50:00." })x");
  EXPECT_EQ(response_header(*ctx, "Retry-After"), "3000");
}

TEST(Quota, ALifetimeQuotaIsNeverReplenished) {
  Gateway gw;
  auto policy = gw.make(&make_quota, R"x(<quota calls="1" renewal-period="0" />)x");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice)), Flow::Continue);
  gw.clock.advance_ms(1000LL * 86400 * 3650);
  auto ctx = gw.request(&gw.alice);
  ASSERT_EQ(policy->apply(*ctx), Flow::Error);
  EXPECT_EQ(
      ctx->response->body,
      R"x({ "statusCode": 403, "message": "Out of call volume quota. Quota will not be replenished." })x");
  EXPECT_EQ(response_header(*ctx, "Retry-After"), "");
}

TEST(Quota, NestedApiAndOperationQuotasApplyIndependently) {
  Gateway gw;
  auto policy = gw.make(&make_quota, R"x(<quota calls="3" renewal-period="3600">
      <api id="echo" calls="2" renewal-period="3600">
        <operation name="Get item" calls="1" renewal-period="3600" />
      </api>
    </quota>)x");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice, &gw.echo, &gw.get_item)), Flow::Continue);
  // The operation's quota is spent; the refusal gives the call back to the product and API.
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice, &gw.echo, &gw.get_item)), Flow::Error);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice, &gw.echo, &gw.post_item)), Flow::Continue);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice, &gw.echo, &gw.post_item)), Flow::Error);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice, &gw.other, &gw.get_item)), Flow::Continue);
  EXPECT_EQ(policy->apply(*gw.request(&gw.alice, &gw.other, &gw.get_item)), Flow::Error);
}

TEST(Quota, DoesNothingWithoutASubscription) {
  Gateway gw;
  auto policy = gw.make(&make_quota, R"x(<quota calls="1" renewal-period="60" />)x");
  ASSERT_TRUE(policy);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(policy->apply(*gw.request(nullptr)), Flow::Continue);
}

TEST(Quota, RefusesWhatAPIMRefusesAtLoad) {
  Gateway gw;
  auto error = [&](std::string_view xml) { return gw.load_error(&make_quota, xml); };
  auto has = [](const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
  };
  EXPECT_EQ(error(R"x(<quota calls="10" bandwidth="100" renewal-period="0" />)x"), "");
  EXPECT_TRUE(
      has(error(R"x(<quota renewal-period="60" />)x"), "needs 'calls', 'bandwidth' or both"));
  EXPECT_TRUE(
      has(error(R"x(<quota calls="1" />)x"), "missing required attribute 'renewal-period'"));
  EXPECT_TRUE(has(error(R"x(<quota calls="@(1)" renewal-period="60" />)x"),
                  "does not accept policy expressions"));
  EXPECT_TRUE(has(error(R"x(<quota calls="1" renewal-period="60">
                     <api name="a" renewal-period="60" /></quota>)x"),
                  "needs 'calls', 'bandwidth' or both"));
  EXPECT_TRUE(has(error(R"x(<quota calls="1" renewal-period="60" counter-key="k" />)x"),
                  "unknown attribute 'counter-key'"));
}

TEST(Quota, RegisteredForInboundAtProductScopeOnly) {
  const PolicyKind* kind = find_policy_kind("quota");
  ASSERT_TRUE(kind);
  EXPECT_EQ(kind->sections, kInbound);
  EXPECT_EQ(kind->scopes, kProductScope);
}

}  // namespace
}  // namespace gh::policy
