#include "http/framing.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace gh::http {
namespace {

// Parses a raw head the way the proxy does (Beast, header only, no body limit), so the checks
// below see exactly what the proxy sees. nullopt when Beast itself refuses the head.
std::optional<bhttp::request_header<>> parse_head(std::string_view raw) {
  bhttp::request_parser<bhttp::empty_body> p;
  p.eager(false);
  p.body_limit(boost::none);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(raw.data(), raw.size()), ec);
  if (ec || !p.is_header_done()) return std::nullopt;
  return p.release().base();
}

// The proxy's verdict: Beast refusal and framing refusal are both a 400.
bool proxy_accepts(std::string_view raw) {
  auto head = parse_head(raw);
  return head && check_request_framing(*head).ok;
}

FramingVerdict verdict(std::string_view raw) {
  auto head = parse_head(raw);
  EXPECT_TRUE(head) << "Beast refused: " << raw;
  if (!head) return {};
  return check_request_framing(*head);
}

std::string post(std::string_view fields) {
  return "POST /p HTTP/1.1\r\nHost: h\r\n" + std::string(fields) + "\r\n";
}

TEST(Framing, NoBody) {
  auto v = verdict("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.framing, BodyFraming::None);
  EXPECT_EQ(v.content_length, 0u);
}

TEST(Framing, ContentLength) {
  auto v = verdict(post("Content-Length: 42\r\n"));
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.framing, BodyFraming::ContentLength);
  EXPECT_EQ(v.content_length, 42u);
  auto zero = verdict(post("Content-Length: 0\r\n"));
  EXPECT_TRUE(zero.ok);
  EXPECT_EQ(zero.framing, BodyFraming::None);
  // OWS around the value is not part of the field value (RFC 9110 §5.5).
  auto ows = verdict(post("Content-Length:  7 \r\n"));
  EXPECT_TRUE(ows.ok);
  EXPECT_EQ(ows.content_length, 7u);
  // The largest 19-digit value is taken as is.
  auto big = verdict(post("Content-Length: 9999999999999999999\r\n"));
  EXPECT_TRUE(big.ok);
  EXPECT_EQ(big.content_length, 9999999999999999999ull);
}

