#include "policy/subscriptions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/encoding.h"
#include "core/references.h"

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

// A worker remembers the digests of the keys it saw last: keys of the same length and the same
// last eight bytes share a slot, and each one is still told apart in full, in any order.
TEST(Subscriptions, RememberedKeyDigestsAreComparedInFull) {
  auto reg = SubscriptionRegistry::build(sample());
  ASSERT_TRUE(reg) << reg.error().message;
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ((*reg)->check("orders", true, "orders-key").outcome, Outcome::Granted);
    EXPECT_EQ((*reg)->check("orders", true, "Orders-key").outcome, Outcome::Invalid);
    EXPECT_EQ((*reg)->check("orders", true, "orders-key").outcome, Outcome::Granted);
    EXPECT_EQ((*reg)->check("orders", true, "orders-ke").outcome, Outcome::Invalid);
    EXPECT_EQ((*reg)->check("orders", true, "").outcome, Outcome::Invalid);
    EXPECT_EQ((*reg)->check("billing", true, "hashed-key").outcome, Outcome::Granted);
  }
  const std::string long_key(300, 'k');  // above what is remembered: hashed each time
  EXPECT_EQ((*reg)->check("orders", true, long_key).outcome, Outcome::Invalid);
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

// Answers "keys:NAME" references, as the vault role answers "vault:secrets/NAME".
class KeyResolver : public core::ReferenceResolver {
 public:
  std::map<std::string, std::string, std::less<>> values;
  Result<std::string> read(std::string_view reference) override {
    auto it = values.find(reference);
    if (it == values.end()) return unexpected(ErrorKind::NotFound, "no such item");
    return it->second;
  }
  std::string stamp(std::string_view) override { return "1"; }
};

