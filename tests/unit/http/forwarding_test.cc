#include "http/forwarding.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace gh::http {
namespace {

TEST(ValidRequestId, Rules) {
  EXPECT_TRUE(valid_request_id("a"));
  EXPECT_TRUE(valid_request_id("0f8fad5b-d9cb-469f-a165-70867728950e"));
  EXPECT_TRUE(valid_request_id("!~{}[]\"'"));
  EXPECT_TRUE(valid_request_id(std::string(200, 'x')));
  EXPECT_FALSE(valid_request_id(std::string(201, 'x')));
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_FALSE(valid_request_id("a b"));
  EXPECT_FALSE(valid_request_id("a\tb"));
  EXPECT_FALSE(valid_request_id("a\r\nX-Injected: 1"));
  EXPECT_FALSE(valid_request_id(std::string_view("a\0b", 3)));
  EXPECT_FALSE(valid_request_id("a\x7f"));
  EXPECT_FALSE(valid_request_id("caf\xc3\xa9"));
}

}  // namespace
}  // namespace gh::http
