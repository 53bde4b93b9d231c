#include "x509/ocsp.h"

#include <openssl/ocsp.h>

#include <ctime>

#include "crypto/digest.h"
#include "crypto/openssl_error.h"

namespace gh::x509 {
namespace {

using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, crypto::OsslFree<&OCSP_REQUEST_free>>;
using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, crypto::OsslFree<&OCSP_RESPONSE_free>>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, crypto::OsslFree<&OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, crypto::OsslFree<&OCSP_CERTID_free>>;

core::Unexpected ocsp_error(VerifyError code, std::string message,
                            ErrorKind kind = ErrorKind::Unauthenticated) {
  crypto::clear_openssl_errors();
  return unexpected(kind, "OCSP: " + std::move(message), static_cast<int>(code));
}

int64_t gentime_to_unix(const ASN1_GENERALIZEDTIME* t) noexcept {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Result<OcspCertIdPtr> cert_id(const Certificate& leaf, const Certificate& issuer) {
  OcspCertIdPtr id(OCSP_cert_to_id(crypto::md(crypto::DigestAlg::Sha1), leaf.get(), issuer.get()));
  if (!id) return unexpected(crypto::openssl_error("cannot build OCSP CertID"));
  return id;
}

// RFC 6960 §4.2.2.2: the issuing CA itself, or a responder certificate issued directly by it
// with id-kp-OCSPSigning, valid at `now`.
Status authorize_signer(X509* signer, const Certificate& issuer, int64_t now) {
  if (X509_cmp(signer, issuer.get()) == 0) return {};
  if (X509_check_issued(issuer.get(), signer) != X509_V_OK) {
    return ocsp_error(VerifyError::OcspInvalid, "response signer is not issued by the CA");
  }
  EVP_PKEY* issuer_key = X509_get0_pubkey(issuer.get());
  if (issuer_key == nullptr || X509_verify(signer, issuer_key) != 1) {
    return ocsp_error(VerifyError::OcspInvalid, "responder certificate signature is invalid");
  }
  if ((X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) == 0 ||
      (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
    return ocsp_error(VerifyError::OcspInvalid, "responder certificate lacks id-kp-OCSPSigning");
  }
  Certificate responder(crypto::share(signer));
  if (now < responder.not_before() || now > responder.not_after()) {
    return ocsp_error(VerifyError::OcspInvalid, "responder certificate is not valid now");
  }
  return {};
}

}  // namespace

Result<core::Bytes> build_ocsp_request(const Certificate& leaf, const Certificate& issuer) {
  OcspRequestPtr req(OCSP_REQUEST_new());
  if (!req) return unexpected(crypto::openssl_error("cannot create OCSP request"));
  GH_TRY(auto id, cert_id(leaf, issuer));
  if (OCSP_request_add0_id(req.get(), id.get()) == nullptr) {
    return unexpected(crypto::openssl_error("cannot add CertID to OCSP request"));
  }
  id.release();  // owned by the request now
  unsigned char* out = nullptr;
  int len = i2d_OCSP_REQUEST(req.get(), &out);
  if (len <= 0) return unexpected(crypto::openssl_error("cannot encode OCSP request"));
  core::Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

Result<OcspGood> check_ocsp_response(std::span<const uint8_t> der, const Certificate& leaf,
                                     const Certificate& issuer, const core::Clock& clock,
                                     const OcspOptions& options) {
  const unsigned char* p = der.data();
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp || p != der.data() + der.size()) {
    return ocsp_error(VerifyError::OcspInvalid, "not a DER OCSPResponse");
  }
  const int status = OCSP_response_status(resp.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return ocsp_error(VerifyError::OcspInvalid,
                      std::string("responder answered ") + OCSP_response_status_str(status));
  }
  OcspBasicPtr basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) return ocsp_error(VerifyError::OcspInvalid, "response is not a BasicOCSPResponse");

  // Find the signer among the certificates in the response, or the issuer itself.
  crypto::X509StackPtr extra(sk_X509_new_null());
  if (!extra || sk_X509_push(extra.get(), issuer.share().release()) <= 0) {
    return unexpected(crypto::openssl_error("cannot allocate certificate stack"));
  }
  X509* signer = nullptr;
  if (OCSP_resp_get0_signer(basic.get(), &signer, extra.get()) != 1 || signer == nullptr) {
    return ocsp_error(VerifyError::OcspInvalid, "response signer certificate not found");
  }
  // OCSP_NOVERIFY: check the signature only; we authorise the signer ourselves below so that
  // the check uses the injected clock rather than the process time.
  if (OCSP_basic_verify(basic.get(), extra.get(), nullptr, OCSP_NOVERIFY) != 1) {
    return ocsp_error(VerifyError::OcspInvalid, "response signature does not verify");
  }
  const int64_t now = clock.now_unix();
  GH_TRY_STATUS(authorize_signer(signer, issuer, now));

  GH_TRY(auto id, cert_id(leaf, issuer));
  int cert_status = -1;
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), id.get(), &cert_status, &reason, &revoked_at, &this_update,
                            &next_update) != 1) {
    return ocsp_error(VerifyError::OcspInvalid, "response does not cover this certificate");
  }
  OcspGood good{gentime_to_unix(this_update), next_update ? gentime_to_unix(next_update) : 0};
  if (good.this_update > now + options.max_skew_seconds) {
    return ocsp_error(VerifyError::OcspStale, "response thisUpdate is in the future");
  }
  if (next_update != nullptr) {
    if (now > good.next_update + options.max_skew_seconds) {
      return ocsp_error(VerifyError::OcspStale, "response nextUpdate has passed");
    }
  } else if (options.max_age_without_next_update < 0 ||
             now - good.this_update > options.max_age_without_next_update) {
    return ocsp_error(VerifyError::OcspStale, "response has no nextUpdate and is too old");
  }
  switch (cert_status) {
    case V_OCSP_CERTSTATUS_GOOD:
      return good;
    case V_OCSP_CERTSTATUS_REVOKED:
      return ocsp_error(VerifyError::Revoked,
                        "certificate " + leaf.serial_hex() + " is revoked (reason " +
                            (reason >= 0 ? OCSP_crl_reason_str(reason) : "unspecified") + ")");
    default:
      return ocsp_error(VerifyError::OcspUnknown, "responder does not know the certificate");
  }
}

}  // namespace gh::x509
