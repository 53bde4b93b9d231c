// The vault store's secrets: versions, metadata, soft delete, validation, envelope encryption
// at rest (no plaintext in the database file), master key rotation and change stamps.

#include "vault/vault_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "vault_fixtures.h"

namespace gh::vault {
namespace {

using test::kDay;
using test::kT0;

class VaultSecretsTest : public ::testing::Test {
 protected:
  gh::test::FixedClock clock{kT0};
  std::shared_ptr<store::Database> db = test::open_db();
  std::unique_ptr<VaultStore> vault = test::open_store(db, test::master_key(0x11), clock);

  SecretInfo set(const std::string& name, const std::string& value) {
    auto info = vault->set_secret(test::new_secret(name, value));
    EXPECT_TRUE(info) << info.error().message;
    return info ? *info : SecretInfo{};
  }
};

TEST_F(VaultSecretsTest, SetThenGetCurrentVersion) {
  NewSecret s = test::new_secret("db-password", "s3cret-value");
  s.content_type = "text/plain";
  s.not_before = kT0 - 10;
  s.expires = kT0 + 30 * kDay;
  s.tags = {{"env", "prod"}, {"owner", "team-a"}};
  auto info = vault->set_secret(s);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->name, "db-password");
  EXPECT_TRUE(test::is_version_id(info->version)) << info->version;
  EXPECT_EQ(info->attributes.created, kT0);
  EXPECT_EQ(info->attributes.updated, kT0);
  EXPECT_FALSE(info->managed);

  auto got = vault->get_secret("db-password");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->value, "s3cret-value");
  EXPECT_EQ(got->info.version, info->version);
  EXPECT_EQ(got->info.content_type, "text/plain");
  EXPECT_TRUE(got->info.attributes.enabled);
  EXPECT_EQ(got->info.attributes.not_before, kT0 - 10);
  EXPECT_EQ(got->info.attributes.expires, kT0 + 30 * kDay);
  EXPECT_EQ(got->info.tags, s.tags);

  auto meta = vault->get_secret_info("db-password", info->version);
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->tags, s.tags);
}

TEST_F(VaultSecretsTest, EverySetIsANewCurrentVersionAndOldOnesStayReadable) {
  const SecretInfo v1 = set("api-key", "one");
  clock.advance(60);
  const SecretInfo v2 = set("api-key", "two");
  clock.advance(60);
  const SecretInfo v3 = set("api-key", "three");
  EXPECT_NE(v1.version, v2.version);
  EXPECT_NE(v2.version, v3.version);

  EXPECT_EQ(vault->get_secret("api-key")->value, "three");
  EXPECT_EQ(vault->get_secret("api-key", v1.version)->value, "one");
  EXPECT_EQ(vault->get_secret("api-key", v2.version)->value, "two");

  auto versions = vault->list_secret_versions("api-key");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].version, v1.version);
  EXPECT_EQ((*versions)[1].version, v2.version);
  EXPECT_EQ((*versions)[2].version, v3.version);
  EXPECT_EQ((*versions)[2].attributes.created, kT0 + 120);
}

TEST_F(VaultSecretsTest, VersionsAreLookedUpInEitherCase) {
  const SecretInfo v1 = set("api-key", "one");
  std::string upper = v1.version;
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto got = vault->get_secret("api-key", upper);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->value, "one");
}

TEST_F(VaultSecretsTest, NamesAreCaseInsensitiveAndKeepTheirFirstSpelling) {
  set("Db-Password", "one");
  set("db-password", "two");
  auto got = vault->get_secret("DB-PASSWORD");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->value, "two");
  EXPECT_EQ(got->info.name, "Db-Password");
  EXPECT_EQ(vault->list_secret_versions("db-password")->size(), 2u);
  EXPECT_EQ(vault->list_secrets()->size(), 1u);
}

