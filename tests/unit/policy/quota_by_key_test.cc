#include "policy/quota_by_key.h"

#include <gtest/gtest.h>

#include "policy/registry.h"
#include "throttle_fixtures.h"

namespace gh::policy {
namespace {

using throttle_test::Gateway;
using throttle_test::response_header;

// The fixtures' clock starts at 2027-01-15T08:00:00Z.

TEST(QuotaByKey, WindowsAlignToFirstPeriodStart) {
  Gateway gw;
  gw.clock.advance_ms(1234'000);  // 08:20:34
  auto policy = gw.make(&make_quota_by_key, R"x(<quota-by-key calls="2" renewal-period="3600"
      counter-key="@(context.Request.IpAddress)" first-period-start="2027-01-01T00:00:00Z" />)x",
                        Scope::Global);
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->apply(*gw.request(nullptr)), Flow::Continue);
  EXPECT_EQ(policy->apply(*gw.request(nullptr)), Flow::Continue);
  auto ctx = gw.request(nullptr);
  ASSERT_EQ(policy->apply(*ctx), Flow::Error);
  EXPECT_EQ(ctx->response->status, 403);
  EXPECT_EQ(
      ctx->response->body,
      R"x({ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 00:39:26." })x");
  EXPECT_EQ(response_header(*ctx, "Retry-After"), "2366");
  EXPECT_EQ(ctx->last_error->source, "quota-by-key");
  EXPECT_EQ(ctx->last_error->reason, "QuotaExceeded");
  // Another caller, another counter.
  auto other = gw.request(nullptr);
  other->request.client_ip = "203.0.113.9";
  EXPECT_EQ(policy->apply(*other), Flow::Continue);
  // 09:00:00: a new window.
  gw.clock.advance_ms(2366'000);
  EXPECT_EQ(policy->apply(*gw.request(nullptr)), Flow::Continue);
}

TEST(QuotaByKey, DefaultPeriodsStartAtYearOne) {
  Gateway gw;
  // Daily windows from 0001-01-01T00:00:00Z end at midnight UTC: 16:00:00 from 08:00:00.
  auto policy = gw.make(&make_quota_by_key,
                        R"x(<quota-by-key calls="1" renewal-period="86400" counter-key="k" />)x");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->apply(*gw.request(nullptr)), Flow::Continue);
  auto ctx = gw.request(nullptr);
  ASSERT_EQ(policy->apply(*ctx), Flow::Error);
  EXPECT_EQ(
      ctx->response->body,
      R"x({ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 16:00:00." })x");
}

TEST(QuotaByKey, ARequestCountsOnceHoweverManyPoliciesNameItsKey) {
  Gateway gw;
  const char* xml =
      R"x(<quota-by-key calls="2" renewal-period="3600"
          counter-key="@(context.Subscription.Id)" />)x";
  auto at_product = gw.make(&make_quota_by_key, xml, Scope::Product);
  auto at_api = gw.make(&make_quota_by_key, xml, Scope::Api);
  ASSERT_TRUE(at_product && at_api);
  auto both = [&] {
    auto ctx = gw.request(&gw.alice);
    Flow f = at_product->apply(*ctx);
    if (f == Flow::Continue) f = at_api->apply(*ctx);
    Gateway::finish(*ctx);
    return f;
  };
  EXPECT_EQ(both(), Flow::Continue);
  EXPECT_EQ(both(), Flow::Continue);
  EXPECT_EQ(both(), Flow::Error);
  // A separate request through one policy only sees the same counter.
  EXPECT_EQ(at_api->apply(*gw.request(&gw.alice)), Flow::Error);
}

