#include "vault/vault_store.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <set>
#include <shared_mutex>

#include "crypto/digest.h"
#include "crypto/random.h"
#include "vault/cert_issue.h"
#include "vault/envelope.h"
#include "x509/cert_loader.h"

namespace gh::vault {
namespace {

namespace json = boost::json;

// Names compare case-insensitively, as Key Vault's do; the spelling of the first write is kept
// and is the one in the envelope's additional data. A certificate's private key is the managed
// secret of the same name and version. Deletion is a timestamp on the item and a flag on its
// versions; rows go when purged, or on the next write once the retention has passed.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE vault_secrets (
  name TEXT PRIMARY KEY COLLATE NOCASE,
  current_version TEXT NOT NULL,
  managed INTEGER NOT NULL DEFAULT 0,
  deleted_at INTEGER NOT NULL DEFAULT 0,
  scheduled_purge INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE vault_secret_versions (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL COLLATE NOCASE REFERENCES vault_secrets(name) ON DELETE CASCADE,
  version TEXT NOT NULL,
  content_type TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  not_before INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  tags TEXT NOT NULL,
  sealed_value BLOB NOT NULL,
  wrapped_key BLOB NOT NULL,
  master_fingerprint TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  UNIQUE (name, version)
);
CREATE TABLE vault_certificates (
  name TEXT PRIMARY KEY COLLATE NOCASE,
  current_version TEXT NOT NULL,
  policy TEXT NOT NULL,
  tags TEXT NOT NULL,
  deleted_at INTEGER NOT NULL DEFAULT 0,
  scheduled_purge INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE vault_certificate_versions (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL COLLATE NOCASE REFERENCES vault_certificates(name) ON DELETE CASCADE,
  version TEXT NOT NULL,
  cer BLOB NOT NULL,
  chain_pem TEXT NOT NULL,
  x5t TEXT NOT NULL,
  thumbprint_sha256 TEXT NOT NULL,
  subject TEXT NOT NULL,
  issuer_name TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  enabled INTEGER NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  tags TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  UNIQUE (name, version)
);
)sql";
constexpr store::Migration kMigrations[] = {{1, kSchemaV1}};

constexpr size_t kMaxTags = 15;
constexpr size_t kMaxTagName = 512;
constexpr size_t kMaxTagValue = 256;
constexpr size_t kMaxContentType = 255;
constexpr int64_t kDay = 86400;

core::Unexpected invalid(std::string message) {
  return unexpected(ErrorKind::InvalidArgument, std::move(message));
}
core::Unexpected not_found(std::string_view kind, std::string_view name) {
  return unexpected(ErrorKind::NotFound,
                    std::string(kind) + " " + std::string(name) + " not found");
}
core::Unexpected no_version(std::string_view kind, std::string_view name,
                            std::string_view version) {
  return unexpected(ErrorKind::NotFound, std::string(kind) + " " + std::string(name) +
                                             " has no version " + std::string(version));
}
core::Unexpected deleted_conflict(std::string_view kind, std::string_view name) {
  return unexpected(ErrorKind::Conflict,
                    std::string(kind) + " " + std::string(name) +
                        " is deleted but not purged: recover or purge it before reusing the name");
}
// `action`: what to do to the certificate instead ("change", "delete", ...).
core::Unexpected managed_conflict(std::string_view name, std::string_view action) {
  return unexpected(ErrorKind::Conflict, "secret " + std::string(name) +
                                             " belongs to the certificate of the same name: " +
                                             std::string(action) + " the certificate instead");
}

void wipe(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

Status validate_name(std::string_view kind, std::string_view name) {
  if (!valid_item_name(name)) {
    return invalid(std::string(kind) + " name must be 1 to 127 characters of 0-9, a-z, A-Z and -");
  }
  return {};
}

Status validate_tags(const Tags& tags) {
  if (tags.size() > kMaxTags) return invalid("tags: at most 15");
  std::set<std::string> seen;
  for (const auto& [name, value] : tags) {
    if (name.empty() || name.size() > kMaxTagName) {
      return invalid("tag names must be 1 to 512 characters");
    }
    if (value.size() > kMaxTagValue) return invalid("tag values must be at most 256 characters");
    if (!seen.insert(name).second) return invalid("tag names must be unique");
  }
  return {};
}

Status validate_content_type(std::string_view content_type) {
  if (content_type.size() > kMaxContentType) {
    return invalid("content_type must be at most 255 characters");
  }
  return {};
}

Status validate_times(int64_t not_before, int64_t expires) {
  if (not_before < 0) return invalid("not_before must not be negative");
  if (expires < 0) return invalid("expires must not be negative");
  if (not_before > 0 && expires > 0 && expires <= not_before) {
    return invalid("expires must be after not_before");
  }
  return {};
}

std::string tags_to_json(const Tags& tags) {
  json::object obj;
  for (const auto& [name, value] : tags)
    obj[name] = value;
  return json::serialize(obj);
}

Result<Tags> tags_from_json(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return unexpected(ErrorKind::Internal, "stored tags are not JSON");
  Tags tags;
  for (const auto& [name, value] : v.get_object()) {
    if (!value.is_string()) return unexpected(ErrorKind::Internal, "stored tag is not text");
    tags.emplace_back(std::string(name), std::string(value.get_string()));
  }
  return tags;
}

// Versions are lower-case hex; a client may send them in upper case.
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---- item kinds ------------------------------------------------------------------------------
//
// Secrets and certificates are stored alike: an item row (name, current version, deletion) and
// version rows under it. A kind (SecretKind, CertificateKind) describes one of them to the code
// both share: its tables, how to read its rows, and the rule that protects a certificate's
// managed secret. In a kind's version select, `v` is the version row and `i` its item row.

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  ((out += parts), ...);
  return out;
}

// The columns every item row has.
struct ItemRow {
  std::string name;  // as first written
  std::string current_version;
  int64_t deleted_at = 0;
  int64_t scheduled_purge = 0;
  bool deleted() const noexcept { return deleted_at != 0; }
};

struct SecretRow : ItemRow {
  bool managed = false;  // the private key of the certificate of the same name
};

struct CertRow : ItemRow {
  std::string policy_json;
  std::string tags_json;
};

// The version a caller asked for, or the item's current one when none.
std::string version_or_current(const ItemRow& row, std::string_view version) {
  return version.empty() ? row.current_version : lower(version);
}

// Secret versions: columns 0-9 describe, 10-12 hold the sealed value.
constexpr std::string_view kSecretSelect =
    "SELECT v.name, v.version, v.content_type, v.enabled, v.not_before, v.expires, v.created, "
    "v.updated, v.tags, i.managed, v.sealed_value, v.wrapped_key, v.master_fingerprint "
    "FROM vault_secret_versions v JOIN vault_secrets i ON i.name = v.name ";

// `first`: the column the description starts at (list_deleted_secrets selects two before it).
Result<SecretInfo> read_secret_info(const store::Statement& st, int first = 0) {
  SecretInfo info;
  info.name = st.text(first);
  info.version = st.text(first + 1);
  info.content_type = st.text(first + 2);
  info.attributes.enabled = st.integer(first + 3) != 0;
  info.attributes.not_before = st.integer(first + 4);
  info.attributes.expires = st.integer(first + 5);
  info.attributes.created = st.integer(first + 6);
  info.attributes.updated = st.integer(first + 7);
  GH_TRY(info.tags, tags_from_json(st.text(first + 8)));
  info.managed = st.integer(first + 9) != 0;
  return info;
}

SealedValue read_sealed(const store::Statement& st) {
  return SealedValue{st.blob(10), st.blob(11), st.text(12)};
}

// Certificate versions.
constexpr std::string_view kCertSelect =
    "SELECT v.name, v.version, v.cer, v.x5t, v.thumbprint_sha256, v.subject, v.issuer_name, "
    "v.not_before, v.expires, v.enabled, v.created, v.updated, v.tags "
    "FROM vault_certificate_versions v JOIN vault_certificates i ON i.name = v.name ";

Result<CertificateInfo> read_certificate_info(const store::Statement& st) {
  CertificateInfo info;
  info.name = st.text(0);
  info.version = st.text(1);
  info.cer = st.blob(2);
  info.x5t = st.text(3);
  info.thumbprint_sha256 = st.text(4);
  info.subject = st.text(5);
  info.issuer_name = st.text(6);
  info.attributes.not_before = st.integer(7);
  info.attributes.expires = st.integer(8);
  info.attributes.enabled = st.integer(9) != 0;
  info.attributes.created = st.integer(10);
  info.attributes.updated = st.integer(11);
  GH_TRY(info.tags, tags_from_json(st.text(12)));
  return info;
}

struct SecretKind {
  using Row = SecretRow;
  using Info = SecretInfo;
  using Deleted = DeletedSecret;
  static constexpr std::string_view kNoun = "secret";
  static constexpr std::string_view kItems = "vault_secrets";
  static constexpr std::string_view kVersions = "vault_secret_versions";
  static constexpr std::string_view kFind =
      "SELECT name, current_version, managed, deleted_at, scheduled_purge "
      "FROM vault_secrets WHERE name = ?1";
  static constexpr std::string_view kSelect = kSecretSelect;
  static constexpr bool kOwnsManagedSecret = false;