TEST_F(VaultSecretsTest, UnknownNamesAndVersionsAreNotFound) {
  auto missing = vault->get_secret("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);

  set("there", "value");
  auto bad_version = vault->get_secret("there", "0123456789abcdef0123456789abcdef");
  ASSERT_FALSE(bad_version);
  EXPECT_EQ(bad_version.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->get_secret_info("nope").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->list_secret_versions("nope").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->update_secret("nope", "", {}).error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->delete_secret("nope").error().kind, ErrorKind::NotFound);
}

TEST_F(VaultSecretsTest, ListShowsCurrentVersionsByName) {
  set("b-secret", "1");
  const SecretInfo a1 = set("a-secret", "1");
  const SecretInfo a2 = set("a-secret", "2");
  set("c-secret", "1");
  ASSERT_TRUE(vault->delete_secret("c-secret"));
  auto list = vault->list_secrets();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a-secret");
  EXPECT_EQ((*list)[0].version, a2.version);
  EXPECT_EQ((*list)[1].name, "b-secret");
  (void)a1;
}

TEST_F(VaultSecretsTest, UpdateChangesMetadataOnly) {
  const SecretInfo v1 = set("api-key", "one");
  const SecretInfo v2 = set("api-key", "two");
  clock.advance(100);
  SecretUpdate u;
  u.enabled = false;
  u.content_type = "application/json";
  u.tags = Tags{{"rotated", "yes"}};
  u.expires = kT0 + kDay;
  auto updated = vault->update_secret("api-key", v1.version, u);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_FALSE(updated->attributes.enabled);
  EXPECT_EQ(updated->attributes.updated, kT0 + 100);
  EXPECT_EQ(updated->attributes.created, kT0);

  // Disabled versions are still returned, flagged: serving them is the caller's decision.
  auto got = vault->get_secret("api-key", v1.version);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->value, "one");
  EXPECT_FALSE(got->info.attributes.enabled);
  EXPECT_EQ(got->info.content_type, "application/json");
  EXPECT_EQ(got->info.tags, (Tags{{"rotated", "yes"}}));
  EXPECT_EQ(got->info.attributes.expires, kT0 + kDay);

  // Unset members stay; the current version is untouched.
  SecretUpdate only_enable;
  only_enable.enabled = true;
  got = vault->get_secret("api-key", v1.version);
  ASSERT_TRUE(vault->update_secret("api-key", v1.version, only_enable));
  auto again = vault->get_secret_info("api-key", v1.version);
  EXPECT_TRUE(again->attributes.enabled);
  EXPECT_EQ(again->content_type, "application/json");
  EXPECT_EQ(vault->get_secret_info("api-key")->version, v2.version);
  EXPECT_TRUE(vault->get_secret_info("api-key")->attributes.enabled);

  // An empty version means the current one.
  ASSERT_TRUE(vault->update_secret("api-key", "", u));
  EXPECT_FALSE(vault->get_secret_info("api-key")->attributes.enabled);

  SecretUpdate bad;
  bad.not_before = kT0 + 2 * kDay;  // after the expiry set above
  auto refused = vault->update_secret("api-key", v1.version, bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::InvalidArgument);
}

TEST_F(VaultSecretsTest, ValidationNamesTheFieldNeverTheValue) {
  const std::string value = "the-value-must-never-show";
  auto expect_invalid = [&](NewSecret s, std::string_view field) {
    auto r = vault->set_secret(s);
    ASSERT_FALSE(r) << field;
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument) << field;
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find(value), std::string::npos) << r.error().message;
  };
  expect_invalid(test::new_secret("", value), "name");
  expect_invalid(test::new_secret("has space", value), "name");
  expect_invalid(test::new_secret("under_score", value), "name");
  expect_invalid(test::new_secret(std::string(128, 'a'), value), "name");
  expect_invalid(test::new_secret("ok", ""), "value");
  expect_invalid(test::new_secret("ok", std::string(25 * 1024 + 1, 'x')), "value");
  EXPECT_TRUE(vault->set_secret(test::new_secret(std::string(127, 'a'), value)));
  EXPECT_TRUE(vault->set_secret(test::new_secret("ok", std::string(25 * 1024, 'x'))));

  NewSecret s = test::new_secret("ok", value);
  for (int i = 0; i < 16; ++i)
    s.tags.emplace_back("t" + std::to_string(i), "v");
  expect_invalid(s, "tags");
  s.tags.pop_back();
  EXPECT_TRUE(vault->set_secret(s));

  s.tags = {{std::string(513, 'n'), "v"}};
  expect_invalid(s, "tag names");
  s.tags = {{"n", std::string(257, 'v')}};
  expect_invalid(s, "tag values");
  s.tags = {{"n", "1"}, {"n", "2"}};
  expect_invalid(s, "tag names");
  s.tags = {{std::string(512, 'n'), std::string(256, 'v')}};
  EXPECT_TRUE(vault->set_secret(s));

  s.tags.clear();
  s.content_type = std::string(256, 'c');
  expect_invalid(s, "content_type");
  s.content_type.clear();
  s.not_before = kT0 + 10;
  s.expires = kT0;
  expect_invalid(s, "expires");
  s.not_before = -1;
  s.expires = 0;
  expect_invalid(s, "not_before");

  EXPECT_FALSE(valid_item_name(""));
  EXPECT_FALSE(valid_item_name("a.b"));
  EXPECT_FALSE(valid_item_name("a/b"));
  EXPECT_TRUE(valid_item_name("A-z-0-9"));
}

