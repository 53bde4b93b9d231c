#pragma once

// OCSP (RFC 6960) request building and response checking. Fetching over HTTP is the caller's
// job (a higher layer); these functions only deal in DER bytes.

#include <cstdint>
#include <span>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/result.h"
#include "x509/certificate.h"
#include "x509/verify_error.h"

namespace gh::x509 {

/// DER OCSPRequest for `leaf` issued by `issuer` (CertID with SHA-1, as responders expect).
/// No nonce: most public responders serve pre-signed responses and ignore it.
Result<core::Bytes> build_ocsp_request(const Certificate& leaf, const Certificate& issuer);

/// Freshness rules for responses.
struct OcspOptions {
  /// Tolerated clock difference with the responder, in seconds.
  int64_t max_skew_seconds = 300;
  /// When the response has no nextUpdate: maximum age of thisUpdate (seconds); -1 = reject it.
  int64_t max_age_without_next_update = -1;
};

/// A "good" answer and the window in which it may be cached.
struct OcspGood {
  int64_t this_update = 0;
  int64_t next_update = 0;  // 0 when the response has none
};

/// Checks a DER OCSPResponse for `leaf`/`issuer` at clock.now(): responseStatus successful, a
/// signature by the issuer itself or by a delegated responder that the issuer certified with
/// the id-kp-OCSPSigning EKU and that is valid now (RFC 6960 §4.2.2.2), a SingleResponse for
/// this exact CertID, and thisUpdate/nextUpdate around now. `issuer` must already be trusted
/// (verify the chain first). Fails with detail Revoked (kind Unauthenticated), OcspUnknown,
/// OcspStale or OcspInvalid; returns OcspGood otherwise.
Result<OcspGood> check_ocsp_response(std::span<const uint8_t> der, const Certificate& leaf,
                                     const Certificate& issuer, const core::Clock& clock,
                                     const OcspOptions& options = {});

}  // namespace gh::x509
