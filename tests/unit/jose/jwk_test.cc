#include "jose/jwk.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <boost/json.hpp>

#include "crypto/digest.h"
#include "jose/jwk_set.h"
#include "jose/jwt_error.h"
#include "unit/jose/jose_fixtures.h"

namespace gh::jose {
namespace {

namespace json = boost::json;

JwtError code_of(const Result<Jwk>& r) {
  return r ? JwtError::None : jwt_error(r.error());
}

// The public key set of the Wycheproof json_web_key group with this comment.
json::object wycheproof_key(std::string_view comment) {
  static const auto doc = test::wycheproof("json_web_key_test.json");
  for (const auto& g : doc.at("testGroups").as_array()) {
    if (g.at("comment").as_string() == comment && g.as_object().contains("public")) {
      return g.at("public").at("keys").at(0).as_object();
    }
  }
  ADD_FAILURE() << "no group " << comment;
  return {};
}

// A self-signed certificate for `key` (DER), enough to exercise x5c.
core::Bytes self_signed(const EVP_PKEY* key) {
  crypto::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("jwk test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(key));
  X509_sign(cert.get(), const_cast<EVP_PKEY*>(key), EVP_sha256());
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert.get(), &der);
  core::Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

TEST(Jwk, PublicExportRoundTripsAndNeverLeaksPrivateMembers) {
  for (const char* kind : {"RSA", "P-256", "P-384", "P-521", "Ed25519"}) {
    Jwk priv = test::private_jwk(kind, "k");
    EXPECT_TRUE(priv.is_private());
    auto pub = priv.to_public_json();
    ASSERT_TRUE(pub) << kind;
    for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "k"}) {
      EXPECT_FALSE(pub->contains(secret)) << kind << " " << secret;
    }
    auto back = Jwk::from_json(*pub);
    ASSERT_TRUE(back) << kind << ": " << back.error().message;
    EXPECT_FALSE(back->is_private());
    EXPECT_EQ(EVP_PKEY_eq(back->pkey(), priv.pkey()), 1) << kind;
    EXPECT_EQ(*back->thumbprint(), *priv.thumbprint());
  }
}

TEST(Jwk, ThumbprintMatchesRfc7638Example) {
  auto k = Jwk::parse(
      R"({"kty":"RSA","e":"AQAB","alg":"RS256","kid":"2011-04-29","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"})");
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(*k->thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(Jwk, RejectsWeakRsaKeys) {
  auto small = Jwk::from_json(wycheproof_key("keysize_too_small"));
  ASSERT_FALSE(small);
  EXPECT_EQ(jwt_error(small.error()), JwtError::InvalidKey);
  EXPECT_NE(small.error().message.find("1024"), std::string::npos);
  auto e1 = Jwk::from_json(wycheproof_key("exponentOne"));
  ASSERT_FALSE(e1);
  EXPECT_NE(e1.error().message.find("exponent"), std::string::npos);
  auto roca = Jwk::from_json(wycheproof_key("jws_rsa_roca_key"));
  ASSERT_FALSE(roca);
  EXPECT_NE(roca.error().message.find("ROCA"), std::string::npos);
  // A sound key of the same size passes the ROCA test.
  EXPECT_TRUE(Jwk::from_json(*test::private_jwk("RSA").to_public_json()));
}

TEST(Jwk, RejectsInvalidEcKeys) {
  auto off_curve = Jwk::from_json(wycheproof_key("invalid_point"));
  EXPECT_EQ(code_of(off_curve), JwtError::InvalidKey);
  auto wrong_curve = Jwk::from_json(wycheproof_key("wrong_curve"));  // P-256 coords, crv P-384
  EXPECT_EQ(code_of(wrong_curve), JwtError::InvalidKey);
  auto pub = *test::private_jwk("P-256").to_public_json();
  pub["crv"] = "secp256k1";
  EXPECT_EQ(code_of(Jwk::from_json(pub)), JwtError::InvalidKey);
  pub["crv"] = "P-256";
  // A leading zero byte makes the coordinate 33 bytes: RFC 7518 requires exactly 32.
  auto x = *core::base64url_decode(std::string_view(pub["x"].as_string()));
  x.insert(x.begin(), 0);
  pub["x"] = core::base64url_encode(x);
  EXPECT_EQ(code_of(Jwk::from_json(pub)), JwtError::InvalidKey);
}

TEST(Jwk, RejectsMalformedMembers) {
  EXPECT_EQ(code_of(Jwk::parse(R"({"kty":"oct"})")), JwtError::InvalidKey);
  EXPECT_EQ(code_of(Jwk::parse(R"({"kty":"oct","k":""})")), JwtError::InvalidKey);
  EXPECT_EQ(code_of(Jwk::parse(R"({"kty":"oct","k":"AAAA="})")), JwtError::InvalidKey);
  EXPECT_EQ(code_of(Jwk::parse(R"({"kty":"oct","k":"AAAA","kid":5})")), JwtError::InvalidKey);
  EXPECT_EQ(code_of(Jwk::parse(R"({"kty":"oct","k":"AAAA","key_ops":["sign","sign"]})")),
            JwtError::InvalidKey);
  EXPECT_EQ(code_of(Jwk::parse(R"({"kty":"XYZ"})")), JwtError::InvalidKey);
  EXPECT_EQ(code_of(Jwk::parse(R"({"k":"AAAA"})")), JwtError::InvalidKey);
  EXPECT_EQ(code_of(Jwk::parse(R"({"kty":"OKP","crv":"X25519","x":"AAAA"})")),
            JwtError::InvalidKey);
  EXPECT_EQ(code_of(Jwk::parse(R"({"kty":"oct","k":"AAAA","kty":"oct"})")), JwtError::Malformed);
  EXPECT_EQ(code_of(Jwk::parse(R"({"kty":"RSA","e":"AQAB"})")), JwtError::InvalidKey);
}

TEST(Jwk, X5cMustHoldTheSameKeyAndThumbprintsMustMatch) {
  Jwk rsa = test::private_jwk("RSA", "c1");
  const core::Bytes der = self_signed(rsa.pkey());
  auto pub = *rsa.to_public_json();
  pub["x5c"] = json::array{json::string(core::base64_encode(der))};
  auto ok = Jwk::from_json(pub);
  ASSERT_TRUE(ok) << ok.error().message;
  const auto t = crypto::sha1(der);
  EXPECT_EQ(ok->x5t(), core::Bytes(t.begin(), t.end()));
  EXPECT_EQ(ok->x5c().size(), 1u);
  auto exported = *ok->to_public_json();
  EXPECT_EQ(exported.at("x5t").as_string(), core::base64url_encode(t));
  EXPECT_TRUE(exported.contains("x5t#S256"));

  auto wrong_t = pub;
  wrong_t["x5t"] = core::base64url_encode(core::Bytes(20, 1));
  EXPECT_EQ(code_of(Jwk::from_json(wrong_t)), JwtError::InvalidKey);

  auto other = *test::private_jwk("P-256").to_public_json();
  other["x5c"] = pub["x5c"];
  EXPECT_EQ(code_of(Jwk::from_json(other)), JwtError::InvalidKey);

  auto not_b64 = pub;
  not_b64["x5c"] = json::array{"@@@"};
  EXPECT_EQ(code_of(Jwk::from_json(not_b64)), JwtError::InvalidKey);

  JwkMetadata meta;
  meta.kid = "c1";
  meta.use = "sig";
  meta.alg = "RS256";
  meta.x5c.push_back(der);
  auto built = Jwk::from_pkey(crypto::share(const_cast<EVP_PKEY*>(rsa.pkey())), meta);
  ASSERT_TRUE(built);
  auto published = *built->to_public_json();
  for (const char* m : {"kty", "use", "alg", "kid", "n", "e", "x5c", "x5t"}) {
    EXPECT_TRUE(published.contains(m)) << m;
  }
}

TEST(Jwk, CheckUsable) {
  Jwk ec = test::private_jwk("P-256");
  EXPECT_TRUE(ec.check_usable(JwsAlg::ES256, true));
  EXPECT_FALSE(ec.check_usable(JwsAlg::ES384, false));
  EXPECT_FALSE(ec.check_usable(JwsAlg::RS256, false));
  EXPECT_FALSE(ec.check_usable(JwsAlg::HS256, false));
  auto pub = *ec.to_public_json();
  pub["key_ops"] = json::array{"verify"};
  auto v = *Jwk::from_json(pub);
  EXPECT_TRUE(v.check_usable(JwsAlg::ES256, false));
  EXPECT_FALSE(v.check_usable(JwsAlg::ES256, true));
  auto short_hmac = *Jwk::from_secret(core::Bytes(31, 7), {});
  auto r = short_hmac.check_usable(JwsAlg::HS256, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(jwt_error(r.error()), JwtError::InvalidKey);
  EXPECT_TRUE(Jwk::from_secret(core::Bytes(48, 7), {})->check_usable(JwsAlg::HS384, false));
}

TEST(JwkSet, IndexesByKidAndSkipsUnusableKeys) {
  json::array keys;
  keys.push_back(*test::private_jwk("RSA", "a").to_public_json());
  keys.push_back(*test::private_jwk("P-256", "b").to_public_json());
  keys.push_back(wycheproof_key("keysize_too_small"));
  keys.push_back(json::object{{"kty", "OKP"}, {"crv", "X448"}, {"x", "AAAA"}, {"kid", "c"}});
  const std::string doc = json::serialize(json::object{{"keys", keys}});
  auto set = JwkSet::parse(doc);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->keys().size(), 2u);
  EXPECT_EQ(set->skipped().size(), 2u);
  ASSERT_NE(set->find("b"), nullptr);
  EXPECT_EQ(set->find("b")->family(), KeyFamily::Ec);
  EXPECT_EQ(set->find("c"), nullptr);
  auto again = JwkSet::parse(doc);
  EXPECT_NE(set->id(), again->id());
  auto published = JwkSet::parse(*set->to_public_json());
  ASSERT_TRUE(published);
  EXPECT_EQ(published->keys().size(), 2u);
}

TEST(JwkSet, RejectsAmbiguousSets) {
  json::array dup;
  dup.push_back(*test::private_jwk("RSA", "same").to_public_json());
  dup.push_back(*test::private_jwk("P-256", "same").to_public_json());
  EXPECT_FALSE(JwkSet::parse(json::serialize(json::object{{"keys", dup}})));
  json::array mixed;
  mixed.push_back(*test::private_jwk("P-256", "ec").to_public_json());
  mixed.push_back(json::object{{"kty", "oct"}, {"k", core::base64url_encode(core::Bytes(32, 1))}});
  EXPECT_FALSE(JwkSet::parse(json::serialize(json::object{{"keys", mixed}})));
  EXPECT_FALSE(JwkSet::parse(R"({"keys":[]})"));
  EXPECT_FALSE(JwkSet::parse(R"({"kty":"oct","k":"AAAA"})"));
  EXPECT_FALSE(JwkSet::parse(R"({"keys":{}})"));
}

}  // namespace
}  // namespace gh::jose
