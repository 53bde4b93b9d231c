#include "jose/jws.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/encoding.h"
#include "crypto/hmac.h"
#include "crypto/key.h"
#include "crypto/signature.h"
#include "jose/jwt_error.h"
#include "unit/jose/jose_fixtures.h"

namespace gh::jose {
namespace {

namespace json = boost::json;
using test::allow;

JwtError code_of(const Result<VerifiedJws>& r) {
  return r ? JwtError::None : jwt_error(r.error());
}

std::string b64(std::string_view s) {
  return core::base64url_encode(s);
}

// A token with an arbitrary header and payload, signed by `key` under the header's alg.
std::string forge(const Jwk& key, JwsAlg alg, const std::string& header_json,
                  std::string_view payload = R"({"sub":"x"})") {
  const std::string input = b64(header_json) + "." + b64(payload);
  core::Bytes sig;
  if (key.family() == KeyFamily::Oct) {
    sig = *crypto::hmac(digest_alg(alg), key.secret(), core::as_bytes(input));
  } else {
    sig = *crypto::sign_data(key.pkey(), signature_alg(alg), core::as_bytes(input));
  }
  return input + "." + core::base64url_encode(sig);
}

class RfcVectors : public ::testing::TestWithParam<const char*> {};

TEST_P(RfcVectors, VerifyAndReproduce) {
  const auto v = test::vector(GetParam());
  auto key = Jwk::from_json(v.at("jwk").as_object());
  ASSERT_TRUE(key) << key.error().message;
  const std::string token(v.at("jws").as_string());
  auto alg = parse_alg(std::string_view(decode_compact(token)->header.at("alg").as_string()));
  ASSERT_TRUE(alg);
  auto set = test::set_of(std::move(*key));
  auto verified = verify_compact(token, set, allow({*alg}));
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(core::as_string_view(verified->payload), v.at("payload").as_string());
  EXPECT_EQ(verified->alg, *alg);

  // Signing the same header and payload again gives the RFC's token for deterministic algs.
  const auto& k = set.keys().front();
  const auto decoded = decode_compact(token);
  const std::string input(decoded->signing_input);
  core::Bytes sig;
  if (k.family() == KeyFamily::Oct) {
    sig = *crypto::hmac(digest_alg(*alg), k.secret(), core::as_bytes(input));
  } else {
    sig = *crypto::sign_data(k.pkey(), signature_alg(*alg), core::as_bytes(input));
  }
  const std::string again = input + "." + core::base64url_encode(sig);
  if (v.at("deterministic").as_bool()) {
    EXPECT_EQ(again, token);
  } else {
    EXPECT_TRUE(verify_compact(again, set, allow({*alg})));
  }
  // One flipped signature bit fails.
  std::string bad = token;
  bad[bad.size() - 3] = bad[bad.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(code_of(verify_compact(bad, set, allow({*alg}))), JwtError::BadSignature);
}

INSTANTIATE_TEST_SUITE_P(Jose, RfcVectors,
                         ::testing::Values("rfc7515_a1_hs256.json", "rfc7515_a2_rs256.json",
                                           "rfc7515_a3_es256.json", "rfc8037_a4_ed25519.json",
                                           "rfc7520_4_1_rs256.json", "rfc7520_4_2_ps384.json",
                                           "rfc7520_4_3_es512.json", "rfc7520_4_4_hs256.json"));

struct AlgCase {
  JwsAlg alg;
  const char* key;
};

class RoundTrip : public ::testing::TestWithParam<AlgCase> {};

TEST_P(RoundTrip, SignThenVerifyWithPublicKey) {
  const auto [alg, kind] = GetParam();
  Jwk priv = test::private_jwk(kind, "k1");
  auto token = sign_compact(core::as_bytes(std::string_view("hello")), priv, alg);
  ASSERT_TRUE(token) << token.error().message;
  auto set = test::set_of(test::public_of(priv));
  auto v = verify_compact(*token, set, allow({alg}));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->kid, "k1");
  EXPECT_EQ(core::as_string_view(v->payload), "hello");
  // The same token under an allow-list without its alg is refused before any crypto.
  AlgSet others = AlgSet::all();
  others = {};
  for (int a = 0; a <= static_cast<int>(JwsAlg::EdDSA); ++a) {
    if (static_cast<JwsAlg>(a) != alg) others.add(static_cast<JwsAlg>(a));
  }
  EXPECT_EQ(code_of(verify_compact(*token, set, allow(others))), JwtError::AlgNotAllowed);
}

INSTANTIATE_TEST_SUITE_P(
    Jose, RoundTrip,
    ::testing::Values(AlgCase{JwsAlg::RS256, "RSA"}, AlgCase{JwsAlg::RS384, "RSA"},
                      AlgCase{JwsAlg::RS512, "RSA"}, AlgCase{JwsAlg::PS256, "RSA"},
                      AlgCase{JwsAlg::PS384, "RSA"}, AlgCase{JwsAlg::PS512, "RSA"},
                      AlgCase{JwsAlg::ES256, "P-256"}, AlgCase{JwsAlg::ES384, "P-384"},
                      AlgCase{JwsAlg::ES512, "P-521"}, AlgCase{JwsAlg::EdDSA, "Ed25519"}));

TEST(Jws, HmacRoundTripNeedsExplicitOctKey) {
  core::Bytes secret(32, 0x42);
  auto key = Jwk::from_secret(secret, {});
  ASSERT_TRUE(key);
  auto token = sign_compact(core::as_bytes(std::string_view("{}")), *key, JwsAlg::HS256);
  ASSERT_TRUE(token);
  auto set = test::set_of(std::move(*key));
  EXPECT_TRUE(verify_compact(*token, set, allow(AlgSet::all())));
  // The default allow-list is asymmetric only: HS* must be asked for.
  EXPECT_EQ(code_of(verify_compact(*token, set)), JwtError::AlgNotAllowed);
}

// --- Attack suite (RFC 8725) ---

class Attacks : public ::testing::Test {
 protected:
  Jwk rsa_ = test::private_jwk("RSA", "rsa1");
  JwkSet set_ = test::set_of(test::public_of(rsa_));
};

TEST_F(Attacks, AlgNoneInAnyCaseIsRejected) {
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    const std::string header = std::string(R"({"alg":")") + none + R"(","kid":"rsa1"})";
    for (const std::string sig : {"", "AAAA"}) {
      const std::string token = b64(header) + "." + b64(R"({"sub":"x"})") + "." + sig;
      EXPECT_EQ(code_of(verify_compact(token, set_, allow(AlgSet::all()))),
                JwtError::UnsupportedAlg)
          << none;
    }
  }
  const std::string no_alg = b64(R"({"kid":"rsa1"})") + "." + b64("{}") + ".AAAA";
  EXPECT_EQ(code_of(verify_compact(no_alg, set_)), JwtError::UnsupportedAlg);
  const std::string num_alg = b64(R"({"alg":256})") + "." + b64("{}") + ".AAAA";
  EXPECT_EQ(code_of(verify_compact(num_alg, set_)), JwtError::Malformed);
}

TEST_F(Attacks, HmacWithRsaPublicKeyAsSecretIsRejected) {
  // The classic confusion: HMAC keyed with the verifier's RSA public key (PEM and DER forms).
  auto pem = crypto::public_key_pem(rsa_.pkey());
  ASSERT_TRUE(pem);
  auto as_secret = Jwk::from_secret(core::Bytes(pem->begin(), pem->end()), {});
  ASSERT_TRUE(as_secret);
  const std::string token = forge(*as_secret, JwsAlg::HS256, R"({"alg":"HS256","kid":"rsa1"})");
  // Even with HS256 allowed, the rsa1 key cannot verify an HMAC.
  EXPECT_EQ(code_of(verify_compact(token, set_, allow(AlgSet::all()))), JwtError::KeyMismatch);
  const std::string no_kid = forge(*as_secret, JwsAlg::HS256, R"({"alg":"HS256"})");
  EXPECT_EQ(code_of(verify_compact(no_kid, set_, allow(AlgSet::all()))), JwtError::NoMatchingKey);
}

TEST_F(Attacks, EmbeddedKeysAndKeyUrlsAreIgnored) {
  // An attacker signs with their own key and ships it in jwk / x5c / jku / x5u.
  Jwk attacker = test::private_jwk("P-256", "rsa1");
  auto pub = attacker.to_public_json();
  ASSERT_TRUE(pub);
  json::object h;
  h["alg"] = "ES256";
  h["kid"] = "rsa1";
  h["jwk"] = *pub;
  h["jku"] = "https://attacker.example/jwks";
  h["x5u"] = "https://attacker.example/cert.pem";
  h["x5c"] = json::array{"MIIB"};
  const std::string token = forge(attacker, JwsAlg::ES256, json::serialize(h));
  EXPECT_EQ(code_of(verify_compact(token, set_, allow(AlgSet::all()))), JwtError::KeyMismatch);
  h.erase("kid");
  const std::string no_kid = forge(attacker, JwsAlg::ES256, json::serialize(h));
  EXPECT_EQ(code_of(verify_compact(no_kid, set_, allow(AlgSet::all()))), JwtError::NoMatchingKey);
  // Signed by the real key with the same decoy headers: verifies with the set's key only.
  h["alg"] = "RS256";
  const std::string real = forge(rsa_, JwsAlg::RS256, json::serialize(h));
  auto ok = verify_compact(real, set_);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->kid, "rsa1");
}

TEST_F(Attacks, UnknownCritIsRejected) {
  const std::string t1 = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256","crit":["exp"],"exp":1})");
  EXPECT_EQ(code_of(verify_compact(t1, set_)), JwtError::UnsupportedCrit);
  const std::string t2 =
      forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256","crit":["b64"],"b64":false})");
  EXPECT_EQ(code_of(verify_compact(t2, set_)), JwtError::UnsupportedCrit);
  const std::string t3 = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256","crit":[]})");
  EXPECT_EQ(code_of(verify_compact(t3, set_)), JwtError::Malformed);
}

