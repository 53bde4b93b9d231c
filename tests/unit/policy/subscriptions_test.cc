#include "policy/subscriptions.h"

#include <gtest/gtest.h>

#include "core/encoding.h"

namespace gh::policy {
namespace {

using Outcome = SubscriptionCheck::Outcome;

config::ProxyConfig sample() {
  config::ProxyConfig c;
  c.apis.resize(3);
  c.apis[0].name = "orders";
  c.apis[1].name = "billing";
  c.apis[2].name = "public";
  c.products.push_back({"gold", "Gold", true, {"orders", "billing"}, {}, {}});
  c.products.push_back({"open", "Open", false, {"public"}, {}, {}});
  auto sub = [&](std::string id, std::string scope, std::string k1, std::string k2,
                 std::string state = "active") {
    config::Subscription s;
    s.id = s.name = std::move(id);
    s.scope = std::move(scope);
    s.primary_key = std::move(k1);
    s.secondary_key = std::move(k2);
    s.state = std::move(state);
    c.subscriptions.push_back(std::move(s));
  };
  sub("gold-sub", "/products/gold", "gold-1", "gold-2");
  sub("orders-only", "/apis/orders", "orders-key", "");
  sub("everything", "/", "master", "");
  sub("suspended", "/apis", "sus-key", "", "suspended");
  auto d = crypto::sha256(std::string_view("hashed-key"));
  sub("hashed", "/apis/billing", "sha256:" + core::hex_encode(d), "");
  return c;
}

TEST(Subscriptions, KeysGrantTheirScopeOnly) {
  auto reg = SubscriptionRegistry::build(sample());
  ASSERT_TRUE(reg) << reg.error().message;
  auto r = (*reg)->check("orders", true, "gold-2");
  EXPECT_EQ(r.outcome, Outcome::Granted);
  ASSERT_NE(r.subscription, nullptr);
  EXPECT_EQ(r.subscription->id, "gold-sub");
  ASSERT_NE(r.product, nullptr);
  EXPECT_EQ(r.product->id, "gold");

  EXPECT_EQ((*reg)->check("public", false, "gold-1").outcome, Outcome::Invalid);
  r = (*reg)->check("orders", true, "orders-key");
  EXPECT_EQ(r.outcome, Outcome::Granted);
  EXPECT_EQ(r.product, nullptr);  // API-scoped: no product policies
  EXPECT_EQ((*reg)->check("billing", true, "orders-key").outcome, Outcome::Invalid);
  EXPECT_EQ((*reg)->check("billing", true, "master").outcome, Outcome::Granted);
  EXPECT_EQ((*reg)->check("billing", true, "sus-key").outcome, Outcome::Invalid);
  EXPECT_EQ((*reg)->check("billing", true, "hashed-key").outcome, Outcome::Granted);
  EXPECT_EQ((*reg)->check("orders", true, "hashed-key").outcome, Outcome::Invalid);
  EXPECT_EQ((*reg)->check("orders", true, "nope").outcome, Outcome::Invalid);
  EXPECT_EQ((*reg)->check("orders", true, "").outcome, Outcome::Invalid);
}

TEST(Subscriptions, WithoutKeyOpenProductThenApiSetting) {
  auto reg = SubscriptionRegistry::build(sample());
  ASSERT_TRUE(reg);
  auto r = (*reg)->check("public", true, std::nullopt);
  EXPECT_EQ(r.outcome, Outcome::Granted);
  ASSERT_NE(r.product, nullptr);
  EXPECT_EQ(r.product->id, "open");
  EXPECT_EQ((*reg)->check("orders", true, std::nullopt).outcome, Outcome::Missing);
  r = (*reg)->check("orders", false, std::nullopt);
  EXPECT_EQ(r.outcome, Outcome::Granted);
  EXPECT_EQ(r.subscription, nullptr);
  // A key offered to an API that needs none must still be valid.
  EXPECT_EQ((*reg)->check("orders", false, "bad").outcome, Outcome::Invalid);
}

TEST(Subscriptions, RejectsSharedAndMalformedHashedKeys) {
  auto c = sample();
  c.subscriptions[1].secondary_key = "gold-1";
  auto reg = SubscriptionRegistry::build(c);
  ASSERT_FALSE(reg);
  EXPECT_NE(reg.error().message.find("also used by subscription 'gold-sub'"), std::string::npos);
  EXPECT_EQ(reg.error().message.find("gold-1"), std::string::npos);  // keys never shown

  auto bad = sample();
  bad.subscriptions[0].primary_key = "sha256:abc";
  auto r2 = SubscriptionRegistry::build(bad);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("64 hexadecimal digits"), std::string::npos);
}

}  // namespace
}  // namespace gh::policy
