#include "x509/certificate.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "support/test_pki.h"

namespace gh::x509 {
namespace {

// Independent route for expected values: EVP_Digest with the legacy-style getters on the raw
// i2d output, formatted by hand (not core::hex_encode / base64url_encode).
std::string digest_hex(const core::Bytes& der, const EVP_MD* md, bool upper) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(der.data(), der.size(), out, &len, md, nullptr), 1);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, upper ? "%02X" : "%02x", out[i]);
    hex += buf;
  }
  return hex;
}

std::string digest_b64url(const core::Bytes& der, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(der.data(), der.size(), out, &len, md, nullptr), 1);
  unsigned char b64[EVP_MAX_MD_SIZE * 2];
  int n = EVP_EncodeBlock(b64, out, static_cast<int>(len));
  std::string s(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
  std::replace(s.begin(), s.end(), '+', '-');
  std::replace(s.begin(), s.end(), '/', '_');
  while (!s.empty() && s.back() == '=')
    s.pop_back();
  return s;
}

// `openssl x509 -fingerprint` output "SHA1 Fingerprint=AB:CD:..." without the colons.
std::string openssl_cli_fingerprint(const std::string& pem, const char* alg) {
  char path[] = "/tmp/gh-x509-fp-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return {};
  ::close(fd);
  std::ofstream(path) << pem;
  std::string cmd = std::string("openssl x509 -noout -fingerprint -") + alg + " -in " + path;
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p))
      out += buf;
    ::pclose(p);
  }
  ::unlink(path);
  auto eq = out.find('=');
  if (eq == std::string::npos) return {};
  std::string fp;
  for (char c : out.substr(eq + 1)) {
    if (c != ':' && c != '\n') fp += c;
  }
  return fp;
}

class CertificateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static Certificate cert(const test::TestCert& c) {
    return Certificate(crypto::share(c.cert.get()));
  }
  static test::TestPki* pki_;
};
test::TestPki* CertificateTest::pki_ = nullptr;

TEST_F(CertificateTest, ThumbprintsMatchAnIndependentDigest) {
  const auto& leaf = pki_->leaf();
  Certificate c = cert(leaf);
  const core::Bytes der = leaf.der();
  EXPECT_EQ(c.der(), der);
  EXPECT_EQ(c.thumbprint_sha1(), digest_hex(der, EVP_sha1(), true));
  EXPECT_EQ(c.thumbprint_sha256(), digest_hex(der, EVP_sha256(), false));
  EXPECT_EQ(c.x5t(), digest_b64url(der, EVP_sha1()));
  EXPECT_EQ(c.x5t_s256(), digest_b64url(der, EVP_sha256()));
  EXPECT_EQ(c.thumbprint_sha1().size(), 40u);
  EXPECT_EQ(c.x5t().size(), 27u);  // 20 bytes -> 27 base64url chars, no padding
  EXPECT_EQ(c.x5t_s256().size(), 43u);
}

TEST_F(CertificateTest, ThumbprintsMatchOpensslCli) {
  if (std::system("openssl version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl CLI";
  Certificate c = cert(pki_->client());
  EXPECT_EQ(c.thumbprint_sha1(), openssl_cli_fingerprint(c.pem(), "sha1"));
  std::string sha256 = openssl_cli_fingerprint(c.pem(), "sha256");
  std::transform(sha256.begin(), sha256.end(), sha256.begin(), ::tolower);
  EXPECT_EQ(c.thumbprint_sha256(), sha256);
}

TEST_F(CertificateTest, NamesSerialAndValidity) {
  Certificate c = cert(pki_->leaf());
  EXPECT_EQ(c.subject(), "CN=leaf.test,O=Gatehouse Tests");
  EXPECT_EQ(c.issuer(), "CN=Gatehouse Test Issuing CA,O=Gatehouse Tests");
  EXPECT_EQ(c.subject_cn(), "leaf.test");
  EXPECT_EQ(c.issuer_cn(), "Gatehouse Test Issuing CA");
  // Serial: whole octets, upper-case, as `openssl x509 -serial` prints it.
  char expected[32];
  const long serial = ASN1_INTEGER_get(X509_get0_serialNumber(pki_->leaf().cert.get()));
  std::snprintf(expected, sizeof expected, serial > 0xFFF ? "%06lX" : "%04lX", serial);
  EXPECT_EQ(c.serial_hex(), expected);
  EXPECT_EQ(c.not_before(), pki_->now() - 3600);
  EXPECT_EQ(c.not_after(), pki_->now() + 30 * 86400);
  EXPECT_FALSE(c.is_ca());
  EXPECT_FALSE(c.is_self_issued());
  EXPECT_TRUE(cert(pki_->root()).is_ca());
  EXPECT_TRUE(cert(pki_->root()).is_self_issued());
  EXPECT_TRUE(cert(pki_->intermediate()).is_ca());
}

TEST_F(CertificateTest, SubjectAltNames) {
  auto leaf = cert(pki_->leaf()).subject_alt_names();
  EXPECT_EQ(leaf.dns, (std::vector<std::string>{"leaf.test", "*.wild.test"}));
  EXPECT_EQ(leaf.ip, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_TRUE(leaf.uri.empty());
  auto client = cert(pki_->client()).subject_alt_names();
  EXPECT_EQ(client.uri, (std::vector<std::string>{"spiffe://test/client"}));
  EXPECT_EQ(client.email, (std::vector<std::string>{"client@test.example"}));
  EXPECT_TRUE(cert(pki_->root()).subject_alt_names().empty());
}

TEST_F(CertificateTest, Ipv6SanAndPublicKey) {
  test::TestPki pki;
  auto v6 = pki.issue(&pki.root(), {.cn = "v6", .ips = {"::1", "2001:db8::5"}});
  Certificate c(crypto::share(v6.cert.get()));
  EXPECT_EQ(c.subject_alt_names().ip, (std::vector<std::string>{"::1", "2001:db8::5"}));
  auto pub = c.public_key();
  ASSERT_TRUE(pub);
  EXPECT_EQ(EVP_PKEY_eq(pub.get(), v6.key.get()), 1);
}

TEST_F(CertificateTest, PemAndDerRoundTrip) {
  Certificate c = cert(pki_->leaf());
  EXPECT_EQ(c.pem(), pki_->leaf().cert_pem());
  auto back = Certificate::from_der(c.der());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->thumbprint_sha256(), c.thumbprint_sha256());
  core::Bytes trailing = c.der();
  trailing.push_back(0);
  EXPECT_FALSE(Certificate::from_der(trailing));
  EXPECT_FALSE(Certificate::from_der(core::Bytes{0x30, 0x03, 0x02, 0x01}));
  EXPECT_FALSE(Certificate::from_der({}));
}

TEST_F(CertificateTest, CopiesShareTheObject) {
  Certificate a = cert(pki_->leaf());
  Certificate b = a;
  EXPECT_EQ(a.get(), b.get());
  Certificate c = cert(pki_->root());
  c = a;
  EXPECT_EQ(c.get(), a.get());
  EXPECT_EQ(c.subject_cn(), "leaf.test");
}

}  // namespace
}  // namespace gh::x509
