#include "admin/subscription_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/test_pki.h"

namespace gh::admin {
namespace {

namespace json = boost::json;
using Outcome = policy::SubscriptionCheck::Outcome;

constexpr int64_t kNow = 1'750'000'000;

config::ProxyConfig declared_config() {
  config::ProxyConfig c;
  c.apis.resize(2);
  c.apis[0].name = "orders";
  c.apis[1].name = "status";
  c.products.push_back({"starter", "Starter", true, {"orders"}, {}, {}});
  config::Subscription s;
  s.id = s.name = "from-file";
  s.scope = "/apis";
  s.primary_key = "file-key";
  c.subscriptions.push_back(s);
  return c;
}

class SubscriptionApiTest : public ::testing::Test {
 protected:
  SubscriptionApiTest() : clock_(kNow) {
    auto db = store::Database::open(":memory:");
    EXPECT_TRUE(db);
    auto store = store::SubscriptionStore::open(std::shared_ptr<store::Database>(std::move(*db)));
    EXPECT_TRUE(store);
    store_ = std::move(*store);
    auto reg = policy::SubscriptionRegistry::build(declared_config());
    EXPECT_TRUE(reg);
    registry_ = *reg;
    feed_.set_declared(registry_);
    api_.emplace(*store_, feed_, clock_);
  }

  AdminResponse call(std::string_view method, std::string_view target, std::string_view body = {}) {
    AdminRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    return api_->handle(r);
  }
  static json::value parse(const AdminResponse& r) { return json::parse(r.body); }

  // What the gateway answers for `key` on `api` with the feed's current table.
  Outcome check(std::string_view api, std::string_view key) {
    auto table = feed_.current();
    return registry_->check(api, true, key, table.get()).outcome;
  }