  static Row read_row(const store::Statement& st) {
    return Row{{st.text(0), st.text(1), st.integer(3), st.integer(4)}, st.integer(2) != 0};
  }
  static Result<Info> read_info(const store::Statement& st) { return read_secret_info(st); }
  // A managed secret changes only with its certificate: Conflict naming `action`.
  static Status check_unmanaged(const Row& row, std::string_view name, std::string_view action) {
    if (row.managed) return managed_conflict(name, action);
    return {};
  }
};

struct CertificateKind {
  using Row = CertRow;
  using Info = CertificateInfo;
  using Deleted = DeletedCertificate;
  static constexpr std::string_view kNoun = "certificate";
  static constexpr std::string_view kItems = "vault_certificates";
  static constexpr std::string_view kVersions = "vault_certificate_versions";
  static constexpr std::string_view kFind =
      "SELECT name, current_version, policy, tags, deleted_at, scheduled_purge "
      "FROM vault_certificates WHERE name = ?1";
  static constexpr std::string_view kSelect = kCertSelect;
  // Deleting, recovering and purging a certificate does the same to its managed secret.
  static constexpr bool kOwnsManagedSecret = true;

  static Row read_row(const store::Statement& st) {
    return Row{{st.text(0), st.text(1), st.integer(4), st.integer(5)}, st.text(2), st.text(3)};
  }
  static Result<Info> read_info(const store::Statement& st) { return read_certificate_info(st); }
  static Status check_unmanaged(const Row&, std::string_view, std::string_view) { return {}; }
};

template <class Kind>
Result<std::optional<typename Kind::Row>> find_item(store::Database& db, std::string_view name) {
  using Row = typename Kind::Row;
  GH_TRY(store::Statement st, db.prepare(Kind::kFind, concat("find vault ", Kind::kNoun)));
  st.bind(1, name);
  GH_TRY(bool row, st.step());
  if (!row) return std::optional<Row>();
  return std::optional<Row>(Kind::read_row(st));
}

// An item that exists and is not deleted.
template <class Kind>
Result<typename Kind::Row> live_row(store::Database& db, std::string_view name) {
  GH_TRY(auto row, find_item<Kind>(db, name));
  if (!row || row->deleted()) return not_found(Kind::kNoun, name);
  return std::move(*row);
}

// An item that is deleted and not yet purged.
template <class Kind>
Result<typename Kind::Row> deleted_row(store::Database& db, std::string_view name) {
  GH_TRY(auto row, find_item<Kind>(db, name));
  if (!row || !row->deleted()) return not_found(concat("deleted ", Kind::kNoun), name);
  return std::move(*row);
}

// One version of the item stored as `name`, the statement on its row; NotFound naming the
// version when absent.
template <class Kind>
Result<store::Statement> select_version(store::Database& db, std::string_view name,
                                        std::string_view version) {
  GH_TRY(store::Statement st,
         db.prepare(concat(Kind::kSelect, "WHERE v.name = ?1 AND v.version = ?2"),
                    concat("read vault ", Kind::kNoun, " version")));
  st.bind(1, name).bind(2, version);
  GH_TRY(bool row, st.step());
  if (!row) return no_version(Kind::kNoun, name, version);
  return st;
}

template <class Kind>
Result<typename Kind::Info> read_version(store::Database& db, std::string_view name,
                                         std::string_view version) {
  GH_TRY(store::Statement st, select_version<Kind>(db, name, version));
  return Kind::read_info(st);
}

// A secret version with its sealed value.
Result<std::pair<SecretInfo, SealedValue>> sealed_secret_version(store::Database& db,
                                                                 std::string_view name,
                                                                 std::string_view version) {
  GH_TRY(store::Statement st, select_version<SecretKind>(db, name, version));
  GH_TRY(SecretInfo info, read_secret_info(st));
  return std::pair{std::move(info), read_sealed(st)};
}

template <class Kind>
Result<std::vector<typename Kind::Info>> read_infos(store::Statement& st) {
  std::vector<typename Kind::Info> out;
  while (true) {
    GH_TRY(bool row, st.step());
    if (!row) return out;
    GH_TRY(auto info, Kind::read_info(st));
    out.push_back(std::move(info));
  }
}

// Removes items whose retention after deletion has passed (Key Vault purges them itself).
Status purge_expired(store::Database& db, int64_t now) {
  static constexpr std::string_view kStatements[] = {
      "DELETE FROM vault_secret_versions WHERE name IN (SELECT name FROM vault_secrets WHERE "
      "deleted_at > 0 AND scheduled_purge <= ?1)",
      "DELETE FROM vault_secrets WHERE deleted_at > 0 AND scheduled_purge <= ?1",
      "DELETE FROM vault_certificate_versions WHERE name IN (SELECT name FROM "
      "vault_certificates WHERE deleted_at > 0 AND scheduled_purge <= ?1)",
      "DELETE FROM vault_certificates WHERE deleted_at > 0 AND scheduled_purge <= ?1",
  };
  for (const auto sql : kStatements) {
    GH_TRY(store::Statement st, db.prepare(sql, "purge expired vault deletions"));
    st.bind(1, now);
    GH_TRY_STATUS(st.run());
  }
  return {};
}

// Marks an item and its versions deleted (deleted_at > 0) or live again (deleted_at 0).
template <class Kind>
Status mark_item(store::Database& db, std::string_view name, int64_t deleted_at,
                 int64_t scheduled_purge) {
  GH_TRY(store::Statement item,
         db.prepare(concat("UPDATE ", Kind::kItems,
                           " SET deleted_at = ?2, scheduled_purge = ?3 WHERE name = ?1"),
                    concat("mark vault ", Kind::kNoun, " deleted")));
  item.bind(1, name).bind(2, deleted_at).bind(3, scheduled_purge);
  GH_TRY_STATUS(item.run());
  GH_TRY(store::Statement versions,
         db.prepare(concat("UPDATE ", Kind::kVersions, " SET deleted = ?2 WHERE name = ?1"),
                    concat("mark vault ", Kind::kNoun, " versions deleted")));
  versions.bind(1, name).bind(2, int64_t{deleted_at != 0});
  GH_TRY_STATUS(versions.run());
  if constexpr (Kind::kOwnsManagedSecret) {
    return mark_item<SecretKind>(db, name, deleted_at, scheduled_purge);
  }
  return {};
}

// Deletes an item and its versions for good.
template <class Kind>
Status remove_item(store::Database& db, std::string_view name) {
  const std::string purpose = concat("purge vault ", Kind::kNoun);
  GH_TRY(store::Statement versions,
         db.prepare(concat("DELETE FROM ", Kind::kVersions, " WHERE name = ?1"), purpose));
  versions.bind(1, name);
  GH_TRY_STATUS(versions.run());
  GH_TRY(store::Statement item,
         db.prepare(concat("DELETE FROM ", Kind::kItems, " WHERE name = ?1"), purpose));
  item.bind(1, name);
  GH_TRY_STATUS(item.run());
  if constexpr (Kind::kOwnsManagedSecret) return remove_item<SecretKind>(db, name);
  return {};
}

// What one new secret version holds.
struct SecretWrite {
  std::string name;  // as stored (first spelling) or new
  std::string version;
  std::string content_type;
  std::string_view value;
  ItemAttributes attributes;
  Tags tags;
  bool managed = false;
};

// Inserts the version (sealed under `master`) and makes it the secret's current one.
Status write_secret_version(store::Database& db, const identity::MasterKey& master,
                            const SecretWrite& w) {
  GH_TRY(SealedValue sealed,
         seal_value(master, core::as_bytes(w.value), envelope_aad(w.name, w.version)));
  GH_TRY(store::Statement item,
         db.prepare("INSERT INTO vault_secrets (name, current_version, managed) "
                    "VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET current_version = "
                    "excluded.current_version, managed = excluded.managed",
                    "write vault secret"));
  item.bind(1, w.name).bind(2, w.version).bind(3, int64_t{w.managed});
  GH_TRY_STATUS(item.run());
  GH_TRY(store::Statement version,
         db.prepare("INSERT INTO vault_secret_versions (name, version, content_type, enabled, "
                    "not_before, expires, created, updated, tags, sealed_value, wrapped_key, "
                    "master_fingerprint) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                    "?12)",
                    "write vault secret version"));
  version.bind(1, w.name)
      .bind(2, w.version)
      .bind(3, w.content_type)
      .bind(4, int64_t{w.attributes.enabled})
      .bind(5, w.attributes.not_before)
      .bind(6, w.attributes.expires)
      .bind(7, w.attributes.created)
      .bind(8, w.attributes.updated)
      .bind(9, tags_to_json(w.tags))
      .bind_blob(10, sealed.ciphertext)
      .bind_blob(11, sealed.wrapped_key)
      .bind(12, sealed.fingerprint);
  return version.run();
}

Status update_secret_row(store::Database& db, const SecretInfo& info) {
  GH_TRY(store::Statement st,
         db.prepare("UPDATE vault_secret_versions SET content_type = ?3, enabled = ?4, "
                    "not_before = ?5, expires = ?6, updated = ?7, tags = ?8 "
                    "WHERE name = ?1 AND version = ?2",
                    "update vault secret version"));
  st.bind(1, info.name)
      .bind(2, info.version)
      .bind(3, info.content_type)
      .bind(4, int64_t{info.attributes.enabled})
      .bind(5, info.attributes.not_before)
      .bind(6, info.attributes.expires)
      .bind(7, info.attributes.updated)
      .bind(8, tags_to_json(info.tags));
  return st.run();
}

CertificateInfo describe(const std::string& name, const std::string& version,
                         const KeyAndChain& bundle, const std::string& issuer_name,
                         const Tags& tags, int64_t now) {
  CertificateInfo info;
  info.name = name;
  info.version = version;
  info.cer = bundle.leaf.der();
  info.x5t = bundle.leaf.x5t();
  info.thumbprint_sha256 = core::hex_encode_upper(crypto::sha256(info.cer));
  info.subject = bundle.leaf.subject();
  info.issuer_name = issuer_name;
  info.tags = tags;
  info.attributes.enabled = true;
  info.attributes.not_before = bundle.leaf.not_before();
  info.attributes.expires = bundle.leaf.not_after();
  info.attributes.created = now;
  info.attributes.updated = now;
  return info;
}

// Whether a new certificate version may be written under `name`: the name is not a plain
// secret's and not deleted. Returns the existing certificate, if any.
Result<std::optional<CertRow>> certificate_name_free(store::Database& db, std::string_view name) {
  GH_TRY(auto cert, find_item<CertificateKind>(db, name));
  if (cert) {
    if (cert->deleted()) return deleted_conflict("certificate", name);
    return cert;
  }
  GH_TRY(auto secret, find_item<SecretKind>(db, name));
  if (secret) {
    if (secret->deleted()) return deleted_conflict("secret", name);
    return unexpected(ErrorKind::Conflict, "a secret named " + std::string(name) +
                                               " exists: a certificate needs a "
                                               "name of its own");
  }
  return std::optional<CertRow>();
}

}  // namespace

