#include "core/encoding.h"

#include <gtest/gtest.h>

namespace gh::core {
namespace {

std::string str(const Bytes& b) {
  return {b.begin(), b.end()};
}

TEST(Base64Url, RoundTripsAllLengths) {
  std::string s;
  for (int i = 0; i < 64; ++i) {
    auto enc = base64url_encode(s);
    EXPECT_EQ(enc.find('='), std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec) << dec.error().message;
    EXPECT_EQ(str(*dec), s);
    s.push_back(static_cast<char>(i * 37));
  }
}

TEST(Base64Url, Rfc7515Example) {
  // RFC 7515 §3.3 protected header.
  EXPECT_EQ(base64url_encode(std::string_view("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}")),
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9");
}

TEST(Base64Url, RejectsPaddingForeignAlphabetAndNonCanonicalBits) {
  EXPECT_FALSE(base64url_decode("QQ=="));
  EXPECT_FALSE(base64url_decode("a+b/"));
  EXPECT_FALSE(base64url_decode("QR"));  // 'R' leaves non-zero trailing bits; "QQ" is canonical
  EXPECT_TRUE(base64url_decode("QQ"));
  EXPECT_FALSE(base64url_decode("Q"));  // length 1 mod 4
  EXPECT_FALSE(base64url_decode("QQ Q"));
}

TEST(Base64, PaddingRules) {
  EXPECT_EQ(str(*base64_decode("QQ==")), "A");
  EXPECT_FALSE(base64_decode("QQ"));
  EXPECT_EQ(str(*base64_decode("QQ", true)), "A");
  EXPECT_FALSE(base64_decode("Q==="));
  EXPECT_EQ(base64_encode(as_bytes("AB")), "QUI=");
}

TEST(Hex, EncodesBothCasesAndRejectsJunk) {
  const uint8_t b[] = {0x00, 0xab, 0xff};
  EXPECT_EQ(hex_encode(b), "00abff");
  EXPECT_EQ(hex_encode_upper(b), "00ABFF");
  EXPECT_EQ(*hex_decode("00ABff"), Bytes(std::begin(b), std::end(b)));
  EXPECT_FALSE(hex_decode("0"));
  EXPECT_FALSE(hex_decode("zz"));
}

}  // namespace
}  // namespace gh::core

namespace gh::core {
namespace {

TEST(PercentEncoding, KeepsOnlyUnreservedCharacters) {
  std::string out = "q=";
  append_percent_encoded(out, "a-Z_0.~ &/%\xff");
  EXPECT_EQ(out, "q=a-Z_0.~%20%26%2F%25%FF");
}

}  // namespace
}  // namespace gh::core
