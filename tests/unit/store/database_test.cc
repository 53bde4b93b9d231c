#include "store/database.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace gh::store {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "gh-store-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<Database> open_or_fail(const std::string& path) {
  auto db = Database::open(path);
  EXPECT_TRUE(db) << (db ? "" : db.error().message);
  return db ? std::move(*db) : nullptr;
}

int64_t count(Database& db, const std::string& sql) {
  auto stmt = db.prepare(sql, "count");
  EXPECT_TRUE(stmt);
  auto row = stmt->step();
  EXPECT_TRUE(row && *row);
  return stmt->integer(0);
}

constexpr Migration kV1{1, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"};
constexpr Migration kV2{2, "ALTER TABLE t ADD COLUMN note TEXT; CREATE INDEX t_name ON t(name)"};

TEST(Database, InMemoryOpensWithForeignKeysOn) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  EXPECT_EQ(count(*db, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(db->path(), ":memory:");
}

TEST(Database, FileIsPrivateAndUsesWal) {
  TempDir dir;
  const std::string path = dir.file("g.db");
  auto db = open_or_fail(path);
  ASSERT_TRUE(db);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto mode = db->prepare("PRAGMA journal_mode", "journal mode");
  ASSERT_TRUE(mode);
  ASSERT_TRUE(*mode->step());
  EXPECT_EQ(mode->text(0), "wal");
  EXPECT_EQ(count(*db, "PRAGMA foreign_keys"), 1);
}

TEST(Database, ExistingFileIsMadePrivate) {
  TempDir dir;
  const std::string path = dir.file("g.db");
  { ASSERT_TRUE(open_or_fail(path)); }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto db = open_or_fail(path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Database, OpenFailsInMissingDirectory) {
  auto db = Database::open("/nonexistent-dir-for-gh-test/x.db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().kind, ErrorKind::Io);
}

TEST(Database, MigrationsApplyInOrderOnceEach) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  const std::array<Migration, 1> first{kV1};
  ASSERT_TRUE(db->migrate("test", first));
  EXPECT_EQ(count(*db, "SELECT MAX(version) FROM schema_migrations WHERE component='test'"), 1);

  // Re-running v1 alone or v1+v2 applies only what is new (v1 again would fail: table exists).
  ASSERT_TRUE(db->migrate("test", first));
  const std::array<Migration, 2> both{kV1, kV2};
  auto s = db->migrate("test", both);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(db->migrate("test", both));
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM schema_migrations WHERE component='test'"), 2);
  EXPECT_GT(count(*db, "SELECT MIN(applied_at) FROM schema_migrations"), 0);
  EXPECT_TRUE(db->exec("INSERT INTO t (name, note) VALUES ('a', 'b')", "insert"));
}

TEST(Database, ComponentsAreVersionedSeparately) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  const std::array<Migration, 1> a{kV1};
  const std::array<Migration, 1> b{Migration{1, "CREATE TABLE u (x INTEGER)"}};
  ASSERT_TRUE(db->migrate("a", a));
  ASSERT_TRUE(db->migrate("b", b));
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM schema_migrations"), 2);
}

TEST(Database, MigrationsOutOfOrderAreRefused) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  const std::array<Migration, 2> bad{kV2, kV1};
  auto s = db->migrate("test", bad);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("increasing"), std::string::npos);
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM schema_migrations"), 0);
}

TEST(Database, FailedMigrationRollsBackAndNamesComponentAndVersion) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  // v2 creates a table and then fails: the table must not survive.
  const std::array<Migration, 2> failing{
      kV1, Migration{2, "CREATE TABLE half (x INTEGER); INSERT INTO missing VALUES (1)"}};
  auto s = db->migrate("test", failing);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("'test'"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("version 2"), std::string::npos) << s.error().message;
  EXPECT_EQ(count(*db, "SELECT MAX(version) FROM schema_migrations"), 1);
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name='half'"), 0);
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name='t'"), 1);
}

TEST(Database, NewerSchemaThanBuildIsRefused) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  const std::array<Migration, 2> both{kV1, kV2};
  ASSERT_TRUE(db->migrate("test", both));
  const std::array<Migration, 1> old{kV1};
  auto s = db->migrate("test", old);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, ErrorKind::Conflict);
}

TEST(Database, BindAndReadEveryType) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE v (s TEXT, i INTEGER, b BLOB, n TEXT)", "create"));
  const std::vector<uint8_t> blob{0, 1, 2, 255};
  const std::string with_nul("a\0b", 3);
  auto insert = db->prepare("INSERT INTO v VALUES (?1, ?2, ?3, ?4)", "insert value");
  ASSERT_TRUE(insert);
  insert->bind(1, with_nul).bind(2, int64_t{-9007199254740993}).bind_blob(3, blob).bind_null(4);
  ASSERT_TRUE(insert->run());
  insert->reset();
  insert->bind(1, "second").bind(2, int64_t{7}).bind_blob(3, {}).bind(4, "x");
  ASSERT_TRUE(insert->run());

  auto select = db->prepare("SELECT s, i, b, n FROM v ORDER BY rowid", "select values");
  ASSERT_TRUE(select);
  ASSERT_TRUE(*select->step());
  EXPECT_EQ(select->text(0), with_nul);
  EXPECT_EQ(select->integer(1), -9007199254740993);
  EXPECT_EQ(select->blob(2), blob);
  EXPECT_TRUE(select->is_null(3));
  EXPECT_FALSE(select->is_null(0));
  ASSERT_TRUE(*select->step());
  EXPECT_EQ(select->text(0), "second");
  EXPECT_TRUE(select->blob(2).empty());
  EXPECT_FALSE(select->is_null(2));  // an empty blob is not NULL
  EXPECT_EQ(select->text(3), "x");
  EXPECT_FALSE(*select->step());
}

