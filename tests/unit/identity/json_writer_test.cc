#include "identity/json_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <random>
#include <string>

namespace gh::identity {
namespace {

std::string escaped(std::string_view s) {
  std::string out;
  append_json_escaped(out, s);
  return out;
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(escaped("plain text / ok"), "plain text / ok");
  EXPECT_EQ(escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escaped("\n\r\t\b\f"), "\\n\\r\\t\\b\\f");
  EXPECT_EQ(escaped(std::string_view("\x00\x01\x1f\x7f", 4)), "\\u0000\\u0001\\u001f\x7f");
}

TEST(JsonWriterTest, ValidUtf8IsCopiedInvalidBytesAreReplaced) {
  EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
  EXPECT_EQ(escaped("\xc0\xaf"), "\\ufffd\\ufffd");                        // overlong '/'
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");             // UTF-16 surrogate
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");  // > U+10FFFF
  EXPECT_EQ(escaped("x\xe2\x82"), "x\\ufffd\\ufffd");                      // truncated at the end
  EXPECT_EQ(escaped("\xe2\x82x"), "\\ufffd\\ufffdx");
}

TEST(JsonWriterTest, OutputIsAlwaysValidJsonForRandomBytes) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    std::string s(rng() % 40, '\0');
    for (char& c : s)
      c = static_cast<char>(rng() & 0xff);
    std::string doc;
    append_json_string(doc, s);
    boost::system::error_code ec;
    auto v = boost::json::parse(doc, ec);
    ASSERT_FALSE(ec) << "round " << round;
    ASSERT_TRUE(v.is_string());
    // Whatever is valid (here: every byte below 0x80) comes back unchanged.
    if (std::all_of(s.begin(), s.end(), [](char c) { return (c & 0x80) == 0; })) {
      EXPECT_EQ(v.as_string(), s);
    }
  }
}

TEST(JsonWriterTest, IntegersAndTimes) {
  std::string out;
  append_json_int(out, -42);
  out += ' ';
  append_json_int(out, 9223372036854775807LL);
  EXPECT_EQ(out, "-42 9223372036854775807");
  out.clear();
  append_utc_time(out, 1795417166, 'T');
  EXPECT_EQ(out, "2026-11-23T06:59:26");
  out.clear();
  append_utc_time(out, 1646245526, ' ');
  EXPECT_EQ(out, "2022-03-02 18:25:26");
}

}  // namespace
}  // namespace gh::identity
