#pragma once

// Loading certificates, CRLs and PKCS#12 bundles from bytes (PEM, DER, PFX).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/ossl_ptr.h"
#include "x509/certificate.h"

namespace gh::x509 {

/// Error::detail codes of the loaders.
enum class LoadError : int {
  Malformed = 1,  // not parseable as the expected format
  NoCertificate,  // well-formed input with no certificate in it
  WrongPassword,  // PKCS#12 MAC check failed: wrong or missing password
  TooLarge,       // input exceeds kMaxCredentialBytes
};

/// Upper bound on one credential file/blob; real bundles are a few KiB.
inline constexpr size_t kMaxCredentialBytes = 4 * 1024 * 1024;

/// PKCS#12 files asking for more MAC iterations than this are rejected as Malformed.
inline constexpr int64_t kMaxPkcs12Iterations = 2'000'000;

/// True when `data` looks like PEM (contains a "-----BEGIN " line).
bool looks_like_pem(std::string_view data) noexcept;

/// Every CERTIFICATE block of a PEM text in order (leaf first for a chain file; other block
/// types such as keys are skipped), or the single certificate of a DER blob. Fails with
/// InvalidArgument (detail LoadError) on a malformed block or when there is no certificate.
Result<std::vector<Certificate>> load_certificates(std::string_view pem_or_der);

/// Every X509 CRL block of a PEM text, or the single CRL of a DER blob.
Result<std::vector<crypto::X509CrlPtr>> load_crls(std::string_view pem_or_der);

/// The contents of a PKCS#12 (PFX) file.
struct Pkcs12Bundle {
  crypto::EvpPkeyPtr key;             // may be null when the bundle holds certificates only
  std::optional<Certificate> cert;    // the certificate matching `key`, when present
  std::vector<Certificate> ca_chain;  // the other certificates (intermediates, roots)
};

/// Parses a PKCS#12 bundle, checking its MAC with `password` first so that a wrong password
/// (LoadError::WrongPassword, kind Unauthenticated) is told apart from a corrupt file.
Result<Pkcs12Bundle> load_pkcs12(std::span<const uint8_t> der, std::string_view password);

/// Certificates from a PEM, DER or PKCS#12 blob, format detected: PEM by its armour, then DER
/// certificate, then PKCS#12 (with `password`). For PKCS#12 the key's certificate comes first.
Result<std::vector<Certificate>> load_any_certificates(std::string_view data,
                                                       std::string_view password = {});

/// Serialises key, certificate and chain as a password-protected PKCS#12 (OpenSSL 3 defaults:
/// AES-256-CBC, PBKDF2, HMAC-SHA-256 MAC). `friendly_name` may be empty.
Result<core::Bytes> make_pkcs12(const EVP_PKEY* key, const Certificate& cert,
                                std::span<const Certificate> chain, std::string_view password,
                                std::string_view friendly_name = {});

}  // namespace gh::x509
