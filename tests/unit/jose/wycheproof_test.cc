// Wycheproof vectors. Signature files run three ways: through the crypto layer with the group's
// PEM key, with a PreparedVerifier (the context-duplicating path JWS uses), and through JWK
// import (publicKeyJwk) so the JOSE key path is covered too.
//
// "acceptable" results: the only such case in these files is RSA PKCS#1 "MissingNull" (a
// DigestInfo without the NULL parameter). We require rejection: the JWS signer always encodes
// NULL, so accepting the legacy form buys nothing and widens what verifies.

#include <gtest/gtest.h>

#include <optional>

#include "core/encoding.h"
#include "crypto/key.h"
#include "crypto/signature.h"
#include "jose/jws.h"
#include "jose/jwt_error.h"
#include "unit/jose/jose_fixtures.h"

namespace gh::jose {
namespace {

namespace json = boost::json;

struct Counts {
  int valid = 0, invalid = 0, acceptable = 0;
};

core::Bytes hex(const json::value& v) {
  auto b = core::hex_decode(std::string_view(v.as_string()));
  EXPECT_TRUE(b);
  return b ? *b : core::Bytes{};
}

Counts run_signature_file(const std::string& file, crypto::SignatureAlg alg,
                          const char* jwk_member) {
  Counts c;
  const auto doc = test::wycheproof(file);
  for (const auto& gv : doc.at("testGroups").as_array()) {
    const auto& g = gv.as_object();
    auto pem_key = crypto::load_public_key(std::string_view(g.at("publicKeyPem").as_string()));
    EXPECT_TRUE(pem_key) << file;
    if (!pem_key) continue;
    // A few ECDSA groups have no JWK form in the file; those run through the PEM key only.
    std::optional<Jwk> jwk;
    if (g.contains(jwk_member)) {
      auto parsed = Jwk::from_json(g.at(jwk_member).as_object());
      EXPECT_TRUE(parsed) << file << ": " << (parsed ? "" : parsed.error().message);
      if (!parsed) continue;
      jwk.emplace(std::move(*parsed));
    }
    // The pre-initialised context path (what JWS verification uses) must agree as well.
    auto prepared = crypto::PreparedVerifier::make(pem_key->get(), alg);
    EXPECT_TRUE(prepared) << file;
    if (!prepared) continue;
    for (const auto& tv : g.at("tests").as_array()) {
      const auto& t = tv.as_object();
      const auto msg = hex(t.at("msg"));
      const auto sig = hex(t.at("sig"));
      const std::string_view result = t.at("result").as_string();
      const bool via_pem = crypto::verify_signature(pem_key->get(), alg, msg, sig);
      const bool via_jwk = jwk ? crypto::verify_signature(jwk->pkey(), alg, msg, sig) : via_pem;
      EXPECT_EQ(prepared->verify(msg, sig), via_pem) << file << " " << json::serialize(t);
      const auto id = file + " tcId " + json::serialize(t.at("tcId")) + " (" +
                      std::string(t.at("comment").as_string()) + ")";
      if (result == "valid") {
        ++c.valid;
        EXPECT_TRUE(via_pem) << id;
        EXPECT_TRUE(via_jwk) << id;
      } else {
        (result == "acceptable" ? c.acceptable : c.invalid)++;
        EXPECT_FALSE(via_pem) << id;
        EXPECT_FALSE(via_jwk) << id;
      }
    }
  }
  return c;
}

TEST(Wycheproof, RsaPkcs1Sha256) {
  auto c =
      run_signature_file("rsa_signature_2048_sha256_test.json",
                         {crypto::SignatureScheme::RsaPkcs1, crypto::DigestAlg::Sha256}, "keyJwk");
  EXPECT_EQ(c.valid + c.invalid + c.acceptable, 259);
  EXPECT_GT(c.valid, 0);
}

TEST(Wycheproof, RsaPssSha256Salt32) {
  auto c = run_signature_file("rsa_pss_2048_sha256_mgf1_32_test.json",
                              {crypto::SignatureScheme::RsaPss, crypto::DigestAlg::Sha256},
                              "publicKeyJwk");
  EXPECT_EQ(c.valid + c.invalid + c.acceptable, 108);
}

TEST(Wycheproof, EcdsaP256P1363) {
  auto c = run_signature_file("ecdsa_secp256r1_sha256_p1363_test.json",
                              {crypto::SignatureScheme::EcdsaP1363, crypto::DigestAlg::Sha256},
                              "publicKeyJwk");
  EXPECT_EQ(c.valid + c.invalid + c.acceptable, 262);
}

TEST(Wycheproof, EcdsaP384P1363) {
  auto c = run_signature_file("ecdsa_secp384r1_sha384_p1363_test.json",
                              {crypto::SignatureScheme::EcdsaP1363, crypto::DigestAlg::Sha384},
                              "publicKeyJwk");
  EXPECT_EQ(c.valid + c.invalid + c.acceptable, 280);
}

TEST(Wycheproof, Ed25519) {
  auto c = run_signature_file("ed25519_test.json",
                              {crypto::SignatureScheme::Ed25519, crypto::DigestAlg::Sha512},
                              "publicKeyJwk");
  EXPECT_EQ(c.valid + c.invalid + c.acceptable, 151);
}

// json_web_key_test: each group is a key set (public when given, else private) and JWS tokens.
// A set that fails to load rejects every token in the group, which is what "invalid" requires.
TEST(Wycheproof, JsonWebKey) {
  const auto doc = test::wycheproof("json_web_key_test.json");
  int cases = 0;
  for (const auto& gv : doc.at("testGroups").as_array()) {
    const auto& g = gv.as_object();
    const auto& keyset = g.contains("public") ? g.at("public") : g.at("private");
    auto set = JwkSet::parse(json::serialize(keyset));
    for (const auto& tv : g.at("tests").as_array()) {
      const auto& t = tv.as_object();
      ++cases;
      const auto id = "tcId " + json::serialize(t.at("tcId")) + " (" +
                      std::string(t.at("comment").as_string()) + ")";
      const std::string_view result = t.at("result").as_string();
      bool ok = false;
      std::string why;
      if (set) {
        auto v = verify_compact(std::string_view(t.at("jws").as_string()), *set,
                                test::allow(AlgSet::all()));
        ok = v.has_value();
        if (!v) why = v.error().message;
        if (v) {
          EXPECT_EQ(core::as_string_view(v->payload), "foo") << id;
        }
      } else {
        why = set.error().message;
      }
      if (result == "valid") {
        EXPECT_TRUE(ok) << id << ": " << why;
      } else {
        EXPECT_FALSE(ok) << id;
      }
    }
  }
  EXPECT_EQ(cases, 26);
}

}  // namespace
}  // namespace gh::jose