bool valid_item_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 127) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  });
}

// Lock order: master_mutex, then the Database's own lock. Every use of the master key holds
// master_mutex shared for the whole transaction; rewrap() holds it exclusively across its
// transaction and the switch to the new key, so no value is sealed under the old key after
// its data keys moved.
struct VaultStore::Impl {
  Impl(std::shared_ptr<store::Database> d, identity::MasterKey m, std::vector<CertificateIssuer> i,
       const core::Clock& c, VaultLimits l)
      : db(std::move(d)), master(std::move(m)), issuers(std::move(i)), clock(c), limits(l) {}

  std::shared_ptr<store::Database> db;
  std::shared_mutex master_mutex;
  identity::MasterKey master;  // guarded by master_mutex
  std::vector<CertificateIssuer> issuers;
  const core::Clock& clock;
  VaultLimits limits;

  template <class F>
  Status write(F&& body) {
    std::shared_lock lock(master_mutex);
    return db->transaction(std::forward<F>(body));
  }
  template <class F>
  Status read(F&& body) {
    std::shared_lock lock(master_mutex);
    return db->read_transaction(std::forward<F>(body));
  }

  int64_t purge_time(int64_t now) const noexcept {
    return now + limits.soft_delete_retention_days * kDay;
  }

  /// The issuer a policy names: null for "Self"; InvalidArgument for "Unknown" or a name
  /// that is not configured.
  Result<const CertificateIssuer*> issuer_for(const CertificatePolicy& policy) const {
    if (policy.issuer == kIssuerSelf) return static_cast<const CertificateIssuer*>(nullptr);
    if (policy.issuer == kIssuerUnknown) {
      return invalid("policy.issuer Unknown cannot issue: import a new version instead");
    }
    for (const auto& issuer : issuers) {
      if (issuer.name == policy.issuer) return &issuer;
    }
    return invalid("policy.issuer " + policy.issuer + " is not a configured issuer");
  }