struct KeyFiles : ::testing::Test {
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("gh-subkeys-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir);
    core::register_resolver("keys", resolver);
  }
  void TearDown() override {
    core::register_resolver("keys", nullptr);
    std::filesystem::remove_all(dir);
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir;
  std::shared_ptr<KeyResolver> resolver = std::make_shared<KeyResolver>();
};

TEST_F(KeyFiles, KeysComeFromFilesAndReferences) {
  auto c = sample();
  c.subscriptions[1].primary_key.clear();
  c.subscriptions[1].primary_key_file = write("orders.key", "from-a-file\r\n");
  c.subscriptions[2].secondary_key_file = "keys:secrets/master-2";
  resolver->values["secrets/master-2"] = "from-the-vault";
  auto reg = SubscriptionRegistry::build(c);
  ASSERT_TRUE(reg) << reg.error().message;
  auto r = (*reg)->check("orders", true, "from-a-file");  // the line break is not part of it
  EXPECT_EQ(r.outcome, Outcome::Granted);
  ASSERT_NE(r.subscription, nullptr);
  EXPECT_EQ(r.subscription->id, "orders-only");
  EXPECT_EQ((*reg)->check("orders", true, "orders-key").outcome, Outcome::Invalid);
  r = (*reg)->check("billing", true, "from-the-vault");
  EXPECT_EQ(r.outcome, Outcome::Granted);
  EXPECT_EQ(r.subscription->id, "everything");
  EXPECT_EQ((*reg)->check("billing", true, "master").outcome, Outcome::Granted);  // the other key
  EXPECT_EQ((*reg)->key_files(), (std::vector<std::string>{c.subscriptions[1].primary_key_file,
                                                           "keys:secrets/master-2"}));

  // A file may hold the digest, as the configuration may.
  auto hashed = sample();
  hashed.subscriptions[1].primary_key_file =
      write("hashed.key", "sha256:" + core::hex_encode(crypto::sha256(std::string_view("h-key"))));
  reg = SubscriptionRegistry::build(hashed);
  ASSERT_TRUE(reg) << reg.error().message;
  EXPECT_EQ((*reg)->check("orders", true, "h-key").outcome, Outcome::Granted);
}

TEST_F(KeyFiles, UnusableKeyFilesFailNamingTheEntryNotTheKey) {
  auto c = sample();
  c.subscriptions[0].secondary_key_file = write("empty.key", "\n");
  auto r = SubscriptionRegistry::build(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("subscription 'gold-sub': secondary_key_file: must hold a key"),
            std::string::npos)
      << r.error().message;

  const std::string long_key(257, 'x');
  c.subscriptions[0].secondary_key_file = write("long.key", long_key);
  r = SubscriptionRegistry::build(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("xxxx"), std::string::npos);

  c.subscriptions[0].secondary_key_file = "keys:secrets/missing";
  r = SubscriptionRegistry::build(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("subscription 'gold-sub': secondary_key_file"),
            std::string::npos)
      << r.error().message;

  // A key read from a file is still checked against the other subscriptions' keys.
  c.subscriptions[0].secondary_key_file = write("dup.key", "orders-key\n");
  r = SubscriptionRegistry::build(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("subscription 'orders-only': a key is also used by "
                                   "subscription 'gold-sub'"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().message.find("orders-key"), std::string::npos);
}

ManagedSubscription managed(std::string id, std::string scope, std::vector<std::string> keys,
                            bool active = true) {
  ManagedSubscription m;
  m.id = m.name = std::move(id);
  m.scope = std::move(scope);
  m.active = active;
  m.created_unix = 1'700'000'000;
  for (const auto& k : keys)
    m.keys.push_back(crypto::sha256(k));
  return m;
}

TEST(Subscriptions, ManagedKeysGrantTheirScopeInTheProductContext) {
  auto reg = SubscriptionRegistry::build(sample());
  ASSERT_TRUE(reg);
  std::vector<ManagedSubscription> subs;
  subs.push_back(managed("partner", "/products/gold", {"p-1", "p-2"}));
  subs.push_back(managed("billing-app", "/apis/billing", {"b-1", "b-2"}));
  subs.push_back(managed("paused", "/apis", {"s-1", "s-2"}, false));
  subs.push_back(managed("gone-product", "/products/nope", {"g-1", "g-2"}));
  ManagedSubscriptionTable table(std::move(subs));

  for (const char* key : {"p-1", "p-2"}) {
    auto r = (*reg)->check("billing", true, key, &table);
    ASSERT_EQ(r.outcome, Outcome::Granted) << key;
    ASSERT_NE(r.subscription, nullptr);
    EXPECT_EQ(r.subscription->id, "partner");
    EXPECT_EQ(r.subscription->created_unix, 1'700'000'000);
    ASSERT_NE(r.product, nullptr);
    EXPECT_EQ(r.product->id, "gold");  // the registry's own product: its pipelines match
  }
  EXPECT_EQ((*reg)->check("public", false, "p-1", &table).outcome, Outcome::Invalid);
  auto r = (*reg)->check("billing", true, "b-2", &table);
  EXPECT_EQ(r.outcome, Outcome::Granted);
  EXPECT_EQ(r.product, nullptr);
  EXPECT_EQ((*reg)->check("orders", true, "b-1", &table).outcome, Outcome::Invalid);
  EXPECT_EQ((*reg)->check("orders", true, "s-1", &table).outcome, Outcome::Invalid);
  EXPECT_EQ((*reg)->check("orders", true, "g-1", &table).outcome, Outcome::Invalid);
  // Without the table the managed keys are unknown; declared keys work either way.
  EXPECT_EQ((*reg)->check("billing", true, "p-1").outcome, Outcome::Invalid);
  EXPECT_EQ((*reg)->check("orders", true, "gold-1", &table).outcome, Outcome::Granted);
}

TEST(Subscriptions, FeedPublishesNewTablesUnderANewGeneration) {
  SubscriptionFeed feed;
  const uint64_t g0 = feed.generation();
  auto first = feed.current();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->size(), 0u);
  std::vector<ManagedSubscription> subs;
  subs.push_back(managed("a", "/apis", {"k1", "k2"}));
  feed.publish(std::make_shared<const ManagedSubscriptionTable>(std::move(subs)));
  EXPECT_NE(feed.generation(), g0);
  auto second = feed.current();
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second->find(crypto::sha256(std::string_view("k2"))), nullptr);
  EXPECT_EQ(second->find(crypto::sha256(std::string_view("k3"))), nullptr);
  // A reader still holding the first table keeps it valid.
  EXPECT_EQ(first->size(), 0u);

  EXPECT_EQ(feed.declared(), nullptr);
  auto reg = SubscriptionRegistry::build(sample());
  ASSERT_TRUE(reg);
  feed.set_declared(*reg);
  EXPECT_EQ(feed.declared(), *reg);
}

TEST(Subscriptions, RegistryAnswersWhatTheConfigurationDeclares) {
  auto c = sample();
  c.subscriptions[0].start_unix = 1'600'000'000;
  auto reg = SubscriptionRegistry::build(c);
  ASSERT_TRUE(reg);
  EXPECT_TRUE((*reg)->has_product("gold"));
  EXPECT_FALSE((*reg)->has_product("silver"));
  EXPECT_TRUE((*reg)->has_api("public"));
  EXPECT_FALSE((*reg)->has_api("nope"));
  EXPECT_TRUE((*reg)->declares_subscription("orders-only"));
  EXPECT_FALSE((*reg)->declares_subscription("partner"));
  EXPECT_TRUE((*reg)->declares_key(crypto::sha256(std::string_view("gold-2"))));
  EXPECT_TRUE((*reg)->declares_key(crypto::sha256(std::string_view("hashed-key"))));
  EXPECT_FALSE((*reg)->declares_key(crypto::sha256(std::string_view("other"))));
  EXPECT_EQ((*reg)->apis_of("gold"), (std::vector<std::string>{"orders", "billing"}));
  auto declared = (*reg)->declared();
  ASSERT_EQ(declared.size(), 5u);
  EXPECT_EQ(declared[0].first->id, "gold-sub");
  EXPECT_EQ(declared[0].first->created_unix, 1'600'000'000);  // start_date anchors quotas
  EXPECT_TRUE(declared[0].second);
  EXPECT_FALSE(declared[3].second);  // suspended
}

}  // namespace
}  // namespace gh::policy
