#pragma once

// The vault's objects, shaped after Azure Key Vault's data plane so that the REST layer maps
// them one to one: secrets with versions, certificates with versions and a policy, and the
// soft-deleted form of both. Times are Unix seconds (0 = unset). Names follow Key Vault's rule
// (1-127 of [0-9a-zA-Z-]); versions are 32 lower-case hex characters, random.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/encoding.h"

namespace gh::vault {

using Tags = std::vector<std::pair<std::string, std::string>>;  // at most 15, as Key Vault

/// Key Vault's "attributes" object of a secret or certificate version.
struct ItemAttributes {
  bool enabled = true;
  int64_t not_before = 0;  // nbf
  int64_t expires = 0;     // exp
  int64_t created = 0;
  int64_t updated = 0;
};

/// One version of a secret, without its value (list results, audit, metadata).
struct SecretInfo {
  std::string name;
  std::string version;
  std::string content_type;
  ItemAttributes attributes;
  Tags tags;
  /// True when the secret is the secret half of a certificate (Key Vault's "managed"): it is
  /// written by certificate operations only, and `certificate_version` names the version.
  bool managed = false;
};

/// A secret version with its value (plaintext only in memory, only for an authorised reader).
struct Secret {
  SecretInfo info;
  std::string value;
};

/// What set_secret writes: a new version that becomes the current one.
struct NewSecret {
  std::string name;
  std::string value;  // 1 byte .. 25 KiB (Key Vault's limit)
  std::string content_type;
  bool enabled = true;
  int64_t not_before = 0;
  int64_t expires = 0;
  Tags tags;
};

/// A change to an existing version's metadata (Key Vault's PATCH): unset members stay.
struct SecretUpdate {
  std::optional<std::string> content_type;
  std::optional<bool> enabled;
  std::optional<int64_t> not_before;
  std::optional<int64_t> expires;
  std::optional<Tags> tags;
};

/// A soft-deleted secret or certificate: recoverable until `scheduled_purge`.
struct DeletedInfo {
  std::string name;
  int64_t deleted = 0;
  int64_t scheduled_purge = 0;
};
struct DeletedSecret {
  DeletedInfo deletion;
  SecretInfo current;  // the version that was current when deleted
};

// ---- certificates ----------------------------------------------------------------------------

/// Key Vault's certificate policy, the subset that issuance uses.
struct CertificatePolicy {
  std::string subject;                 // "CN=orders.example,O=Contoso"
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  std::string key_type = "RSA";        // RSA | EC
  int key_size = 2048;                 // RSA: 2048 | 3072 | 4096
  std::string curve = "P-256";         // EC: P-256 | P-384 | P-521
  int validity_months = 12;            // 1..120
  std::string issuer = "Self";         // "Self" (self-signed) or a configured issuer's name
  std::string content_type = "application/x-pem-file";  // or application/x-pkcs12
  /// Renew automatically this many days before expiry (0: no automatic renewal); Key Vault's
  /// lifetime action AutoRenew with trigger days_before_expiry.
  int renew_days_before_expiry = 0;
  /// The same as a percentage of the lifetime (Key Vault's default is 80); used when the days
  /// form is 0. 0 with days 0: never renewed automatically.
  int renew_at_lifetime_percentage = 0;
  bool exportable = true;
};

/// One version of a certificate (public parts only).
struct CertificateInfo {
  std::string name;
  std::string version;
  ItemAttributes attributes;  // not_before/expires are the certificate's own validity
  Tags tags;
  std::string x5t;                // base64url SHA-1 thumbprint of the leaf
  std::string thumbprint_sha256;  // upper hex
  std::string subject;            // of the leaf, RFC 4514
  std::string issuer_name;        // the policy issuer used: "Self", a configured issuer, or
                                  // "Unknown" for imported certificates
  core::Bytes cer;                // DER of the leaf
};

/// A certificate version with its secret: the PEM (private key, then the chain leaf first) as
/// Key Vault returns the certificate's secret for content type application/x-pem-file.
struct CertificateWithKey {
  CertificateInfo info;
  std::string pem;
};

struct DeletedCertificate {
  DeletedInfo deletion;
  CertificateInfo current;
};

/// An item expiring within a horizon (`gatehouse creds expiring`).
struct ExpiringItem {
  std::string kind;  // "secret" | "certificate"
  std::string name;
  std::string version;
  int64_t expires = 0;
  bool auto_renew = false;  // a vault-issued certificate that will be renewed before then
};

}  // namespace gh::vault
