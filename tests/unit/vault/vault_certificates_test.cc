// The vault store's certificates: issuance (self-signed and from a configured issuer), import,
// renewal (by hand and when due), the managed secret holding the key, export, soft delete, and
// keys at rest.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "crypto/digest.h"
#include "crypto/key.h"
#include "vault/vault_store.h"
#include "vault_fixtures.h"
#include "x509/cert_loader.h"
#include "x509/chain_verifier.h"
#include "x509/trust_store.h"

namespace gh::vault {
namespace {

using gh::test::TestPki;
using test::kDay;

constexpr int64_t kNow = TestPki::kDefaultNow;

CertificatePolicy ec_policy(std::string subject = "CN=orders.example") {
  CertificatePolicy p;
  p.subject = std::move(subject);
  p.dns_names = {"orders.example"};
  p.key_type = "EC";
  p.curve = "P-256";
  return p;
}

x509::Certificate cert_of(const gh::test::TestCert& c) {
  return x509::Certificate(crypto::share(c.cert.get()));
}

// The private key and certificates of a PEM bundle, for checks.
struct KeyAndChainView {
  crypto::EvpPkeyPtr key;
  std::vector<x509::Certificate> certs;
};

class VaultCertificatesTest : public ::testing::Test {
 protected:
  VaultCertificatesTest() {
    CertificateIssuer ca{"dev-ca",
                         cert_of(pki.intermediate()),
                         crypto::share(pki.intermediate().key.get()),
                         {cert_of(pki.root())}};
    std::vector<CertificateIssuer> issuers;
    issuers.push_back(std::move(ca));
    vault = test::open_store(db, test::master_key(0x11), clock, std::move(issuers));
  }

  CertificateInfo create(const std::string& name, const CertificatePolicy& policy) {
    auto info = vault->create_certificate(name, policy);
    EXPECT_TRUE(info) << info.error().message;
    return info ? *info : CertificateInfo{};
  }

  KeyAndChainView key_of(const std::string& name, const std::string& version = {});

  TestPki pki;
  gh::test::FixedClock clock{kNow};
  std::shared_ptr<store::Database> db = test::open_db();
  std::unique_ptr<VaultStore> vault;
};

KeyAndChainView parse_pem_bundle(const std::string& pem) {
  KeyAndChainView out;
  auto key = crypto::load_private_key(pem.substr(0, pem.find("-----BEGIN CERTIFICATE-----")));
  EXPECT_TRUE(key) << "bundle must start with the private key";
  if (key) out.key = std::move(*key);
  auto certs = x509::load_certificates(pem);
  EXPECT_TRUE(certs);
  if (certs) out.certs = std::move(*certs);
  return out;
}

KeyAndChainView VaultCertificatesTest::key_of(const std::string& name, const std::string& version) {
  auto with_key = vault->get_certificate_with_key(name, version);
  EXPECT_TRUE(with_key) << with_key.error().message;
  return with_key ? parse_pem_bundle(with_key->pem) : KeyAndChainView{};
}

bool same_key(const EVP_PKEY* a, const EVP_PKEY* b) {
  return a && b && EVP_PKEY_eq(a, b) == 1;
}

TEST_F(VaultCertificatesTest, CreateSelfSigned) {
  CertificatePolicy p = ec_policy();
  p.dns_names = {"orders.example", "api.orders.example"};
  p.validity_months = 6;
  auto info = vault->create_certificate("orders-tls", p, {{"env", "dev"}});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->name, "orders-tls");
  EXPECT_TRUE(test::is_version_id(info->version));
  EXPECT_EQ(info->issuer_name, "Self");
  EXPECT_EQ(info->subject, "CN=orders.example");
  EXPECT_EQ(info->tags, (Tags{{"env", "dev"}}));
  EXPECT_TRUE(info->attributes.enabled);
  EXPECT_EQ(info->attributes.created, kNow);

