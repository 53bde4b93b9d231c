#include "x509/forwarded_cert.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "support/test_pki.h"

namespace gh::x509 {
namespace {

// Independent encoders for building header values (not core::base64_encode).
std::string b64(const core::Bytes& der) {
  std::string out(4 * ((der.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), der.data(),
                          static_cast<int>(der.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// nginx's $ssl_client_escaped_cert: everything but unreserved characters percent-encoded.
std::string url_encode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class ForwardedCertTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static std::string sha1(const test::TestCert& c) {
    return Certificate(crypto::share(c.cert.get())).thumbprint_sha1();
  }
  static int code(ForwardedCertError e) { return static_cast<int>(e); }
  static test::TestPki* pki_;
};
test::TestPki* ForwardedCertTest::pki_ = nullptr;

TEST_F(ForwardedCertTest, Rfc9440ClientCert) {
  const std::string value = ":" + b64(pki_->client().der()) + ":";
  auto c = decode_rfc9440_client_cert(value);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->thumbprint_sha1(), sha1(pki_->client()));
  // Leading/trailing spaces, ignored parameters, missing padding are accepted.
  EXPECT_TRUE(decode_rfc9440_client_cert("  " + value + ";a=1;b;c=\"x\\\"y\";d=?0;e=tok/1  "));
  std::string unpadded = b64(pki_->client().der());
  while (unpadded.back() == '=')
    unpadded.pop_back();
  EXPECT_TRUE(decode_rfc9440_client_cert(":" + unpadded + ":"));
}

TEST_F(ForwardedCertTest, Rfc9440Malformed) {
  const std::string body = b64(pki_->client().der());
  struct Case {
    std::string value;
    ForwardedCertError error;
  };
  const std::vector<Case> cases = {
      {"", ForwardedCertError::Empty},
      {"   ", ForwardedCertError::Empty},
      {"::", ForwardedCertError::Empty},
      {body, ForwardedCertError::BadSyntax},                              // no colons
      {":" + body, ForwardedCertError::BadSyntax},                        // unterminated
      {":" + body + ": x", ForwardedCertError::BadSyntax},                // trailing garbage
      {":" + body + ":;A=1", ForwardedCertError::BadSyntax},              // upper-case key
      {":" + body + ":;a=\"open", ForwardedCertError::BadSyntax},         // bad string param
      {":" + body + ":, :" + body + ":", ForwardedCertError::BadSyntax},  // a list, not an item
      {":" + body.substr(0, 10) + "!" + body.substr(11) + ":", ForwardedCertError::BadEncoding},
      {":aGVsbG8=:", ForwardedCertError::NotCertificate},
  };
  for (const auto& c : cases) {
    auto r = decode_rfc9440_client_cert(c.value);
    ASSERT_FALSE(r) << c.value;
    EXPECT_EQ(r.error().detail, code(c.error)) << c.value << ": " << r.error().message;
  }
}

TEST_F(ForwardedCertTest, Rfc9440Chain) {
  const std::string value =
      ":" + b64(pki_->intermediate().der()) + ":, :" + b64(pki_->root().der()) + ":;x=1";
  auto chain = decode_rfc9440_client_cert_chain(value);
  ASSERT_TRUE(chain) << chain.error().message;
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ((*chain)[0].thumbprint_sha1(), sha1(pki_->intermediate()));
  EXPECT_EQ((*chain)[1].thumbprint_sha1(), sha1(pki_->root()));

  auto trailing = decode_rfc9440_client_cert_chain(":" + b64(pki_->root().der()) + ":,");
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().detail, code(ForwardedCertError::BadSyntax));
  auto missing_comma = decode_rfc9440_client_cert_chain(":" + b64(pki_->root().der()) +
                                                        ": :" + b64(pki_->root().der()) + ":");
  ASSERT_FALSE(missing_comma);
  EXPECT_EQ(missing_comma.error().detail, code(ForwardedCertError::BadSyntax));

  ForwardedCertLimits limits;
  limits.max_chain_certs = 1;
  auto too_many = decode_rfc9440_client_cert_chain(value, limits);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().detail, code(ForwardedCertError::TooMany));
  EXPECT_EQ(too_many.error().kind, ErrorKind::LimitExceeded);
}

TEST_F(ForwardedCertTest, Base64Der) {
  auto c = decode_base64_der_cert(b64(pki_->leaf().der()));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->thumbprint_sha1(), sha1(pki_->leaf()));
  auto bad = decode_base64_der_cert("not base64!");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().detail, code(ForwardedCertError::BadEncoding));
  std::string with_newline = b64(pki_->leaf().der());
  with_newline.insert(64, "\n");
  EXPECT_FALSE(decode_base64_der_cert(with_newline));
  auto not_cert = decode_base64_der_cert("aGVsbG8gd29ybGQ=");
  ASSERT_FALSE(not_cert);
  EXPECT_EQ(not_cert.error().detail, code(ForwardedCertError::NotCertificate));
  // Two concatenated DER certificates are not one certificate.
  core::Bytes two = pki_->leaf().der();
  core::Bytes root = pki_->root().der();
  two.insert(two.end(), root.begin(), root.end());
  EXPECT_FALSE(decode_base64_der_cert(b64(two)));
}