TEST(Database, ErrorsNamePurposeNotValues) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE k (v TEXT UNIQUE)", "create"));
  auto insert = db->prepare("INSERT INTO k VALUES (?1)", "insert secret hash");
  ASSERT_TRUE(insert);
  insert->bind(1, "hunter2-secret");
  ASSERT_TRUE(insert->run());
  insert->reset();
  insert->bind(1, "hunter2-secret");
  auto s = insert->run();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, ErrorKind::Conflict);
  EXPECT_NE(s.error().message.find("insert secret hash"), std::string::npos);
  EXPECT_EQ(s.error().message.find("hunter2"), std::string::npos);

  auto bad = db->prepare("SELEC nonsense", "read things");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("read things"), std::string::npos);

  auto range = db->prepare("SELECT ?1", "bind out of range");
  ASSERT_TRUE(range);
  range->bind(5, "value-not-shown");
  auto r = range->step();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bind out of range"), std::string::npos);
  EXPECT_EQ(r.error().message.find("value-not-shown"), std::string::npos);
}

TEST(Database, TransactionCommitsOrRollsBack) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE n (x INTEGER)", "create"));
  ASSERT_TRUE(
      db->transaction([&]() -> Status { return db->exec("INSERT INTO n VALUES (1)", "insert"); }));
  auto failed = db->transaction([&]() -> Status {
    GH_TRY_STATUS(db->exec("INSERT INTO n VALUES (2)", "insert"));
    return unexpected(ErrorKind::InvalidArgument, "changed my mind");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "changed my mind");
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM n"), 1);
}

TEST(Database, NestedTransactionIsASavepoint) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE n (x INTEGER)", "create"));
  ASSERT_TRUE(db->transaction([&]() -> Status {
    GH_TRY_STATUS(db->exec("INSERT INTO n VALUES (1)", "insert"));
    auto inner = db->transaction([&]() -> Status {
      GH_TRY_STATUS(db->exec("INSERT INTO n VALUES (2)", "insert"));
      return unexpected(ErrorKind::Conflict, "inner fails");
    });
    EXPECT_FALSE(inner);
    return db->transaction(
        [&]() -> Status { return db->exec("INSERT INTO n VALUES (3)", "insert"); });
  }));
  EXPECT_EQ(count(*db, "SELECT SUM(x) FROM n"), 4);

  // An outer failure undoes a committed inner savepoint too.
  ASSERT_FALSE(db->transaction([&]() -> Status {
    GH_TRY_STATUS(db->transaction(
        [&]() -> Status { return db->exec("INSERT INTO n VALUES (10)", "insert"); }));
    return unexpected(ErrorKind::Conflict, "outer fails");
  }));
  EXPECT_EQ(count(*db, "SELECT SUM(x) FROM n"), 4);
  // And the connection is usable for a fresh transaction afterwards.
  ASSERT_TRUE(
      db->transaction([&]() -> Status { return db->exec("INSERT INTO n VALUES (5)", "insert"); }));
  EXPECT_EQ(count(*db, "SELECT SUM(x) FROM n"), 9);
}

TEST(Database, ForeignKeysCascade) {
  auto db = open_or_fail(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(
      db->exec("CREATE TABLE p (id TEXT PRIMARY KEY);"
               "CREATE TABLE c (p TEXT NOT NULL REFERENCES p(id) ON DELETE CASCADE);"
               "INSERT INTO p VALUES ('a'); INSERT INTO c VALUES ('a');",
               "setup"));
  auto orphan = db->exec("INSERT INTO c VALUES ('zz')", "insert orphan");
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().kind, ErrorKind::Conflict);
  ASSERT_TRUE(db->exec("DELETE FROM p", "delete parent"));
  EXPECT_EQ(count(*db, "SELECT COUNT(*) FROM c"), 0);
}

TEST(Database, DataVersionChangesOnAnotherConnectionsCommit) {
  TempDir dir;
  const std::string path = dir.file("g.db");
  auto a = open_or_fail(path);
  auto b = open_or_fail(path);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->exec("CREATE TABLE n (x INTEGER)", "create"));
  const int64_t before = b->data_version();
  EXPECT_EQ(b->data_version(), before);  // nothing happened in between
  ASSERT_TRUE(a->exec("INSERT INTO n VALUES (1)", "insert"));
  const int64_t after = b->data_version();
  EXPECT_NE(after, before);
  EXPECT_EQ(count(*b, "SELECT COUNT(*) FROM n"), 1);

  // Its own commits do not change a connection's data_version.
  const int64_t own = b->data_version();
  ASSERT_TRUE(b->exec("INSERT INTO n VALUES (2)", "insert"));
  EXPECT_EQ(b->data_version(), own);
  EXPECT_EQ(a->changes(), 1);
}

TEST(Database, ReadTransactionSeesOneSnapshot) {
  TempDir dir;
  const std::string path = dir.file("g.db");
  auto a = open_or_fail(path);
  auto b = open_or_fail(path);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->exec("CREATE TABLE n (x INTEGER); INSERT INTO n VALUES (1)", "setup"));
  ASSERT_TRUE(b->read_transaction([&]() -> Status {
    EXPECT_EQ(count(*b, "SELECT COUNT(*) FROM n"), 1);
    EXPECT_TRUE(a->exec("INSERT INTO n VALUES (2)", "insert"));  // WAL: writer not blocked
    EXPECT_EQ(count(*b, "SELECT COUNT(*) FROM n"), 1);
    return {};
  }));
  EXPECT_EQ(count(*b, "SELECT COUNT(*) FROM n"), 2);
}

}  // namespace
}  // namespace gh::store