  /// Writes a new certificate version and its managed secret (under master_mutex and a
  /// transaction). `policy`/`tags` replace the item's when given.
  Result<CertificateInfo> store_certificate(const std::string& name,
                                            const std::optional<CertRow>& existing,
                                            const std::optional<CertificatePolicy>& policy,
                                            const Tags& tags, const KeyAndChain& bundle,
                                            const std::string& issuer_name,
                                            const std::string& content_type) {
    const int64_t now = clock.now_unix();
    const std::string& stored_name = existing ? existing->name : name;
    CertificateInfo info =
        describe(stored_name, crypto::random_hex(16), bundle, issuer_name, tags, now);
    std::string chain_pem;
    for (const auto& c : bundle.chain)
      chain_pem += c.pem();
    const std::string tags_json = tags_to_json(tags);

    if (!existing) {
      GH_TRY(store::Statement st,
             db->prepare("INSERT INTO vault_certificates (name, current_version, policy, tags) "
                         "VALUES (?1, ?2, ?3, ?4)",
                         "insert vault certificate"));
      st.bind(1, stored_name).bind(2, info.version).bind(3, policy_to_json(*policy));
      st.bind(4, tags_json);
      GH_TRY_STATUS(st.run());
    } else {
      GH_TRY(store::Statement st,
             db->prepare("UPDATE vault_certificates SET current_version = ?2, "
                         "policy = coalesce(?3, policy), tags = ?4 WHERE name = ?1",
                         "update vault certificate"));
      st.bind(1, stored_name).bind(2, info.version).bind(4, tags_json);
      if (policy) {
        st.bind(3, policy_to_json(*policy));
      } else {
        st.bind_null(3);
      }
      GH_TRY_STATUS(st.run());
    }
    GH_TRY(store::Statement st,
           db->prepare("INSERT INTO vault_certificate_versions (name, version, cer, chain_pem, "
                       "x5t, thumbprint_sha256, subject, issuer_name, not_before, expires, "
                       "enabled, created, updated, tags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                       "?9, ?10, ?11, ?12, ?13, ?14)",
                       "insert vault certificate version"));
    st.bind(1, info.name)
        .bind(2, info.version)
        .bind_blob(3, info.cer)
        .bind(4, chain_pem)
        .bind(5, info.x5t)
        .bind(6, info.thumbprint_sha256)
        .bind(7, info.subject)
        .bind(8, info.issuer_name)
        .bind(9, info.attributes.not_before)
        .bind(10, info.attributes.expires)
        .bind(11, int64_t{1})
        .bind(12, now)
        .bind(13, now)
        .bind(14, tags_json);
    GH_TRY_STATUS(st.run());

