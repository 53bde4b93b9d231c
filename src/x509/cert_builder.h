#pragma once

// Creating self-signed certificates and CSRs (for `gatehouse cert new` and development PKI).

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "crypto/ossl_ptr.h"
#include "x509/certificate.h"

namespace gh::x509 {

/// What goes into a new certificate or CSR.
struct CertSpec {
  std::string subject;   // "CN=api.example.com,O=Contoso" (RFC 4514) or "/CN=.../O=..."
  SubjectAltNames sans;  // added as subjectAltName when not empty
  int days = 365;        // validity from now (certificates only)
  bool is_ca = false;    // basicConstraints cA=TRUE + keyCertSign/cRLSign
};

/// Parses a distinguished name: comma-separated `attr=value` in RFC 4514 order (most specific
/// first, `\,` escapes a comma), or OpenSSL's slash form `/C=../CN=..` (least specific first).
Result<crypto::X509NamePtr> parse_distinguished_name(std::string_view text);

/// Parses "DNS:a.example,IP:127.0.0.1,URI:spiffe://x/y,email:a@b" into names.
Result<SubjectAltNames> parse_san_list(std::string_view text);

/// A self-signed certificate for `key` (random 128-bit serial, SHA-256 signature except for
/// Ed25519, notBefore = now - 5 minutes for clock skew). End-entity certificates get
/// digitalSignature(+keyEncipherment for RSA) and serverAuth+clientAuth.
Result<Certificate> make_self_signed(EVP_PKEY* key, const CertSpec& spec, const core::Clock& clock);

/// A certificate for `key` issued (signed) by `issuer`/`issuer_key`, e.g. a dev CA's server
/// certificate; same profile as make_self_signed plus authorityKeyIdentifier.
Result<Certificate> make_issued(EVP_PKEY* key, const CertSpec& spec, const Certificate& issuer,
                                EVP_PKEY* issuer_key, const core::Clock& clock);

/// A PKCS#10 certificate request signed with `key`; `days` and `is_ca` are ignored.
Result<crypto::X509ReqPtr> make_csr(EVP_PKEY* key, const CertSpec& spec);

/// PEM of a CSR ("-----BEGIN CERTIFICATE REQUEST-----").
Result<std::string> csr_pem(X509_REQ* req);

}  // namespace gh::x509