  auto leaf = x509::Certificate::from_der(info->cer);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(info->x5t, core::base64url_encode(crypto::sha1(info->cer)));
  EXPECT_EQ(info->thumbprint_sha256, core::hex_encode_upper(crypto::sha256(info->cer)));
  EXPECT_EQ(info->attributes.not_before, leaf->not_before());
  EXPECT_EQ(info->attributes.expires, leaf->not_after());
  EXPECT_EQ(leaf->not_after(), kNow + 183 * kDay);  // 2025-06-15 + 6 months
  EXPECT_TRUE(leaf->is_self_issued());
  EXPECT_EQ(leaf->subject_alt_names().dns, p.dns_names);

  const KeyAndChainView bundle = key_of("orders-tls");
  ASSERT_EQ(bundle.certs.size(), 1u);
  EXPECT_EQ(bundle.certs[0].der(), info->cer);
  EXPECT_TRUE(same_key(bundle.key.get(), leaf->public_key().get()));
  EXPECT_EQ(crypto::ec_curve_name(bundle.key.get()), "P-256");

  auto got = vault->get_certificate("ORDERS-TLS");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->version, info->version);
  EXPECT_EQ(got->cer, info->cer);
  auto policy = vault->get_certificate_policy("orders-tls");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->subject, p.subject);
  EXPECT_EQ(policy->validity_months, 6);
}

TEST_F(VaultCertificatesTest, KeyTypesFollowThePolicy) {
  CertificatePolicy rsa = ec_policy();
  rsa.key_type = "RSA";
  rsa.key_size = 2048;
  create("rsa-cert", rsa);
  KeyAndChainView k = key_of("rsa-cert");
  EXPECT_EQ(crypto::key_type(k.key.get()), crypto::KeyType::Rsa);
  EXPECT_EQ(crypto::key_bits(k.key.get()), 2048);

  CertificatePolicy ec = ec_policy();
  ec.curve = "P-521";
  create("ec-cert", ec);
  k = key_of("ec-cert");
  EXPECT_EQ(crypto::ec_curve_name(k.key.get()), "P-521");
}

TEST_F(VaultCertificatesTest, TheKeyIsTheManagedSecretOfTheSameNameAndVersion) {
  const CertificateInfo info = create("orders-tls", ec_policy());
  auto secrets = vault->list_secrets();
  ASSERT_TRUE(secrets);
  ASSERT_EQ(secrets->size(), 1u);
  EXPECT_EQ((*secrets)[0].name, "orders-tls");
  EXPECT_EQ((*secrets)[0].version, info.version);
  EXPECT_TRUE((*secrets)[0].managed);
  EXPECT_EQ((*secrets)[0].content_type, "application/x-pem-file");
  EXPECT_EQ((*secrets)[0].attributes.expires, info.attributes.expires);

  auto secret = vault->get_secret("orders-tls");
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->value, vault->get_certificate_with_key("orders-tls")->pem);
  EXPECT_EQ(*vault->current_stamp("secrets", "orders-tls"),
            *vault->current_stamp("certificates", "orders-tls"));

  // Written by certificate operations only.
  auto set = vault->set_secret(test::new_secret("orders-tls", "x"));
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().kind, ErrorKind::Conflict);
  SecretUpdate u;
  u.enabled = false;
  EXPECT_EQ(vault->update_secret("orders-tls", "", u).error().kind, ErrorKind::Conflict);
  EXPECT_EQ(vault->delete_secret("orders-tls").error().kind, ErrorKind::Conflict);

  // A plain secret's name is not free for a certificate either.
  ASSERT_TRUE(vault->set_secret(test::new_secret("plain", "x")));
  auto clash = vault->create_certificate("plain", ec_policy());
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(vault->import_certificate("plain", pki.leaf().key_pem() + pki.leaf().cert_pem(), "")
                .error()
                .kind,
            ErrorKind::Conflict);
}

TEST_F(VaultCertificatesTest, Pkcs12ContentTypeStoresBase64Pkcs12) {
  CertificatePolicy p = ec_policy();
  p.content_type = "application/x-pkcs12";
  const CertificateInfo info = create("p12-cert", p);
  auto secret = vault->get_secret("p12-cert");
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->info.content_type, "application/x-pkcs12");
  auto der = core::base64_decode(secret->value);
  ASSERT_TRUE(der) << "the secret of a PKCS#12 certificate is base64";
  auto bundle = x509::load_pkcs12(*der, "");
  ASSERT_TRUE(bundle) << bundle.error().message;
  ASSERT_TRUE(bundle->cert);
  EXPECT_EQ(bundle->cert->der(), info.cer);

  // The key is always handed out as PEM.
  const KeyAndChainView k = key_of("p12-cert");
  EXPECT_TRUE(same_key(k.key.get(), bundle->key.get()));
}