    GH_TRY(std::string value, encode_secret(bundle, content_type));
    SecretWrite w;
    w.name = info.name;
    w.version = info.version;
    w.content_type = content_type;
    w.value = value;
    w.attributes = info.attributes;
    w.tags = tags;
    w.managed = true;
    Status written = write_secret_version(*db, master, w);
    wipe(value);
    GH_TRY_STATUS(written);
    return info;
  }

  /// A secret version with its value (under master_mutex and a transaction); `name` as stored.
  Result<Secret> open_secret(const std::string& name, const std::string& version) {
    GH_TRY(auto found, sealed_secret_version(*db, name, version));
    GH_TRY(std::string value,
           open_value(master, found.second, envelope_aad(found.first.name, found.first.version)));
    return Secret{std::move(found.first), std::move(value)};
  }

  /// The key and chain of a certificate version, read from its managed secret.
  Result<std::pair<CertificateInfo, KeyAndChain>> key_and_chain(std::string_view name,
                                                                std::string_view version) {
    std::optional<std::pair<CertificateInfo, KeyAndChain>> out;
    GH_TRY_STATUS(read([&]() -> Status {
      GH_TRY(CertRow row, live_row<CertificateKind>(*db, name));
      const std::string v = version_or_current(row, version);
      GH_TRY(CertificateInfo info, read_version<CertificateKind>(*db, row.name, v));
      GH_TRY(Secret secret, open_secret(row.name, v));
      auto bundle = decode_secret(secret.value, secret.info.content_type);
      wipe(secret.value);
      if (!bundle) return unexpected(std::move(bundle).error());
      out.emplace(std::move(info), std::move(*bundle));
      return {};
    }));
    return std::move(*out);
  }

  // ---- operations secrets and certificates share (Kind: SecretKind or CertificateKind) ----

  template <class Kind>
  using Info = typename Kind::Info;

  /// `version` of a live item, its current version when empty.
  template <class Kind>
  Result<Info<Kind>> get_info(std::string_view name, std::string_view version) {
    Info<Kind> out;
    GH_TRY_STATUS(read([&]() -> Status {
      GH_TRY(auto row, live_row<Kind>(*db, name));
      GH_TRY(out, read_version<Kind>(*db, row.name, version_or_current(row, version)));
      return {};
    }));
    return out;
  }

  /// The current version of every live item, by name.
  template <class Kind>
  Result<std::vector<Info<Kind>>> list_current() {
    std::vector<Info<Kind>> out;
    GH_TRY_STATUS(read([&]() -> Status {
      GH_TRY(store::Statement st,
             db->prepare(concat(Kind::kSelect,
                                "WHERE v.version = i.current_version AND i.deleted_at = 0 "
                                "ORDER BY i.name"),
                         concat("list vault ", Kind::kNoun, "s")));
      GH_TRY(out, read_infos<Kind>(st));
      return {};
    }));
    return out;
  }

  /// Every version of a live item, oldest first.
  template <class Kind>
  Result<std::vector<Info<Kind>>> list_versions(std::string_view name) {
    std::vector<Info<Kind>> out;
    GH_TRY_STATUS(read([&]() -> Status {
      GH_TRY(auto row, live_row<Kind>(*db, name));
      GH_TRY(store::Statement st,
             db->prepare(concat(Kind::kSelect, "WHERE v.name = ?1 ORDER BY v.id"),
                         concat("list vault ", Kind::kNoun, " versions")));
      st.bind(1, row.name);
      GH_TRY(out, read_infos<Kind>(st));
      return {};
    }));
    return out;
  }

  /// Soft-deletes a live item, scheduling its purge after the retention.
  template <class Kind>
  Result<typename Kind::Deleted> delete_item(std::string_view name) {
    typename Kind::Deleted out;
    GH_TRY_STATUS(write([&]() -> Status {
      GH_TRY(auto row, live_row<Kind>(*db, name));
      GH_TRY_STATUS(Kind::check_unmanaged(row, name, "delete"));
      const int64_t now = clock.now_unix();
      GH_TRY(auto current, read_version<Kind>(*db, row.name, row.current_version));
      GH_TRY_STATUS(mark_item<Kind>(*db, row.name, now, purge_time(now)));
      out = {DeletedInfo{row.name, now, purge_time(now)}, std::move(current)};
      return {};
    }));
    return out;
  }

  /// A deleted item with the version that was current when it was deleted.
  template <class Kind>
  Result<typename Kind::Deleted> get_deleted(std::string_view name) {
    typename Kind::Deleted out;
    GH_TRY_STATUS(write([&]() -> Status {
      GH_TRY_STATUS(purge_expired(*db, clock.now_unix()));
      GH_TRY(auto row, deleted_row<Kind>(*db, name));
      GH_TRY(auto current, read_version<Kind>(*db, row.name, row.current_version));
      out = {DeletedInfo{row.name, row.deleted_at, row.scheduled_purge}, std::move(current)};
      return {};
    }));
    return out;
  }

  template <class Kind>
  Status purge_deleted(std::string_view name) {
    return write([&]() -> Status {
      GH_TRY_STATUS(purge_expired(*db, clock.now_unix()));
      GH_TRY(auto row, deleted_row<Kind>(*db, name));
      GH_TRY_STATUS(Kind::check_unmanaged(row, name, "purge"));
      return remove_item<Kind>(*db, row.name);
    });
  }

  /// Makes a deleted item live again; returns its current version.
  template <class Kind>
  Result<Info<Kind>> recover_deleted(std::string_view name) {
    Info<Kind> out;
    GH_TRY_STATUS(write([&]() -> Status {
      GH_TRY_STATUS(purge_expired(*db, clock.now_unix()));
      GH_TRY(auto row, deleted_row<Kind>(*db, name));
      GH_TRY_STATUS(Kind::check_unmanaged(row, name, "recover"));
      GH_TRY_STATUS(mark_item<Kind>(*db, row.name, 0, 0));
      GH_TRY(out, read_version<Kind>(*db, row.name, row.current_version));
      return {};
    }));
    return out;
  }
};

Result<std::unique_ptr<VaultStore>> VaultStore::open(std::shared_ptr<store::Database> db,
                                                     identity::MasterKey master,
                                                     std::vector<CertificateIssuer> issuers,
                                                     const core::Clock& clock, VaultLimits limits) {
  if (!db) return unexpected(ErrorKind::InvalidArgument, "vault store needs a database");
  if (limits.max_secret_bytes == 0) {
    return invalid("vault max_secret_bytes must be at least 1");
  }
  if (limits.soft_delete_retention_days < 1) {
    return invalid("vault soft_delete_retention_days must be at least 1");
  }
  for (const auto& issuer : issuers) {
    if (!valid_item_name(issuer.name) || issuer.name == kIssuerSelf ||
        issuer.name == kIssuerUnknown) {
      return invalid(
          "certificate issuer name must be 1 to 127 characters of 0-9, a-z, A-Z and "
          "-, other than Self and Unknown");
    }
    if (!issuer.key) return invalid("certificate issuer " + issuer.name + " has no key");
  }
  GH_TRY_STATUS(db->migrate("vault", kMigrations));
  std::unique_ptr<VaultStore> store(new VaultStore());
  store->impl_ =
      std::make_unique<Impl>(std::move(db), std::move(master), std::move(issuers), clock, limits);
  return store;
}

VaultStore::~VaultStore() = default;

// ---- secrets ---------------------------------------------------------------------------------

Result<SecretInfo> VaultStore::set_secret(const NewSecret& s) {
  GH_TRY_STATUS(validate_name("secret", s.name));
  if (s.value.empty() || s.value.size() > impl_->limits.max_secret_bytes) {
    return invalid("secret value must be 1 to " + std::to_string(impl_->limits.max_secret_bytes) +
                   " bytes");
  }
  GH_TRY_STATUS(validate_content_type(s.content_type));
  GH_TRY_STATUS(validate_times(s.not_before, s.expires));
  GH_TRY_STATUS(validate_tags(s.tags));
  SecretInfo out;
  GH_TRY_STATUS(impl_->write([&]() -> Status {
    store::Database& db = *impl_->db;
    const int64_t now = impl_->clock.now_unix();
    GH_TRY_STATUS(purge_expired(db, now));
    GH_TRY(auto row, find_item<SecretKind>(db, s.name));
    if (row && row->deleted()) return deleted_conflict("secret", s.name);
    if (row && row->managed) return managed_conflict(s.name, "change");
    SecretWrite w;
    w.name = row ? row->name : s.name;
    w.version = crypto::random_hex(16);
    w.content_type = s.content_type;
    w.value = s.value;
    w.attributes = ItemAttributes{s.enabled, s.not_before, s.expires, now, now};
    w.tags = s.tags;
    GH_TRY_STATUS(write_secret_version(db, impl_->master, w));
    out = SecretInfo{w.name, w.version, w.content_type, w.attributes, w.tags, false};
    return {};
  }));
  return out;
}

