#include "x509/chain_verifier.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "crypto/key.h"
#include "support/test_pki.h"
#include "x509/cert_loader.h"

namespace gh::x509 {
namespace {

class ChainVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static Certificate cert(const test::TestCert& c) {
    return Certificate(crypto::share(c.cert.get()));
  }
  static TrustStore store(bool with_crls = false) {
    std::vector<Certificate> anchors{cert(pki_->root())};
    std::vector<crypto::X509CrlPtr> crls;
    if (with_crls) crls = std::move(*load_crls(pki_->crl_pem()));
    auto s = TrustStore::create(anchors, std::move(crls));
    EXPECT_TRUE(s);
    return std::move(*s);
  }
  // Verifies `leaf` with the intermediate as helper.
  static Result<std::vector<Certificate>> verify(const test::TestCert& leaf,
                                                 const VerifyOptions& options = {},
                                                 bool with_crls = false) {
    test::FixedClock clock(pki_->now());
    std::vector<Certificate> inter{cert(pki_->intermediate())};
    return verify_chain(cert(leaf), inter, store(with_crls), clock, options);
  }
  static int code(VerifyError e) { return static_cast<int>(e); }
  static test::TestPki* pki_;
};
test::TestPki* ChainVerifierTest::pki_ = nullptr;

TEST_F(ChainVerifierTest, ValidChainThroughIntermediate) {
  auto chain = verify(pki_->leaf());
  ASSERT_TRUE(chain) << chain.error().message;
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[0].subject_cn(), "leaf.test");
  EXPECT_EQ((*chain)[1].subject_cn(), "Gatehouse Test Issuing CA");
  EXPECT_EQ((*chain)[2].subject_cn(), "Gatehouse Test Root CA");
}

TEST_F(ChainVerifierTest, MissingIntermediateIsUntrusted) {
  test::FixedClock clock(pki_->now());
  auto r = verify_chain(cert(pki_->leaf()), {}, store(), clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::Untrusted));
  EXPECT_EQ(r.error().kind, ErrorKind::Unauthenticated);
}

TEST_F(ChainVerifierTest, PartialChainTrustsAnIntermediateAnchor) {
  test::FixedClock clock(pki_->now());
  std::vector<Certificate> anchors{cert(pki_->intermediate())};
  auto s = TrustStore::create(anchors);
  ASSERT_TRUE(s);
  EXPECT_FALSE(verify_chain(cert(pki_->leaf()), {}, *s, clock));
  VerifyOptions o;
  o.allow_partial_chain = true;
  EXPECT_TRUE(verify_chain(cert(pki_->leaf()), {}, *s, clock, o));
}

TEST_F(ChainVerifierTest, Expired) {
  auto r = verify(pki_->expired());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::Expired));
  EXPECT_EQ(r.error().kind, ErrorKind::Expired);
  EXPECT_NE(r.error().message.find("expired.test"), std::string::npos) << r.error().message;
}

TEST_F(ChainVerifierTest, NotYetValid) {
  auto r = verify(pki_->not_yet_valid());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::NotYetValid));
}

TEST_F(ChainVerifierTest, UsesTheInjectedClock) {
  std::vector<Certificate> inter{cert(pki_->intermediate())};
  TrustStore s = store();
  test::FixedClock clock(pki_->now() + 31 * 86400);  // after the leaf's notAfter
  auto r = verify_chain(cert(pki_->leaf()), inter, s, clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::Expired));
  clock.set(pki_->now() - 2 * 86400);  // the "expired" cert was valid then
  EXPECT_TRUE(verify_chain(cert(pki_->expired()), inter, s, clock));
}

TEST_F(ChainVerifierTest, UntrustedRoot) {
  test::FixedClock clock(pki_->now());
  std::vector<Certificate> helpers{cert(pki_->other_root())};
  auto r = verify_chain(cert(pki_->untrusted_leaf()), helpers, store(), clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::Untrusted));
  auto self = verify_chain(cert(pki_->other_root()), {}, store(), clock);
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().detail, code(VerifyError::Untrusted));
}

TEST_F(ChainVerifierTest, RevokedViaCrl) {
  VerifyOptions o;
  o.check_crl = true;
  auto r = verify(pki_->revoked(), o, /*with_crls=*/true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::Revoked));
  EXPECT_TRUE(verify(pki_->leaf(), o, true)) << verify(pki_->leaf(), o, true).error().message;
  // Without CRL checking, the revoked certificate passes.
  EXPECT_TRUE(verify(pki_->revoked(), {}, true));
}

TEST_F(ChainVerifierTest, CrlMissing) {
  VerifyOptions o;
  o.check_crl = true;
  auto r = verify(pki_->leaf(), o, /*with_crls=*/false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::CrlMissing));
}

TEST_F(ChainVerifierTest, CrlStale) {
  VerifyOptions o;
  o.check_crl = true;
  o.crl_check_all = false;
  auto crls = load_crls(
      pki_->make_crl(pki_->intermediate(), {}, pki_->now() - 10 * 86400, pki_->now() - 86400));
  ASSERT_TRUE(crls);
  std::vector<Certificate> anchors{cert(pki_->root())};
  auto s = TrustStore::create(anchors, std::move(*crls));
  ASSERT_TRUE(s);
  test::FixedClock clock(pki_->now());
  std::vector<Certificate> inter{cert(pki_->intermediate())};
  auto r = verify_chain(cert(pki_->leaf()), inter, *s, clock, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::CrlStale));
}

