#include "support/test_pki.h"

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <stdexcept>

#include "crypto/digest.h"
#include "crypto/key.h"

namespace gh::test {
namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "TestPki: %s failed\n", what.c_str());
  std::abort();  // a broken fixture must not produce passing tests
}

void check(bool ok, const char* what) {
  if (!ok) die(what);
}

crypto::EvpPkeyPtr new_key(TestKeyType type) {
  auto key = type == TestKeyType::Rsa2048   ? crypto::generate_rsa(2048)
             : type == TestKeyType::Ed25519 ? crypto::generate_ed25519()
                                            : crypto::generate_ec("P-256");
  if (!key) die("key generation");
  return std::move(*key);
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  crypto::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  check(ext && X509_add_ext(cert, ext.get(), -1) == 1, OBJ_nid2sn(nid));
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

void write_file(const std::string& path, const std::string& data, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  check(static_cast<bool>(out), "writing a PKI file");
  ::chmod(path.c_str(), mode);
}

}  // namespace

std::string TestCert::cert_pem() const {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  check(bio && PEM_write_bio_X509(bio.get(), cert.get()) == 1, "PEM_write_bio_X509");
  return bio_string(bio.get());
}

std::string TestCert::key_pem() const {
  auto pem = crypto::private_key_pem(key.get());
  if (!pem) die("private_key_pem");
  return *pem;
}

core::Bytes TestCert::der() const {
  unsigned char* out = nullptr;
  int len = i2d_X509(cert.get(), &out);
  check(len > 0, "i2d_X509");
  core::Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

TestPki::TestPki(int64_t now) : now_(now) {
  constexpr int64_t kDay = 86400;
  root_ = issue(nullptr, {.cn = "Gatehouse Test Root CA",
                          .not_before = now - 365 * kDay,
                          .not_after = now + 3650 * kDay,
                          .is_ca = true});
  intermediate_ = issue(&root_, {.cn = "Gatehouse Test Issuing CA",
                                 .not_before = now - 365 * kDay,
                                 .not_after = now + 1825 * kDay,
                                 .is_ca = true,
                                 .path_len = 0});
  leaf_ = issue(&intermediate_, {.cn = "leaf.test",
                                 .dns = {"leaf.test", "*.wild.test"},
                                 .ips = {"127.0.0.1"},
                                 .ext_key_usage = "serverAuth"});
  client_ = issue(&intermediate_, {.cn = "client.test",
                                   .uris = {"spiffe://test/client"},
                                   .emails = {"client@test.example"},
                                   .ext_key_usage = "clientAuth"});
  expired_ = issue(&intermediate_, {.cn = "expired.test",
                                    .dns = {"expired.test"},
                                    .not_before = now - 31 * kDay,
                                    .not_after = now - kDay});
  not_yet_valid_ = issue(&intermediate_, {.cn = "future.test",
                                          .dns = {"future.test"},
                                          .not_before = now + kDay,
                                          .not_after = now + 31 * kDay});
  revoked_ = issue(&intermediate_, {.cn = "revoked.test", .dns = {"revoked.test"}});
  ocsp_responder_ = issue(&intermediate_,
                          {.cn = "Gatehouse Test OCSP Responder", .ext_key_usage = "OCSPSigning"});
  other_root_ = issue(nullptr, {.cn = "Untrusted Root CA",
                                .not_before = now - 365 * kDay,
                                .not_after = now + 3650 * kDay,
                                .is_ca = true});
  untrusted_leaf_ = issue(&other_root_, {.cn = "leaf.test", .dns = {"leaf.test"}});
}

TestCert TestPki::issue(const TestCert* issuer, const TestCertOptions& o) {
  TestCert out{crypto::X509Ptr(X509_new()), new_key(o.key_type)};
  X509* cert = out.cert.get();
  check(cert != nullptr, "X509_new");
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), o.serial ? o.serial : next_serial_++);
  const time_t nb = static_cast<time_t>(o.not_before ? o.not_before : now_ - 3600);
  const time_t na = static_cast<time_t>(o.not_after ? o.not_after : now_ + 30 * 86400);
  check(ASN1_TIME_set(X509_getm_notBefore(cert), nb) && ASN1_TIME_set(X509_getm_notAfter(cert), na),
        "validity");
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Gatehouse Tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(o.cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : cert;
  EVP_PKEY* signing_key = issuer ? issuer->key.get() : out.key.get();
  check(X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert)) == 1, "issuer name");
  check(X509_set_pubkey(cert, out.key.get()) == 1, "pubkey");
  if (o.is_ca) {
    std::string bc = "critical,CA:TRUE";
    if (o.path_len >= 0) bc += ",pathlen:" + std::to_string(o.path_len);
    add_ext(cert, issuer_cert, NID_basic_constraints, bc);
    add_ext(cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert, issuer_cert, NID_key_usage, "critical,digitalSignature");
  }
  if (!o.ext_key_usage.empty()) add_ext(cert, issuer_cert, NID_ext_key_usage, o.ext_key_usage);
  add_ext(cert, issuer_cert, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(cert, issuer_cert, NID_authority_key_identifier, "keyid:always");
  std::string san;
  auto append = [&san](const char* type, const std::vector<std::string>& values) {
    for (const auto& v : values)
      san += (san.empty() ? "" : ",") + std::string(type) + ":" + v;
  };
  append("DNS", o.dns);
  append("IP", o.ips);
  append("URI", o.uris);
  append("email", o.emails);
  if (!san.empty()) add_ext(cert, issuer_cert, NID_subject_alt_name, san);
  const bool pure = EVP_PKEY_get_base_id(signing_key) == EVP_PKEY_ED25519;  // no digest
  check(X509_sign(cert, signing_key, pure ? nullptr : crypto::md(crypto::DigestAlg::Sha256)) > 0,
        "X509_sign");
  return out;
}