Result<Secret> VaultStore::get_secret(std::string_view name, std::string_view version) {
  Secret out;
  GH_TRY_STATUS(impl_->read([&]() -> Status {
    GH_TRY(SecretRow row, live_row<SecretKind>(*impl_->db, name));
    GH_TRY(out, impl_->open_secret(row.name, version_or_current(row, version)));
    return {};
  }));
  return out;
}

Result<SecretInfo> VaultStore::get_secret_info(std::string_view name, std::string_view version) {
  return impl_->get_info<SecretKind>(name, version);
}

Result<SecretInfo> VaultStore::update_secret(std::string_view name, std::string_view version,
                                             const SecretUpdate& update) {
  if (update.content_type) GH_TRY_STATUS(validate_content_type(*update.content_type));
  if (update.tags) GH_TRY_STATUS(validate_tags(*update.tags));
  SecretInfo out;
  GH_TRY_STATUS(impl_->write([&]() -> Status {
    store::Database& db = *impl_->db;
    GH_TRY(SecretRow row, live_row<SecretKind>(db, name));
    GH_TRY_STATUS(SecretKind::check_unmanaged(row, name, "change"));
    GH_TRY(SecretInfo info,
           read_version<SecretKind>(db, row.name, version_or_current(row, version)));
    if (update.content_type) info.content_type = *update.content_type;
    if (update.enabled) info.attributes.enabled = *update.enabled;
    if (update.not_before) info.attributes.not_before = *update.not_before;
    if (update.expires) info.attributes.expires = *update.expires;
    if (update.tags) info.tags = *update.tags;
    GH_TRY_STATUS(validate_times(info.attributes.not_before, info.attributes.expires));
    info.attributes.updated = impl_->clock.now_unix();
    GH_TRY_STATUS(update_secret_row(db, info));
    out = std::move(info);
    return {};
  }));
  return out;
}

Result<std::vector<SecretInfo>> VaultStore::list_secrets() {
  return impl_->list_current<SecretKind>();
}

Result<std::vector<SecretInfo>> VaultStore::list_secret_versions(std::string_view name) {
  return impl_->list_versions<SecretKind>(name);
}

Result<DeletedSecret> VaultStore::delete_secret(std::string_view name) {
  return impl_->delete_item<SecretKind>(name);
}

Result<DeletedSecret> VaultStore::get_deleted_secret(std::string_view name) {
  return impl_->get_deleted<SecretKind>(name);
}

Result<std::vector<DeletedSecret>> VaultStore::list_deleted_secrets() {
  std::vector<DeletedSecret> out;
  GH_TRY_STATUS(impl_->write([&]() -> Status {
    store::Database& db = *impl_->db;
    GH_TRY_STATUS(purge_expired(db, impl_->clock.now_unix()));
    GH_TRY(store::Statement st,
           db.prepare("SELECT i.deleted_at, i.scheduled_purge, " +
                          std::string(kSecretSelect.substr(7)) +
                          "WHERE v.version = i.current_version AND i.deleted_at > 0 "
                          "ORDER BY i.name",
                      "list deleted vault secrets"));
    // Columns shift by two: describe from column 2 on.
    while (true) {
      GH_TRY(bool row, st.step());
      if (!row) break;
      DeletedSecret d;
      d.deletion.deleted = st.integer(0);
      d.deletion.scheduled_purge = st.integer(1);
      GH_TRY(d.current, read_secret_info(st, 2));
      d.deletion.name = d.current.name;
      out.push_back(std::move(d));
    }
    return {};
  }));
  return out;
}

Status VaultStore::purge_deleted_secret(std::string_view name) {
  return impl_->purge_deleted<SecretKind>(name);
}

Result<SecretInfo> VaultStore::recover_deleted_secret(std::string_view name) {
  return impl_->recover_deleted<SecretKind>(name);
}

// ---- certificates ----------------------------------------------------------------------------

Result<CertificateInfo> VaultStore::create_certificate(std::string_view name,
                                                       const CertificatePolicy& policy,
                                                       const Tags& tags) {
  GH_TRY_STATUS(validate_name("certificate", name));
  GH_TRY_STATUS(validate_tags(tags));
  GH_TRY_STATUS(validate_policy(policy));
  GH_TRY(const CertificateIssuer* issuer, impl_->issuer_for(policy));
  // Fail fast on a taken name before generating a key (which may take seconds for RSA 4096).
  GH_TRY_STATUS(impl_->read([&]() -> Status {
    GH_TRY(auto existing, certificate_name_free(*impl_->db, name));
    (void)existing;
    return {};
  }));
  GH_TRY(KeyAndChain bundle, issue_certificate(policy, issuer, impl_->clock));
  CertificateInfo out;
  GH_TRY_STATUS(impl_->write([&]() -> Status {
    GH_TRY_STATUS(purge_expired(*impl_->db, impl_->clock.now_unix()));
    GH_TRY(auto existing, certificate_name_free(*impl_->db, name));
    GH_TRY(out, impl_->store_certificate(std::string(name), existing, policy, tags, bundle,
                                         policy.issuer, policy.content_type));
    return {};
  }));
  return out;
}

Result<CertificateInfo> VaultStore::import_certificate(
    std::string_view name, std::string_view data, std::string_view password,
    const std::optional<CertificatePolicy>& policy, const Tags& tags) {
  GH_TRY_STATUS(validate_name("certificate", name));
  GH_TRY_STATUS(validate_tags(tags));
  if (policy) {
    GH_TRY_STATUS(validate_policy(*policy));
    if (policy->issuer != kIssuerUnknown) GH_TRY_STATUS(impl_->issuer_for(*policy));
  }
  bool was_pem = false;
  GH_TRY(KeyAndChain bundle, parse_import(data, password, &was_pem));
  const CertificatePolicy stored =
      policy ? *policy
             : policy_from_certificate(bundle, was_pem ? kContentTypePem : kContentTypePkcs12);
  CertificateInfo out;
  GH_TRY_STATUS(impl_->write([&]() -> Status {
    GH_TRY_STATUS(purge_expired(*impl_->db, impl_->clock.now_unix()));
    GH_TRY(auto existing, certificate_name_free(*impl_->db, name));
    GH_TRY(out, impl_->store_certificate(std::string(name), existing, stored, tags, bundle,
                                         std::string(kIssuerUnknown), stored.content_type));
    return {};
  }));
  return out;
}