TEST_F(VaultSecretsTest, ConfiguredSizeLimitApplies) {
  VaultLimits limits;
  limits.max_secret_bytes = 8;
  auto small = test::open_store(test::open_db(), test::master_key(0x11), clock, {}, limits);
  EXPECT_TRUE(small->set_secret(test::new_secret("a", "12345678")));
  auto r = small->set_secret(test::new_secret("a", "123456789"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument);
}

TEST_F(VaultSecretsTest, DeleteIsSoftAndBlocksTheName) {
  const SecretInfo v1 = set("api-key", "one");
  clock.advance(10);
  auto deleted = vault->delete_secret("api-key");
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(deleted->deletion.name, "api-key");
  EXPECT_EQ(deleted->deletion.deleted, kT0 + 10);
  EXPECT_EQ(deleted->deletion.scheduled_purge, kT0 + 10 + 90 * kDay);
  EXPECT_EQ(deleted->current.version, v1.version);

  EXPECT_EQ(vault->get_secret("api-key").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->get_secret("api-key", v1.version).error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->list_secret_versions("api-key").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->delete_secret("api-key").error().kind, ErrorKind::NotFound);
  auto reuse = vault->set_secret(test::new_secret("api-key", "two"));
  ASSERT_FALSE(reuse);
  EXPECT_EQ(reuse.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(vault->set_secret(test::new_secret("API-KEY", "two")).error().kind,
            ErrorKind::Conflict);

  auto got = vault->get_deleted_secret("api-key");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->deletion.scheduled_purge, kT0 + 10 + 90 * kDay);
  auto list = vault->list_deleted_secrets();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].current.version, v1.version);
  EXPECT_EQ((*list)[0].deletion.deleted, kT0 + 10);
  EXPECT_EQ(vault->get_deleted_secret("other").error().kind, ErrorKind::NotFound);
}

TEST_F(VaultSecretsTest, RecoverRestoresEveryVersion) {
  const SecretInfo v1 = set("api-key", "one");
  const SecretInfo v2 = set("api-key", "two");
  ASSERT_TRUE(vault->delete_secret("api-key"));
  EXPECT_EQ(vault->recover_deleted_secret("other").error().kind, ErrorKind::NotFound);
  auto recovered = vault->recover_deleted_secret("api-key");
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_EQ(recovered->version, v2.version);
  EXPECT_EQ(vault->get_secret("api-key")->value, "two");
  EXPECT_EQ(vault->get_secret("api-key", v1.version)->value, "one");
  EXPECT_EQ(vault->list_deleted_secrets()->size(), 0u);
  EXPECT_EQ(vault->get_deleted_secret("api-key").error().kind, ErrorKind::NotFound);
  EXPECT_TRUE(vault->set_secret(test::new_secret("api-key", "three")));
}