TEST_F(VaultCertificatesTest, IssuedByAConfiguredIssuerChainsToItsRoot) {
  CertificatePolicy p = ec_policy();
  p.issuer = "dev-ca";
  p.validity_months = 1;
  auto info = vault->create_certificate("backend-client", p);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->issuer_name, "dev-ca");

  const KeyAndChainView k = key_of("backend-client");
  ASSERT_EQ(k.certs.size(), 3u);  // leaf, issuer, issuer's chain
  EXPECT_EQ(k.certs[0].der(), info->cer);
  EXPECT_EQ(k.certs[1].der(), pki.intermediate().der());
  EXPECT_EQ(k.certs[2].der(), pki.root().der());

  const std::vector<x509::Certificate> anchors = {cert_of(pki.root())};
  auto trust = x509::TrustStore::create(anchors);
  ASSERT_TRUE(trust);
  const std::vector<x509::Certificate> intermediates = {k.certs[1]};
  auto verified = x509::verify_chain(k.certs[0], intermediates, *trust, clock);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->size(), 3u);

  // A self-signed one does not verify against that root.
  create("self", ec_policy());
  const KeyAndChainView self = key_of("self");
  EXPECT_FALSE(x509::verify_chain(self.certs[0], {}, *trust, clock));
}

TEST_F(VaultCertificatesTest, IssuerMustBeConfigured) {
  CertificatePolicy p = ec_policy();
  p.issuer = "other-ca";
  auto r = vault->create_certificate("c", p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(r.error().message.find("policy.issuer"), std::string::npos);
  p.issuer = "Unknown";
  EXPECT_EQ(vault->create_certificate("c", p).error().kind, ErrorKind::InvalidArgument);
  p.issuer = "Self";
  p.key_size = 1000;
  p.key_type = "RSA";
  EXPECT_EQ(vault->create_certificate("c", p).error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(vault->create_certificate("bad name", ec_policy()).error().kind,
            ErrorKind::InvalidArgument);
  EXPECT_EQ(vault->list_certificates()->size(), 0u);
}

TEST_F(VaultCertificatesTest, ImportPemKeepsTheChainAndNeverRenews) {
  const std::string pem = pki.root().cert_pem() + pki.leaf().cert_pem() + pki.leaf().key_pem() +
                          pki.intermediate().cert_pem();
  auto info = vault->import_certificate("imported", pem, "", std::nullopt, {{"src", "pem"}});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->issuer_name, "Unknown");
  EXPECT_EQ(info->cer, pki.leaf().der());
  EXPECT_EQ(info->tags, (Tags{{"src", "pem"}}));

  const KeyAndChainView k = key_of("imported");
  ASSERT_EQ(k.certs.size(), 3u);
  EXPECT_EQ(k.certs[1].der(), pki.intermediate().der());
  EXPECT_TRUE(same_key(k.key.get(), pki.leaf().key.get()));

  auto policy = vault->get_certificate_policy("imported");
  ASSERT_TRUE(policy);
  EXPECT_EQ(policy->issuer, "Unknown");
  EXPECT_EQ(policy->content_type, "application/x-pem-file");
  EXPECT_EQ(policy->subject, info->subject);

  auto renew = vault->renew_certificate("imported");
  ASSERT_FALSE(renew);
  EXPECT_EQ(renew.error().kind, ErrorKind::InvalidArgument);
}

TEST_F(VaultCertificatesTest, ImportPkcs12WithPassword) {
  const core::Bytes p12 = pki.make_pkcs12(pki.client(), {&pki.intermediate()}, "p12-pass");
  auto info = vault->import_certificate("client", core::as_string_view(p12), "p12-pass");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->cer, pki.client().der());
  // Stored as PKCS#12 like it came, handed out as PEM.
  EXPECT_EQ(vault->get_secret("client")->info.content_type, "application/x-pkcs12");
  const KeyAndChainView k = key_of("client");
  EXPECT_TRUE(same_key(k.key.get(), pki.client().key.get()));

  // Key Vault's import body carries base64; a second import is a new version.
  auto again = vault->import_certificate("client", core::base64_encode(p12), "p12-pass");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_NE(again->version, info->version);
  EXPECT_EQ(vault->list_certificate_versions("client")->size(), 2u);

  auto wrong = vault->import_certificate("client", core::as_string_view(p12), "nope");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(vault->list_certificate_versions("client")->size(), 2u);
}

