#pragma once

// Subscriptions managed at run time (the admin API's /v1/subscriptions), kept in the identity
// role's database beside the directory. A key is never stored: only its SHA-256 digest (what the
// gateway looks keys up by) and a three-character hint, as Entra keeps client secrets. The
// gateway reads them through an immutable table built from list() (policy/subscriptions.h), never
// from here on the request path.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/database.h"

namespace gh::store {

enum class KeySlot : uint8_t { Primary, Secondary };

struct SubscriptionKeyRecord {
  std::vector<uint8_t> digest;  // SHA-256 of the key, 32 bytes
  std::string hint;             // the key's first three characters
  int64_t changed_at = 0;       // when it was created or last regenerated
};

struct SubscriptionRecord {
  std::string id;
  std::string name;
  std::string scope;       // "/", "/apis", "/apis/{api}", "/products/{product}"
  std::string state;       // active | suspended | submitted | rejected | cancelled | expired
  int64_t created_at = 0;  // the subscription's start: quota periods are anchored to it
  int64_t updated_at = 0;
  SubscriptionKeyRecord primary;
  SubscriptionKeyRecord secondary;
};

class SubscriptionStore {
 public:
  /// Applies the schema to `db` (component "subscriptions") and keeps it for later calls.
  static Result<std::unique_ptr<SubscriptionStore>> open(std::shared_ptr<Database> db);

  /// Every subscription, ordered by id.
  Result<std::vector<SubscriptionRecord>> list();
  /// NotFound naming the id.
  Result<SubscriptionRecord> get(std::string_view id);
  /// Conflict when the id exists or either key's digest is already some subscription's key.
  Status create(const SubscriptionRecord& record);
  /// Replaces one key (regeneration). NotFound for the id; Conflict when the digest is in use.
  Status replace_key(std::string_view id, KeySlot slot, const SubscriptionKeyRecord& key,
                     int64_t now);
  /// Changes the name and/or the state. NotFound for the id.
  Status update(std::string_view id, const std::optional<std::string>& name,
                const std::optional<std::string>& state, int64_t now);
  /// NotFound for the id.
  Status remove(std::string_view id);

 private:
  explicit SubscriptionStore(std::shared_ptr<Database> db) : db_(std::move(db)) {}
  Status check_digest_free(const std::vector<uint8_t>& digest);
  std::shared_ptr<Database> db_;
};

}  // namespace gh::store
