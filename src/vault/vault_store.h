#pragma once

// The vault's store: versioned secrets and certificates in the process's SQLite database,
// encrypted at rest by envelope encryption.
//
// Every secret version (and every certificate version's private key, which is stored as the
// certificate's managed secret, as Key Vault does) is sealed with its own random 256-bit data
// key (AES-256-GCM, the additional data binding it to "<kind>/<name>/<version>"), and the data
// key is wrapped by the master key (identity::MasterKey, AES-256-GCM, additional data the same
// item id) together with the master key's fingerprint. The database file alone reveals no value;
// rewrap() moves every data key to a new master key without touching a value.
//
// Deletion is soft, as Key Vault's with soft-delete on: a deleted item keeps its versions until
// purged (purge_deleted_*) or recovered (recover_deleted_*); its name cannot be reused until then
// (Conflict). Errors: NotFound (no such item/version), Conflict (deleted-but-not-purged name,
// setting a managed secret), InvalidArgument (names, sizes, policies: messages name the field,
// never a value), PermissionDenied is not used here (access is the REST layer's business).
//
// Thread safety: every method may be called from any thread (the Database serialises). Reads
// are one short transaction; callers on the request path (the Key Vault REST handler) accept
// that, since vault traffic is small next to the gateway's and values must be read fresh.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "identity/key_ring.h"
#include "store/database.h"
#include "vault/model.h"
#include "x509/certificate.h"

namespace gh::vault {

/// A certificate authority the vault can issue from (policy issuer name = `name`), e.g. the
/// dev CA of `gatehouse dev`. The key stays in memory only.
struct CertificateIssuer {
  std::string name;
  x509::Certificate certificate;
  crypto::EvpPkeyPtr key;
  std::vector<x509::Certificate> chain;  // intermediates above `certificate`, if any
};

struct VaultLimits {
  size_t max_secret_bytes = 25 * 1024;
  int64_t soft_delete_retention_days = 90;  // Key Vault's default (7..90)
};

class VaultStore {
 public:
  /// Applies the vault's schema migrations to `db` and keeps the master key for sealing.
  static Result<std::unique_ptr<VaultStore>> open(std::shared_ptr<store::Database> db,
                                                  identity::MasterKey master,
                                                  std::vector<CertificateIssuer> issuers,
                                                  const core::Clock& clock,
                                                  VaultLimits limits = {});
  ~VaultStore();

  // ---- secrets ----
  /// A new version of `s.name` (creating the secret), now current. Conflict when the name is
  /// soft-deleted or belongs to a certificate.
  Result<SecretInfo> set_secret(const NewSecret& s);
  /// `version` empty: the current version. Disabled versions are returned (with
  /// attributes.enabled false): whether to serve them is the caller's decision.
  Result<Secret> get_secret(std::string_view name, std::string_view version = {});
  Result<SecretInfo> get_secret_info(std::string_view name, std::string_view version = {});
  Result<SecretInfo> update_secret(std::string_view name, std::string_view version,
                                   const SecretUpdate& update);
  /// Current version of every secret that is not deleted (managed ones included), by name.
  Result<std::vector<SecretInfo>> list_secrets();
  /// Every version of one secret, oldest first.
  Result<std::vector<SecretInfo>> list_secret_versions(std::string_view name);
  Result<DeletedSecret> delete_secret(std::string_view name);
  Result<DeletedSecret> get_deleted_secret(std::string_view name);
  Result<std::vector<DeletedSecret>> list_deleted_secrets();
  Status purge_deleted_secret(std::string_view name);
  Result<SecretInfo> recover_deleted_secret(std::string_view name);

  // ---- certificates ----
  /// A new key pair and certificate per `policy` (self-signed or from a configured issuer),
  /// now the current version; the policy is stored for renewals. InvalidArgument for an
  /// unknown issuer or a bad policy.
  Result<CertificateInfo> create_certificate(std::string_view name, const CertificatePolicy& policy,
                                             const Tags& tags = {});
  /// A certificate with its private key from PEM (key + chain) or PKCS#12 (`password` may be
  /// empty); the key must match the leaf. Stored policy: `policy` when given, else one derived
  /// from the certificate with issuer "Unknown" (never auto-renewed).
  Result<CertificateInfo> import_certificate(std::string_view name, std::string_view data,
                                             std::string_view password,
                                             const std::optional<CertificatePolicy>& policy = {},
                                             const Tags& tags = {});
  /// A new version from the stored policy (a new key). InvalidArgument for issuer "Unknown".
  Result<CertificateInfo> renew_certificate(std::string_view name);
  Result<CertificateInfo> get_certificate(std::string_view name, std::string_view version = {});
  /// The version with its private key (PEM: key, then leaf and chain).
  Result<CertificateWithKey> get_certificate_with_key(std::string_view name,
                                                      std::string_view version = {});
  /// PKCS#12 of a version (key + chain), protected by `password` (may be empty).
  Result<core::Bytes> export_pkcs12(std::string_view name, std::string_view version,
                                    std::string_view password);
  Result<std::vector<CertificateInfo>> list_certificates();
  Result<std::vector<CertificateInfo>> list_certificate_versions(std::string_view name);
  Result<CertificatePolicy> get_certificate_policy(std::string_view name);
  Result<CertificatePolicy> update_certificate_policy(std::string_view name,
                                                      const CertificatePolicy& policy);
  /// Enables/disables a version or replaces its tags.
  Result<CertificateInfo> update_certificate(std::string_view name, std::string_view version,
                                             std::optional<bool> enabled, std::optional<Tags> tags);
  Result<DeletedCertificate> delete_certificate(std::string_view name);
  Result<DeletedCertificate> get_deleted_certificate(std::string_view name);
  Result<std::vector<DeletedCertificate>> list_deleted_certificates();
  Status purge_deleted_certificate(std::string_view name);
  Result<CertificateInfo> recover_deleted_certificate(std::string_view name);

  // ---- housekeeping ----
  /// Renews every certificate whose policy asks for it and whose current version is inside its
  /// renewal window (issuer not "Unknown"); returns the new versions.
  Result<std::vector<CertificateInfo>> renew_due();
  /// Enabled current versions (secrets with an expiry, certificates) expiring before
  /// now + `horizon_seconds`, soonest first.
  Result<std::vector<ExpiringItem>> expiring(int64_t horizon_seconds);
  /// Re-wraps every data key from the current master key to `next` in one transaction and
  /// keeps `next` for sealing from then on. Values are not decrypted.
  Status rewrap(identity::MasterKey next);
  /// The current version's id of `kind` ("secrets" | "certificates") `name` plus its enabled
  /// flag, e.g. "3f2a...:1"; NotFound when absent or deleted. What the gateway polls to notice
  /// a new version (one indexed query).
  Result<std::string> current_stamp(std::string_view kind, std::string_view name);

 private:
  VaultStore() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Key Vault's object name rule: 1-127 characters of [0-9a-zA-Z-].
bool valid_item_name(std::string_view name) noexcept;

}  // namespace gh::vault
