#pragma once

// A read-only view of one X.509 certificate: identity fields, thumbprints and encodings.

#include <cstdint>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/result.h"
#include "crypto/ossl_ptr.h"

namespace gh::x509 {

/// Subject Alternative Names by type (RFC 5280 §4.2.1.6); IPs are in text form.
struct SubjectAltNames {
  std::vector<std::string> dns;
  std::vector<std::string> uri;
  std::vector<std::string> ip;
  std::vector<std::string> email;

  bool empty() const noexcept { return dns.empty() && uri.empty() && ip.empty() && email.empty(); }
};

/// Owns one reference to an X509. Copying shares the underlying object (X509_up_ref); the
/// object is never mutated, so copies may be used from several threads.
class Certificate {
 public:
  /// Takes ownership of `cert`, which must not be null.
  explicit Certificate(crypto::X509Ptr cert) noexcept;
  Certificate(const Certificate& other) noexcept;
  Certificate& operator=(const Certificate& other) noexcept;
  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;

  /// Parses one DER-encoded certificate; trailing bytes are an error.
  static Result<Certificate> from_der(std::span<const uint8_t> der);

  X509* get() const noexcept { return cert_.get(); }
  /// A new owning reference to the X509 (for handing to OpenSSL APIs that take ownership).
  crypto::X509Ptr share() const noexcept { return crypto::share(cert_.get()); }

  /// DER encoding (the bytes thumbprints are computed over).
  core::Bytes der() const;
  /// PEM encoding ("-----BEGIN CERTIFICATE-----", 64-column base64, trailing newline).
  std::string pem() const;

  /// SHA-1 of the DER as upper-case hex: the thumbprint APIM, Entra and Windows show.
  std::string thumbprint_sha1() const;
  /// SHA-256 of the DER as lower-case hex.
  std::string thumbprint_sha256() const;
  /// JOSE `x5t`: base64url(SHA-1(DER)) without padding (RFC 7515 §4.1.7).
  std::string x5t() const;
  /// JOSE `x5t#S256`: base64url(SHA-256(DER)) without padding (RFC 7515 §4.1.8).
  std::string x5t_s256() const;

  /// Subject distinguished name as an RFC 2253/4514 string ("CN=a,O=b": most specific first).
  std::string subject() const;
  /// Issuer distinguished name, same form as subject().
  std::string issuer() const;
  /// The last (most specific) commonName of the subject, or "" when there is none.
  std::string subject_cn() const;
  /// The last commonName of the issuer, or "".
  std::string issuer_cn() const;
  /// Serial number as upper-case hex in whole octets without separators, as `openssl x509
  /// -serial` prints it ("03EA"; "0" for zero; "-" prefix if negative).
  std::string serial_hex() const;
  /// Subject Alternative Names; empty when the extension is absent.
  SubjectAltNames subject_alt_names() const;

  /// notBefore as seconds since the Unix epoch.
  int64_t not_before() const noexcept;
  /// notAfter as seconds since the Unix epoch.
  int64_t not_after() const noexcept;

  /// The subject public key (a new reference).
  crypto::EvpPkeyPtr public_key() const noexcept;
  /// True when basicConstraints says cA=TRUE.
  bool is_ca() const noexcept;
  /// True when subject and issuer names are equal (a self-issued certificate).
  bool is_self_issued() const noexcept;

 private:
  crypto::X509Ptr cert_;
};

}  // namespace gh::x509
