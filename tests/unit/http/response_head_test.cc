// ResponseHeadParser: the same verdicts, head and body as Beast's response parser, with the
// fields kept flat and the body delivered through a caller's buffer.

#include "http/response_head.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/response_parse.h"

namespace gh::http {
namespace {

using test::canonical;
using test::parse_with_beast;
using test::parse_with_ours;
using test::ParsedResponse;

void expect_same(const ParsedResponse& ours, const ParsedResponse& beast) {
  EXPECT_EQ(ours.ok, beast.ok);
  const ParsedResponse a = canonical(ours), b = canonical(beast);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.fields, b.fields);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.keep_alive, b.keep_alive);
  EXPECT_EQ(a.chunked, b.chunked);
  EXPECT_EQ(a.head, b.head);
}

const std::vector<std::string> kResponses = {
    "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Wed, 25 Nov 2026 03:00:00 GMT\r\n"
    "Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: t\r\n\r\n",
    "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 599 Custom Reason Here\r\nContent-Length: 4\r\nVia: 1.0 upstream\r\n\r\nbody",
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nclose-delimited body",
    "HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: secret\r\nContent-Length: 2\r\n\r\nhi",
    "HTTP/1.1 204 No Content\r\nX-Empty:\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",  // refused by both
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",                    // truncated
    // Field syntax at its edges: values with inner, leading and trailing blanks and obs-text;
    // every field Beast frames a response by; folding, a bare CR or LF, a control byte, a space
    // before the colon, an empty name, a CR in the reason; an interim and a 304 response.
    "HTTP/1.1 200 OK\r\nX-A:  a \t b \t\r\nX-B:\t\r\nX-C: caf\xc3\xa9\r\nContent-Length: "
    "1\r\n\r\nx",
    "HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nUpgrade: h2c\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: keep-alive, X-A\r\n"
    "X-A: 1\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 200 OK\r\nX-A: a\nX-B: b\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 200 O\rK\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.1 100 Continue\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n",
    // Found by the fuzz target: Beast groups same-named fields, the head keeps arrival order.
    "HTTP/1.1 200 OKngth: 3\r\nConnection: keep-aliv\r\nSerngth: 3\r\nConnection: "
    "keep-alive\r\n\r\nok\n",
};

TEST(ResponseHeadParser, AgreesWithBeastWholeAndInPiecesWithSmallBodyBuffers) {
  ResponseHead head;  // reused, as per connection: nothing may carry over
  for (const auto& raw : kResponses) {
    const ParsedResponse beast = parse_with_beast(raw);
    for (size_t step : {raw.size(), size_t{1}, size_t{7}}) {
      for (size_t room : {size_t{1}, size_t{3}, size_t{4096}}) {
        SCOPED_TRACE(raw + " step " + std::to_string(step) + " room " + std::to_string(room));
        expect_same(parse_with_ours(
                        raw, head, [step] { return step; }, [room] { return room; }),
                    beast);
      }
    }
  }
}

TEST(ResponseHeadParser, KeepsFieldsInArrivalOrderWithTheirOwnSpelling) {
  ResponseHead head;
  const ParsedResponse p = parse_with_ours(
      kResponses.back(), head, [] { return 1000; }, [] { return 64; });
  ASSERT_TRUE(p.ok);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"Connection", "keep-aliv"}, {"Serngth", "3"}, {"Connection", "keep-alive"}};
  EXPECT_EQ(p.fields, expected);
  EXPECT_EQ(p.reason, "OKngth: 3");
  EXPECT_EQ(p.body, "ok\n");
}

TEST(ResponseHeadParser, DropsTrailerFieldsAndKeepsTheChunkedBody) {
  ResponseHead head;
  const ParsedResponse p = parse_with_ours(
      kResponses[1], head, [] { return 1000; }, [] { return 64; });
  ASSERT_TRUE(p.ok);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"Transfer-Encoding", "chunked"}, {"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(p.fields, expected);
  EXPECT_EQ(p.body, "hello, world");
}

TEST(ResponseHeadParser, ABodyWithNoBufferSetWaitsForOne) {
  ResponseHead head;
  ResponseHeadParser p(head);
  boost::system::error_code ec;
  const std::string raw = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  size_t used = p.put(boost::asio::buffer(raw), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(p.is_header_done());
  EXPECT_EQ(head.size(), 1u);
  used += p.put(boost::asio::buffer(raw.data() + used, raw.size() - used), ec);
  EXPECT_EQ(ec, bhttp::error::need_buffer);
  char out[8];
  p.set_body_buffer(out, sizeof out);
  p.put(boost::asio::buffer(raw.data() + used, raw.size() - used), ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(p.is_done());
  EXPECT_EQ(std::string_view(out, sizeof out - p.body_room()), "abc");
}

}  // namespace
}  // namespace gh::http