TEST_F(Attacks, UnknownKidIsReportedForRefresh) {
  const std::string t = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256","kid":"rotated"})");
  EXPECT_EQ(code_of(verify_compact(t, set_)), JwtError::UnknownKey);
  const std::string noisy =
      forge(rsa_, JwsAlg::RS256,
            R"({"alg":"RS256","kid":"a\nFAKE LOG LINE)" + std::string(200, 'x') + "\"}");
  auto r = verify_compact(noisy, set_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
  EXPECT_LT(r.error().message.size(), 120u);
  const std::string bad_kid = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256","kid":7})");
  EXPECT_EQ(code_of(verify_compact(bad_kid, set_)), JwtError::Malformed);
}

TEST_F(Attacks, KeysWithoutKidAreTriedForAnUnknownKid) {
  std::vector<Jwk> keys;
  keys.push_back(test::public_of(test::private_jwk("RSA")));  // same key material, no kid
  auto set = JwkSet::from_keys(std::move(keys));
  const std::string t = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256","kid":"whatever"})");
  EXPECT_TRUE(verify_compact(t, *set));
  Jwk other = test::private_jwk("P-256");
  const std::string bad = forge(other, JwsAlg::ES256, R"({"alg":"ES256","kid":"whatever"})");
  EXPECT_EQ(code_of(verify_compact(bad, *set)), JwtError::UnknownKey);
}

