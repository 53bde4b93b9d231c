#include "http/head_writer.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <string>
#include <string_view>

namespace gh::http {
namespace {

template <bool IsRequest>
bhttp::header<IsRequest> parse_head(std::string_view raw) {
  bhttp::parser<IsRequest, bhttp::empty_body> p;
  p.eager(false);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(raw.data(), raw.size()), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(p.is_header_done());
  return p.release().base();
}

TEST(WriteRequestHead, ByteExactAndAlwaysHttp11) {
  auto h = parse_head<true>(
      "POST /orders?id=7 HTTP/1.0\r\nHost: backend:8080\r\nContent-Length: 3\r\n"
      "X-Multi: a\r\nx-multi: b\r\n\r\n");
  std::string out = "keep:";
  write_request_head(out, h);
  EXPECT_EQ(out,
            "keep:POST /orders?id=7 HTTP/1.1\r\nHost: backend:8080\r\nContent-Length: 3\r\n"
            "X-Multi: a\r\nx-multi: b\r\n\r\n");
}

TEST(WriteRequestHead, NonStandardMethodAndNoFields) {
  bhttp::request_header<> h;
  h.method_string("PURGE");
  h.target("/x");
  std::string out;
  write_request_head(out, h);
  EXPECT_EQ(out, "PURGE /x HTTP/1.1\r\n\r\n");
}

TEST(WriteResponseHead, ByteExactWithBackendReason) {
  auto h = parse_head<false>(
      "HTTP/1.1 201 Made It\r\nContent-Length: 0\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n");
  std::string out;
  write_response_head(out, h, 11);
  EXPECT_EQ(out,
            "HTTP/1.1 201 Made It\r\nContent-Length: 0\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
            "\r\n");
}

TEST(WriteResponseHead, Http10StatusLine) {
  auto h = parse_head<false>("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
  std::string out;
  write_response_head(out, h, 10);
  EXPECT_EQ(out, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
}

TEST(WriteResponseHead, EmptyReasonFallsBackToStandardOne) {
  auto h = parse_head<false>("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n");
  std::string out;
  write_response_head(out, h, 11);
  EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");

  bhttp::response_header<> built;
  built.result(bhttp::status::service_unavailable);
  out.clear();
  write_response_head(out, built, 11);
  EXPECT_EQ(out, "HTTP/1.1 503 Service Unavailable\r\n\r\n");

  for (unsigned code : {100u, 204u, 302u, 431u, 599u}) {
    bhttp::response_header<> r;
    r.result(code);
    out.clear();
    write_response_head(out, r, 11);
    EXPECT_EQ(out.substr(0, 13), "HTTP/1.1 " + std::to_string(code) + " ") << code;
    // Whatever the reason, the status line stays one well-formed line.
    EXPECT_EQ(out.find('\r'), out.size() - 4) << code;
    EXPECT_GT(out.find('\r'), 13u) << code;
  }
}

// A status code without a standard reason and an empty received reason stays empty (never
// Beast's "<unknown-status>" placeholder).
TEST(WriteResponseHead, UnregisteredStatusGetsEmptyReason) {
  auto h = parse_head<false>("HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n");
  std::string out;
  write_response_head(out, h, 11);
  EXPECT_EQ(out, "HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n");
}

TEST(ReasonPhrase, StandardOrEmpty) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(404), "Not Found");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(299), "");
  EXPECT_EQ(reason_phrase(418), "");
  EXPECT_EQ(reason_phrase(0), "");
  EXPECT_EQ(reason_phrase(1000), "");
}

TEST(WriteChunkSize, LowerCaseHex) {
  struct Case {
    size_t n;
    std::string_view line;
  };
  for (const auto& c : {Case{0, "0\r\n"}, Case{1, "1\r\n"}, Case{15, "f\r\n"}, Case{16, "10\r\n"},
                        Case{255, "ff\r\n"}, Case{8192, "2000\r\n"}, Case{0xabcdef, "abcdef\r\n"},
                        Case{SIZE_MAX, "ffffffffffffffff\r\n"}}) {
    std::string out = "x";
    write_chunk_size(out, c.n);
    EXPECT_EQ(out, "x" + std::string(c.line)) << c.n;
  }
}

}  // namespace
}  // namespace gh::http
