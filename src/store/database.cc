#include "store/database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

namespace gh::store {
namespace {

// A constraint violation is a clash with existing data (Conflict); a busy or locked database is
// another writer holding it past the busy timeout (Unavailable); the rest are storage failures.
ErrorKind kind_of(int code) noexcept {
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      return ErrorKind::Conflict;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorKind::Unavailable;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
      return ErrorKind::Internal;
    default:
      return ErrorKind::Io;
  }
}

// SQLite's messages name tables, columns and constraints, never bound values.
Error sqlite_error(sqlite3* db, int code, std::string_view purpose) {
  std::string message = "database: ";
  message += purpose;
  message += ": ";
  message += db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  return Error(kind_of(code), std::move(message), code);
}

}  // namespace

// ---- Statement -------------------------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : stmt_(other.stmt_),
      purpose_(std::move(other.purpose_)),
      bind_status_(std::move(other.bind_status_)) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
    purpose_ = std::move(other.purpose_);
    bind_status_ = std::move(other.bind_status_);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

namespace {
Status bind_result(sqlite3_stmt* stmt, int rc, int index, std::string_view purpose) {
  if (rc == SQLITE_OK) return {};
  Error e = sqlite_error(sqlite3_db_handle(stmt), rc, purpose);
  e.message += " (parameter " + std::to_string(index) + ")";
  return unexpected(std::move(e));
}
}  // namespace

Statement& Statement::bind(int index, std::string_view text) {
  if (bind_status_) {
    bind_status_ = bind_result(
        stmt_,
        sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
        index, purpose_);
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  if (bind_status_) {
    bind_status_ = bind_result(stmt_, sqlite3_bind_int64(stmt_, index, value), index, purpose_);
  }
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const uint8_t> blob) {
  if (bind_status_) {
    // A zero-length blob is still a blob, not NULL: SQLite needs a non-null pointer for that.
    static const uint8_t kEmpty = 0;
    const void* data = blob.empty() ? &kEmpty : blob.data();
    bind_status_ =
        bind_result(stmt_, sqlite3_bind_blob64(stmt_, index, data, blob.size(), SQLITE_TRANSIENT),
                    index, purpose_);
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (bind_status_) {
    bind_status_ = bind_result(stmt_, sqlite3_bind_null(stmt_, index), index, purpose_);
  }
  return *this;
}

Result<bool> Statement::step() {
  if (!bind_status_) return unexpected(bind_status_.error());
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = sqlite_error(sqlite3_db_handle(stmt_), rc, purpose_);
  sqlite3_reset(stmt_);
  return unexpected(std::move(e));
}

Status Statement::run() {
  while (true) {
    GH_TRY(bool row, step());
    if (!row) return {};
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = {};
}

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::vector<uint8_t> Statement::blob(int column) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---- Database --------------------------------------------------------------------------------

namespace {

// SQLite creates files with 0644 less the umask and gives its -wal/-shm files the database
// file's mode, so creating the file ourselves with 0600 keeps all three private.
Status create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return unexpected(ErrorKind::Io, "database: cannot create '" + path +
                                         "': " + std::string(std::strerror(errno)));
  }
  const bool ok = ::fchmod(fd, 0600) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    return unexpected(ErrorKind::Io, "database: cannot make '" + path +
                                         "' private: " + std::string(std::strerror(err)));
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  const bool in_memory = path == ":memory:";
  if (!in_memory) GH_TRY_STATUS(create_private_file(path));

  std::unique_ptr<Database> db(new Database());
  db->path_ = path;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db->db_,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
      nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(db->db_, rc, "open '" + path + "'");
    return unexpected(std::move(e));
  }
  sqlite3_extended_result_codes(db->db_, 1);
  sqlite3_busy_timeout(db->db_, 5000);
  // WAL: readers never block the writer; NORMAL sync is durable across process crashes in WAL
  // mode (a power loss may lose the last commits, never corrupt the file).
  if (!in_memory) {
    GH_TRY(auto mode, db->prepare("PRAGMA journal_mode=WAL", "enable WAL journal"));
    GH_TRY(bool row, mode.step());
    if (!row || mode.text(0) != "wal") {
      return unexpected(ErrorKind::Io, "database: '" + path + "' cannot use WAL journal mode");
    }
    GH_TRY_STATUS(db->exec("PRAGMA synchronous=NORMAL", "set synchronous mode"));
  }
  GH_TRY_STATUS(db->exec("PRAGMA foreign_keys=ON", "enable foreign keys"));
  GH_TRY_STATUS(
      db->exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
               " component TEXT NOT NULL,"
               " version INTEGER NOT NULL,"
               " applied_at INTEGER NOT NULL,"
               " PRIMARY KEY (component, version))",
               "create schema_migrations"));
  return db;
}

