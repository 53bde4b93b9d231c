// Policies, issuance and the import formats behind the vault's certificates.

#include "vault/cert_issue.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "crypto/key.h"
#include "vault_fixtures.h"
#include "x509/cert_loader.h"

namespace gh::vault {
namespace {

using gh::test::TestPki;

CertificatePolicy valid_policy() {
  CertificatePolicy p;
  p.subject = "CN=orders.example,O=Contoso";
  p.dns_names = {"orders.example", "*.orders.example"};
  return p;
}

void expect_policy_error(const CertificatePolicy& p, std::string_view field) {
  auto s = validate_policy(p);
  ASSERT_FALSE(s) << field;
  EXPECT_EQ(s.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(s.error().message.find(field), std::string::npos) << s.error().message;
}

TEST(CertificatePolicyCheck, AcceptsKeyVaultShapes) {
  EXPECT_TRUE(validate_policy(valid_policy()));
  CertificatePolicy ec = valid_policy();
  ec.key_type = "EC";
  for (const char* curve : {"P-256", "P-384", "P-521"}) {
    ec.curve = curve;
    EXPECT_TRUE(validate_policy(ec)) << curve;
  }
  CertificatePolicy rsa = valid_policy();
  for (int size : {2048, 3072, 4096}) {
    rsa.key_size = size;
    EXPECT_TRUE(validate_policy(rsa)) << size;
  }
  rsa.content_type = "application/x-pkcs12";
  rsa.renew_at_lifetime_percentage = 80;
  rsa.validity_months = 120;
  EXPECT_TRUE(validate_policy(rsa));
}

TEST(CertificatePolicyCheck, NamesTheBadField) {
  CertificatePolicy p = valid_policy();
  p.subject = "";
  expect_policy_error(p, "policy.subject");
  p.subject = "not a name";
  expect_policy_error(p, "policy.subject");
  p = valid_policy();
  p.dns_names = {"ok.example", "bad name"};
  expect_policy_error(p, "policy.dns_names entry 2");
  p.dns_names = {"a..b"};
  expect_policy_error(p, "policy.dns_names");
  p = valid_policy();
  p.key_type = "DSA";
  expect_policy_error(p, "policy.key_type");
  p.key_type = "RSA";
  p.key_size = 1024;
  expect_policy_error(p, "policy.key_size");
  p = valid_policy();
  p.key_type = "EC";
  p.curve = "secp256k1";
  expect_policy_error(p, "policy.curve");
  p = valid_policy();
  p.validity_months = 0;
  expect_policy_error(p, "policy.validity_months");
  p.validity_months = 121;
  expect_policy_error(p, "policy.validity_months");
  p = valid_policy();
  p.issuer = "";
  expect_policy_error(p, "policy.issuer");
  p = valid_policy();
  p.content_type = "text/plain";
  expect_policy_error(p, "policy.content_type");
  p = valid_policy();
  p.validity_months = 1;
  p.renew_days_before_expiry = 28;
  expect_policy_error(p, "policy.renew_days_before_expiry");
  p.renew_days_before_expiry = -1;
  expect_policy_error(p, "policy.renew_days_before_expiry");
  p = valid_policy();
  p.renew_at_lifetime_percentage = 100;
  expect_policy_error(p, "policy.renew_at_lifetime_percentage");
  p.renew_at_lifetime_percentage = 80;
  p.renew_days_before_expiry = 10;
  expect_policy_error(p, "only one");
}

TEST(CertificatePolicyCheck, RenewalWindow) {
  CertificatePolicy p = valid_policy();
  const int64_t nbf = 1'000'000;
  const int64_t exp = nbf + 100 * test::kDay;
  EXPECT_FALSE(policy_auto_renews(p));
  EXPECT_EQ(renewal_time(p, nbf, exp), 0);
  p.renew_days_before_expiry = 30;
  EXPECT_TRUE(policy_auto_renews(p));
  EXPECT_EQ(renewal_time(p, nbf, exp), exp - 30 * test::kDay);
  p.renew_days_before_expiry = 0;
  p.renew_at_lifetime_percentage = 80;
  EXPECT_EQ(renewal_time(p, nbf, exp), nbf + 80 * test::kDay);
  p.issuer = "Unknown";
  EXPECT_FALSE(policy_auto_renews(p));
  EXPECT_EQ(renewal_time(p, nbf, exp), 0);
}

TEST(CertificatePolicyCheck, ValidityInCalendarMonths) {
  const int64_t jan15 = 1'800'000'000;  // 2027-01-15
  EXPECT_EQ(validity_days(12, jan15), 365);
  EXPECT_EQ(validity_days(1, jan15), 31);
  const int64_t jan31 = jan15 + 16 * test::kDay;
  EXPECT_EQ(validity_days(1, jan31), 28);    // to 2027-02-28
  EXPECT_EQ(validity_days(13, jan31), 394);  // to 2028-02-29
}

TEST(CertificatePolicyCheck, JsonRoundTrip) {
  CertificatePolicy p = valid_policy();
  p.key_type = "EC";
  p.curve = "P-384";
  p.validity_months = 6;
  p.issuer = "dev-ca";
  p.content_type = "application/x-pkcs12";
  p.renew_days_before_expiry = 14;
  p.exportable = false;
  auto back = policy_from_json(policy_to_json(p));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->subject, p.subject);
  EXPECT_EQ(back->dns_names, p.dns_names);
  EXPECT_EQ(back->key_type, "EC");
  EXPECT_EQ(back->curve, "P-384");
  EXPECT_EQ(back->validity_months, 6);
  EXPECT_EQ(back->issuer, "dev-ca");
  EXPECT_EQ(back->content_type, "application/x-pkcs12");
  EXPECT_EQ(back->renew_days_before_expiry, 14);
  EXPECT_FALSE(back->exportable);

  auto defaults = policy_from_json(R"({"subject":"CN=x"})");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->key_type, "RSA");
  EXPECT_EQ(defaults->validity_months, 12);
  EXPECT_FALSE(policy_from_json("[]"));
  EXPECT_FALSE(policy_from_json("{"));
  EXPECT_FALSE(policy_from_json(R"({"key_size":"big"})"));
  EXPECT_FALSE(policy_from_json(R"({"key_size":99999999999})"));
}

TEST(CertificateIssue, SelfSignedPerPolicy) {
  gh::test::FixedClock clock(test::kT0);
  CertificatePolicy p = valid_policy();
  p.key_type = "EC";
  p.curve = "P-384";
  p.validity_months = 3;
  auto issued = issue_certificate(p, nullptr, clock);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(crypto::key_type(issued->key.get()), crypto::KeyType::Ec);
  EXPECT_EQ(crypto::ec_curve_name(issued->key.get()), "P-384");
  EXPECT_EQ(issued->leaf.subject(), "CN=orders.example,O=Contoso");
  EXPECT_EQ(issued->leaf.subject_alt_names().dns, p.dns_names);
  EXPECT_TRUE(issued->leaf.is_self_issued());
  EXPECT_EQ(issued->leaf.not_after(), test::kT0 + validity_days(3, test::kT0) * test::kDay);
  EXPECT_LE(issued->leaf.not_before(), test::kT0);
  EXPECT_TRUE(issued->chain.empty());

  p.key_type = "RSA";
  p.key_size = 2048;
  auto rsa = issue_certificate(p, nullptr, clock);
  ASSERT_TRUE(rsa);
  EXPECT_EQ(crypto::key_type(rsa->key.get()), crypto::KeyType::Rsa);
  EXPECT_EQ(crypto::key_bits(rsa->key.get()), 2048);
}

// ---- import ----------------------------------------------------------------------------------

class CertificateImport : public ::testing::Test {
 protected:
  TestPki pki;
  std::string leaf_pem = pki.leaf().cert_pem();
  std::string key_pem = pki.leaf().key_pem();
  std::string intermediate_pem = pki.intermediate().cert_pem();
  std::string root_pem = pki.root().cert_pem();
  core::Bytes leaf_der = pki.leaf().der();

