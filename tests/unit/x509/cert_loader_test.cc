#include "x509/cert_loader.h"

#include <gtest/gtest.h>

#include "support/test_pki.h"

namespace gh::x509 {
namespace {

class CertLoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static test::TestPki* pki_;
};
test::TestPki* CertLoaderTest::pki_ = nullptr;

std::string as_string(const core::Bytes& b) {
  return std::string(b.begin(), b.end());
}

TEST_F(CertLoaderTest, LoadsPemChainInOrderSkippingKeys) {
  std::string pem = pki_->leaf().key_pem() + pki_->leaf().cert_pem() +
                    "some text between blocks\n" + pki_->intermediate().cert_pem();
  auto certs = load_certificates(pem);
  ASSERT_TRUE(certs) << certs.error().message;
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ((*certs)[0].subject_cn(), "leaf.test");
  EXPECT_EQ((*certs)[1].subject_cn(), "Gatehouse Test Issuing CA");
}

TEST_F(CertLoaderTest, LoadsDer) {
  auto certs = load_certificates(as_string(pki_->root().der()));
  ASSERT_TRUE(certs);
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_EQ((*certs)[0].subject_cn(), "Gatehouse Test Root CA");
}

TEST_F(CertLoaderTest, RejectsBadInputWithCodes) {
  auto none = load_certificates(pki_->leaf().key_pem());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().detail, static_cast<int>(LoadError::NoCertificate));
  EXPECT_EQ(none.error().message.find("PRIVATE"), std::string::npos);

  std::string pem = pki_->leaf().cert_pem();
  pem[pem.size() / 2] = '!';  // corrupt the base64 body
  auto bad = load_certificates(pem);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().detail, static_cast<int>(LoadError::Malformed));

  auto garbage = load_certificates("hello world");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().detail, static_cast<int>(LoadError::Malformed));
  EXPECT_FALSE(load_certificates(""));

  std::string truncated = pki_->leaf().cert_pem();
  truncated.resize(truncated.size() - 30);
  EXPECT_FALSE(load_certificates(truncated));
}

TEST_F(CertLoaderTest, RejectsOversizedInput) {
  std::string huge(kMaxCredentialBytes + 1, 'A');
  auto r = load_certificates(huge);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, static_cast<int>(LoadError::TooLarge));
}

TEST_F(CertLoaderTest, Pkcs12RightAndWrongPassword) {
  core::Bytes pfx =
      pki_->make_pkcs12(pki_->leaf(), {&pki_->intermediate(), &pki_->root()}, "s3cret!");
  auto ok = load_pkcs12(pfx, "s3cret!");
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_TRUE(ok->key);
  EXPECT_EQ(EVP_PKEY_eq(ok->key.get(), pki_->leaf().key.get()), 1);
  ASSERT_TRUE(ok->cert);
  EXPECT_EQ(ok->cert->subject_cn(), "leaf.test");
  ASSERT_EQ(ok->ca_chain.size(), 2u);

  auto wrong = load_pkcs12(pfx, "wrong");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, ErrorKind::Unauthenticated);
  EXPECT_EQ(wrong.error().detail, static_cast<int>(LoadError::WrongPassword));
  EXPECT_EQ(wrong.error().message.find("wrong\""), std::string::npos);

  auto missing = load_pkcs12(pfx, "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().detail, static_cast<int>(LoadError::WrongPassword));

  core::Bytes corrupt = pfx;
  corrupt.resize(corrupt.size() / 2);
  auto bad = load_pkcs12(corrupt, "s3cret!");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().detail, static_cast<int>(LoadError::Malformed));
}

TEST_F(CertLoaderTest, Pkcs12EmptyPassword) {
  core::Bytes pfx = pki_->make_pkcs12(pki_->client(), {}, "");
  auto ok = load_pkcs12(pfx, "");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->cert->subject_cn(), "client.test");
  EXPECT_TRUE(ok->ca_chain.empty());
}

TEST_F(CertLoaderTest, LoadAnyDetectsFormat) {
  auto pem = load_any_certificates(pki_->leaf().cert_pem() + pki_->root().cert_pem());
  ASSERT_TRUE(pem);
  EXPECT_EQ(pem->size(), 2u);
  auto der = load_any_certificates(as_string(pki_->leaf().der()));
  ASSERT_TRUE(der);
  EXPECT_EQ(der->size(), 1u);
  core::Bytes pfx = pki_->make_pkcs12(pki_->leaf(), {&pki_->intermediate()}, "pw");
  auto p12 = load_any_certificates(as_string(pfx), "pw");
  ASSERT_TRUE(p12) << p12.error().message;
  ASSERT_EQ(p12->size(), 2u);
  EXPECT_EQ((*p12)[0].subject_cn(), "leaf.test");
  auto wrong = load_any_certificates(as_string(pfx), "nope");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().detail, static_cast<int>(LoadError::WrongPassword));
  auto junk = load_any_certificates("\x01\x02\x03");
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().detail, static_cast<int>(LoadError::Malformed));
}

TEST_F(CertLoaderTest, MakePkcs12RoundTrips) {
  Certificate leaf(crypto::share(pki_->leaf().cert.get()));
  Certificate inter(crypto::share(pki_->intermediate().cert.get()));
  std::vector<Certificate> chain{inter};
  auto pfx = make_pkcs12(pki_->leaf().key.get(), leaf, chain, "pfx-pass", "my cert");
  ASSERT_TRUE(pfx) << pfx.error().message;
  auto back = load_pkcs12(*pfx, "pfx-pass");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->cert->thumbprint_sha1(), leaf.thumbprint_sha1());
  ASSERT_EQ(back->ca_chain.size(), 1u);
  EXPECT_EQ(back->ca_chain[0].thumbprint_sha1(), inter.thumbprint_sha1());
  EXPECT_EQ(EVP_PKEY_eq(back->key.get(), pki_->leaf().key.get()), 1);
  EXPECT_FALSE(load_pkcs12(*pfx, "other"));
}

TEST_F(CertLoaderTest, LoadsCrls) {
  auto crls = load_crls(pki_->crl_pem());
  ASSERT_TRUE(crls) << crls.error().message;
  EXPECT_EQ(crls->size(), 2u);
  EXPECT_FALSE(load_crls(pki_->leaf().cert_pem()));
  EXPECT_FALSE(load_crls("junk"));
}

}  // namespace
}  // namespace gh::x509
