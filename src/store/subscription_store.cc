#include "store/subscription_store.h"

namespace gh::store {
namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE managed_subscriptions (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  primary_digest BLOB NOT NULL UNIQUE,
  primary_hint TEXT NOT NULL,
  primary_changed_at INTEGER NOT NULL,
  secondary_digest BLOB NOT NULL UNIQUE,
  secondary_hint TEXT NOT NULL,
  secondary_changed_at INTEGER NOT NULL
);
)sql";

constexpr Migration kMigrations[] = {{1, kSchemaV1}};

constexpr std::string_view kColumns =
    "id, name, scope, state, created_at, updated_at, primary_digest, primary_hint, "
    "primary_changed_at, secondary_digest, secondary_hint, secondary_changed_at";

SubscriptionRecord read_row(const Statement& st) {
  SubscriptionRecord r;
  r.id = st.text(0);
  r.name = st.text(1);
  r.scope = st.text(2);
  r.state = st.text(3);
  r.created_at = st.integer(4);
  r.updated_at = st.integer(5);
  r.primary = {st.blob(6), st.text(7), st.integer(8)};
  r.secondary = {st.blob(9), st.text(10), st.integer(11)};
  return r;
}

Error not_found(std::string_view id) {
  return Error(ErrorKind::NotFound, "subscription '" + std::string(id) + "' not found");
}

}  // namespace

Result<std::unique_ptr<SubscriptionStore>> SubscriptionStore::open(std::shared_ptr<Database> db) {
  GH_TRY_STATUS(db->migrate("subscriptions", kMigrations));
  return std::unique_ptr<SubscriptionStore>(new SubscriptionStore(std::move(db)));
}

Result<std::vector<SubscriptionRecord>> SubscriptionStore::list() {
  std::vector<SubscriptionRecord> out;
  GH_TRY_STATUS(db_->read_transaction([&]() -> Status {
    GH_TRY(auto st, db_->prepare("SELECT " + std::string(kColumns) +
                                     " FROM managed_subscriptions ORDER BY id",
                                 "list subscriptions"));
    for (;;) {
      GH_TRY(bool row, st.step());
      if (!row) break;
      out.push_back(read_row(st));
    }
    return {};
  }));
  return out;
}

Result<SubscriptionRecord> SubscriptionStore::get(std::string_view id) {
  std::optional<SubscriptionRecord> found;
  GH_TRY_STATUS(db_->read_transaction([&]() -> Status {
    GH_TRY(auto st, db_->prepare("SELECT " + std::string(kColumns) +
                                     " FROM managed_subscriptions WHERE id = ?1",
                                 "read subscription"));
    st.bind(1, id);
    GH_TRY(bool row, st.step());
    if (row) found = read_row(st);
    return {};
  }));
  if (!found) return unexpected(not_found(id));
  return std::move(*found);
}

Status SubscriptionStore::check_digest_free(const std::vector<uint8_t>& digest) {
  GH_TRY(auto st, db_->prepare("SELECT id FROM managed_subscriptions WHERE primary_digest = ?1 "
                               "OR secondary_digest = ?1",
                               "look up a subscription key"));
  st.bind_blob(1, digest);
  GH_TRY(bool row, st.step());
  // The message names the subscription, never the key.
  if (row) {
    return unexpected(ErrorKind::Conflict,
                      "the key is already a key of subscription '" + st.text(0) + "'");
  }
  return {};
}

Status SubscriptionStore::create(const SubscriptionRecord& r) {
  if (r.primary.digest == r.secondary.digest) {
    return unexpected(ErrorKind::Conflict, "the primary and secondary keys must differ");
  }
  return db_->transaction([&]() -> Status {
    {
      GH_TRY(auto st, db_->prepare("SELECT 1 FROM managed_subscriptions WHERE id = ?1",
                                   "look up a subscription"));
      st.bind(1, r.id);
      GH_TRY(bool row, st.step());
      if (row) {
        return unexpected(ErrorKind::Conflict, "subscription '" + r.id + "' already exists");
      }
    }
    GH_TRY_STATUS(check_digest_free(r.primary.digest));
    GH_TRY_STATUS(check_digest_free(r.secondary.digest));
    GH_TRY(auto st, db_->prepare("INSERT INTO managed_subscriptions (" + std::string(kColumns) +
                                     ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                                 "insert subscription"));
    st.bind(1, r.id)
        .bind(2, r.name)
        .bind(3, r.scope)
        .bind(4, r.state)
        .bind(5, r.created_at)
        .bind(6, r.updated_at)
        .bind_blob(7, r.primary.digest)
        .bind(8, r.primary.hint)
        .bind(9, r.primary.changed_at)
        .bind_blob(10, r.secondary.digest)
        .bind(11, r.secondary.hint)
        .bind(12, r.secondary.changed_at);
    return st.run();
  });
}

Status SubscriptionStore::replace_key(std::string_view id, KeySlot slot,
                                      const SubscriptionKeyRecord& key, int64_t now) {
  return db_->transaction([&]() -> Status {
    GH_TRY_STATUS(check_digest_free(key.digest));
    const std::string sql =
        slot == KeySlot::Primary
            ? "UPDATE managed_subscriptions SET primary_digest = ?2, primary_hint = ?3, "
              "primary_changed_at = ?4, updated_at = ?4 WHERE id = ?1"
            : "UPDATE managed_subscriptions SET secondary_digest = ?2, secondary_hint = ?3, "
              "secondary_changed_at = ?4, updated_at = ?4 WHERE id = ?1";
    GH_TRY(auto st, db_->prepare(sql, "replace a subscription key"));
    st.bind(1, id).bind_blob(2, key.digest).bind(3, key.hint).bind(4, now);
    GH_TRY_STATUS(st.run());
    if (db_->changes() == 0) return unexpected(not_found(id));
    return {};
  });
}

Status SubscriptionStore::update(std::string_view id, const std::optional<std::string>& name,
                                 const std::optional<std::string>& state, int64_t now) {
  return db_->transaction([&]() -> Status {
    GH_TRY(auto st, db_->prepare("UPDATE managed_subscriptions SET name = COALESCE(?2, name), "
                                 "state = COALESCE(?3, state), updated_at = ?4 WHERE id = ?1",
                                 "update subscription"));
    st.bind(1, id);
    if (name) {
      st.bind(2, *name);
    } else {
      st.bind_null(2);
    }
    if (state) {
      st.bind(3, *state);
    } else {
      st.bind_null(3);
    }
    st.bind(4, now);
    GH_TRY_STATUS(st.run());
    if (db_->changes() == 0) return unexpected(not_found(id));
    return {};
  });
}

Status SubscriptionStore::remove(std::string_view id) {
  return db_->transaction([&]() -> Status {
    GH_TRY(auto st,
           db_->prepare("DELETE FROM managed_subscriptions WHERE id = ?1", "delete subscription"));
    st.bind(1, id);
    GH_TRY_STATUS(st.run());
    if (db_->changes() == 0) return unexpected(not_found(id));
    return {};
  });
}

}  // namespace gh::store