TEST_F(VaultSecretsTest, PurgeRemovesRowsAndFreesTheName) {
  set("api-key", "one");
  set("api-key", "two");
  EXPECT_EQ(vault->purge_deleted_secret("api-key").error().kind, ErrorKind::NotFound);
  ASSERT_TRUE(vault->delete_secret("api-key"));
  ASSERT_TRUE(vault->purge_deleted_secret("api-key"));
  EXPECT_EQ(vault->get_deleted_secret("api-key").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->recover_deleted_secret("api-key").error().kind, ErrorKind::NotFound);

  auto count = db->prepare("SELECT count(*) FROM vault_secret_versions", "count");
  ASSERT_TRUE(count);
  ASSERT_TRUE(*count->step());
  EXPECT_EQ(count->integer(0), 0);

  const SecretInfo fresh = set("api-key", "new");
  EXPECT_EQ(vault->list_secret_versions("api-key")->size(), 1u);
  EXPECT_EQ(vault->get_secret("api-key")->info.version, fresh.version);
}

TEST_F(VaultSecretsTest, DeletionsPastRetentionArePurgedOnTheirOwn) {
  set("api-key", "one");
  ASSERT_TRUE(vault->delete_secret("api-key"));
  clock.advance(90 * kDay - 1);
  EXPECT_TRUE(vault->get_deleted_secret("api-key"));
  EXPECT_EQ(vault->set_secret(test::new_secret("api-key", "x")).error().kind, ErrorKind::Conflict);
  clock.advance(1);
  EXPECT_EQ(vault->get_deleted_secret("api-key").error().kind, ErrorKind::NotFound);
  ASSERT_TRUE(vault->set_secret(test::new_secret("api-key", "x")));
  EXPECT_EQ(vault->list_secret_versions("api-key")->size(), 1u);
}

TEST_F(VaultSecretsTest, RetentionDaysAreConfigurable) {
  VaultLimits limits;
  limits.soft_delete_retention_days = 7;
  auto short_retention =
      test::open_store(test::open_db(), test::master_key(0x11), clock, {}, limits);
  ASSERT_TRUE(short_retention->set_secret(test::new_secret("a", "1")));
  auto deleted = short_retention->delete_secret("a");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->deletion.scheduled_purge, kT0 + 7 * kDay);
  limits.soft_delete_retention_days = 0;
  EXPECT_FALSE(VaultStore::open(test::open_db(), test::master_key(0x11), {}, clock, limits));
}

TEST_F(VaultSecretsTest, CurrentStampFollowsVersionAndEnabledFlag) {
  const SecretInfo v1 = set("api-key", "one");
  auto stamp = vault->current_stamp("secrets", "api-key");
  ASSERT_TRUE(stamp) << stamp.error().message;
  EXPECT_EQ(*stamp, v1.version + ":1");

  const SecretInfo v2 = set("api-key", "two");
  EXPECT_EQ(*vault->current_stamp("secrets", "api-key"), v2.version + ":1");

  SecretUpdate disable;
  disable.enabled = false;
  ASSERT_TRUE(vault->update_secret("api-key", v2.version, disable));
  EXPECT_EQ(*vault->current_stamp("secrets", "api-key"), v2.version + ":0");
  // Disabling an older version does not change what is current.
  ASSERT_TRUE(vault->update_secret("api-key", v1.version, disable));
  EXPECT_EQ(*vault->current_stamp("secrets", "API-KEY"), v2.version + ":0");

  ASSERT_TRUE(vault->delete_secret("api-key"));
  EXPECT_EQ(vault->current_stamp("secrets", "api-key").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->current_stamp("secrets", "never").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->current_stamp("certificates", "api-key").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->current_stamp("keys", "api-key").error().kind, ErrorKind::InvalidArgument);
}