TEST_F(Attacks, NoKidTriesEveryKeyOfTheRightType) {
  std::vector<Jwk> keys;
  keys.push_back(test::public_of(test::private_jwk("P-256", "ec")));
  keys.push_back(test::public_of(rsa_));
  auto set = JwkSet::from_keys(std::move(keys));
  ASSERT_TRUE(set);
  const std::string t = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256"})");
  auto v = verify_compact(t, *set);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->kid, "rsa1");
}

TEST_F(Attacks, MalformedBase64AndJson) {
  const std::string good = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256"})");
  const auto d1 = good.find('.');
  // Padding, the standard alphabet, whitespace and non-canonical trailing bits.
  for (const std::string& mutant : {good.substr(0, d1) + "=" + good.substr(d1),
                                    "+" + good.substr(1), " " + good, good + "\n"}) {
    EXPECT_EQ(code_of(verify_compact(mutant, set_)), JwtError::Malformed) << mutant.substr(0, 20);
  }
  EXPECT_EQ(code_of(verify_compact(b64("eyJ") + "." + b64("{}") + ".AAAA", set_)),
            JwtError::Malformed);
  EXPECT_EQ(code_of(verify_compact(b64(R"(["RS256"])") + "." + b64("{}") + ".AAAA", set_)),
            JwtError::Malformed);
  const std::string dup = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256","alg":"HS256"})");
  EXPECT_EQ(code_of(verify_compact(dup, set_)), JwtError::Malformed);
}

TEST_F(Attacks, OversizedInputs) {
  const std::string huge_payload(70 * 1024, 'a');
  const std::string t = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256"})", huge_payload);
  EXPECT_EQ(code_of(verify_compact(t, set_)), JwtError::TooLarge);
  const std::string huge_token(kMaxTokenBytes + 1, 'a');
  EXPECT_EQ(code_of(verify_compact(huge_token, set_)), JwtError::TooLarge);
  std::string deep = R"({"alg":"RS256","x":)" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(code_of(verify_compact(forge(rsa_, JwsAlg::RS256, deep), set_)), JwtError::TooLarge);
}

