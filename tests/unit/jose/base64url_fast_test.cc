#include "jose/base64url_fast.h"

#include <gtest/gtest.h>

#include <random>

namespace gh::jose {
namespace {

// The fast decoder must accept and produce exactly what core::base64url_decode does.
void expect_same(std::string_view text) {
  core::Bytes fast;
  const bool ok = decode_base64url(text, fast);
  auto reference = core::base64url_decode(text);
  ASSERT_EQ(ok, reference.has_value()) << "input: " << text;
  if (ok) {
    EXPECT_EQ(fast, *reference) << "input: " << text;
  }
}

TEST(Base64UrlFast, MatchesCoreOnEveryLengthAndCorruption) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 70; ++len) {
    core::Bytes data(len);
    for (auto& b : data)
      b = static_cast<uint8_t>(rng());
    const std::string text = core::base64url_encode(data);
    expect_same(text);
    for (size_t i = 0; i < text.size(); ++i) {
      for (char c : {'=', '+', '/', ' ', '\0', '\xff', 'A', '_'}) {
        std::string mutant = text;
        mutant[i] = c;
        expect_same(mutant);
      }
    }
    expect_same(text + "A");
    expect_same(text + "AA");
    expect_same(text + "AB");  // non-zero trailing bits
    expect_same(text + "AAB");
  }
}

}  // namespace
}  // namespace gh::jose