  void expect_leaf_and_chain(const KeyAndChain& b) {
    EXPECT_EQ(b.leaf.der(), leaf_der);
    ASSERT_EQ(b.chain.size(), 2u);
    EXPECT_EQ(b.chain[0].der(), pki.intermediate().der());
    EXPECT_EQ(b.chain[1].der(), pki.root().der());
  }
};

TEST_F(CertificateImport, PemInAnyOrder) {
  bool was_pem = false;
  auto b = parse_import(root_pem + key_pem + leaf_pem + intermediate_pem, "", &was_pem);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_TRUE(was_pem);
  expect_leaf_and_chain(*b);
  auto plain = parse_import(key_pem + leaf_pem, "");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->chain.empty());
}

TEST_F(CertificateImport, EncryptedPkcs8KeyWithPassword) {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  const char pass[] = "pem-pass";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), pki.leaf().key.get(), EVP_aes_256_cbc(), pass,
                                          sizeof pass - 1, nullptr, nullptr),
            1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  const std::string encrypted(data, static_cast<size_t>(len));
  ASSERT_NE(encrypted.find("ENCRYPTED PRIVATE KEY"), std::string::npos);
  auto b = parse_import(encrypted + leaf_pem, "pem-pass");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->leaf.der(), leaf_der);
  auto wrong = parse_import(encrypted + leaf_pem, "nope");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, ErrorKind::InvalidArgument);
}

