#include "core/strings.h"

#include <gtest/gtest.h>

#include <string>

namespace gh::core {
namespace {

// iequals compares eight bytes at a time: the folding must be ASCII letters only, at every
// position of a word and in the tail, and never equate bytes that differ otherwise.
TEST(Strings, IequalsFoldsAsciiLettersOnly) {
  EXPECT_TRUE(iequals("Authorization", "authorization"));
  EXPECT_TRUE(iequals("OCP-APIM-SUBSCRIPTION-KEY", "Ocp-Apim-Subscription-Key"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Bearer", "Bearer "));
  EXPECT_FALSE(iequals("Authorization", "Authorizatioo"));

  // Every byte value at every offset of a 19-byte string (two words and a tail), against the
  // same string with that byte's ASCII case partner.
  for (int c = 0; c < 256; ++c) {
    const char byte = static_cast<char>(c);
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    for (size_t at = 0; at < 19; ++at) {
      std::string a(19, 'x');
      std::string b(19, 'x');
      a[at] = byte;
      b[at] = letter ? static_cast<char>(c ^ 0x20) : byte;
      EXPECT_TRUE(iequals(a, b)) << c << " at " << at;
      // Bytes that differ by the case bit but are not letters ('@' and '`', '[' and '{', 0xC1
      // and 0xE1) stay different.
      b[at] = static_cast<char>(c ^ 0x20);
      EXPECT_EQ(iequals(a, b), letter) << c << " at " << at;
      b[at] = static_cast<char>(c ^ 0x01);  // another byte, letter or not: never equal
      EXPECT_FALSE(iequals(a, b)) << c << " at " << at;
    }
  }
}

}  // namespace
}  // namespace gh::core