TEST_F(Attacks, SegmentCount) {
  const std::string good = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256"})");
  EXPECT_TRUE(verify_compact(good, set_));
  EXPECT_EQ(code_of(verify_compact(good + ".", set_)), JwtError::Malformed);
  EXPECT_EQ(code_of(verify_compact(good + ".AAAA.BBBB", set_)), JwtError::Malformed);
  EXPECT_EQ(code_of(verify_compact(good.substr(0, good.rfind('.')), set_)), JwtError::Malformed);
  EXPECT_EQ(code_of(verify_compact("", set_)), JwtError::Malformed);
  EXPECT_EQ(code_of(verify_compact("..", set_)), JwtError::Malformed);
}

TEST_F(Attacks, TruncatedAndEmptySignatures) {
  const std::string good = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256"})");
  const std::string input = good.substr(0, good.rfind('.') + 1);
  std::string sig = good.substr(good.rfind('.') + 1);
  EXPECT_EQ(code_of(verify_compact(input, set_)), JwtError::BadSignature);
  auto rsa_raw = *core::base64url_decode(sig);
  rsa_raw.resize(rsa_raw.size() - 3);
  EXPECT_EQ(code_of(verify_compact(input + core::base64url_encode(rsa_raw), set_)),
            JwtError::BadSignature);
  Jwk ec = test::private_jwk("P-256", "ec");
  auto ec_set = test::set_of(test::public_of(ec));
  const std::string et = forge(ec, JwsAlg::ES256, R"({"alg":"ES256"})");
  const std::string ein = et.substr(0, et.rfind('.') + 1);
  auto raw = *core::base64url_decode(et.substr(et.rfind('.') + 1));
  raw.pop_back();
  EXPECT_EQ(code_of(verify_compact(ein + core::base64url_encode(raw), ec_set)),
            JwtError::BadSignature);
}

TEST_F(Attacks, EcdsaZeroSignatureIsRejected) {
  // CVE-2022-21449 ("psychic signatures"): r = s = 0 must never verify.
  Jwk ec = test::private_jwk("P-256", "ec");
  auto ec_set = test::set_of(test::public_of(ec));
  const std::string input = b64(R"({"alg":"ES256"})") + "." + b64(R"({"sub":"x"})");
  const core::Bytes zeros(64, 0);
  EXPECT_EQ(code_of(verify_compact(input + "." + core::base64url_encode(zeros), ec_set)),
            JwtError::BadSignature);
  EXPECT_FALSE(crypto::ecdsa_p1363_to_der(zeros, 32));
}

TEST_F(Attacks, WrongCurveKeyIsRejected) {
  // ES256 header, but the only key is P-384 (and the token was signed with P-384).
  Jwk p384 = test::private_jwk("P-384", "ec");
  auto set = test::set_of(test::public_of(p384));
  const std::string input = b64(R"({"alg":"ES256","kid":"ec"})") + "." + b64("{}");
  auto sig = crypto::sign_data(p384.pkey(), signature_alg(JwsAlg::ES384), core::as_bytes(input));
  ASSERT_TRUE(sig);
  EXPECT_EQ(code_of(verify_compact(input + "." + core::base64url_encode(*sig), set,
                                   allow(AlgSet::all()))),
            JwtError::KeyMismatch);
}

TEST_F(Attacks, KeyMetadataRestrictsUse) {
  auto pub = *rsa_.to_public_json();
  pub["alg"] = "PS256";
  std::vector<Jwk> keys;
  keys.push_back(*Jwk::from_json(pub));
  auto set = JwkSet::from_keys(std::move(keys));
  const std::string t = forge(rsa_, JwsAlg::RS256, R"({"alg":"RS256","kid":"rsa1"})");
  EXPECT_EQ(code_of(verify_compact(t, *set)), JwtError::KeyMismatch);
  pub["alg"] = "RS256";
  pub["use"] = "enc";
  keys.clear();
  keys.push_back(*Jwk::from_json(pub));
  set = JwkSet::from_keys(std::move(keys));
  EXPECT_EQ(code_of(verify_compact(t, *set)), JwtError::KeyMismatch);
}

TEST(JwsSign, RefusesToOverrideAlgOrUsePublicKeys) {
  Jwk priv = test::private_jwk("P-256");
  json::object extra;
  extra["alg"] = "none";
  EXPECT_FALSE(sign_compact(core::as_bytes(std::string_view("x")), priv, JwsAlg::ES256, extra));
  Jwk pub = test::public_of(priv);
  EXPECT_FALSE(sign_compact(core::as_bytes(std::string_view("x")), pub, JwsAlg::ES256));
  EXPECT_FALSE(sign_compact(core::as_bytes(std::string_view("x")), priv, JwsAlg::RS256));
}

}  // namespace
}  // namespace gh::jose