std::string TestPki::make_crl(const TestCert& issuer, const std::vector<const TestCert*>& revoked,
                              int64_t this_update, int64_t next_update) const {
  crypto::X509CrlPtr crl(X509_CRL_new());
  check(crl && X509_CRL_set_version(crl.get(), 1) == 1, "X509_CRL_new");
  check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.cert.get())) == 1,
        "CRL issuer");
  crypto::Asn1TimePtr last(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update)));
  crypto::Asn1TimePtr next(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update)));
  check(X509_CRL_set1_lastUpdate(crl.get(), last.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl.get(), next.get()) == 1,
        "CRL times");
  for (const TestCert* r : revoked) {
    X509_REVOKED* entry = X509_REVOKED_new();
    crypto::Asn1TimePtr when(ASN1_TIME_set(nullptr, static_cast<time_t>(now_ - 3600)));
    check(entry && X509_REVOKED_set_serialNumber(entry, X509_get_serialNumber(r->cert.get())) &&
              X509_REVOKED_set_revocationDate(entry, when.get()) &&
              X509_CRL_add0_revoked(crl.get(), entry),
          "CRL entry");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer.cert.get(), nullptr, nullptr, crl.get(), 0);
  crypto::X509ExtensionPtr aki(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  check(aki && X509_CRL_add_ext(crl.get(), aki.get(), -1) == 1, "CRL AKI");
  X509_CRL_sort(crl.get());
  check(X509_CRL_sign(crl.get(), issuer.key.get(), crypto::md(crypto::DigestAlg::Sha256)) > 0,
        "X509_CRL_sign");
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  check(bio && PEM_write_bio_X509_CRL(bio.get(), crl.get()) == 1, "PEM_write_bio_X509_CRL");
  return bio_string(bio.get());
}

std::string TestPki::crl_pem() const {
  return make_crl(intermediate_, {&revoked_}, now_ - 3600, now_ + 7 * 86400) +
         make_crl(root_, {}, now_ - 3600, now_ + 7 * 86400);
}

