#include "store/subscription_store.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace gh::store {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> digest_of(uint8_t fill) {
  return std::vector<uint8_t>(32, fill);
}

SubscriptionRecord record(std::string id, uint8_t primary, uint8_t secondary) {
  SubscriptionRecord r;
  r.id = id;
  r.name = "Name of " + id;
  r.scope = "/products/starter";
  r.state = "active";
  r.created_at = r.updated_at = 1'700'000'000;
  r.primary = {digest_of(primary), "abc", 1'700'000'000};
  r.secondary = {digest_of(secondary), "def", 1'700'000'000};
  return r;
}

std::unique_ptr<SubscriptionStore> open_memory() {
  auto db = Database::open(":memory:");
  EXPECT_TRUE(db);
  auto store = SubscriptionStore::open(std::shared_ptr<Database>(std::move(*db)));
  EXPECT_TRUE(store) << (store ? "" : store.error().message);
  return store ? std::move(*store) : nullptr;
}

TEST(SubscriptionStore, CreateGetAndListInIdOrder) {
  auto store = open_memory();
  ASSERT_TRUE(store->create(record("zeta", 1, 2)));
  ASSERT_TRUE(store->create(record("alpha", 3, 4)));
  auto got = store->get("zeta");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->name, "Name of zeta");
  EXPECT_EQ(got->scope, "/products/starter");
  EXPECT_EQ(got->state, "active");
  EXPECT_EQ(got->created_at, 1'700'000'000);
  EXPECT_EQ(got->primary.digest, digest_of(1));
  EXPECT_EQ(got->secondary.digest, digest_of(2));
  EXPECT_EQ(got->primary.hint, "abc");
  auto all = store->list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "alpha");
  EXPECT_EQ((*all)[1].id, "zeta");
}

TEST(SubscriptionStore, RefusesADuplicateIdOrAKeyInUse) {
  auto store = open_memory();
  ASSERT_TRUE(store->create(record("one", 1, 2)));
  auto dup = store->create(record("one", 5, 6));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().kind, ErrorKind::Conflict);
  // Another subscription's secondary as this one's primary: refused, naming the owner only.
  auto clash = store->create(record("two", 2, 7));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().kind, ErrorKind::Conflict);
  EXPECT_NE(clash.error().message.find("'one'"), std::string::npos);
  auto same = store->create(record("three", 8, 8));
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().kind, ErrorKind::Conflict);
  auto all = store->list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST(SubscriptionStore, ReplacesOneKeyAndLeavesTheOther) {
  auto store = open_memory();
  ASSERT_TRUE(store->create(record("one", 1, 2)));
  ASSERT_TRUE(store->replace_key("one", KeySlot::Secondary, {digest_of(9), "xyz", 1'700'000'500},
                                 1'700'000'500));
  auto got = store->get("one");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->primary.digest, digest_of(1));
  EXPECT_EQ(got->secondary.digest, digest_of(9));
  EXPECT_EQ(got->secondary.hint, "xyz");
  EXPECT_EQ(got->secondary.changed_at, 1'700'000'500);
  EXPECT_EQ(got->primary.changed_at, 1'700'000'000);
  EXPECT_EQ(got->updated_at, 1'700'000'500);
  // A digest already in use (its own primary) is refused.
  auto clash = store->replace_key("one", KeySlot::Secondary, {digest_of(1), "abc", 1}, 1);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().kind, ErrorKind::Conflict);
  auto missing = store->replace_key("nope", KeySlot::Primary, {digest_of(3), "q", 1}, 1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
}

TEST(SubscriptionStore, UpdatesNameAndStateAndRemoves) {
  auto store = open_memory();
  ASSERT_TRUE(store->create(record("one", 1, 2)));
  ASSERT_TRUE(store->update("one", std::nullopt, std::string("suspended"), 1'700'000'100));
  auto got = store->get("one");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, "suspended");
  EXPECT_EQ(got->name, "Name of one");
  ASSERT_TRUE(store->update("one", std::string("Renamed"), std::nullopt, 1'700'000'200));
  got = store->get("one");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, "suspended");
  EXPECT_EQ(got->name, "Renamed");
  EXPECT_EQ(got->created_at, 1'700'000'000);
  EXPECT_EQ(store->update("nope", std::nullopt, std::nullopt, 1).error().kind, ErrorKind::NotFound);
  ASSERT_TRUE(store->remove("one"));
  EXPECT_EQ(store->get("one").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(store->remove("one").error().kind, ErrorKind::NotFound);
}

TEST(SubscriptionStore, SurvivesReopeningTheDatabaseFile) {
  std::string tmpl = (fs::temp_directory_path() / "gh-subs-XXXXXX").string();
  const std::string dir = ::mkdtemp(tmpl.data());
  const std::string path = dir + "/gatehouse.db";
  {
    auto db = Database::open(path);
    ASSERT_TRUE(db);
    auto store = SubscriptionStore::open(std::shared_ptr<Database>(std::move(*db)));
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->create(record("kept", 1, 2)));
  }
  {
    auto db = Database::open(path);
    ASSERT_TRUE(db);
    auto store = SubscriptionStore::open(std::shared_ptr<Database>(std::move(*db)));
    ASSERT_TRUE(store) << store.error().message;
    auto got = (*store)->get("kept");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->secondary.digest, digest_of(2));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace gh::store