TEST_F(VaultCertificatesTest, ImportWithMismatchedKeyIsRefusedAndStoresNothing) {
  auto r =
      vault->import_certificate("mismatch", pki.client().key_pem() + pki.leaf().cert_pem(), "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(r.error().message.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(vault->get_certificate("mismatch").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->list_secrets()->size(), 0u);
}

TEST_F(VaultCertificatesTest, ImportWithAPolicyRenewsFromIt) {
  CertificatePolicy p = ec_policy("CN=leaf.test");
  p.renew_days_before_expiry = 10;
  auto info =
      vault->import_certificate("leaf", pki.leaf().key_pem() + pki.leaf().cert_pem(), "", p);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->issuer_name, "Unknown");
  auto renewed = vault->renew_certificate("leaf");
  ASSERT_TRUE(renewed) << renewed.error().message;
  EXPECT_EQ(renewed->issuer_name, "Self");
  EXPECT_EQ(renewed->subject, "CN=leaf.test");
}

TEST_F(VaultCertificatesTest, RenewMakesANewVersionWithANewKey) {
  CertificatePolicy p = ec_policy();
  p.issuer = "dev-ca";
  const CertificateInfo v1 = create("orders-tls", p);
  const std::string stamp1 = *vault->current_stamp("certificates", "orders-tls");
  const KeyAndChainView k1 = key_of("orders-tls");
  clock.advance(10 * kDay);
  auto v2 = vault->renew_certificate("orders-tls");
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_NE(v2->version, v1.version);
  EXPECT_NE(v2->cer, v1.cer);
  EXPECT_EQ(v2->issuer_name, "dev-ca");
  EXPECT_EQ(v2->attributes.created, kNow + 10 * kDay);
  EXPECT_GT(v2->attributes.expires, v1.attributes.expires);

  const KeyAndChainView k2 = key_of("orders-tls");
  EXPECT_FALSE(same_key(k1.key.get(), k2.key.get()));
  EXPECT_EQ(k2.certs[0].der(), v2->cer);
  // The old version and its key stay readable.
  const KeyAndChainView old = key_of("orders-tls", v1.version);
  EXPECT_TRUE(same_key(old.key.get(), k1.key.get()));

  EXPECT_NE(*vault->current_stamp("certificates", "orders-tls"), stamp1);
  EXPECT_EQ(*vault->current_stamp("certificates", "orders-tls"), v2->version + ":1");
  auto versions = vault->list_certificate_versions("orders-tls");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].version, v1.version);
  EXPECT_EQ((*versions)[1].version, v2->version);
  EXPECT_EQ(vault->list_secret_versions("orders-tls")->size(), 2u);
  EXPECT_EQ(vault->renew_certificate("missing").error().kind, ErrorKind::NotFound);
}

TEST_F(VaultCertificatesTest, RenewDueFollowsDaysBeforeExpiry) {
  CertificatePolicy p = ec_policy();
  p.validity_months = 12;
  p.renew_days_before_expiry = 30;
  const CertificateInfo v1 = create("by-days", p);
  create("never", ec_policy());  // no trigger
  ASSERT_TRUE(
      vault->import_certificate("imported", pki.leaf().key_pem() + pki.leaf().cert_pem(), ""));

  EXPECT_EQ(vault->renew_due()->size(), 0u);
  clock.set(v1.attributes.expires - 30 * kDay - 1);
  EXPECT_EQ(vault->renew_due()->size(), 0u);
  clock.set(v1.attributes.expires - 30 * kDay);
  auto renewed = vault->renew_due();
  ASSERT_TRUE(renewed) << renewed.error().message;
  ASSERT_EQ(renewed->size(), 1u);
  EXPECT_EQ((*renewed)[0].name, "by-days");
  EXPECT_EQ(vault->get_certificate("by-days")->version, (*renewed)[0].version);
  // The new version is not due; the imported one (long expired now) never is.
  EXPECT_EQ(vault->renew_due()->size(), 0u);
  EXPECT_EQ(vault->list_certificate_versions("imported")->size(), 1u);
  EXPECT_EQ(vault->list_certificate_versions("never")->size(), 1u);
}