Result<CertificateInfo> VaultStore::renew_certificate(std::string_view name) {
  CertificatePolicy policy;
  GH_TRY_STATUS(impl_->read([&]() -> Status {
    GH_TRY(CertRow row, live_row<CertificateKind>(*impl_->db, name));
    GH_TRY(policy, policy_from_json(row.policy_json));
    return {};
  }));
  GH_TRY(const CertificateIssuer* issuer, impl_->issuer_for(policy));
  GH_TRY(KeyAndChain bundle, issue_certificate(policy, issuer, impl_->clock));
  CertificateInfo out;
  GH_TRY_STATUS(impl_->write([&]() -> Status {
    GH_TRY(CertRow row, live_row<CertificateKind>(*impl_->db, name));
    GH_TRY(Tags tags, tags_from_json(row.tags_json));
    // The policy read above issued this version; a policy changed meanwhile applies next time.
    GH_TRY(CertificatePolicy current, policy_from_json(row.policy_json));
    GH_TRY(out, impl_->store_certificate(row.name, row, std::nullopt, tags, bundle, policy.issuer,
                                         current.content_type));
    return {};
  }));
  return out;
}

Result<CertificateInfo> VaultStore::get_certificate(std::string_view name,
                                                    std::string_view version) {
  return impl_->get_info<CertificateKind>(name, version);
}

Result<CertificateWithKey> VaultStore::get_certificate_with_key(std::string_view name,
                                                                std::string_view version) {
  GH_TRY(auto found, impl_->key_and_chain(name, version));
  GH_TRY(std::string pem, bundle_pem(found.second));
  return CertificateWithKey{std::move(found.first), std::move(pem)};
}

Result<core::Bytes> VaultStore::export_pkcs12(std::string_view name, std::string_view version,
                                              std::string_view password) {
  GH_TRY(auto found, impl_->key_and_chain(name, version));
  const KeyAndChain& b = found.second;
  return x509::make_pkcs12(b.key.get(), b.leaf, b.chain, password, found.first.name);
}

Result<std::vector<CertificateInfo>> VaultStore::list_certificates() {
  return impl_->list_current<CertificateKind>();
}

Result<std::vector<CertificateInfo>> VaultStore::list_certificate_versions(std::string_view name) {
  return impl_->list_versions<CertificateKind>(name);
}

Result<CertificatePolicy> VaultStore::get_certificate_policy(std::string_view name) {
  CertificatePolicy out;
  GH_TRY_STATUS(impl_->read([&]() -> Status {
    GH_TRY(CertRow row, live_row<CertificateKind>(*impl_->db, name));
    GH_TRY(out, policy_from_json(row.policy_json));
    return {};
  }));
  return out;
}

Result<CertificatePolicy> VaultStore::update_certificate_policy(std::string_view name,
                                                                const CertificatePolicy& policy) {
  GH_TRY_STATUS(validate_policy(policy));
  if (policy.issuer != kIssuerUnknown) GH_TRY_STATUS(impl_->issuer_for(policy));
  GH_TRY_STATUS(impl_->write([&]() -> Status {
    GH_TRY(CertRow row, live_row<CertificateKind>(*impl_->db, name));
    GH_TRY(store::Statement st,
           impl_->db->prepare("UPDATE vault_certificates SET policy = ?2 WHERE name = ?1",
                              "update vault certificate policy"));
    st.bind(1, row.name).bind(2, policy_to_json(policy));
    return st.run();
  }));
  return policy;
}

Result<CertificateInfo> VaultStore::update_certificate(std::string_view name,
                                                       std::string_view version,
                                                       std::optional<bool> enabled,
                                                       std::optional<Tags> tags) {
  if (tags) GH_TRY_STATUS(validate_tags(*tags));
  CertificateInfo out;
  GH_TRY_STATUS(impl_->write([&]() -> Status {
    store::Database& db = *impl_->db;
    GH_TRY(CertRow row, live_row<CertificateKind>(db, name));
    const std::string v = version_or_current(row, version);
    GH_TRY(CertificateInfo info, read_version<CertificateKind>(db, row.name, v));
    if (enabled) info.attributes.enabled = *enabled;
    if (tags) info.tags = *tags;
    info.attributes.updated = impl_->clock.now_unix();
    GH_TRY(store::Statement st,
           db.prepare("UPDATE vault_certificate_versions SET enabled = ?3, tags = ?4, "
                      "updated = ?5 WHERE name = ?1 AND version = ?2",
                      "update vault certificate version"));
    st.bind(1, info.name)
        .bind(2, info.version)
        .bind(3, int64_t{info.attributes.enabled})
        .bind(4, tags_to_json(info.tags))
        .bind(5, info.attributes.updated);
    GH_TRY_STATUS(st.run());
    // The managed secret follows: a disabled certificate version's key is disabled too.
    GH_TRY(SecretInfo secret, read_version<SecretKind>(db, row.name, v));
    secret.attributes.enabled = info.attributes.enabled;
    secret.tags = info.tags;
    secret.attributes.updated = info.attributes.updated;
    GH_TRY_STATUS(update_secret_row(db, secret));
    out = std::move(info);
    return {};
  }));
  return out;
}

Result<DeletedCertificate> VaultStore::delete_certificate(std::string_view name) {
  return impl_->delete_item<CertificateKind>(name);
}

Result<DeletedCertificate> VaultStore::get_deleted_certificate(std::string_view name) {
  return impl_->get_deleted<CertificateKind>(name);
}

Result<std::vector<DeletedCertificate>> VaultStore::list_deleted_certificates() {
  std::vector<DeletedCertificate> out;
  GH_TRY_STATUS(impl_->write([&]() -> Status {
    store::Database& db = *impl_->db;
    GH_TRY_STATUS(purge_expired(db, impl_->clock.now_unix()));
    GH_TRY(store::Statement st,
           db.prepare("SELECT name, current_version, deleted_at, scheduled_purge FROM "
                      "vault_certificates WHERE deleted_at > 0 ORDER BY name",
                      "list deleted vault certificates"));
    std::vector<std::pair<std::string, DeletedInfo>> rows;
    while (true) {
      GH_TRY(bool row, st.step());
      if (!row) break;
      rows.emplace_back(st.text(1), DeletedInfo{st.text(0), st.integer(2), st.integer(3)});
    }
    for (auto& [version, deletion] : rows) {
      GH_TRY(CertificateInfo current, read_version<CertificateKind>(db, deletion.name, version));
      out.push_back(DeletedCertificate{std::move(deletion), std::move(current)});
    }
    return {};
  }));
  return out;
}

Status VaultStore::purge_deleted_certificate(std::string_view name) {
  return impl_->purge_deleted<CertificateKind>(name);
}