TEST_F(CertificateImport, Pkcs12DerAndBase64) {
  const core::Bytes p12 =
      pki.make_pkcs12(pki.leaf(), {&pki.intermediate(), &pki.root()}, "p12-pass");
  bool was_pem = true;
  auto der = parse_import(core::as_string_view(p12), "p12-pass", &was_pem);
  ASSERT_TRUE(der) << der.error().message;
  EXPECT_FALSE(was_pem);
  expect_leaf_and_chain(*der);

  std::string b64 = core::base64_encode(p12);
  for (size_t i = 64; i < b64.size(); i += 65)
    b64.insert(i, "\n");
  auto text = parse_import(b64, "p12-pass");
  ASSERT_TRUE(text) << text.error().message;
  expect_leaf_and_chain(*text);

  auto wrong = parse_import(core::as_string_view(p12), "other");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(wrong.error().message.find("password"), std::string::npos);
}

TEST_F(CertificateImport, KeyMustMatchTheCertificate) {
  auto pem = parse_import(pki.client().key_pem() + leaf_pem + intermediate_pem, "");
  ASSERT_FALSE(pem);
  EXPECT_EQ(pem.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(pem.error().message.find("does not match"), std::string::npos);

  // A PKCS#12 whose key belongs to no certificate in it.
  gh::test::TestCert mixed{crypto::share(pki.leaf().cert.get()),
                           crypto::share(pki.client().key.get())};
  auto p12 = x509::make_pkcs12(mixed.key.get(), x509::Certificate(crypto::share(mixed.cert.get())),
                               {}, "pw");
  if (p12) {  // OpenSSL may refuse to build a mismatched bundle at all
    auto parsed = parse_import(core::as_string_view(*p12), "pw");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().kind, ErrorKind::InvalidArgument);
  }
}

TEST_F(CertificateImport, RefusesWhatIsNotAKeyWithItsCertificate) {
  auto expect_refused = [](std::string_view data, std::string_view why) {
    auto r = parse_import(data, "");
    ASSERT_FALSE(r) << why;
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument) << why;
  };
  expect_refused("", "empty");
  expect_refused(leaf_pem + intermediate_pem, "no key");
  expect_refused(key_pem, "no certificate");
  expect_refused(key_pem + pki.client().key_pem() + leaf_pem, "two keys");
  expect_refused("-----BEGIN PRIVATE KEY-----\nAAAA\n", "unterminated");
  expect_refused("not base64 at all!", "garbage");
  expect_refused(core::base64_encode(core::as_bytes("not a pkcs12")), "base64 of garbage");
  expect_refused(std::string(300 * 1024, 'A'), "too large");

  TestPki ed_pki;
  gh::test::TestCertOptions o;
  o.cn = "ed.test";
  o.key_type = gh::test::TestKeyType::Ed25519;
  const auto ed = ed_pki.issue(&ed_pki.intermediate(), o);
  auto r = parse_import(ed.key_pem() + ed.cert_pem(), "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("RSA or EC"), std::string::npos);
}

TEST_F(CertificateImport, SecretFormsRoundTrip) {
  auto b = parse_import(key_pem + leaf_pem + intermediate_pem + root_pem, "");
  ASSERT_TRUE(b);
  auto pem = encode_secret(*b, kContentTypePem);
  ASSERT_TRUE(pem);
  EXPECT_TRUE(pem->starts_with("-----BEGIN PRIVATE KEY-----"));
  EXPECT_LT(pem->find(leaf_pem), pem->find(intermediate_pem));
  auto p12 = encode_secret(*b, kContentTypePkcs12);
  ASSERT_TRUE(p12);
  auto der = core::base64_decode(*p12);
  ASSERT_TRUE(der) << "PKCS#12 secret must be plain base64";
  auto bundle = x509::load_pkcs12(*der, "");
  ASSERT_TRUE(bundle) << bundle.error().message;
  ASSERT_TRUE(bundle->cert);
  EXPECT_EQ(bundle->cert->der(), leaf_der);

  for (const auto& value : {*pem, *p12}) {
    auto back = decode_secret(value, kContentTypePem);
    ASSERT_TRUE(back);
    expect_leaf_and_chain(*back);
    EXPECT_EQ(EVP_PKEY_eq(back->key.get(), pki.leaf().key.get()), 1);
  }
}

TEST_F(CertificateImport, DerivedPolicyDescribesTheCertificate) {
  auto b = parse_import(key_pem + leaf_pem, "");
  ASSERT_TRUE(b);
  const CertificatePolicy p = policy_from_certificate(*b, kContentTypePem);
  EXPECT_EQ(p.subject, b->leaf.subject());
  EXPECT_EQ(p.dns_names, b->leaf.subject_alt_names().dns);
  EXPECT_EQ(p.key_type, "EC");
  EXPECT_EQ(p.curve, "P-256");
  EXPECT_EQ(p.issuer, "Unknown");
  EXPECT_EQ(p.validity_months, 1);  // TestPki leaves live about 30 days
  EXPECT_FALSE(policy_auto_renews(p));
}

}  // namespace
}  // namespace gh::vault