core::Bytes TestPki::make_pkcs12(const TestCert& cert, const std::vector<const TestCert*>& chain,
                                 const std::string& password) const {
  crypto::X509StackPtr ca(sk_X509_new_null());
  for (const TestCert* c : chain)
    sk_X509_push(ca.get(), crypto::share(c->cert.get()).release());
  std::unique_ptr<PKCS12, crypto::OsslFree<&PKCS12_free>> p12(PKCS12_create(
      password.c_str(), "test", cert.key.get(), cert.cert.get(), ca.get(), 0, 0, 0, 0, 0));
  check(p12 != nullptr, "PKCS12_create");
  unsigned char* out = nullptr;
  int len = i2d_PKCS12(p12.get(), &out);
  check(len > 0, "i2d_PKCS12");
  core::Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

core::Bytes TestPki::make_ocsp_response(const TestCert& subject, const TestCert& issuer,
                                        const TestCert& signer, TestOcspStatus status,
                                        int64_t this_update, int64_t next_update) const {
  std::unique_ptr<OCSP_BASICRESP, crypto::OsslFree<&OCSP_BASICRESP_free>> basic(
      OCSP_BASICRESP_new());
  std::unique_ptr<OCSP_CERTID, crypto::OsslFree<&OCSP_CERTID_free>> id(
      OCSP_cert_to_id(crypto::md(crypto::DigestAlg::Sha1), subject.cert.get(), issuer.cert.get()));
  check(basic && id, "OCSP objects");
  crypto::Asn1TimePtr thisupd(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update)));
  crypto::Asn1TimePtr nextupd(next_update ? ASN1_TIME_set(nullptr, static_cast<time_t>(next_update))
                                          : nullptr);
  crypto::Asn1TimePtr revtime(ASN1_TIME_set(nullptr, static_cast<time_t>(now_ - 3600)));
  const int st = status == TestOcspStatus::Good      ? V_OCSP_CERTSTATUS_GOOD
                 : status == TestOcspStatus::Revoked ? V_OCSP_CERTSTATUS_REVOKED
                                                     : V_OCSP_CERTSTATUS_UNKNOWN;
  check(OCSP_basic_add1_status(
            basic.get(), id.get(), st,
            st == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
            st == V_OCSP_CERTSTATUS_REVOKED ? revtime.get() : nullptr, thisupd.get(),
            nextupd.get()) != nullptr,
        "OCSP_basic_add1_status");
  crypto::X509StackPtr certs(sk_X509_new_null());
  check(OCSP_basic_sign(basic.get(), signer.cert.get(), signer.key.get(),
                        crypto::md(crypto::DigestAlg::Sha256), certs.get(), 0) == 1,
        "OCSP_basic_sign");
  std::unique_ptr<OCSP_RESPONSE, crypto::OsslFree<&OCSP_RESPONSE_free>> resp(
      OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  check(resp != nullptr, "OCSP_response_create");
  unsigned char* out = nullptr;
  int len = i2d_OCSP_RESPONSE(resp.get(), &out);
  check(len > 0, "i2d_OCSP_RESPONSE");
  core::Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

TestPkiFiles write_test_pki_files() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/gh-pki-XXXXXX";
  check(::mkdtemp(templ.data()) != nullptr, "mkdtemp");
  TestPki pki(static_cast<int64_t>(std::time(nullptr)));
  TestCert server = pki.issue(&pki.root(), {.cn = "localhost",
                                            .dns = {"localhost"},
                                            .ips = {"127.0.0.1", "::1"},
                                            .ext_key_usage = "serverAuth"});
  TestCert client = pki.issue(
      &pki.root(),
      {.cn = "client.test", .uris = {"spiffe://test/client"}, .ext_key_usage = "clientAuth"});
  TestPkiFiles f{templ,
                 templ + "/ca.pem",
                 templ + "/server.pem",
                 templ + "/server.key",
                 templ + "/client.pem",
                 templ + "/client.key"};
  write_file(f.ca_cert, pki.root().cert_pem(), 0644);
  write_file(f.server_cert, server.cert_pem(), 0644);
  write_file(f.server_key, server.key_pem(), 0600);
  write_file(f.client_cert, client.cert_pem(), 0644);
  write_file(f.client_key, client.key_pem(), 0600);
  return f;
}

}  // namespace gh::test