TEST_F(VaultCertificatesTest, RenewDueFollowsLifetimePercentage) {
  CertificatePolicy p = ec_policy();
  p.validity_months = 10;
  p.renew_at_lifetime_percentage = 80;
  const CertificateInfo v1 = create("by-share", p);
  const int64_t lifetime = v1.attributes.expires - v1.attributes.not_before;
  clock.set(v1.attributes.not_before + lifetime * 79 / 100);
  EXPECT_EQ(vault->renew_due()->size(), 0u);
  clock.set(v1.attributes.not_before + lifetime * 81 / 100);
  EXPECT_EQ(vault->renew_due()->size(), 1u);
  EXPECT_EQ(vault->renew_due()->size(), 0u);

  // Deleted certificates are left alone.
  clock.advance(lifetime);
  ASSERT_TRUE(vault->delete_certificate("by-share"));
  EXPECT_EQ(vault->renew_due()->size(), 0u);
}

TEST_F(VaultCertificatesTest, ExpiringIncludesCertificatesAndTellsWhichRenew) {
  CertificatePolicy renews = ec_policy();
  renews.validity_months = 1;
  renews.renew_days_before_expiry = 7;
  create("auto", renews);
  CertificatePolicy manual = ec_policy();
  manual.validity_months = 2;
  create("manual", manual);
  CertificatePolicy distant = ec_policy();
  distant.validity_months = 24;
  create("distant", distant);
  NewSecret s = test::new_secret("token", "x");
  s.expires = kNow + 45 * kDay;
  ASSERT_TRUE(vault->set_secret(s));

  auto items = vault->expiring(90 * kDay);
  ASSERT_TRUE(items) << items.error().message;
  ASSERT_EQ(items->size(), 3u);  // the managed secrets are not listed twice
  EXPECT_EQ((*items)[0].name, "auto");
  EXPECT_EQ((*items)[0].kind, "certificate");
  EXPECT_TRUE((*items)[0].auto_renew);
  EXPECT_EQ((*items)[1].name, "token");
  EXPECT_EQ((*items)[2].name, "manual");
  EXPECT_FALSE((*items)[2].auto_renew);

  ASSERT_TRUE(vault->update_certificate("manual", "", false, std::nullopt));
  EXPECT_EQ(vault->expiring(90 * kDay)->size(), 2u);
}

TEST_F(VaultCertificatesTest, ExportPkcs12RoundTrip) {
  CertificatePolicy p = ec_policy();
  p.issuer = "dev-ca";
  const CertificateInfo info = create("exported", p);
  auto p12 = vault->export_pkcs12("exported", "", "export-pass");
  ASSERT_TRUE(p12) << p12.error().message;
  EXPECT_EQ(x509::load_pkcs12(*p12, "wrong").error().kind, ErrorKind::Unauthenticated);
  auto bundle = x509::load_pkcs12(*p12, "export-pass");
  ASSERT_TRUE(bundle) << bundle.error().message;
  ASSERT_TRUE(bundle->cert);
  EXPECT_EQ(bundle->cert->der(), info.cer);
  EXPECT_TRUE(same_key(bundle->key.get(), key_of("exported").key.get()));
  EXPECT_EQ(bundle->ca_chain.size(), 2u);

  // It imports back as the same certificate and key.
  auto back = vault->import_certificate("re-imported", core::as_string_view(*p12), "export-pass");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->cer, info.cer);
  EXPECT_EQ(back->thumbprint_sha256, info.thumbprint_sha256);

  auto unprotected = vault->export_pkcs12("exported", info.version, "");
  ASSERT_TRUE(unprotected);
  EXPECT_TRUE(x509::load_pkcs12(*unprotected, ""));
  EXPECT_EQ(vault->export_pkcs12("missing", "", "").error().kind, ErrorKind::NotFound);
}

