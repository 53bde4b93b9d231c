#include "x509/ocsp.h"

#include <gtest/gtest.h>
#include <openssl/ocsp.h>

#include <algorithm>

#include "support/test_pki.h"

namespace gh::x509 {
namespace {

class OcspTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static Certificate cert(const test::TestCert& c) {
    return Certificate(crypto::share(c.cert.get()));
  }
  static core::Bytes response(const test::TestCert& subject, const test::TestCert& signer,
                              test::TestOcspStatus status, int64_t this_offset = -600,
                              int64_t next_offset = 3600) {
    return pki_->make_ocsp_response(subject, pki_->intermediate(), signer, status,
                                    pki_->now() + this_offset,
                                    next_offset ? pki_->now() + next_offset : 0);
  }
  static Result<OcspGood> check(const core::Bytes& der, const test::TestCert& subject,
                                int64_t clock_offset = 0, const OcspOptions& o = {}) {
    test::FixedClock clock(pki_->now() + clock_offset);
    return check_ocsp_response(der, cert(subject), cert(pki_->intermediate()), clock, o);
  }
  static int code(VerifyError e) { return static_cast<int>(e); }
  static test::TestPki* pki_;
};
test::TestPki* OcspTest::pki_ = nullptr;

TEST_F(OcspTest, BuildsARequestForTheCertId) {
  auto der = build_ocsp_request(cert(pki_->leaf()), cert(pki_->intermediate()));
  ASSERT_TRUE(der) << der.error().message;
  const unsigned char* p = der->data();
  std::unique_ptr<OCSP_REQUEST, crypto::OsslFree<&OCSP_REQUEST_free>> req(
      d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_TRUE(req);
  ASSERT_EQ(OCSP_request_onereq_count(req.get()), 1);
  OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req.get(), 0));
  std::unique_ptr<OCSP_CERTID, crypto::OsslFree<&OCSP_CERTID_free>> expected(
      OCSP_cert_to_id(EVP_sha1(), pki_->leaf().cert.get(), pki_->intermediate().cert.get()));
  EXPECT_EQ(OCSP_id_cmp(id, expected.get()), 0);
}

TEST_F(OcspTest, GoodSignedByIssuer) {
  auto r =
      check(response(pki_->leaf(), pki_->intermediate(), test::TestOcspStatus::Good), pki_->leaf());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->this_update, pki_->now() - 600);
  EXPECT_EQ(r->next_update, pki_->now() + 3600);
}

TEST_F(OcspTest, GoodSignedByDelegatedResponder) {
  auto r = check(response(pki_->leaf(), pki_->ocsp_responder(), test::TestOcspStatus::Good),
                 pki_->leaf());
  EXPECT_TRUE(r) << r.error().message;
}

TEST_F(OcspTest, RevokedAndUnknown) {
  auto revoked =
      check(response(pki_->revoked(), pki_->intermediate(), test::TestOcspStatus::Revoked),
            pki_->revoked());
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().detail, code(VerifyError::Revoked));
  EXPECT_NE(revoked.error().message.find("keyCompromise"), std::string::npos)
      << revoked.error().message;
  auto unknown = check(response(pki_->leaf(), pki_->intermediate(), test::TestOcspStatus::Unknown),
                       pki_->leaf());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().detail, code(VerifyError::OcspUnknown));
}

TEST_F(OcspTest, SignerWithoutOcspSigningIsRejected) {
  // The leaf is issued by the CA but has no id-kp-OCSPSigning.
  auto r =
      check(response(pki_->client(), pki_->leaf(), test::TestOcspStatus::Good), pki_->client());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::OcspInvalid));
}

TEST_F(OcspTest, SignerFromAnotherCaIsRejected) {
  auto r =
      check(response(pki_->leaf(), pki_->other_root(), test::TestOcspStatus::Good), pki_->leaf());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::OcspInvalid));
}

TEST_F(OcspTest, ResponseForAnotherCertificate) {
  auto r = check(response(pki_->client(), pki_->intermediate(), test::TestOcspStatus::Good),
                 pki_->leaf());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::OcspInvalid));
}

