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

// The request head as the proxy gets it from Beast.
bhttp::request_header<> parse_head(std::string_view raw) {
  bhttp::request_parser<bhttp::empty_body> p;
  p.eager(false);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(raw.data(), raw.size()), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(p.is_header_done());
  return p.release().base();
}

bhttp::request_header<> with_fields(std::string_view fields) {
  return parse_head("GET / HTTP/1.1\r\n" + std::string(fields) + "\r\n");
}

std::vector<std::string> values(const bhttp::fields& f, std::string_view name) {
  std::vector<std::string> out;
  auto range = f.equal_range(name);
  for (auto i = range.first; i != range.second; ++i)
    out.emplace_back(i->value());
  return out;
}

using Values = std::vector<std::string>;

TEST(RemoveHopByHop, StandardHopByHopFieldsGo) {
  auto h = with_fields(
      "Host: h\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\n"
      "TE: trailers\r\nTrailer: X-T\r\nUpgrade: websocket\r\nProxy-Authenticate: Basic\r\n"
      "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nAccept: */*\r\nAuthorization: Bearer t\r\n");
  remove_hop_by_hop(h);
  for (std::string_view gone : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                                "Upgrade", "Proxy-Authenticate", "Proxy-Authorization"}) {
    EXPECT_EQ(h.count(gone), 0u) << gone;
  }
  EXPECT_EQ(values(h, "Host"), Values{"h"});
  EXPECT_EQ(values(h, "Accept"), Values{"*/*"});
  EXPECT_EQ(values(h, "Authorization"), Values{"Bearer t"});
}

TEST(RemoveHopByHop, FieldsNamedInConnectionGo) {
  auto h = with_fields(
      "Host: h\r\nConnection: close, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nx-secret-hop: 2\r\n"
      "Connection: x-other\r\nX-Other: 3\r\nX-Keep: 4\r\n");
  remove_hop_by_hop(h);
  EXPECT_EQ(h.count("X-Secret-Hop"), 0u);
  EXPECT_EQ(h.count("X-Other"), 0u);
  EXPECT_EQ(h.count("Connection"), 0u);
  EXPECT_EQ(values(h, "X-Keep"), Values{"4"});
}

TEST(RemoveHopByHop, FramingAndHostAreNeverRemovedWhenNamed) {
  auto h = with_fields(
      "Host: h\r\nContent-Length: 5\r\nConnection: Content-Length, HOST, transfer-encoding, "
      "X-A\r\nX-A: 1\r\n");
  remove_hop_by_hop(h);
  EXPECT_EQ(values(h, "Content-Length"), Values{"5"});
  EXPECT_EQ(values(h, "Host"), Values{"h"});
  EXPECT_EQ(h.count("X-A"), 0u);

  auto te =
      with_fields("Host: h\r\nTransfer-Encoding: chunked\r\nConnection: Transfer-Encoding\r\n");
  remove_hop_by_hop(te);
  EXPECT_EQ(values(te, "Transfer-Encoding"), Values{"chunked"});
}

TEST(AddForwardingFields, FreshRequestIpv4) {
  auto h = with_fields("Host: api.example.com\r\n");
  add_forwarding_fields(h, {"192.0.2.7", false, "api.example.com"});
  EXPECT_EQ(values(h, "X-Forwarded-For"), Values{"192.0.2.7"});
  EXPECT_EQ(values(h, "X-Forwarded-Proto"), Values{"http"});
  EXPECT_EQ(values(h, "X-Forwarded-Host"), Values{"api.example.com"});
  EXPECT_EQ(values(h, "Forwarded"), Values{"for=192.0.2.7;proto=http;host=api.example.com"});
  EXPECT_EQ(values(h, "Via"), Values{"1.1 gatehouse"});
}

TEST(AddForwardingFields, Ipv6IsQuotedAndBracketed) {
  auto h = with_fields("Host: h\r\n");
  add_forwarding_fields(h, {"2001:db8::1", true, "h"});
  EXPECT_EQ(values(h, "Forwarded"), Values{"for=\"[2001:db8::1]\";proto=https;host=h"});
  EXPECT_EQ(values(h, "X-Forwarded-For"), Values{"2001:db8::1"});
  EXPECT_EQ(values(h, "X-Forwarded-Proto"), Values{"https"});
}

