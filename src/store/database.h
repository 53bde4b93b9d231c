#pragma once

// The embedded store: one SQLite database file (WAL mode), opened once per process. Thin RAII
// over sqlite3 and sqlite3_stmt; every failure is an Error naming the statement's purpose, never
// a value that was bound (bound values may be secrets or password hashes).
//
// Thread safety: a Database serialises its own use with a mutex (SQLite in serialized mode is
// not enough for multi-statement transactions). Writers are rare (admin changes, key rotation);
// the request path never touches the database, it reads immutable snapshots built from it.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace gh::store {

/// One schema step of one component: applied once, in order, inside a transaction; the applied
/// version per component is recorded in the `schema_migrations` table.
struct Migration {
  int version = 0;  // 1, 2, 3, ... per component
  std::string_view sql;
};

class Database;

/// A prepared statement. Bind indices are 1-based, column indices 0-based (SQLite's own rule).
/// Stepping does not take the Database's lock: when several threads share a Database, prepare
/// and step inside transaction() or read_transaction(), which hold it.
class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bind_blob(int index, std::span<const uint8_t> blob);
  Statement& bind_null(int index);

  /// Steps once: true when a row is available, false when done. Errors carry the purpose text.
  Result<bool> step();
  /// Steps to completion (for INSERT/UPDATE/DELETE).
  Status run();
  /// Resets for re-use with new bindings.
  void reset();

  std::string text(int column) const;
  int64_t integer(int column) const;
  std::vector<uint8_t> blob(int column) const;
  bool is_null(int column) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, std::string purpose) : stmt_(stmt), purpose_(std::move(purpose)) {}
  sqlite3_stmt* stmt_ = nullptr;
  std::string purpose_;
  Status bind_status_;
};

class Database {
 public:
  /// Opens (creating if needed, mode 0600) the database at `path`; WAL, foreign keys on,
  /// busy timeout 5 s. ":memory:" gives a private in-memory database (tests).
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  ~Database();

  /// Applies the migrations of `component` newer than its recorded version, each in its own
  /// transaction. Fails (changing nothing further) naming component and version.
  Status migrate(std::string_view component, std::span<const Migration> migrations);

  /// `purpose` names the statement in errors ("insert application").
  Result<Statement> prepare(std::string_view sql, std::string_view purpose);
  Status exec(std::string_view sql, std::string_view purpose);

  /// Runs `body` in BEGIN IMMEDIATE ... COMMIT, rolling back when it returns an error. Nested
  /// calls (from inside a body) become savepoints, so a helper that opens its own transaction
  /// can be called inside a larger one.
  template <class F>
  Status transaction(F&& body) {
    std::lock_guard lock(mutex_);
    GH_TRY_STATUS(begin_unlocked(true));
    Status s = body();
    if (!s) {
      rollback_unlocked();
      return s;
    }
    return commit_unlocked();
  }

  /// Runs `body` in a deferred (read) transaction: every statement in it sees one consistent
  /// snapshot, and writers in other processes are not blocked. Ends with COMMIT either way.
  template <class F>
  Status read_transaction(F&& body) {
    std::lock_guard lock(mutex_);
    GH_TRY_STATUS(begin_unlocked(false));
    Status s = body();
    if (!s) {
      rollback_unlocked();
      return s;
    }
    return commit_unlocked();
  }

  /// SQLite's data_version: changes when another connection/process committed (never for this
  /// connection's own commits).
  int64_t data_version();
  /// Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t changes();
  const std::string& path() const noexcept { return path_; }

 private:
  Database() = default;
  Status exec_unlocked(std::string_view sql, std::string_view purpose);
  Status begin_unlocked(bool immediate);
  Status commit_unlocked();
  void rollback_unlocked() noexcept;
  Result<int> applied_version_unlocked(std::string_view component);
  sqlite3* db_ = nullptr;
  std::string path_;
  // Guards the connection's transaction state: a transaction spans several calls, and
  // statements from another thread must not land inside it. Recursive so that a transaction
  // body can prepare and exec.
  std::recursive_mutex mutex_;
  int depth_ = 0;  // open transactions (1) and savepoints (>1); guarded by mutex_
};

}  // namespace gh::store