TEST_F(ChainVerifierTest, NameMismatchAndMatches) {
  VerifyOptions o;
  o.expected_host = "leaf.test";
  EXPECT_TRUE(verify(pki_->leaf(), o));
  o.expected_host = "api.wild.test";
  EXPECT_TRUE(verify(pki_->leaf(), o));
  o.expected_host = "127.0.0.1";
  EXPECT_TRUE(verify(pki_->leaf(), o));
  o.expected_host = "other.test";
  auto r = verify(pki_->leaf(), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::NameMismatch));
  EXPECT_NE(r.error().message.find("other.test"), std::string::npos);
  o.expected_host = "10.0.0.1";
  auto ip = verify(pki_->leaf(), o);
  ASSERT_FALSE(ip);
  EXPECT_EQ(ip.error().detail, code(VerifyError::NameMismatch));
}

TEST_F(ChainVerifierTest, BadSignature) {
  // Flip a bit in the last byte of the DER: inside the signature value, so names still chain.
  core::Bytes der = pki_->leaf().der();
  der.back() ^= 0x01;
  auto forged = Certificate::from_der(der);
  ASSERT_TRUE(forged);
  test::FixedClock clock(pki_->now());
  std::vector<Certificate> inter{cert(pki_->intermediate())};
  auto r = verify_chain(*forged, inter, store(), clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::BadSignature)) << r.error().message;
}

TEST_F(ChainVerifierTest, NonCaIssuerIsInvalidCa) {
  test::FixedClock clock(pki_->now());
  test::TestPki pki;
  test::TestCert child = pki.issue(&pki.leaf(), {.cn = "child.test"});
  std::vector<Certificate> helpers{cert(pki.leaf()), cert(pki.intermediate())};
  std::vector<Certificate> anchors{cert(pki.root())};
  auto s = TrustStore::create(anchors);
  ASSERT_TRUE(s);
  auto r = verify_chain(cert(child), helpers, *s, clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::InvalidCa)) << r.error().message;
}

TEST_F(ChainVerifierTest, PurposeIsChecked) {
  VerifyOptions o;
  o.purpose = X509_PURPOSE_SSL_CLIENT;
  auto r = verify(pki_->leaf(), o);  // serverAuth only
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, code(VerifyError::WrongPurpose));
  EXPECT_TRUE(verify(pki_->client(), o));
}

TEST_F(ChainVerifierTest, RsaAndEd25519Leaves) {
  test::TestPki pki;
  auto rsa =
      pki.issue(&pki.intermediate(), {.cn = "rsa.test", .key_type = test::TestKeyType::Rsa2048});
  auto ed_ca = pki.issue(&pki.root(),
                         {.cn = "Ed CA", .is_ca = true, .key_type = test::TestKeyType::Ed25519});
  auto ed = pki.issue(&ed_ca, {.cn = "ed.test"});
  std::vector<Certificate> anchors{cert(pki.root())};
  auto s = TrustStore::create(anchors);
  ASSERT_TRUE(s);
  test::FixedClock clock(pki.now());
  std::vector<Certificate> helpers{cert(pki.intermediate()), cert(ed_ca)};
  EXPECT_TRUE(verify_chain(cert(rsa), helpers, *s, clock));
  EXPECT_TRUE(verify_chain(cert(ed), helpers, *s, clock));
  EXPECT_EQ(EVP_PKEY_get_base_id(cert(rsa).public_key().get()), EVP_PKEY_RSA);
}

TEST_F(ChainVerifierTest, MapsCodesAndNames) {
  EXPECT_EQ(map_openssl_verify_error(X509_V_ERR_CERT_REVOKED), VerifyError::Revoked);
  EXPECT_EQ(map_openssl_verify_error(X509_V_ERR_OUT_OF_MEM), VerifyError::Other);
  EXPECT_EQ(to_string(VerifyError::CrlStale), "crl_stale");
  EXPECT_EQ(to_string(VerifyError::NameMismatch), "name_mismatch");
}

TEST_F(ChainVerifierTest, TrustStoreFromFiles) {
  auto files = test::write_test_pki_files();
  auto s = TrustStore::load_files(files.ca_cert);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->anchors().size(), 1u);
  auto server = load_certificates(*crypto::read_file(files.server_cert));
  ASSERT_TRUE(server);
  core::SystemClock clock;
  VerifyOptions o;
  o.purpose = X509_PURPOSE_SSL_SERVER;
  for (const char* host : {"localhost", "127.0.0.1", "::1"}) {
    o.expected_host = host;
    EXPECT_TRUE(verify_chain(server->front(), {}, *s, clock, o)) << host;
  }
  auto client = load_certificates(*crypto::read_file(files.client_cert));
  ASSERT_TRUE(client);
  VerifyOptions c;
  c.purpose = X509_PURPOSE_SSL_CLIENT;
  EXPECT_TRUE(verify_chain(client->front(), {}, *s, clock, c));
  struct stat st {};
  ASSERT_EQ(::stat(files.server_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto key = crypto::load_private_key(*crypto::read_file(files.client_key));
  ASSERT_TRUE(key);
  EXPECT_EQ(EVP_PKEY_eq(key->get(), client->front().public_key().get()), 1);
  auto missing = TrustStore::load_files(files.dir + "/nope.pem");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.pem"), std::string::npos);
  auto not_ca = TrustStore::load_files(files.server_key);
  ASSERT_FALSE(not_ca);
  EXPECT_NE(not_ca.error().message.find("server.key"), std::string::npos);
  (void)std::system(("rm -rf '" + files.dir + "'").c_str());
}

}  // namespace
}  // namespace gh::x509
