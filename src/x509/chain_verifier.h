#pragma once

// Path validation of a leaf certificate against a TrustStore at an injected time.

#include <span>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "x509/certificate.h"
#include "x509/trust_store.h"
#include "x509/verify_error.h"

namespace gh::x509 {

/// What to check besides signatures and validity periods.
struct VerifyOptions {
  /// Expected DNS name (wildcards per RFC 6125, no partial wildcards) or IP literal; "" = skip.
  std::string expected_host;
  /// Check revocation with the store's CRLs (X509_V_FLAG_CRL_CHECK): a missing CRL fails.
  bool check_crl = false;
  /// With check_crl, check every certificate of the chain, not only the leaf.
  bool crl_check_all = true;
  /// Accept a chain ending at a trusted intermediate (X509_V_FLAG_PARTIAL_CHAIN).
  bool allow_partial_chain = false;
  /// Required purpose: 0 = any; else X509_PURPOSE_SSL_CLIENT / X509_PURPOSE_SSL_SERVER.
  int purpose = 0;
  /// Maximum number of intermediates between leaf and anchor.
  int max_depth = 8;
};

/// Verifies `leaf` with `intermediates` as untrusted helpers against `trust`, at clock.now().
/// Returns the verified chain (leaf first, anchor last). On failure the error's detail is a
/// VerifyError, its kind Expired (for Expired/NotYetValid) or Unauthenticated, and its message
/// names the failing certificate's subject and depth. Thread-safe.
Result<std::vector<Certificate>> verify_chain(const Certificate& leaf,
                                              std::span<const Certificate> intermediates,
                                              const TrustStore& trust, const core::Clock& clock,
                                              const VerifyOptions& options = {});

/// The VerifyError for an OpenSSL X509_V_ERR_* code (exposed for the TLS layer's callbacks).
VerifyError map_openssl_verify_error(int x509_v_err) noexcept;

}  // namespace gh::x509