Result<CertificateInfo> VaultStore::recover_deleted_certificate(std::string_view name) {
  return impl_->recover_deleted<CertificateKind>(name);
}

// ---- housekeeping ----------------------------------------------------------------------------

Result<std::vector<CertificateInfo>> VaultStore::renew_due() {
  std::vector<std::string> due;
  GH_TRY_STATUS(impl_->read([&]() -> Status {
    GH_TRY(store::Statement st,
           impl_->db->prepare("SELECT c.name, c.policy, v.not_before, v.expires FROM "
                              "vault_certificates c JOIN vault_certificate_versions v ON "
                              "v.name = c.name AND v.version = c.current_version "
                              "WHERE c.deleted_at = 0 ORDER BY c.name",
                              "find vault certificates due for renewal"));
    const int64_t now = impl_->clock.now_unix();
    while (true) {
      GH_TRY(bool row, st.step());
      if (!row) break;
      GH_TRY(CertificatePolicy policy, policy_from_json(st.text(1)));
      const int64_t at = renewal_time(policy, st.integer(2), st.integer(3));
      if (at != 0 && now >= at) due.push_back(st.text(0));
    }
    return {};
  }));
  std::vector<CertificateInfo> renewed;
  std::string failures;
  for (const auto& name : due) {
    auto info = renew_certificate(name);
    if (info) {
      renewed.push_back(std::move(*info));
    } else {
      failures += (failures.empty() ? "" : "; ") + name + ": " + info.error().message;
    }
  }
  // Every due certificate was tried; those renewed are stored and show in their stamps.
  if (!failures.empty()) {
    return unexpected(ErrorKind::Internal, "renewal failed for " + failures);
  }
  return renewed;
}

Result<std::vector<ExpiringItem>> VaultStore::expiring(int64_t horizon_seconds) {
  std::vector<ExpiringItem> out;
  const int64_t limit = impl_->clock.now_unix() + horizon_seconds;
  GH_TRY_STATUS(impl_->read([&]() -> Status {
    store::Database& db = *impl_->db;
    GH_TRY(store::Statement secrets,
           db.prepare("SELECT s.name, v.version, v.expires FROM vault_secrets s JOIN "
                      "vault_secret_versions v ON v.name = s.name AND v.version = "
                      "s.current_version WHERE s.deleted_at = 0 AND s.managed = 0 AND "
                      "v.enabled = 1 AND v.expires > 0 AND v.expires < ?1",
                      "find expiring vault secrets"));
    secrets.bind(1, limit);
    while (true) {
      GH_TRY(bool row, secrets.step());
      if (!row) break;
      out.push_back(ExpiringItem{"secret", secrets.text(0), secrets.text(1), secrets.integer(2)});
    }
    GH_TRY(store::Statement certs,
           db.prepare("SELECT c.name, v.version, v.expires, c.policy FROM vault_certificates c "
                      "JOIN vault_certificate_versions v ON v.name = c.name AND v.version = "
                      "c.current_version WHERE c.deleted_at = 0 AND v.enabled = 1 AND "
                      "v.expires < ?1",
                      "find expiring vault certificates"));
    certs.bind(1, limit);
    while (true) {
      GH_TRY(bool row, certs.step());
      if (!row) break;
      GH_TRY(CertificatePolicy policy, policy_from_json(certs.text(3)));
      const bool renews = policy_auto_renews(policy) && impl_->issuer_for(policy).has_value();
      out.push_back(
          ExpiringItem{"certificate", certs.text(0), certs.text(1), certs.integer(2), renews});
    }
    return {};
  }));
  std::stable_sort(out.begin(), out.end(), [](const ExpiringItem& a, const ExpiringItem& b) {
    return a.expires != b.expires ? a.expires < b.expires : a.name < b.name;
  });
  return out;
}

Status VaultStore::rewrap(identity::MasterKey next) {
  std::unique_lock lock(impl_->master_mutex);
  const std::string next_fingerprint = next.fingerprint();
  GH_TRY_STATUS(impl_->db->transaction([&]() -> Status {
    store::Database& db = *impl_->db;
    struct Row {
      int64_t id;
      std::string aad;
      SealedValue sealed;
    };
    std::vector<Row> rows;
    {
      GH_TRY(store::Statement st,
             db.prepare("SELECT id, name, version, wrapped_key, master_fingerprint FROM "
                        "vault_secret_versions ORDER BY id",
                        "read vault data keys"));
      while (true) {
        GH_TRY(bool row, st.step());
        if (!row) break;
        // Rows already under `next` (a repeated rewrap) stay as they are.
        if (st.text(4) == next_fingerprint) continue;
        rows.push_back(Row{st.integer(0), envelope_aad(st.text(1), st.text(2)),
                           SealedValue{{}, st.blob(3), st.text(4)}});
      }
    }
    GH_TRY(store::Statement update,
           db.prepare("UPDATE vault_secret_versions SET wrapped_key = ?2, master_fingerprint = "
                      "?3 WHERE id = ?1",
                      "rewrap vault data key"));
    for (auto& row : rows) {
      GH_TRY(SealedValue moved, rewrap_value(impl_->master, next, std::move(row.sealed), row.aad));
      update.reset();
      update.bind(1, row.id).bind_blob(2, moved.wrapped_key).bind(3, moved.fingerprint);
      GH_TRY_STATUS(update.run());
    }
    return {};
  }));
  impl_->master = std::move(next);
  return {};
}

Result<std::string> VaultStore::current_stamp(std::string_view kind, std::string_view name) {
  std::string_view sql;
  if (kind == "secrets") {
    sql =
        "SELECT s.current_version, v.enabled FROM vault_secrets s JOIN vault_secret_versions v "
        "ON v.name = s.name AND v.version = s.current_version "
        "WHERE s.name = ?1 AND s.deleted_at = 0";
  } else if (kind == "certificates") {
    sql =
        "SELECT c.current_version, v.enabled FROM vault_certificates c JOIN "
        "vault_certificate_versions v ON v.name = c.name AND v.version = c.current_version "
        "WHERE c.name = ?1 AND c.deleted_at = 0";
  } else {
    return invalid("vault item kind must be secrets or certificates");
  }
  std::string out;
  GH_TRY_STATUS(impl_->read([&]() -> Status {
    GH_TRY(store::Statement st, impl_->db->prepare(sql, "read vault item stamp"));
    st.bind(1, name);
    GH_TRY(bool row, st.step());
    if (!row) return not_found(kind == "secrets" ? "secret" : "certificate", name);
    out = st.text(0) + (st.integer(1) != 0 ? ":1" : ":0");
    return {};
  }));
  return out;
}

}  // namespace gh::vault