TEST_F(VaultSecretsTest, ExpiringListsEnabledCurrentSecretsWithAnExpiry) {
  NewSecret soon = test::new_secret("soon", "1");
  soon.expires = kT0 + 5 * kDay;
  NewSecret later = test::new_secret("later", "1");
  later.expires = kT0 + 40 * kDay;
  NewSecret past = test::new_secret("past", "1");
  past.expires = kT0 - kDay;
  NewSecret never = test::new_secret("never", "1");
  NewSecret off = test::new_secret("off", "1");
  off.expires = kT0 + kDay;
  off.enabled = false;
  for (const auto& s : {soon, later, past, never, off})
    ASSERT_TRUE(vault->set_secret(s));

  auto items = vault->expiring(30 * kDay);
  ASSERT_TRUE(items) << items.error().message;
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].name, "past");
  EXPECT_EQ((*items)[0].kind, "secret");
  EXPECT_EQ((*items)[1].name, "soon");
  EXPECT_EQ((*items)[1].expires, kT0 + 5 * kDay);
  EXPECT_FALSE((*items)[1].auto_renew);

  clock.advance(20 * kDay);
  EXPECT_EQ(vault->expiring(30 * kDay)->size(), 3u);

  // A new version without expiry replaces the expiring one.
  ASSERT_TRUE(vault->set_secret(test::new_secret("soon", "2")));
  EXPECT_EQ(vault->expiring(30 * kDay)->size(), 2u);
}

TEST_F(VaultSecretsTest, ConcurrentWritersAndReaders) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      const std::string name = "s" + std::to_string(t);
      for (int i = 0; i < 20; ++i) {
        const std::string value = name + "-" + std::to_string(i);
        auto set = vault->set_secret(test::new_secret(name, value));
        EXPECT_TRUE(set);
        auto got = vault->get_secret(name);
        ASSERT_TRUE(got);
        EXPECT_EQ(got->value, value);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(vault->list_secrets()->size(), 4u);
  EXPECT_EQ(vault->list_secret_versions("s2")->size(), 20u);
}

// ---- at rest ---------------------------------------------------------------------------------

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every byte the database has written: the main file, its WAL and any journal.
std::string database_bytes(const std::string& path) {
  std::string all;
  for (const char* suffix : {"", "-wal", "-journal", "-shm"}) {
    if (std::filesystem::exists(path + suffix)) all += file_bytes(path + suffix);
  }
  return all;
}

TEST(VaultAtRest, DatabaseFileHoldsNoPlaintextValue) {
  test::TempDir dir;
  const std::string path = dir.file("vault.db");
  gh::test::FixedClock clock(kT0);
  const std::string value = "PLAINTEXT-MARKER-7f3a9c21-do-not-store";
  std::string versions;
  {
    auto db = test::open_db(path);
    auto vault = test::open_store(db, test::master_key(0x11), clock);
    ASSERT_TRUE(vault);
    for (int i = 0; i < 3; ++i) {
      auto set = vault->set_secret(test::new_secret("marker", value + std::to_string(i)));
      ASSERT_TRUE(set);
      versions += set->version;
    }
    // Read back so that the plaintext has been through this process's memory.
    EXPECT_EQ(vault->get_secret("marker")->value, value + "2");
    const std::string bytes = database_bytes(path);
    ASSERT_GT(bytes.size(), 0u);
    // The search itself must work: the name and a version id are there in clear.
    EXPECT_NE(bytes.find("marker"), std::string::npos);
    EXPECT_NE(bytes.find(versions.substr(0, 32)), std::string::npos);
    EXPECT_EQ(bytes.find("PLAINTEXT-MARKER"), std::string::npos);
    EXPECT_EQ(bytes.find("7f3a9c21"), std::string::npos);
  }
  // After close (checkpointed into the main file) too.
  const std::string bytes = database_bytes(path);
  EXPECT_NE(bytes.find("marker"), std::string::npos);
  EXPECT_EQ(bytes.find("PLAINTEXT-MARKER"), std::string::npos);
}

TEST(VaultAtRest, WrongMasterKeyFailsCleanly) {
  test::TempDir dir;
  const std::string path = dir.file("vault.db");
  gh::test::FixedClock clock(kT0);
  {
    auto vault = test::open_store(test::open_db(path), test::master_key(0x11), clock);
    ASSERT_TRUE(vault->set_secret(test::new_secret("api-key", "value-1")));
  }
  auto vault = test::open_store(test::open_db(path), test::master_key(0x22), clock);
  ASSERT_TRUE(vault);
  auto got = vault->get_secret("api-key");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().kind, ErrorKind::Crypto);
  EXPECT_EQ(got.error().message.find("value-1"), std::string::npos);
  // Metadata needs no key.
  EXPECT_TRUE(vault->get_secret_info("api-key"));
  // A rewrap from the wrong key changes nothing.
  auto rewrapped = vault->rewrap(test::master_key(0x33));
  ASSERT_FALSE(rewrapped);
  EXPECT_EQ(rewrapped.error().kind, ErrorKind::Crypto);
  auto right = test::open_store(test::open_db(path), test::master_key(0x11), clock);
  EXPECT_EQ(right->get_secret("api-key")->value, "value-1");
}