TEST_F(VaultCertificatesTest, UpdateDisablesVersionAndItsKey) {
  const CertificateInfo v1 = create("c", ec_policy());
  clock.advance(5);
  auto updated = vault->update_certificate("c", v1.version, false, Tags{{"state", "off"}});
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_FALSE(updated->attributes.enabled);
  EXPECT_EQ(updated->tags, (Tags{{"state", "off"}}));
  EXPECT_EQ(updated->attributes.updated, kNow + 5);
  EXPECT_EQ(*vault->current_stamp("certificates", "c"), v1.version + ":0");
  auto secret = vault->get_secret_info("c");
  ASSERT_TRUE(secret);
  EXPECT_FALSE(secret->attributes.enabled);
  EXPECT_EQ(secret->tags, (Tags{{"state", "off"}}));

  ASSERT_TRUE(vault->update_certificate("c", "", true, std::nullopt));
  EXPECT_EQ(*vault->current_stamp("certificates", "c"), v1.version + ":1");
  EXPECT_EQ(vault->get_certificate("c")->tags, (Tags{{"state", "off"}}));
  EXPECT_EQ(vault->update_certificate("c", "00", true, std::nullopt).error().kind,
            ErrorKind::NotFound);
}

TEST_F(VaultCertificatesTest, PolicyUpdateIsChecked) {
  create("c", ec_policy());
  CertificatePolicy p = ec_policy("CN=renamed.example");
  p.issuer = "dev-ca";
  p.renew_at_lifetime_percentage = 80;
  ASSERT_TRUE(vault->update_certificate_policy("c", p));
  EXPECT_EQ(vault->get_certificate_policy("c")->subject, "CN=renamed.example");
  auto renewed = vault->renew_certificate("c");
  ASSERT_TRUE(renewed);
  EXPECT_EQ(renewed->subject, "CN=renamed.example");
  EXPECT_EQ(renewed->issuer_name, "dev-ca");

  p.issuer = "nobody";
  EXPECT_EQ(vault->update_certificate_policy("c", p).error().kind, ErrorKind::InvalidArgument);
  p.issuer = "Self";
  p.validity_months = 0;
  EXPECT_EQ(vault->update_certificate_policy("c", p).error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(vault->update_certificate_policy("missing", ec_policy()).error().kind,
            ErrorKind::NotFound);
}

TEST_F(VaultCertificatesTest, DeleteRecoverPurgeCarryTheManagedSecret) {
  const CertificateInfo v1 = create("c", ec_policy());
  clock.advance(3);
  auto deleted = vault->delete_certificate("c");
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(deleted->deletion.deleted, kNow + 3);
  EXPECT_EQ(deleted->deletion.scheduled_purge, kNow + 3 + 90 * kDay);
  EXPECT_EQ(deleted->current.version, v1.version);

  EXPECT_EQ(vault->get_certificate("c").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->get_certificate_with_key("c").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->get_secret("c").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->current_stamp("certificates", "c").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->list_certificates()->size(), 0u);
  EXPECT_EQ(vault->list_secrets()->size(), 0u);
  EXPECT_EQ(vault->create_certificate("c", ec_policy()).error().kind, ErrorKind::Conflict);
  EXPECT_EQ(vault->set_secret(test::new_secret("c", "x")).error().kind, ErrorKind::Conflict);
  EXPECT_EQ(vault->renew_certificate("c").error().kind, ErrorKind::NotFound);

  auto listed = vault->list_deleted_certificates();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].current.version, v1.version);
  EXPECT_EQ(vault->get_deleted_certificate("c")->deletion.deleted, kNow + 3);
  auto deleted_secrets = vault->list_deleted_secrets();
  ASSERT_EQ(deleted_secrets->size(), 1u);
  EXPECT_TRUE((*deleted_secrets)[0].current.managed);
  EXPECT_EQ(vault->purge_deleted_secret("c").error().kind, ErrorKind::Conflict);
  EXPECT_EQ(vault->recover_deleted_secret("c").error().kind, ErrorKind::Conflict);

  auto recovered = vault->recover_deleted_certificate("c");
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_EQ(recovered->version, v1.version);
  EXPECT_TRUE(vault->get_certificate_with_key("c"));
  EXPECT_TRUE(vault->get_secret("c"));

  ASSERT_TRUE(vault->delete_certificate("c"));
  ASSERT_TRUE(vault->purge_deleted_certificate("c"));
  EXPECT_EQ(vault->get_deleted_certificate("c").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->get_deleted_secret("c").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(vault->purge_deleted_certificate("c").error().kind, ErrorKind::NotFound);
  const CertificateInfo fresh = create("c", ec_policy());
  EXPECT_EQ(vault->list_certificate_versions("c")->size(), 1u);
  EXPECT_EQ(vault->list_secret_versions("c")->size(), 1u);
  EXPECT_NE(fresh.version, v1.version);
}

