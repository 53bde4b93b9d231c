#include "identity/secret_hash.h"

#include <gtest/gtest.h>

#include <set>

#include "core/encoding.h"

namespace gh::identity {
namespace {

// Cheap parameters keep the suite fast; the default (ln=15) is exercised once below.
constexpr ScryptParams kFast{10, 8, 1};

TEST(Scrypt, Rfc7914Vector2) {
  // RFC 7914 §12: scrypt(P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64).
  auto out = scrypt("password", core::as_bytes("NaCl"), ScryptParams{10, 8, 16}, 64);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(core::hex_encode(*out),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(Scrypt, Rfc7914Vector3) {
  // RFC 7914 §12: scrypt(P="pleaseletmein", S="SodiumChloride", N=16384, r=8, p=1, dkLen=64).
  auto out = scrypt("pleaseletmein", core::as_bytes("SodiumChloride"), ScryptParams{14, 8, 1}, 64);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(core::hex_encode(*out),
            "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
            "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887");
}

TEST(SecretHash, DefaultParametersRoundTrip) {
  auto phc = hash_secret("correct horse battery staple");
  ASSERT_TRUE(phc) << phc.error().message;
  EXPECT_EQ(phc->rfind("$scrypt$ln=15,r=8,p=1$", 0), 0u) << *phc;
  auto ok = verify_secret("correct horse battery staple", *phc);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(*ok);
}

TEST(SecretHash, WrongSecretDoesNotVerify) {
  auto phc = hash_secret("s3cret-value", kFast);
  ASSERT_TRUE(phc);
  for (std::string_view wrong : {"s3cret-valuE", "s3cret-valu", "s3cret-value ", ""}) {
    auto ok = verify_secret(wrong, *phc);
    ASSERT_TRUE(ok);
    EXPECT_FALSE(*ok) << wrong;
  }
  EXPECT_TRUE(*verify_secret("s3cret-value", *phc));
}

TEST(SecretHash, SaltIsFreshAndHashHasNoSecret) {
  auto a = hash_secret("same-secret", kFast);
  auto b = hash_secret("same-secret", kFast);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find("same-secret"), std::string::npos);
  EXPECT_EQ(a->find('='), a->find("ln=") + 2);  // no base64 padding anywhere else
}

TEST(SecretHash, OtherStoredParametersStillVerify) {
  auto phc = hash_secret("x", ScryptParams{11, 4, 2});
  ASSERT_TRUE(phc);
  EXPECT_EQ(phc->rfind("$scrypt$ln=11,r=4,p=2$", 0), 0u);
  EXPECT_TRUE(*verify_secret("x", *phc));
}

TEST(SecretHash, ParametersOutOfRangeAreRefused) {
  EXPECT_FALSE(hash_secret("x", ScryptParams{9, 8, 1}));
  EXPECT_FALSE(hash_secret("x", ScryptParams{21, 8, 1}));
  EXPECT_FALSE(hash_secret("x", ScryptParams{15, 0, 1}));
  EXPECT_FALSE(hash_secret("x", ScryptParams{15, 8, 17}));
}

TEST(SecretHash, CostlyParameterCombinationsAreRefused) {
  // Each parameter is within its own range, but together they cost gigabytes or minutes; seen
  // while writing the phc_hash fuzz target (a stored "ln=20,r=32,p=16" meant 4 GiB and ~2000x
  // the work of the default).
  EXPECT_FALSE(scrypt_params_allowed(ScryptParams{20, 32, 16}));
  EXPECT_FALSE(scrypt_params_allowed(ScryptParams{20, 8, 1}));    // 1 GiB
  EXPECT_FALSE(scrypt_params_allowed(ScryptParams{15, 32, 16}));  // 128 MiB but 128x the work
  EXPECT_TRUE(scrypt_params_allowed(ScryptParams{18, 8, 1}));     // 256 MiB, 8x the work
  EXPECT_TRUE(scrypt_params_allowed(ScryptParams{15, 8, 16}));    // 32 MiB, 16x the work
  EXPECT_TRUE(scrypt_params_allowed(ScryptParams{}));
  EXPECT_FALSE(hash_secret("x", ScryptParams{20, 32, 16}));

  auto good = hash_secret("x", kFast);
  ASSERT_TRUE(good);
  const std::string salt_and_hash = good->substr(good->find('$', 8));
  for (const char* params : {"ln=20,r=32,p=16", "ln=20,r=8,p=1", "ln=15,r=32,p=16"}) {
    const std::string phc = std::string("$scrypt$") + params + salt_and_hash;
    auto r = verify_secret("x", phc);  // refused before hashing: returns at once
    ASSERT_FALSE(r) << phc;
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument) << phc;
  }
}

TEST(SecretHash, ParsePhcReadsWhatHashSecretWrites) {
  auto phc = hash_secret("x", ScryptParams{11, 4, 2});
  ASSERT_TRUE(phc);
  auto parsed = parse_phc(*phc);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->params.log2_n, 11);
  EXPECT_EQ(parsed->params.r, 4);
  EXPECT_EQ(parsed->params.p, 2);
  EXPECT_EQ(parsed->salt.size(), 16u);
  EXPECT_EQ(parsed->hash.size(), 32u);
  auto again = scrypt("x", parsed->salt, parsed->params, parsed->hash.size());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, parsed->hash);
}

TEST(SecretHash, MalformedStringsAreInvalidArgument) {
  auto good = hash_secret("x", kFast);
  ASSERT_TRUE(good);
  const std::string salt_and_hash = good->substr(good->find('$', 8));
  const std::string bad[] = {
      "",
      "plain",
      "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
      "$scrypt$",
      "$scrypt$ln=10,r=8,p=1",
      "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0",
      "$scrypt$ln=10,r=8$" + salt_and_hash.substr(1),
      "$scrypt$r=8,ln=10,p=1" + salt_and_hash,
      "$scrypt$ln=ten,r=8,p=1" + salt_and_hash,
      "$scrypt$ln=10,r=8,p=1,x=1" + salt_and_hash,
      "$scrypt$ln=99,r=8,p=1" + salt_and_hash,
      "$scrypt$ln=10,r=8,p=1$!!!$AAAAAAAAAAAAAAAAAAAAAA",
      "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaA==",                         // padded
      "$scrypt$ln=10,r=8,p=1$c2Fs$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  // short salt
      "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaA",                           // short hash
      *good + "$extra",
  };
  for (const auto& phc : bad) {
    auto r = verify_secret("x", phc);
    ASSERT_FALSE(r) << phc;
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument) << phc;
  }
}

TEST(GenerateSecret, LengthAlphabetAndUniqueness) {
  std::set<std::string> seen;
  std::set<char> chars;
  for (int i = 0; i < 200; ++i) {
    auto s = generate_secret();
    ASSERT_EQ(s.size(), 40u);
    EXPECT_EQ(
        s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-"),
        std::string::npos)
        << s;
    EXPECT_TRUE(seen.insert(s).second);
    chars.insert(s.begin(), s.end());
  }
  // 8000 draws over 66 symbols: every symbol appears (missing one has probability ~1e-50).
  EXPECT_EQ(chars.size(), 66u);
}

}  // namespace
}  // namespace gh::identity