Database::~Database() {
  // close_v2 defers the close until outstanding statements are finalized.
  sqlite3_close_v2(db_);
}

Result<Statement> Database::prepare(std::string_view sql, std::string_view purpose) {
  std::lock_guard lock(mutex_);
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return unexpected(sqlite_error(db_, rc, purpose));
  }
  return Statement(stmt, std::string(purpose));
}

Status Database::exec(std::string_view sql, std::string_view purpose) {
  std::lock_guard lock(mutex_);
  return exec_unlocked(sql, purpose);
}

Status Database::exec_unlocked(std::string_view sql, std::string_view purpose) {
  const std::string text(sql);  // sqlite3_exec needs NUL termination
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string detail = message ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return unexpected(
      Error(kind_of(rc), "database: " + std::string(purpose) + ": " + std::move(detail), rc));
}

Status Database::begin_unlocked(bool immediate) {
  if (depth_ == 0) {
    GH_TRY_STATUS(
        exec_unlocked(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", "begin transaction"));
  } else {
    GH_TRY_STATUS(exec_unlocked("SAVEPOINT gh_nested", "begin nested transaction"));
  }
  ++depth_;
  return {};
}

Status Database::commit_unlocked() {
  if (depth_ > 1) {
    Status s = exec_unlocked("RELEASE gh_nested", "release nested transaction");
    if (!s) {
      rollback_unlocked();
      return s;
    }
    --depth_;
    return {};
  }
  Status s = exec_unlocked("COMMIT", "commit");
  if (!s) {
    // A failed COMMIT (for example SQLITE_BUSY) leaves the transaction open: end it.
    rollback_unlocked();
    return s;
  }
  depth_ = 0;
  return {};
}

void Database::rollback_unlocked() noexcept {
  if (depth_ > 1) {
    (void)exec_unlocked("ROLLBACK TO gh_nested", "roll back nested transaction");
    (void)exec_unlocked("RELEASE gh_nested", "release nested transaction");
    --depth_;
    return;
  }
  if (sqlite3_get_autocommit(db_) == 0) (void)exec_unlocked("ROLLBACK", "rollback");
  depth_ = 0;
}

Result<int> Database::applied_version_unlocked(std::string_view component) {
  GH_TRY(auto stmt, prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
                            " WHERE component = ?1",
                            "read schema version"));
  stmt.bind(1, component);
  GH_TRY(bool row, stmt.step());
  return row ? static_cast<int>(stmt.integer(0)) : 0;
}

Status Database::migrate(std::string_view component, std::span<const Migration> migrations) {
  const std::string name(component);
  int previous = 0;
  for (const auto& m : migrations) {
    if (m.version <= previous) {
      return unexpected(ErrorKind::Internal, "database: migrations of '" + name +
                                                 "' must have increasing versions from 1 (" +
                                                 std::to_string(m.version) + " after " +
                                                 std::to_string(previous) + ")");
    }
    previous = m.version;
  }
  const int latest = previous;

  std::lock_guard lock(mutex_);
  for (const auto& m : migrations) {
    // One transaction per step; the version is re-read inside it, so two processes starting
    // together apply each step once.
    GH_TRY_STATUS(begin_unlocked(true));
    Status s = [&]() -> Status {
      GH_TRY(int applied, applied_version_unlocked(component));
      if (applied > latest) {
        return unexpected(ErrorKind::Conflict, "database: schema of '" + name + "' is at version " +
                                                   std::to_string(applied) +
                                                   ", newer than this build knows (" +
                                                   std::to_string(latest) + ")");
      }
      if (m.version <= applied) return {};
      const std::string what = "migrate '" + name + "' to version " + std::to_string(m.version);
      GH_TRY_STATUS(exec_unlocked(m.sql, what));
      GH_TRY(auto record, prepare("INSERT INTO schema_migrations (component, version, applied_at)"
                                  " VALUES (?1, ?2, ?3)",
                                  "record " + what));
      record.bind(1, component)
          .bind(2, static_cast<int64_t>(m.version))
          .bind(3, static_cast<int64_t>(std::time(nullptr)));
      return record.run();
    }();
    if (!s) {
      rollback_unlocked();
      return s;
    }
    GH_TRY_STATUS(commit_unlocked());
  }
  return {};
}

int64_t Database::data_version() {
  std::lock_guard lock(mutex_);
  auto stmt = prepare("PRAGMA data_version", "read data version");
  if (!stmt) return -1;
  auto row = stmt->step();
  return (row && *row) ? stmt->integer(0) : -1;
}

int64_t Database::changes() {
  return sqlite3_changes64(db_);
}

}  // namespace gh::store