TEST(AddForwardingFields, HostWithPortOrSpecialsIsQuoted) {
  auto h = with_fields("Host: h\r\n");
  add_forwarding_fields(h, {"10.0.0.1", true, "api.example.com:8443"});
  EXPECT_EQ(values(h, "Forwarded"),
            Values{"for=10.0.0.1;proto=https;host=\"api.example.com:8443\""});
  auto v6 = with_fields("Host: h\r\n");
  add_forwarding_fields(v6, {"10.0.0.1", false, "[::1]:80"});
  EXPECT_EQ(values(v6, "Forwarded"), Values{"for=10.0.0.1;proto=http;host=\"[::1]:80\""});
  // Quote and backslash are escaped inside the quoted-string.
  bhttp::fields odd;
  add_forwarding_fields(odd, {"10.0.0.1", false, "a\"b\\c"});
  EXPECT_EQ(values(odd, "Forwarded"), Values{"for=10.0.0.1;proto=http;host=\"a\\\"b\\\\c\""});
}

TEST(AddForwardingFields, NoHostOmitsHostParameterAndXForwardedHost) {
  auto h = with_fields("X-Forwarded-Host: spoofed.example\r\n");
  add_forwarding_fields(h, {"10.0.0.1", false, ""});
  EXPECT_EQ(values(h, "Forwarded"), Values{"for=10.0.0.1;proto=http"});
  EXPECT_EQ(h.count("X-Forwarded-Host"), 0u);
}

TEST(AddForwardingFields, AppendsToExistingChains) {
  auto h = with_fields(
      "Host: h\r\nX-Forwarded-For: 203.0.113.1\r\nForwarded: for=203.0.113.1\r\n"
      "Via: 1.0 edge\r\n");
  add_forwarding_fields(h, {"10.0.0.2", false, "h"});
  EXPECT_EQ(values(h, "X-Forwarded-For"), Values{"203.0.113.1, 10.0.0.2"});
  EXPECT_EQ(values(h, "Forwarded"), Values{"for=203.0.113.1, for=10.0.0.2;proto=http;host=h"});
  EXPECT_EQ(values(h, "Via"), Values{"1.0 edge, 1.1 gatehouse"});
}

TEST(AddForwardingFields, JoinsSeveralExistingLinesInOrder) {
  // The lines are not adjacent on the wire; every one of them must survive, in order.
  auto h = with_fields(
      "X-Forwarded-For: 198.51.100.1\r\nHost: h\r\nx-forwarded-for: 198.51.100.2, "
      "198.51.100.3\r\nAccept: */*\r\nX-Forwarded-For: 198.51.100.4\r\nVia: 1.1 a\r\n"
      "Via: 1.1 b\r\n");
  add_forwarding_fields(h, {"10.0.0.3", false, "h"});
  EXPECT_EQ(values(h, "X-Forwarded-For"),
            Values{"198.51.100.1, 198.51.100.2, 198.51.100.3, 198.51.100.4, 10.0.0.3"});
  EXPECT_EQ(values(h, "Via"), Values{"1.1 a, 1.1 b, 1.1 gatehouse"});
  EXPECT_EQ(values(h, "Accept"), Values{"*/*"});
}

TEST(AddForwardingFields, ClientProtoAndHostAreReplacedNotTrusted) {
  auto h = with_fields(
      "Host: real.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Proto: https\r\n"
      "X-Forwarded-Host: evil.example\r\n");
  add_forwarding_fields(h, {"10.0.0.4", false, "real.example"});
  EXPECT_EQ(values(h, "X-Forwarded-Proto"), Values{"http"});
  EXPECT_EQ(values(h, "X-Forwarded-Host"), Values{"real.example"});
}

TEST(AppendVia, ResponseVia) {
  bhttp::response_header<> r;
  append_via(r);
  EXPECT_EQ(values(r, "Via"), Values{"1.1 gatehouse"});
  append_via(r);
  EXPECT_EQ(values(r, "Via"), Values{"1.1 gatehouse, 1.1 gatehouse"});
}

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