TEST_F(ForwardedCertTest, UrlEncodedPem) {
  auto c = decode_url_encoded_pem_cert(url_encode(pki_->client().cert_pem()));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->thumbprint_sha1(), sha1(pki_->client()));

  auto bad_escape = decode_url_encoded_pem_cert("-----BEGIN%20CERT%2");
  ASSERT_FALSE(bad_escape);
  EXPECT_EQ(bad_escape.error().detail, code(ForwardedCertError::BadEncoding));
  auto bad_hex = decode_url_encoded_pem_cert("%ZZ");
  ASSERT_FALSE(bad_hex);
  EXPECT_EQ(bad_hex.error().detail, code(ForwardedCertError::BadEncoding));
  auto not_pem = decode_url_encoded_pem_cert("hello");
  ASSERT_FALSE(not_pem);
  EXPECT_EQ(not_pem.error().detail, code(ForwardedCertError::NotCertificate));
  auto two =
      decode_url_encoded_pem_cert(url_encode(pki_->client().cert_pem() + pki_->root().cert_pem()));
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().detail, code(ForwardedCertError::TooMany));
  auto key = decode_url_encoded_pem_cert(url_encode(pki_->client().key_pem()));
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().detail, code(ForwardedCertError::NotCertificate));
}

TEST_F(ForwardedCertTest, XfccGrammar) {
  auto els = parse_xfcc(
      "By=spiffe://a;Hash=abc;Subject=\"CN=x,O=y\";URI=spiffe://c,"
      "BY=spiffe://b ; hash=def ; Subject=\"say \\\"hi\\\" \\\\ ok\";DNS=a.test;DNS=b.test");
  ASSERT_TRUE(els) << els.error().message;
  ASSERT_EQ(els->size(), 2u);
  EXPECT_EQ(*(*els)[0].find("by"), "spiffe://a");
  EXPECT_EQ(*(*els)[0].find("subject"), "CN=x,O=y");
  EXPECT_EQ(*(*els)[1].find("by"), "spiffe://b");
  EXPECT_EQ(*(*els)[1].find("hash"), "def");
  EXPECT_EQ(*(*els)[1].find("subject"), "say \"hi\" \\ ok");
  EXPECT_EQ((*els)[1].fields.size(), 5u);
  EXPECT_EQ((*els)[1].find("cert"), nullptr);

  for (const char* bad : {"By", "=x", "By=a;;", "By=\"open", "By=\"a\"b", "By=a=b", "By=\"\\x\"",
                          "B y=a", "By=a,", "By=\"a\" x"}) {
    auto r = parse_xfcc(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().detail, code(ForwardedCertError::BadSyntax)) << bad;
  }
  ForwardedCertLimits limits;
  limits.max_xfcc_elements = 2;
  auto too_many = parse_xfcc("By=a,By=b,By=c", limits);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().detail, code(ForwardedCertError::TooMany));
}