TEST_F(OcspTest, Freshness) {
  const auto der = response(pki_->leaf(), pki_->intermediate(), test::TestOcspStatus::Good);
  // nextUpdate + 5 min skew has passed.
  auto stale = check(der, pki_->leaf(), 3600 + 301);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().detail, code(VerifyError::OcspStale));
  EXPECT_TRUE(check(der, pki_->leaf(), 3600 + 299));
  // thisUpdate in the future beyond the skew.
  auto future = check(der, pki_->leaf(), -600 - 301);
  ASSERT_FALSE(future);
  EXPECT_EQ(future.error().detail, code(VerifyError::OcspStale));
  // No nextUpdate: rejected unless a max age is configured.
  const auto open =
      response(pki_->leaf(), pki_->intermediate(), test::TestOcspStatus::Good, -600, 0);
  auto no_next = check(open, pki_->leaf());
  ASSERT_FALSE(no_next);
  EXPECT_EQ(no_next.error().detail, code(VerifyError::OcspStale));
  OcspOptions o;
  o.max_age_without_next_update = 3600;
  EXPECT_TRUE(check(open, pki_->leaf(), 0, o));
  EXPECT_FALSE(check(open, pki_->leaf(), 3600, o));
}

TEST_F(OcspTest, DelegatedResponderMustBeValidNow) {
  const auto der = pki_->make_ocsp_response(pki_->leaf(), pki_->intermediate(),
                                            pki_->ocsp_responder(), test::TestOcspStatus::Good,
                                            pki_->now() + 40 * 86400, pki_->now() + 41 * 86400);
  // At now+40d the responder certificate (30 days) has expired.
  auto r = check(der, pki_->leaf(), 40 * 86400 + 60);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::OcspInvalid));
}

TEST_F(OcspTest, TamperedAndMalformed) {
  auto der = response(pki_->leaf(), pki_->intermediate(), test::TestOcspStatus::Good);
  // Flip a bit inside the BasicOCSPResponse signature (the response also carries the signer's
  // certificate at its end, so the last byte is not the response signature).
  const unsigned char* p = der.data();
  std::unique_ptr<OCSP_RESPONSE, crypto::OsslFree<&OCSP_RESPONSE_free>> parsed(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(parsed);
  std::unique_ptr<OCSP_BASICRESP, crypto::OsslFree<&OCSP_BASICRESP_free>> basic(
      OCSP_response_get1_basic(parsed.get()));
  const ASN1_OCTET_STRING* sig = OCSP_resp_get0_signature(basic.get());
  const uint8_t* sig_data = ASN1_STRING_get0_data(sig);
  auto at = std::search(der.begin(), der.end(), sig_data, sig_data + ASN1_STRING_length(sig));
  ASSERT_NE(at, der.end());
  auto tampered = der;
  tampered[static_cast<size_t>(at - der.begin()) + 10] ^= 0x01;
  auto r = check(tampered, pki_->leaf());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::OcspInvalid));
  auto truncated = der;
  truncated.resize(der.size() / 2);
  EXPECT_FALSE(check(truncated, pki_->leaf()));
  EXPECT_FALSE(check({}, pki_->leaf()));
  // A non-successful responseStatus (tryLater) has no body.
  std::unique_ptr<OCSP_RESPONSE, crypto::OsslFree<&OCSP_RESPONSE_free>> later(
      OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, nullptr));
  unsigned char* out = nullptr;
  int len = i2d_OCSP_RESPONSE(later.get(), &out);
  core::Bytes try_later(out, out + len);
  OPENSSL_free(out);
  auto tl = check(try_later, pki_->leaf());
  ASSERT_FALSE(tl);
  EXPECT_EQ(tl.error().detail, code(VerifyError::OcspInvalid));
  EXPECT_NE(tl.error().message.find("trylater"), std::string::npos) << tl.error().message;
}

}  // namespace
}  // namespace gh::x509
