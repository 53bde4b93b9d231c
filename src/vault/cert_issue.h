#pragma once

// Certificate work of the vault store (private to it): checking and serialising policies,
// issuing a key and certificate from a policy, reading a certificate with its key from what a
// user imports (PEM or PKCS#12), and the two forms of a certificate's managed secret.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "crypto/ossl_ptr.h"
#include "vault/model.h"
#include "vault/vault_store.h"
#include "x509/certificate.h"

namespace gh::vault {

inline constexpr std::string_view kIssuerSelf = "Self";
inline constexpr std::string_view kIssuerUnknown = "Unknown";
inline constexpr std::string_view kContentTypePem = "application/x-pem-file";
inline constexpr std::string_view kContentTypePkcs12 = "application/x-pkcs12";

/// Largest import accepted (a key with a long chain is a few KiB).
inline constexpr size_t kMaxImportBytes = 256 * 1024;

/// A private key with its certificate and the chain above it.
struct KeyAndChain {
  crypto::EvpPkeyPtr key;
  x509::Certificate leaf;
  std::vector<x509::Certificate> chain;  // leaf's issuer first; without the leaf
};

/// Checks a policy's own fields (not whether its issuer is configured). InvalidArgument naming
/// the field ("policy.key_size ...").
Status validate_policy(const CertificatePolicy& policy);

/// Whether the policy renews automatically (a trigger set and an issuer that can issue).
bool policy_auto_renews(const CertificatePolicy& policy) noexcept;

/// When the version valid from `not_before` to `expires` becomes due for renewal under
/// `policy`; 0 when the policy never renews automatically.
int64_t renewal_time(const CertificatePolicy& policy, int64_t not_before, int64_t expires) noexcept;

/// Days from `now` to the same calendar day `months` later (the last day of that month when
/// the day does not exist there).
int validity_days(int months, int64_t now) noexcept;

std::string policy_to_json(const CertificatePolicy& policy);
/// The stored form back; members absent keep their defaults.
Result<CertificatePolicy> policy_from_json(std::string_view json);

/// A policy describing an imported certificate: its subject, DNS names, key and validity,
/// issuer "Unknown", never renewed.
CertificatePolicy policy_from_certificate(const KeyAndChain& bundle, std::string_view content_type);

/// A new key per `policy` and its certificate: self-signed when `issuer` is null, else signed
/// by it (chain = issuer's certificate and its chain).
Result<KeyAndChain> issue_certificate(const CertificatePolicy& policy,
                                      const CertificateIssuer* issuer, const core::Clock& clock);

/// What import accepts: PEM with one private key and its certificates in any order (an
/// encrypted PKCS#8 key with `password`), PKCS#12 DER, or base64 of PKCS#12 DER (Key Vault's
/// import body). The key must match one certificate, which becomes the leaf; the others form
/// the chain in issuing order where they link. InvalidArgument otherwise (never quoting input).
/// `was_pem` tells which form was read.
Result<KeyAndChain> parse_import(std::string_view data, std::string_view password,
                                 bool* was_pem = nullptr);

/// The managed secret's value: PEM (PKCS#8 key, leaf, chain) or base64 of a PKCS#12 without
/// password, per `content_type`.
Result<std::string> encode_secret(const KeyAndChain& bundle, std::string_view content_type);
/// A managed secret's value read back.
Result<KeyAndChain> decode_secret(std::string_view value, std::string_view content_type);
/// PEM text of key, leaf and chain.
Result<std::string> bundle_pem(const KeyAndChain& bundle);

}  // namespace gh::vault
