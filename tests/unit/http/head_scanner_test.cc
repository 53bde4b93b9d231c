#include "http/head_scanner.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gh::http {
namespace {

using State = HeadScanner::State;

struct Outcome {
  State state = State::NeedMore;
  size_t head_size = 0;
  size_t leading = 0;
  ProxyError error = ProxyError::BadRequest;
  std::string reason;
  // How many bytes had been handed to the scanner when it gave its verdict.
  size_t fed = 0;
};

Outcome outcome_of(const HeadScanner& s, State st, size_t fed) {
  return {st, s.head_size(), s.leading_skip(), s.error(), std::string(s.reason()), fed};
}

// The whole input in one call, as when a single read carries the full head.
Outcome scan_whole(std::string_view in, const HeadLimits& limits = {}) {
  HeadScanner s(limits);
  return outcome_of(s, s.scan(in), in.size());
}

// The input grows one byte per call; stops at the first verdict.
Outcome scan_bytewise(std::string_view in, const HeadLimits& limits = {}) {
  HeadScanner s(limits);
  State st = State::NeedMore;
  size_t n = 0;
  while (st == State::NeedMore && n < in.size()) {
    ++n;
    st = s.scan(in.substr(0, n));
  }
  return outcome_of(s, st, n);
}

// Both feeding patterns must agree; returns the one-piece result.
Outcome scan(std::string_view in, const HeadLimits& limits = {}) {
  Outcome whole = scan_whole(in, limits);
  Outcome bytes = scan_bytewise(in, limits);
  EXPECT_EQ(whole.state, bytes.state) << in;
  EXPECT_EQ(whole.head_size, bytes.head_size) << in;
  EXPECT_EQ(whole.leading, bytes.leading) << in;
  if (whole.state == State::Rejected) {
    EXPECT_EQ(whole.error, bytes.error) << in;
    EXPECT_EQ(whole.reason, bytes.reason) << in;
  }
  return whole;
}

constexpr std::string_view kGet =
    "GET /orders/17?x=1 HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n\r\n";

TEST(HeadScanner, CompleteHeadInOnePieceAndByteByByte) {
  auto whole = scan_whole(kGet);
  EXPECT_EQ(whole.state, State::Complete);
  EXPECT_EQ(whole.head_size, kGet.size());
  EXPECT_EQ(whole.leading, 0u);
  auto bytes = scan_bytewise(kGet);
  EXPECT_EQ(bytes.state, State::Complete);
  EXPECT_EQ(bytes.head_size, kGet.size());
  // Byte-wise, the verdict comes exactly with the final LF, not earlier.
  EXPECT_EQ(bytes.fed, kGet.size());
}

TEST(HeadScanner, NeedsMoreUntilTheBlankLine) {
  const HeadLimits limits;  // the scanner keeps a reference: it must outlive the scanner
  HeadScanner s(limits);
  for (size_t n = 0; n < kGet.size(); ++n) {
    ASSERT_EQ(s.scan(kGet.substr(0, n)), State::NeedMore) << n;
  }
  EXPECT_EQ(s.scan(kGet), State::Complete);
}

TEST(HeadScanner, HeadWithoutHeaderFieldsIsComplete) {
  constexpr std::string_view in = "GET / HTTP/1.0\r\n\r\n";
  auto r = scan(in);
  EXPECT_EQ(r.state, State::Complete);
  EXPECT_EQ(r.head_size, in.size());
}

TEST(HeadScanner, HeadSizePointsPastBlankLineWithPipelinedBytes) {
  const std::string first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  const std::string in = first + "hello" + "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  auto r = scan(in);
  ASSERT_EQ(r.state, State::Complete);
  EXPECT_EQ(r.head_size, first.size());
  EXPECT_EQ(in.substr(r.head_size, 5), "hello");
}

TEST(HeadScanner, HeadSizeWithBodyBytesThatLookLikeErrors) {
  // Bytes after the head are the body: a NUL or bare LF there is not the scanner's business.
  const std::string first = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
  const std::string in = first + std::string("\0\n\r", 3);
  auto r = scan(in);
  ASSERT_EQ(r.state, State::Complete);
  EXPECT_EQ(r.head_size, first.size());
}

TEST(HeadScanner, LeadingEmptyLinesAreSkipped) {
  const std::string in = "\r\n\r\n" + std::string(kGet);
  auto r = scan(in);
  ASSERT_EQ(r.state, State::Complete);
  EXPECT_EQ(r.leading, 4u);
  EXPECT_EQ(r.head_size, in.size());
  EXPECT_EQ(in.substr(r.leading, r.head_size - r.leading), kGet);
}

TEST(HeadScanner, LeadingBareLfIsRejected) {
  auto r = scan("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(r.state, State::Rejected);
  EXPECT_EQ(r.error, ProxyError::BadRequest);
}

// Skipped leading empty lines are buffered like the head, so they count towards its limit
// (an endless stream of CRLFs is refused, not buffered forever).
TEST(HeadScanner, LeadingEmptyLinesCountTowardsTheSizeLimit) {
  HeadLimits limits;
  limits.max_header_bytes = 64;
  std::string in;
  for (int i = 0; i < 1000; ++i)
    in += "\r\n";
  auto r = scan(in, limits);
  EXPECT_EQ(r.state, State::Rejected);
  EXPECT_EQ(scan_bytewise(in, limits).fed, 65u);
  // A head that fits only without its leading empty lines is refused too.
  const std::string head = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  limits.max_header_bytes = static_cast<uint32_t>(head.size());
  EXPECT_EQ(scan(head, limits).state, State::Complete);
  EXPECT_EQ(scan("\r\n" + head, limits).state, State::Rejected);
}

TEST(HeadScanner, BareCrIsRejectedEverywhere) {
  for (std::string_view in : {
           std::string_view("GET / HTTP/1.1\rHost: h\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n"),
           std::string_view("GET / HTTP/1.1\r\nX: a\rb\r\nHost: h\r\n\r\n"),
           std::string_view("\r\rGET / HTTP/1.1\r\n\r\n"),
       }) {
    auto r = scan(in);
    EXPECT_EQ(r.state, State::Rejected) << in;
    EXPECT_EQ(r.error, ProxyError::BadRequest) << in;
    EXPECT_EQ(r.reason, "bare CR in request head") << in;
  }
}

TEST(HeadScanner, BareLfIsRejectedEverywhere) {
  for (std::string_view in : {
           std::string_view("GET / HTTP/1.1\nHost: h\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\nHost: h\r\n\n"),
           std::string_view("GET / HTTP/1.1\r\nHost: h\n\n"),
       }) {
    auto r = scan(in);
    EXPECT_EQ(r.state, State::Rejected) << in;
    EXPECT_EQ(r.error, ProxyError::BadRequest) << in;
    EXPECT_EQ(r.reason, "bare LF in request head") << in;
  }
}

TEST(HeadScanner, ObsFoldIsRejected) {
  for (std::string_view in : {
           std::string_view("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n\ttwo\r\n\r\n"),
           // A folded line right after the request line (before any field).
           std::string_view("GET / HTTP/1.1\r\n Host: h\r\n\r\n"),
       }) {
    auto r = scan(in);
    EXPECT_EQ(r.state, State::Rejected) << in;
    EXPECT_EQ(r.error, ProxyError::BadRequest) << in;
    EXPECT_EQ(r.reason, "obsolete line folding in header") << in;
  }
}

TEST(HeadScanner, NulIsRejectedInRequestLineNameAndValue) {
  using namespace std::string_literals;
  for (const std::string& in : {
           "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n"s,
           "GET / HTTP/1.1\r\nHo\0st: h\r\n\r\n"s,
           "GET / HTTP/1.1\r\nHost: h\0\r\n\r\n"s,
       }) {
    auto r = scan(in);
    EXPECT_EQ(r.state, State::Rejected);
    EXPECT_EQ(r.error, ProxyError::BadRequest);
    EXPECT_EQ(r.reason, "NUL byte in request head");
  }
}

TEST(HeadScanner, ControlCharactersInValueAreRejectedButHtabAndObsTextPass) {
  for (char c : {'\x01', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f'}) {
    std::string in = "GET / HTTP/1.1\r\nHost: h\r\nX-A: a";
    in += c;
    in += "b\r\n\r\n";
    auto r = scan(in);
    EXPECT_EQ(r.state, State::Rejected) << int(c);
    EXPECT_EQ(r.reason, "control character in header value") << int(c);
  }
  auto ok = scan("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\tb \xc3\xa9\xff\r\n\r\n");
  EXPECT_EQ(ok.state, State::Complete);
}

TEST(HeadScanner, ControlCharacterInRequestLineIsRejected) {
  for (std::string_view in : {
           std::string_view("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"),
           std::string_view("GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n"),
           std::string_view("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n"),
           // deep inside a run of ordinary bytes, in the target and in the version
           std::string_view("GET /orders/12345/lines?page=2&size=50\x01x HTTP/1.1\r\n\r\n"),
           std::string_view("GET /orders/12345 HTTP/1.\x7f"
                            "1\r\nHost: h\r\n\r\n"),
           std::string_view("GE\x1bT / HTTP/1.1\r\nHost: h\r\n\r\n"),
       }) {
    auto r = scan(in);
    EXPECT_EQ(r.state, State::Rejected) << in;
    EXPECT_EQ(r.reason, "control character in request line") << in;
  }
}

TEST(HeadScanner, WhitespaceBeforeColonIsRejected) {
  for (std::string_view in : {
           std::string_view("GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n"),
       }) {
    auto r = scan(in);
    EXPECT_EQ(r.state, State::Rejected) << in;
    EXPECT_EQ(r.error, ProxyError::BadRequest) << in;
    EXPECT_EQ(r.reason, "invalid character in header name") << in;
  }
}

TEST(HeadScanner, InvalidNameCharactersAreRejected) {
  for (std::string_view in : {
           std::string_view("GET / HTTP/1.1\r\nX(a): h\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\nX\"a: h\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\n\xc3\xa9: h\r\n\r\n"),
       }) {
    auto r = scan(in);
    EXPECT_EQ(r.state, State::Rejected) << in;
    EXPECT_EQ(r.reason, "invalid character in header name") << in;
  }
  // Every tchar is accepted in a name.
  auto ok = scan("GET / HTTP/1.1\r\nHost: h\r\nX!#$%&'*+-.^_`|~09az: v\r\n\r\n");
  EXPECT_EQ(ok.state, State::Complete);
}

TEST(HeadScanner, EmptyHeaderNameIsRejected) {
  auto r = scan("GET / HTTP/1.1\r\n: value\r\nHost: h\r\n\r\n");
  EXPECT_EQ(r.state, State::Rejected);
  EXPECT_EQ(r.reason, "empty header name");
}

TEST(HeadScanner, HeaderLineWithoutColonIsRejected) {
  auto r = scan("GET / HTTP/1.1\r\nHost: h\r\nNoColonHere\r\n\r\n");
  EXPECT_EQ(r.state, State::Rejected);
  EXPECT_EQ(r.reason, "header line without a colon");
}

TEST(HeadScanner, EmptyValueIsAccepted) {
  EXPECT_EQ(scan("GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\n\r\n").state, State::Complete);
}

TEST(HeadScanner, RequestLineWithWrongNumberOfSpacesIsRejected) {
  for (std::string_view in : {
           std::string_view("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"),
           std::string_view("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"),
           std::string_view("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"),
           std::string_view("GET /\r\nHost: h\r\n\r\n"),
           std::string_view("GET\r\nHost: h\r\n\r\n"),
           std::string_view("GET /HTTP/1.1\r\nHost: h\r\n\r\n"),
       }) {
    auto r = scan(in);
    EXPECT_EQ(r.state, State::Rejected) << in;
    EXPECT_EQ(r.error, ProxyError::BadRequest) << in;
    EXPECT_EQ(r.reason, "malformed request line") << in;
  }
}

// The scanner counts the two spaces only; an empty method or target passes it and must be
// refused by Beast, which the proxy runs next on exactly the scanned head.
TEST(HeadScanner, EmptyMethodOrTargetPassesScannerButNotBeast) {
  for (std::string_view in : {
           std::string_view("GET  HTTP/1.1\r\nHost: h\r\n\r\n"),
           std::string_view(" / HTTP/1.1\r\nHost: h\r\n\r\n"),
           std::string_view("GET / \r\nHost: h\r\n\r\n"),
           std::string_view("GET / HTTP/9.9\r\nHost: h\r\n\r\n"),
       }) {
    auto r = scan(in);
    ASSERT_EQ(r.state, State::Complete) << in;
    boost::beast::http::request_parser<boost::beast::http::empty_body> p;
    p.eager(false);
    boost::beast::error_code ec;
    p.put(boost::asio::buffer(in.data(), r.head_size), ec);
    EXPECT_TRUE(ec) << in;
  }
}

// The proxy inserts the header fields the scanner located instead of letting Beast parse them:
// names, values (without their surrounding whitespace) and order must be exactly Beast's, fed
// whole or byte by byte, after leading empty lines, for values long enough for the vector path.
TEST(HeadScanner, LocatedFieldsAreWhatBeastParses) {
  const std::string token(700, 'J');
  const std::string in = "\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\nAuthorization:  Bearer " + token +
                         " \t\r\nX-Empty:\r\nX-Spaces: \t \r\nx-obs: caf\xc3\xa9 \x80\r\n"
                         "Accept: */*\r\nX-Repeat: 1\r\nx-repeat: 2 , 3\r\n"
                         "Content-Length: 0\r\n\r\n";
  boost::beast::http::request_parser<boost::beast::http::empty_body> p;
  boost::beast::error_code ec;
  const size_t leading = 4;
  p.put(boost::asio::buffer(in.data() + leading, in.size() - leading), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(p.is_header_done());
  std::vector<std::pair<std::string, std::string>> beast;
  for (const auto& f : p.get())
    beast.emplace_back(std::string(f.name_string()), std::string(f.value()));

  for (bool bytewise : {false, true}) {
    std::vector<FieldSpan> spans;
    HeadScanner s({}, &spans);
    State st = State::NeedMore;
    for (size_t n = bytewise ? 1 : in.size(); st == State::NeedMore && n <= in.size(); ++n)
      st = s.scan(std::string_view(in).substr(0, n));
    ASSERT_EQ(st, State::Complete);
    EXPECT_EQ(std::string_view(in).substr(s.leading_skip(), s.request_line_end() - leading),
              "GET /x HTTP/1.1");
    std::vector<std::pair<std::string, std::string>> located;
    for (const auto& f : spans) {
      std::string_view value = std::string_view(in).substr(f.colon + 1, f.end - f.colon - 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      located.emplace_back(in.substr(f.begin, f.colon - f.begin), std::string(value));
    }
    EXPECT_EQ(located, beast) << (bytewise ? "byte by byte" : "whole");
  }
}

TEST(HeadScanner, UriAtLimitPassesOneMoreIsUriTooLong) {
  HeadLimits limits;
  limits.max_uri_length = 32;
  const std::string at = "/" + std::string(31, 'a');
  const std::string over = at + "b";
  EXPECT_EQ(scan("GET " + at + " HTTP/1.1\r\nHost: h\r\n\r\n", limits).state, State::Complete);
  auto r = scan("GET " + over + " HTTP/1.1\r\nHost: h\r\n\r\n", limits);
  EXPECT_EQ(r.state, State::Rejected);
  EXPECT_EQ(r.error, ProxyError::UriTooLong);
  EXPECT_EQ(status_of(r.error), 414);
  // Refused on the first byte past the limit, before the rest of the line arrives.
  auto early = scan_bytewise("GET " + over + std::string(1000, 'c'), limits);
  EXPECT_EQ(early.state, State::Rejected);
  EXPECT_EQ(early.error, ProxyError::UriTooLong);
  EXPECT_EQ(early.fed, 4 + over.size());
}

TEST(HeadScanner, HeadOverMaxHeaderBytesIsHeadersTooLargeBeforeItEnds) {
  HeadLimits limits;
  limits.max_header_bytes = 256;
  const std::string start = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ";
  const std::string huge = start + std::string(10000, 'v') + "\r\n\r\n";
  auto r = scan(huge, limits);
  EXPECT_EQ(r.state, State::Rejected);
  EXPECT_EQ(r.error, ProxyError::HeadersTooLarge);
  EXPECT_EQ(status_of(r.error), 431);
  auto bytes = scan_bytewise(huge, limits);
  EXPECT_EQ(bytes.state, State::Rejected);
  EXPECT_EQ(bytes.fed, 257u);  // refused on byte 257, long before the 10 KB head ends
}

// Long names and values are skipped a run at a time: a bad byte anywhere inside a long run is
// still found, and the size limit still falls on its exact byte.
TEST(HeadScanner, BadBytesInsideLongRunsAreFoundWherever) {
  const std::string start = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ";
  const std::string value(700, 'J');
  const std::string end = "\r\n\r\n";
  ASSERT_EQ(scan(start + value + end).state, State::Complete);
  for (size_t at : {size_t{0}, size_t{1}, size_t{350}, size_t{698}, size_t{699}}) {
    for (char bad : {'\0', '\x01', '\x7f', '\n'}) {
      std::string v = value;
      v[at] = bad;
      EXPECT_EQ(scan(start + v + end).state, State::Rejected) << at << " " << int(bad);
    }
    std::string obs = value;  // obs-text and HTAB are allowed in a value
    obs[at] = '\t';
    if (at + 1 < obs.size()) obs[at + 1] = '\xe9';
    EXPECT_EQ(scan(start + obs + end).state, State::Complete) << at;
  }
  const std::string name(300, 'N');
  EXPECT_EQ(scan("GET / HTTP/1.1\r\n" + name + ": v" + end).state, State::Complete);
  for (size_t at : {size_t{1}, size_t{150}, size_t{299}}) {
    std::string n = name;
    n[at] = ' ';
    EXPECT_EQ(scan("GET / HTTP/1.1\r\n" + n + ": v" + end).state, State::Rejected) << at;
  }
  for (uint32_t limit : {60u, 61u, 400u, 700u}) {
    HeadLimits limits;
    limits.max_header_bytes = limit;
    auto bytes = scan_bytewise(start + value + end, limits);
    EXPECT_EQ(bytes.state, State::Rejected);
    EXPECT_EQ(bytes.fed, limit + 1);
    EXPECT_EQ(scan(start + value + end, limits).error, ProxyError::HeadersTooLarge);
  }
}

// Every byte value inside a long value (where runs are skipped 16 bytes at a time) is judged
// as the byte-by-byte rule judges it: VCHAR, obs-text, SP and HTAB pass, everything else fails.
TEST(HeadScanner, EveryByteValueInsideALongValue) {
  for (int b = 0; b < 256; ++b) {
    std::string value(100, 'v');
    value[40] = static_cast<char>(b);
    const auto r = scan("GET / HTTP/1.1\r\nX-Long: " + value + "\r\n\r\n");
    const bool plain = (b >= 0x20 && b != 0x7f) || b == '\t';
    EXPECT_EQ(r.state, plain ? State::Complete : State::Rejected) << b;
  }
}

TEST(HeadScanner, HeadOfExactlyMaxHeaderBytesIsAccepted) {
  const std::string start = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  const std::string in = start + std::string(100, 'p') + end;
  HeadLimits limits;
  limits.max_header_bytes = static_cast<uint32_t>(in.size());
  auto r = scan(in, limits);
  EXPECT_EQ(r.state, State::Complete);
  EXPECT_EQ(r.head_size, in.size());
  limits.max_header_bytes -= 1;
  EXPECT_EQ(scan(in, limits).state, State::Rejected);
}

TEST(HeadScanner, OverlongRequestLineIsUriTooLong) {
  HeadLimits limits;
  limits.max_header_bytes = 64;
  limits.max_uri_length = 1000;
  auto r = scan("GET /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n", limits);
  EXPECT_EQ(r.state, State::Rejected);
  EXPECT_EQ(r.error, ProxyError::UriTooLong);
}

TEST(HeadScanner, HeaderCountLimit) {
  HeadLimits limits;
  limits.max_header_count = 3;
  std::string three = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
  EXPECT_EQ(scan(three, limits).state, State::Complete);
  std::string four = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  auto r = scan(four, limits);
  EXPECT_EQ(r.state, State::Rejected);
  EXPECT_EQ(r.error, ProxyError::HeadersTooLarge);
  EXPECT_EQ(r.reason, "too many header fields");
}

TEST(HeadScanner, RandomSplitsGiveTheSameResult) {
  const std::string in =
      "\r\nPOST /x?y=z HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nabc";
  const HeadLimits limits;
  for (size_t a = 1; a < in.size(); ++a) {
    HeadScanner s(limits);
    State st = s.scan(std::string_view(in).substr(0, a));
    if (st == State::NeedMore) st = s.scan(in);
    ASSERT_EQ(st, State::Complete) << a;
    EXPECT_EQ(s.head_size(), in.size() - 3) << a;
    EXPECT_EQ(s.leading_skip(), 2u) << a;
  }
}

}  // namespace
}  // namespace gh::http