TEST(VaultAtRest, RowsCannotBeSwapped) {
  gh::test::FixedClock clock(kT0);
  auto db = test::open_db();
  auto vault = test::open_store(db, test::master_key(0x11), clock);
  ASSERT_TRUE(vault->set_secret(test::new_secret("a", "value-a")));
  ASSERT_TRUE(vault->set_secret(test::new_secret("b", "value-b")));
  ASSERT_TRUE(
      db->exec("UPDATE vault_secret_versions SET (sealed_value, wrapped_key) = "
               "(SELECT sealed_value, wrapped_key FROM vault_secret_versions WHERE "
               "name = 'a') WHERE name = 'b'",
               "swap"));
  auto got = vault->get_secret("b");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().kind, ErrorKind::Crypto);
}

TEST(VaultAtRest, RewrapMovesEveryDataKeyWithoutTouchingValues) {
  test::TempDir dir;
  const std::string path = dir.file("vault.db");
  gh::test::FixedClock clock(kT0);
  auto db = test::open_db(path);
  auto vault = test::open_store(db, test::master_key(0x11), clock);
  ASSERT_TRUE(vault->set_secret(test::new_secret("a", "value-a1")));
  const std::string a1 = vault->get_secret_info("a")->version;
  ASSERT_TRUE(vault->set_secret(test::new_secret("a", "value-a2")));
  ASSERT_TRUE(vault->set_secret(test::new_secret("b", "value-b")));
  ASSERT_TRUE(vault->delete_secret("b"));  // deleted items are rewrapped too

  auto snapshot = [&](std::string_view column) {
    std::vector<core::Bytes> out;
    auto st = db->prepare(
        "SELECT " + std::string(column) + " FROM vault_secret_versions ORDER BY id", "snapshot");
    while (*st->step())
      out.push_back(st->blob(0));
    return out;
  };
  const auto values_before = snapshot("sealed_value");
  const auto keys_before = snapshot("wrapped_key");

  ASSERT_TRUE(vault->rewrap(test::master_key(0x22)));
  EXPECT_EQ(snapshot("sealed_value"), values_before);
  const auto keys_after = snapshot("wrapped_key");
  ASSERT_EQ(keys_after.size(), keys_before.size());
  for (size_t i = 0; i < keys_after.size(); ++i)
    EXPECT_NE(keys_after[i], keys_before[i]) << i;

  // The store seals and opens with the new key from now on.
  EXPECT_EQ(vault->get_secret("a")->value, "value-a2");
  EXPECT_EQ(vault->get_secret("a", a1)->value, "value-a1");
  ASSERT_TRUE(vault->set_secret(test::new_secret("c", "value-c")));
  ASSERT_TRUE(vault->recover_deleted_secret("b"));
  EXPECT_EQ(vault->get_secret("b")->value, "value-b");

  // Only the new key reads the file now.
  auto with_new = test::open_store(test::open_db(path), test::master_key(0x22), clock);
  EXPECT_EQ(with_new->get_secret("a")->value, "value-a2");
  EXPECT_EQ(with_new->get_secret("c")->value, "value-c");
  auto with_old = test::open_store(test::open_db(path), test::master_key(0x11), clock);
  for (const char* name : {"a", "b", "c"}) {
    auto got = with_old->get_secret(name);
    ASSERT_FALSE(got) << name;
    EXPECT_EQ(got.error().kind, ErrorKind::Crypto);
  }

  // Rewrapping to the key in use again is harmless.
  ASSERT_TRUE(vault->rewrap(test::master_key(0x22)));
  EXPECT_EQ(vault->get_secret("a")->value, "value-a2");
}

}  // namespace
}  // namespace gh::vault