TEST_F(ForwardedCertTest, XfccTakesTheLastElementsCert) {
  const std::string far = "By=spiffe://far;Cert=\"" + url_encode(pki_->leaf().cert_pem()) + "\"";
  const std::string near =
      "By=spiffe://near;Hash=00;Cert=\"" + url_encode(pki_->client().cert_pem()) + "\"";
  auto c = decode_xfcc_cert(far + "," + near);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->thumbprint_sha1(), sha1(pki_->client()));
  // Unquoted Cert values work too (the percent-encoding removes , ; = and ").
  auto unquoted = decode_xfcc_cert("Cert=" + url_encode(pki_->leaf().cert_pem()));
  ASSERT_TRUE(unquoted) << unquoted.error().message;
  EXPECT_EQ(unquoted->thumbprint_sha1(), sha1(pki_->leaf()));

  auto missing = decode_xfcc_cert(far + ",By=spiffe://near;Hash=00");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().detail, code(ForwardedCertError::MissingCert));
  auto garbage = decode_xfcc_cert("Cert=\"abc\"");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().detail, code(ForwardedCertError::NotCertificate));
}

TEST_F(ForwardedCertTest, OversizedValuesAreRejectedBeforeParsing) {
  ForwardedCertLimits limits;
  limits.max_value_bytes = 100;
  const std::string big(101, 'A');
  for (auto format : {ForwardedCertFormat::Rfc9440, ForwardedCertFormat::Base64Der,
                      ForwardedCertFormat::UrlEncodedPem, ForwardedCertFormat::EnvoyXfcc}) {
    auto r = decode_forwarded_cert(format, big, limits);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, code(ForwardedCertError::TooLarge));
    EXPECT_EQ(r.error().kind, ErrorKind::LimitExceeded);
  }
  auto chain = decode_rfc9440_client_cert_chain(big, limits);
  ASSERT_FALSE(chain);
  EXPECT_EQ(chain.error().detail, code(ForwardedCertError::TooLarge));
  // The default limit admits a real certificate in every encoding.
  EXPECT_TRUE(decode_forwarded_cert(ForwardedCertFormat::UrlEncodedPem,
                                    url_encode(pki_->leaf().cert_pem())));
}

TEST_F(ForwardedCertTest, DispatchMatchesEachDecoder) {
  const std::string der64 = b64(pki_->leaf().der());
  const std::string pem = url_encode(pki_->leaf().cert_pem());
  const auto expected = sha1(pki_->leaf());
  EXPECT_EQ(
      decode_forwarded_cert(ForwardedCertFormat::Rfc9440, ":" + der64 + ":")->thumbprint_sha1(),
      expected);
  EXPECT_EQ(decode_forwarded_cert(ForwardedCertFormat::Base64Der, der64)->thumbprint_sha1(),
            expected);
  EXPECT_EQ(decode_forwarded_cert(ForwardedCertFormat::UrlEncodedPem, pem)->thumbprint_sha1(),
            expected);
  EXPECT_EQ(decode_forwarded_cert(ForwardedCertFormat::EnvoyXfcc, "Cert=\"" + pem + "\"")
                ->thumbprint_sha1(),
            expected);
  // Formats are not interchangeable.
  EXPECT_FALSE(decode_forwarded_cert(ForwardedCertFormat::Base64Der, ":" + der64 + ":"));
  EXPECT_FALSE(decode_forwarded_cert(ForwardedCertFormat::Rfc9440, der64));
}

}  // namespace
}  // namespace gh::x509