TEST(Framing, ContentLengthAndTransferEncodingAreRefused) {
  EXPECT_FALSE(proxy_accepts(post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")));
  EXPECT_FALSE(proxy_accepts(post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")));
  // Beast refuses both orders itself; the check must refuse them too on its own.
  bhttp::request_header<> h;
  h.version(11);
  h.insert(bhttp::field::host, "h");
  h.insert(bhttp::field::content_length, "5");
  h.insert(bhttp::field::transfer_encoding, "chunked");
  auto v = check_request_framing(h);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "both Content-Length and Transfer-Encoding");
}

TEST(Framing, TwoContentLengthsAreRefusedEvenIfEqual) {
  auto equal = verdict(post("Content-Length: 5\r\nContent-Length: 5\r\n"));
  EXPECT_FALSE(equal.ok);
  EXPECT_EQ(equal.reason, "more than one Content-Length header");
  EXPECT_FALSE(proxy_accepts(post("Content-Length: 5\r\nContent-Length: 6\r\n")));
  bhttp::request_header<> h;
  h.version(11);
  h.insert(bhttp::field::host, "h");
  h.insert(bhttp::field::content_length, "5");
  h.insert(bhttp::field::content_length, "6");
  EXPECT_FALSE(check_request_framing(h).ok);
  // A list in one field is just as ambiguous.
  auto list = verdict(post("Content-Length: 5, 5\r\n"));
  EXPECT_FALSE(list.ok);
  EXPECT_EQ(list.reason, "invalid Content-Length");
}

TEST(Framing, ContentLengthThatIsNotPlainDigitsIsRefused) {
  for (std::string_view value : {"+5", "-5", "0x5", "5 5", "", "5.0", "1e3", "99999999999999999999",
                                 "12345678901234567890"}) {
    std::string raw = post("Content-Length: " + std::string(value) + "\r\n");
    EXPECT_FALSE(proxy_accepts(raw)) << value;
    // The check alone must refuse what Beast might let through.
    bhttp::request_header<> h;
    h.version(11);
    h.insert(bhttp::field::host, "h");
    h.insert(bhttp::field::content_length, value);
    auto v = check_request_framing(h);
    EXPECT_FALSE(v.ok) << value;
    EXPECT_EQ(v.reason, "invalid Content-Length") << value;
  }
}

TEST(Framing, ChunkedIsAcceptedCaseInsensitiveWithOws) {
  for (std::string_view value : {"chunked", "Chunked", "CHUNKED", "  chunked  "}) {
    auto v = verdict(post("Transfer-Encoding: " + std::string(value) + "\r\n"));
    EXPECT_TRUE(v.ok) << value;
    EXPECT_EQ(v.framing, BodyFraming::Chunked) << value;
  }
  bhttp::request_header<> h;
  h.version(11);
  h.insert(bhttp::field::host, "h");
  h.insert(bhttp::field::transfer_encoding, "\tchunked ");
  EXPECT_TRUE(check_request_framing(h).ok);
}

TEST(Framing, AnyOtherTransferEncodingIsRefused) {
  for (std::string_view value : {"xchunked", "chunkedx", "chunked, identity", "identity",
                                 "gzip, chunked", "chunked;q=1", "chunked,", "\"chunked\""}) {
    std::string raw = post("Transfer-Encoding: " + std::string(value) + "\r\n");
    EXPECT_FALSE(proxy_accepts(raw)) << value;
    if (auto head = parse_head(raw)) {
      EXPECT_EQ(check_request_framing(*head).reason, "unsupported Transfer-Encoding") << value;
    }
  }
}

TEST(Framing, TwoTransferEncodingHeadersAreRefused) {
  EXPECT_FALSE(proxy_accepts(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")));
  EXPECT_FALSE(
      proxy_accepts(post("Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n")));
  bhttp::request_header<> h;
  h.version(11);
  h.insert(bhttp::field::host, "h");
  h.insert(bhttp::field::transfer_encoding, "chunked");
  h.insert(bhttp::field::transfer_encoding, "chunked");
  auto v = check_request_framing(h);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "more than one Transfer-Encoding header");
}

TEST(Framing, TransferEncodingInHttp10IsRefused) {
  auto v = verdict("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "Transfer-Encoding in an HTTP/1.0 request");
}

TEST(Framing, HostRules) {
  auto missing = verdict("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n");
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.reason, "missing Host header");
  auto two = verdict("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_FALSE(two.ok);
  EXPECT_EQ(two.reason, "more than one Host header");
  auto two_equal = verdict("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nhost: a\r\n\r\n");
  EXPECT_FALSE(two_equal.ok);
  auto http10 = verdict("GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(http10.ok);
  EXPECT_EQ(http10.framing, BodyFraming::None);
  auto http10_cl = verdict("POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n");
  EXPECT_TRUE(http10_cl.ok);
  EXPECT_EQ(http10_cl.framing, BodyFraming::ContentLength);
}

// RFC 9112 §3.2: more than one Host field line is refused in any version.
TEST(Framing, TwoHostsInHttp10AreRefused) {
  auto v = verdict("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_FALSE(v.ok);
}

struct Normalized {
  bool ok;
  std::string origin;
  std::string authority;
};

Normalized normalize(std::string_view target, std::string_view method = "GET") {
  Normalized n;
  n.origin = "stale";
  n.authority = "stale";
  n.ok = normalize_target(target, method, n.origin, n.authority);
  return n;
}

TEST(NormalizeTarget, OriginFormIsLeftAlone) {
  // "//h/x" is an origin-form path with an empty first segment, not an authority.
  EXPECT_TRUE(normalize("//h/x").ok);
  EXPECT_EQ(normalize("//h/x").authority, "");
  auto n = normalize("/orders/1?x=y");
  EXPECT_TRUE(n.ok);
  EXPECT_EQ(n.origin, "");  // empty: use the target as received
  EXPECT_EQ(n.authority, "");
  EXPECT_TRUE(normalize("/").ok);
}

TEST(NormalizeTarget, AbsoluteFormHttpAndHttps) {
  auto a = normalize("http://api.example.com/orders/1?x=y");
  EXPECT_TRUE(a.ok);
  EXPECT_EQ(a.origin, "/orders/1?x=y");
  EXPECT_EQ(a.authority, "api.example.com");
  auto b = normalize("https://api.example.com:8443/p");
  EXPECT_TRUE(b.ok);
  EXPECT_EQ(b.origin, "/p");
  EXPECT_EQ(b.authority, "api.example.com:8443");
  auto c = normalize("HTTP://Host.Example/P");
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.origin, "/P");
  EXPECT_EQ(c.authority, "Host.Example");
  auto v6 = normalize("http://[::1]:8080/x");
  EXPECT_TRUE(v6.ok);
  EXPECT_EQ(v6.authority, "[::1]:8080");
  EXPECT_EQ(v6.origin, "/x");
}

TEST(NormalizeTarget, AbsoluteFormWithoutPath) {
  auto a = normalize("http://h.example");
  EXPECT_TRUE(a.ok);
  EXPECT_EQ(a.origin, "/");
  EXPECT_EQ(a.authority, "h.example");
  auto q = normalize("https://h.example?x=1");
  EXPECT_TRUE(q.ok);
  EXPECT_EQ(q.origin, "/?x=1");
  EXPECT_EQ(q.authority, "h.example");
}

TEST(NormalizeTarget, AsteriskOnlyForOptions) {
  auto o = normalize("*", "OPTIONS");
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.origin, "");
  EXPECT_FALSE(normalize("*", "GET").ok);
  EXPECT_FALSE(normalize("*", "options").ok);
}

TEST(NormalizeTarget, GarbageAndUserinfoAreRefused) {
  for (std::string_view t :
       {"", "orders", "ftp://h/x", "http://", "https://", "http:///x", "http:/h/x",
        "http://user@h/x", "http://user:pw@h/x", "https://@h", "mailto:a@b", "h:80"}) {
    auto n = normalize(t);
    EXPECT_FALSE(n.ok) << t;
  }
}

TEST(NormalizeTarget, OutputsAreResetOnEveryCall) {
  std::string origin = "old", authority = "old";
  ASSERT_TRUE(normalize_target("http://a/b", "GET", origin, authority));
  ASSERT_TRUE(normalize_target("/c", "GET", origin, authority));
  EXPECT_EQ(origin, "");
  EXPECT_EQ(authority, "");
}

}  // namespace
}  // namespace gh::http

namespace gh::http {
namespace {

// Routing matches the path as written while backends such as nginx resolve dot-segments, so
// /public/../admin/x must never be routed as API "public": the gateway refuses such paths (400).
TEST(DotSegments, LiteralAndPercentEncodedAreFound) {
  for (std::string_view path :
       {"/public/../admin/x", "/public/./../admin/x", "/public/%2e%2e/admin/x",
        "/public/%2E./admin", "/a/..", "/a/.", "/./a", "/a/..?q=1"}) {
    EXPECT_TRUE(has_dot_segment(path)) << path;
  }
}

// A percent-encoded slash (%2F), %5C or a backslash separates segments too: backends that decode
// %2F before resolving dot-segments (nginx) or read a backslash as a slash (IIS) would otherwise
// climb out of the routed prefix.
TEST(DotSegments, EncodedSlashOrBackslashCannotHideThem) {
  for (std::string_view path : {"/public/x%2f..%2f..%2fadmin", "/public/x%2F..%2F..%2Fadmin",
                                "/public/..\\admin", "/public/x%5c..%5c..%5cadmin"}) {
    EXPECT_TRUE(has_dot_segment(path)) << path;
  }
}

TEST(DotSegments, OrdinaryDotsAreNotSegments) {
  for (std::string_view path :
       {"/", "/a.b/c", "/.well-known/openid-configuration", "/a/...", "/a/..b", "/v1.0/x",
        "/a?x=/../", "/%2e%2e%2e", "/a%2eb", "/files/a%2Fb", "/a\\b", "/a%5c.b", "/a%2"}) {
    EXPECT_FALSE(has_dot_segment(path)) << path;
  }
}

}  // namespace
}  // namespace gh::http
