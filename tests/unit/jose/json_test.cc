#include "jose/json.h"

#include <gtest/gtest.h>

#include <string>

#include "jose/jwt_error.h"

namespace gh::jose {
namespace {

JwtError code_of(std::string_view text, const JsonLimits& limits = {}) {
  auto r = parse_strict_json(text, limits);
  return r ? JwtError::None : jwt_error(r.error());
}

TEST(StrictJson, ParsesValidDocuments) {
  auto v = parse_strict_json_object(R"({"a":1,"b":[true,null,"x"],"c":{"d":2.5}})");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->at("a").as_int64(), 1);
  EXPECT_EQ(v->at("c").as_object().at("d").as_double(), 2.5);
}

TEST(StrictJson, RejectsDuplicateMemberNames) {
  EXPECT_EQ(code_of(R"({"alg":"RS256","alg":"none"})"), JwtError::Malformed);
  EXPECT_EQ(code_of(R"({"a":{"x":1,"x":2}})"), JwtError::Malformed);
  // Same name in different objects is fine, and so are names that differ by case.
  EXPECT_EQ(code_of(R"({"x":{"x":1},"y":{"x":2},"X":3})"), JwtError::None);
  // Escapes are compared after decoding: "a" and "\u0061" are the same name.
  EXPECT_EQ(code_of(R"({"a":1,"\u0061":2})"), JwtError::Malformed);
}

TEST(StrictJson, DuplicateDetectionScalesToLargeObjects) {
  std::string big = "{";
  for (int i = 0; i < 3000; ++i)
    big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  std::string unique = big;
  unique.back() = '}';
  EXPECT_EQ(code_of(unique), JwtError::None);
  big += "\"k1234\":0}";
  EXPECT_EQ(code_of(big), JwtError::Malformed);
}

TEST(StrictJson, RejectsNonStandardSyntax) {
  EXPECT_EQ(code_of(R"({"a":1,})"), JwtError::Malformed);         // trailing comma
  EXPECT_EQ(code_of("{\"a\":1 /* c */}"), JwtError::Malformed);   // comment
  EXPECT_EQ(code_of("{\"a\":\"\xff\"}"), JwtError::Malformed);    // invalid UTF-8
  EXPECT_EQ(code_of(R"({"a":1} {"b":2})"), JwtError::Malformed);  // two documents
  EXPECT_EQ(code_of(R"({"a":1}x)"), JwtError::Malformed);
  EXPECT_EQ(code_of(""), JwtError::Malformed);
  EXPECT_EQ(code_of("{'a':1}"), JwtError::Malformed);
  EXPECT_FALSE(parse_strict_json_object("[1,2]"));
}

TEST(StrictJson, EnforcesSizeAndDepth) {
  JsonLimits small;
  small.max_bytes = 10;
  EXPECT_EQ(code_of(R"({"abcdefgh":1})", small), JwtError::TooLarge);
  std::string deep(20, '[');
  deep += std::string(20, ']');
  EXPECT_EQ(code_of(deep), JwtError::TooLarge);
  JsonLimits deeper;
  deeper.max_depth = 32;
  EXPECT_EQ(code_of(deep, deeper), JwtError::None);
}

}  // namespace
}  // namespace gh::jose
