#include "x509/cert_builder.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "crypto/key.h"
#include "support/test_pki.h"
#include "x509/chain_verifier.h"

namespace gh::x509 {
namespace {

TEST(CertBuilder, ParsesDistinguishedNames) {
  auto rfc = parse_distinguished_name("CN=api.example.com, O=Contoso\\, Ltd,C=US");
  ASSERT_TRUE(rfc) << rfc.error().message;
  auto slash = parse_distinguished_name("/C=US/O=Contoso, Ltd/CN=api.example.com");
  ASSERT_TRUE(slash) << slash.error().message;
  EXPECT_EQ(X509_NAME_cmp(rfc->get(), slash->get()), 0);
  EXPECT_EQ(X509_NAME_entry_count(rfc->get()), 3);
  for (const char* bad : {"", "CN", "CN=", "XX=foo", "=foo"}) {
    EXPECT_FALSE(parse_distinguished_name(bad)) << bad;
  }
}

TEST(CertBuilder, ParsesSanLists) {
  auto sans = parse_san_list(
      "DNS:a.test, dns:b.test,IP:127.0.0.1,IP:::1,URI:spiffe://x/y,"
      "email:a@b.test");
  ASSERT_TRUE(sans) << sans.error().message;
  EXPECT_EQ(sans->dns, (std::vector<std::string>{"a.test", "b.test"}));
  EXPECT_EQ(sans->ip, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(sans->uri, (std::vector<std::string>{"spiffe://x/y"}));
  EXPECT_EQ(sans->email, (std::vector<std::string>{"a@b.test"}));
  EXPECT_FALSE(parse_san_list("a.test"));
  EXPECT_FALSE(parse_san_list("IP:300.1.1.1"));
  EXPECT_FALSE(parse_san_list("RID:1.2.3"));
  EXPECT_FALSE(parse_san_list("DNS:"));
}

TEST(CertBuilder, SelfSignedVerifiesAgainstItself) {
  auto key = crypto::generate_ec("P-256");
  ASSERT_TRUE(key);
  test::FixedClock clock(test::TestPki::kDefaultNow);
  CertSpec spec;
  spec.subject = "CN=svc.test,O=Gatehouse";
  spec.sans = *parse_san_list("DNS:svc.test,IP:127.0.0.1");
  spec.days = 10;
  auto cert = make_self_signed(key->get(), spec, clock);
  ASSERT_TRUE(cert) << cert.error().message;
  EXPECT_EQ(cert->subject(), "CN=svc.test,O=Gatehouse");
  EXPECT_TRUE(cert->is_self_issued());
  EXPECT_FALSE(cert->is_ca());
  EXPECT_EQ(cert->not_before(), clock.now_unix() - 300);
  EXPECT_EQ(cert->not_after(), clock.now_unix() + 10 * 86400);
  EXPECT_EQ(cert->subject_alt_names().ip, (std::vector<std::string>{"127.0.0.1"}));
  EXPECT_EQ(cert->serial_hex().size(), 32u);
  EXPECT_EQ(X509_verify(cert->get(), key->get()), 1);
  // Trusting the self-signed certificate lets it verify (with partial chain: it is a leaf).
  std::vector<Certificate> anchors{*cert};
  auto store = TrustStore::create(anchors);
  ASSERT_TRUE(store);
  VerifyOptions o;
  o.expected_host = "svc.test";
  o.allow_partial_chain = true;
  auto ok = verify_chain(*cert, {}, *store, clock, o);
  EXPECT_TRUE(ok) << ok.error().message;
}

TEST(CertBuilder, CaAndEd25519AndRsa) {
  test::FixedClock clock(test::TestPki::kDefaultNow);
  auto ed = crypto::generate_ed25519();
  ASSERT_TRUE(ed);
  CertSpec ca{.subject = "CN=Root", .sans = {}, .days = 365, .is_ca = true};
  auto ca_cert = make_self_signed(ed->get(), ca, clock);
  ASSERT_TRUE(ca_cert) << ca_cert.error().message;
  EXPECT_TRUE(ca_cert->is_ca());
  auto rsa = crypto::generate_rsa(2048);
  ASSERT_TRUE(rsa);
  auto rsa_cert = make_self_signed(rsa->get(), {.subject = "CN=r", .sans = {}, .days = 1}, clock);
  ASSERT_TRUE(rsa_cert) << rsa_cert.error().message;
  EXPECT_EQ(X509_verify(rsa_cert->get(), rsa->get()), 1);
  EXPECT_FALSE(make_self_signed(rsa->get(), {.subject = "CN=r", .sans = {}, .days = 0}, clock));
}

TEST(CertBuilder, CsrCarriesSubjectAndSans) {
  auto key = crypto::generate_ec("P-256");
  ASSERT_TRUE(key);
  CertSpec spec{.subject = "CN=csr.test", .sans = *parse_san_list("DNS:csr.test"), .days = 1};
  auto req = make_csr(key->get(), spec);
  ASSERT_TRUE(req) << req.error().message;
  auto pem = csr_pem(req->get());
  ASSERT_TRUE(pem);
  EXPECT_EQ(pem->rfind("-----BEGIN CERTIFICATE REQUEST-----", 0), 0u);
  crypto::BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  crypto::X509ReqPtr back(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(back);
  EXPECT_EQ(X509_REQ_verify(back.get(), key->get()), 1);
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(back.get());
  ASSERT_NE(exts, nullptr);
  EXPECT_EQ(sk_X509_EXTENSION_num(exts), 1);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

}  // namespace
}  // namespace gh::x509
