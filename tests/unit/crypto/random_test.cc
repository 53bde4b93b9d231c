#include "crypto/random.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace gh::crypto {
namespace {

TEST(RandomUuid, IsCanonicalVersion4AndUnique) {
  const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 256; ++i) {
    auto id = random_uuid();
    EXPECT_TRUE(std::regex_match(id, v4)) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(RandomHex, LengthAndAlphabet) {
  auto h = random_hex(16);
  EXPECT_EQ(h.size(), 32u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(random_hex(16), h);
}

}  // namespace
}  // namespace gh::crypto