TEST(QuotaByKey, IncrementConditionCountsOnlyTheResponsesItNames) {
  Gateway gw;
  auto policy = gw.make(&make_quota_by_key, R"x(<quota-by-key calls="1" renewal-period="3600"
      counter-key="k"
      increment-condition="@(context.Response.StatusCode &gt;= 200 &amp;&amp;
                             context.Response.StatusCode &lt; 300)" />)x");
  ASSERT_TRUE(policy);
  auto respond = [&](uint16_t status) {
    auto ctx = gw.request(nullptr);
    Flow f = policy->apply(*ctx);
    if (f == Flow::Continue) {
      ctx->backend_response = BackendResponseView{status, {}};
      Gateway::finish(*ctx);
    }
    return f;
  };
  EXPECT_EQ(respond(500), Flow::Continue);
  EXPECT_EQ(respond(404), Flow::Continue);
  EXPECT_EQ(respond(302), Flow::Continue);
  EXPECT_EQ(respond(200), Flow::Continue);
  EXPECT_EQ(respond(200), Flow::Error);
}

TEST(QuotaByKey, BandwidthIsCountedOncePerRequest) {
  Gateway gw;
  const char* xml = R"x(<quota-by-key bandwidth="3" renewal-period="3600" counter-key="k" />)x";
  auto first = gw.make(&make_quota_by_key, xml, Scope::Global);
  auto second = gw.make(&make_quota_by_key, xml, Scope::Operation);
  ASSERT_TRUE(first && second);
  auto request = [&] {
    auto ctx = gw.request(nullptr);
    Flow f = first->apply(*ctx);
    if (f == Flow::Continue) f = second->apply(*ctx);
    ctx->request_bytes = 1024;
    Gateway::finish(*ctx);
    return f;
  };
  EXPECT_EQ(request(), Flow::Continue);
  EXPECT_EQ(request(), Flow::Continue);
  EXPECT_EQ(request(), Flow::Continue);  // 2 KB counted so far, not 4
  auto ctx = gw.request(nullptr);
  ASSERT_EQ(first->apply(*ctx), Flow::Error);
  EXPECT_EQ(
      ctx->response->body,
      R"x({ "statusCode": 403, "message": "Out of bandwidth quota. Quota will be replenished in 01:00:00." })x");
}

TEST(QuotaByKey, RefusesWhatAPIMRefusesAtLoad) {
  Gateway gw;
  auto error = [&](std::string_view xml) { return gw.load_error(&make_quota_by_key, xml); };
  auto has = [](const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
  };
  EXPECT_EQ(error(R"x(<quota-by-key calls="1" renewal-period="0" counter-key="k" />)x"), "");
  EXPECT_EQ(error(R"x(<quota-by-key calls="1" renewal-period="300" counter-key="k"
                first-period-start="2024-02-29T12:30:00+01:00" />)x"),
            "");
  EXPECT_TRUE(has(error(R"x(<quota-by-key calls="1" renewal-period="299" counter-key="k" />)x"),
                  "at least 300"));
  EXPECT_TRUE(has(error(R"x(<quota-by-key renewal-period="300" counter-key="k" />)x"),
                  "needs 'calls', 'bandwidth' or both"));
  EXPECT_TRUE(has(error(R"x(<quota-by-key calls="1" renewal-period="300" />)x"),
                  "missing required attribute 'counter-key'"));
  EXPECT_TRUE(has(error(R"x(<quota-by-key calls="1" renewal-period="300" counter-key="k"
                     first-period-start="2023-02-29T00:00:00Z" />)x"),
                  "first-period-start"));
  EXPECT_TRUE(has(error(R"x(<quota-by-key calls="@(1)" renewal-period="300" counter-key="k" />)x"),
                  "does not accept policy expressions"));
}

TEST(QuotaByKey, RegisteredForInboundAtEveryScope) {
  const PolicyKind* kind = find_policy_kind("quota-by-key");
  ASSERT_TRUE(kind);
  EXPECT_EQ(kind->sections, kInbound);
  EXPECT_EQ(kind->scopes, kAnyScope);
}

}  // namespace
}  // namespace gh::policy