std::string database_bytes(const std::string& path) {
  std::string all;
  for (const char* suffix : {"", "-wal", "-journal"}) {
    std::ifstream in(path + suffix, std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

TEST(VaultCertificatesAtRest, PrivateKeysAreSealedAndRewrapped) {
  test::TempDir dir;
  const std::string path = dir.file("vault.db");
  gh::test::FixedClock clock(kNow);
  auto db = test::open_db(path);
  auto vault = test::open_store(db, test::master_key(0x11), clock);
  ASSERT_TRUE(vault->create_certificate("c", ec_policy()));
  auto with_key = vault->get_certificate_with_key("c");
  ASSERT_TRUE(with_key);
  auto key = crypto::load_private_key(with_key->pem);
  ASSERT_TRUE(key);
  // The PKCS#8 DER of the key, and a stretch of its PEM text: neither may be in the file.
  auto key_pem = crypto::private_key_pem(key->get());
  ASSERT_TRUE(key_pem);
  const std::string body = key_pem->substr(key_pem->find('\n') + 1, 48);
  std::string b64;
  for (const std::string_view line : {std::string_view(*key_pem)}) {
    size_t pos = line.find('\n') + 1;
    while (pos < line.size() && !line.substr(pos).starts_with("-----END")) {
      const size_t eol = line.find('\n', pos);
      b64.append(line.substr(pos, eol - pos));
      pos = eol + 1;
    }
  }
  auto der = core::base64_decode(b64);
  ASSERT_TRUE(der) << "test bug: PEM body";
  const std::string der_chunk(der->begin() + 8, der->begin() + 40);

  std::string bytes = database_bytes(path);
  const std::string cer(with_key->info.cer.begin(), with_key->info.cer.end());
  EXPECT_NE(bytes.find(cer), std::string::npos) << "the public certificate is stored in clear";
  EXPECT_EQ(bytes.find(body), std::string::npos);
  EXPECT_EQ(bytes.find(der_chunk), std::string::npos);
  EXPECT_EQ(bytes.find("PRIVATE KEY"), std::string::npos);

  ASSERT_TRUE(vault->rewrap(test::master_key(0x22)));
  auto renewed = vault->renew_certificate("c");
  ASSERT_TRUE(renewed);
  auto reopened = test::open_store(test::open_db(path), test::master_key(0x22), clock);
  auto old_version = reopened->get_certificate_with_key("c", with_key->info.version);
  ASSERT_TRUE(old_version) << old_version.error().message;
  EXPECT_EQ(old_version->pem, with_key->pem);
  EXPECT_TRUE(reopened->get_certificate_with_key("c"));
  auto with_old_key = test::open_store(test::open_db(path), test::master_key(0x11), clock);
  auto refused = with_old_key->get_certificate_with_key("c");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Crypto);
  EXPECT_EQ(with_old_key->export_pkcs12("c", "", "pw").error().kind, ErrorKind::Crypto);
  bytes = database_bytes(path);
  EXPECT_EQ(bytes.find(body), std::string::npos);
  EXPECT_EQ(bytes.find("PRIVATE KEY"), std::string::npos);
}

}  // namespace
}  // namespace gh::vault