  test::FixedClock clock_;
  std::unique_ptr<store::SubscriptionStore> store_;
  policy::SubscriptionFeed feed_;
  std::shared_ptr<const policy::SubscriptionRegistry> registry_;
  std::optional<SubscriptionApi> api_;
};

TEST_F(SubscriptionApiTest, CreateShowsTheKeysOnceAndTheGatewayTakesThemAtOnce) {
  const uint64_t before = feed_.generation();
  auto r = call("POST", "/v1/subscriptions",
                R"({"id":"contoso","name":"Contoso","scope":"/products/starter"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  auto body = parse(r);
  const std::string primary(body.at("primary_key").as_string());
  const std::string secondary(body.at("secondary_key").as_string());
  EXPECT_EQ(primary.size(), 32u);
  EXPECT_NE(primary, secondary);
  EXPECT_EQ(body.at("state").as_string(), "active");
  EXPECT_EQ(body.at("source").as_string(), "admin");
  EXPECT_EQ(body.at("created_at").as_string(), "2025-06-15T15:06:40Z");
  EXPECT_EQ(body.at("keys").at("primary").at("hint").as_string(), primary.substr(0, 3));
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "/v1/subscriptions/contoso");
  EXPECT_NE(feed_.generation(), before);
  EXPECT_EQ(check("orders", primary), Outcome::Granted);
  EXPECT_EQ(check("orders", secondary), Outcome::Granted);
  EXPECT_EQ(check("status", primary), Outcome::Invalid);  // not in the product

  // Later reads never carry a key.
  for (const char* target :
       {"/v1/subscriptions/contoso", "/v1/subscriptions", "/v1/subscriptions/contoso/keys"}) {
    auto read = call("GET", target);
    ASSERT_EQ(read.status, 200u) << target << read.body;
    EXPECT_EQ(read.body.find(primary), std::string::npos) << target;
    EXPECT_EQ(read.body.find(secondary), std::string::npos) << target;
  }
  auto keys = parse(call("GET", "/v1/subscriptions/contoso/keys"));
  EXPECT_EQ(keys.at("secondary").at("hint").as_string(), secondary.substr(0, 3));
}

TEST_F(SubscriptionApiTest, RegenerateReplacesOneKeyAndKeepsTheOther) {
  auto created = parse(call("POST", "/v1/subscriptions", R"({"id":"c","scope":"/apis"})"));
  const std::string primary(created.at("primary_key").as_string());
  const std::string secondary(created.at("secondary_key").as_string());
  clock_.advance(60);
  auto r = call("POST", "/v1/subscriptions/c/keys/secondary/regenerate");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto body = parse(r);
  const std::string fresh(body.at("value").as_string());
  EXPECT_EQ(body.at("key").as_string(), "secondary");
  EXPECT_NE(fresh, secondary);
  EXPECT_EQ(check("orders", primary), Outcome::Granted);
  EXPECT_EQ(check("orders", fresh), Outcome::Granted);
  EXPECT_EQ(check("orders", secondary), Outcome::Invalid);
  auto keys = parse(call("GET", "/v1/subscriptions/c/keys"));
  EXPECT_EQ(keys.at("secondary").at("changed_at").as_string(), "2025-06-15T15:07:40Z");
  EXPECT_EQ(keys.at("primary").at("changed_at").as_string(), "2025-06-15T15:06:40Z");

  EXPECT_EQ(call("POST", "/v1/subscriptions/c/keys/tertiary/regenerate").status, 404u);
  EXPECT_EQ(call("POST", "/v1/subscriptions/nope/keys/primary/regenerate").status, 404u);
  EXPECT_EQ(call("GET", "/v1/subscriptions/c/keys/primary/regenerate").status, 405u);
}

TEST_F(SubscriptionApiTest, SuspendActivateAndDelete) {
  auto created = parse(call("POST", "/v1/subscriptions", R"({"id":"c","scope":"/apis/orders"})"));
  const std::string primary(created.at("primary_key").as_string());
  auto r = call("PATCH", "/v1/subscriptions/c", R"({"state":"suspended"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(parse(r).at("state").as_string(), "suspended");
  EXPECT_EQ(check("orders", primary), Outcome::Invalid);
  ASSERT_EQ(call("PATCH", "/v1/subscriptions/c", R"({"state":"active"})").status, 200u);
  EXPECT_EQ(check("orders", primary), Outcome::Granted);
  EXPECT_EQ(call("PATCH", "/v1/subscriptions/c", R"({"state":"paused"})").status, 400u);
  ASSERT_EQ(call("DELETE", "/v1/subscriptions/c").status, 204u);
  EXPECT_EQ(check("orders", primary), Outcome::Invalid);
  EXPECT_EQ(call("GET", "/v1/subscriptions/c").status, 404u);
  EXPECT_EQ(call("DELETE", "/v1/subscriptions/c").status, 404u);
}

TEST_F(SubscriptionApiTest, CreateChecksScopeIdStateAndKeys) {
  EXPECT_EQ(call("POST", "/v1/subscriptions", R"({"scope":"/products/gold"})").status, 404u);
  EXPECT_EQ(call("POST", "/v1/subscriptions", R"({"scope":"/apis/nope"})").status, 404u);
  EXPECT_EQ(call("POST", "/v1/subscriptions", R"({"scope":"/everything"})").status, 400u);
  EXPECT_EQ(call("POST", "/v1/subscriptions", R"({"name":"x"})").status, 400u);
  EXPECT_EQ(call("POST", "/v1/subscriptions", R"({"scope":"/apis","sate":"active"})").status, 400u);
  EXPECT_EQ(call("POST", "/v1/subscriptions", R"({"scope":"/apis","id":"a b"})").status, 400u);
  EXPECT_EQ(call("POST", "/v1/subscriptions", R"({"scope":"/apis","state":"on"})").status, 400u);
  EXPECT_EQ(
      call("POST", "/v1/subscriptions", R"({"scope":"/apis","primary_key":"has space"})").status,
      400u);
  // The id or a key of a subscription in the file: conflict, the key never echoed.
  EXPECT_EQ(call("POST", "/v1/subscriptions", R"({"scope":"/apis","id":"from-file"})").status,
            409u);
  auto clash = call("POST", "/v1/subscriptions", R"({"scope":"/apis","primary_key":"file-key"})");
  EXPECT_EQ(clash.status, 409u);
  EXPECT_EQ(clash.body.find("file-key"), std::string::npos);
  // Given keys are taken as they are; a generated id when none is given.
  auto r = call("POST", "/v1/subscriptions",
                R"({"scope":"/apis","primary_key":"my-primary","secondary_key":"my-secondary"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(parse(r).at("id").as_string().size(), 24u);
  EXPECT_EQ(check("status", "my-secondary"), Outcome::Granted);
  EXPECT_EQ(
      call("POST", "/v1/subscriptions", R"({"scope":"/apis","primary_key":"my-secondary"})").status,
      409u);
}

TEST_F(SubscriptionApiTest, DeclaredSubscriptionsAreListedButChangedInTheFile) {
  auto list = parse(call("GET", "/v1/subscriptions"));
  const auto& subs = list.at("subscriptions").as_array();
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].at("id").as_string(), "from-file");
  EXPECT_EQ(subs[0].at("source").as_string(), "config");
  EXPECT_TRUE(subs[0].at("keys").is_null());
  EXPECT_EQ(call("GET", "/v1/subscriptions/from-file").status, 200u);
  EXPECT_EQ(call("PATCH", "/v1/subscriptions/from-file", R"({"state":"suspended"})").status, 409u);
  EXPECT_EQ(call("DELETE", "/v1/subscriptions/from-file").status, 409u);
  EXPECT_EQ(call("POST", "/v1/subscriptions/from-file/keys/primary/regenerate").status, 409u);
}

TEST_F(SubscriptionApiTest, ProductsAndRouting) {
  auto r = call("GET", "/v1/products");
  ASSERT_EQ(r.status, 200u);
  auto body = parse(r);
  const auto& p = body.at("products").as_array().at(0);
  EXPECT_EQ(p.at("id").as_string(), "starter");
  EXPECT_TRUE(p.at("subscription_required").as_bool());
  EXPECT_EQ(p.at("apis").as_array().at(0).as_string(), "orders");
  EXPECT_EQ(call("POST", "/v1/products").status, 405u);
  EXPECT_EQ(call("PUT", "/v1/subscriptions").status, 405u);
  EXPECT_EQ(call("GET", "/v1/subscriptions/a/b").status, 404u);
  EXPECT_TRUE(SubscriptionApi::serves("/v1/subscriptions"));
  EXPECT_TRUE(SubscriptionApi::serves("/v1/subscriptions/x/keys"));
  EXPECT_TRUE(SubscriptionApi::serves("/v1/products"));
  EXPECT_FALSE(SubscriptionApi::serves("/v1/subscriptionsx"));
  EXPECT_FALSE(SubscriptionApi::serves("/v1/tenants"));
}

TEST_F(SubscriptionApiTest, PublishReadsWhatAnEarlierProcessStored) {
  ASSERT_EQ(call("POST", "/v1/subscriptions",
                 R"({"id":"kept","scope":"/apis","primary_key":"kept-1","secondary_key":"kept-2"})")
                .status,
            201u);
  // A new feed, as after a restart, loaded from the same store.
  policy::SubscriptionFeed fresh;
  ASSERT_TRUE(publish_managed_subscriptions(*store_, fresh));
  auto table = fresh.current();
  auto r = registry_->check("orders", true, "kept-2", table.get());
  EXPECT_EQ(r.outcome, Outcome::Granted);
  ASSERT_NE(r.subscription, nullptr);
  EXPECT_EQ(r.subscription->created_unix, kNow);
}

}  // namespace
}  // namespace gh::admin
