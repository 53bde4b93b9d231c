#include "http/forward_head.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace gh::http {
namespace {

using Values = std::vector<std::string>;

template <bool IsRequest>
bhttp::header<IsRequest> parse_head(std::string_view raw) {
  bhttp::parser<IsRequest, bhttp::empty_body> p;
  p.eager(false);
  if constexpr (!IsRequest) p.skip(true);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(raw.data(), raw.size()), ec);
  EXPECT_FALSE(ec) << ec.message() << "\n" << raw;
  EXPECT_TRUE(p.is_header_done());
  return p.release().base();
}

Values values(const bhttp::fields& f, std::string_view name) {
  Values out;
  auto range = f.equal_range(name);
  for (auto i = range.first; i != range.second; ++i)
    out.emplace_back(i->value());
  return out;
}

// What the backend receives for a client request with `fields`, parsed back as the backend would.
bhttp::request_header<> forwarded(std::string_view fields, ClientHop hop = {"10.0.0.2", false, "h"},
                                  std::string_view method = "GET") {
  auto in =
      parse_head<true>(std::string(method) + " /in HTTP/1.1\r\n" + std::string(fields) + "\r\n");
  std::string out;
  write_forward_request_head(out, in, {"/base/in?q=1", "backend.internal:8080", hop, "req-1"});
  return parse_head<true>(out);
}

TEST(ForwardRequestHead, ByteExactForAPlainRequest) {
  auto in = parse_head<true>("GET /x HTTP/1.1\r\nHost: api.example\r\nAccept: */*\r\n\r\n");
  std::string out;
  write_forward_request_head(
      out, in, {"/base/x", "backend:8080", {"192.0.2.7", true, "api.example"}, "id-1"});
  EXPECT_EQ(
      out,
      "GET /base/x HTTP/1.1\r\nHost: backend:8080\r\nAccept: */*\r\n"
      "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
      "X-Forwarded-Host: api.example\r\nForwarded: for=192.0.2.7;proto=https;host=api.example\r\n"
      "Via: 1.1 gatehouse\r\nX-Request-Id: id-1\r\n\r\n");
}

TEST(ForwardRequestHead, HopByHopAndExpectGo) {
  auto h = forwarded(
      "Host: h\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\n"
      "TE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\n"
      "Proxy-Authenticate: x\r\nExpect: 100-continue\r\nAccept: */*\r\n");
  for (auto name : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade",
                    "Proxy-Authorization", "Proxy-Authenticate", "Expect"}) {
    EXPECT_TRUE(values(h, name).empty()) << name;
  }
  EXPECT_EQ(values(h, "Accept"), Values{"*/*"});
  EXPECT_EQ(h.target(), "/base/in?q=1");
  EXPECT_EQ(h.version(), 11u);
}

TEST(ForwardRequestHead, FieldsNamedInConnectionGoButNeverFraming) {
  auto h = forwarded(
      "Host: h\r\nConnection: X-Secret, x-other, Content-Length, Host\r\nX-Secret: 1\r\n"
      "X-Other: 2\r\nX-Kept: 3\r\nContent-Length: 0\r\n",
      {"10.0.0.2", false, "h"}, "POST");
  EXPECT_TRUE(values(h, "X-Secret").empty());
  EXPECT_TRUE(values(h, "X-Other").empty());
  EXPECT_EQ(values(h, "X-Kept"), Values{"3"});
  EXPECT_EQ(values(h, "Content-Length"), Values{"0"});
  EXPECT_EQ(values(h, "Host"), Values{"backend.internal:8080"});
}

TEST(ForwardRequestHead, Ipv6IsQuotedAndBracketedAndOddHostsQuoted) {
  auto h = forwarded("Host: h\r\n", {"2001:db8::1", true, "api.example:8443"});
  EXPECT_EQ(values(h, "Forwarded"),
            Values{"for=\"[2001:db8::1]\";proto=https;host=\"api.example:8443\""});
  EXPECT_EQ(values(h, "X-Forwarded-For"), Values{"2001:db8::1"});
}

TEST(ForwardRequestHead, AppendsToExistingChainsInOrder) {
  // The lines are not adjacent on the wire; every one of them survives, in order, joined.
  auto h = forwarded(
      "X-Forwarded-For: 198.51.100.1\r\nHost: h\r\nx-forwarded-for: 198.51.100.2, 198.51.100.3\r\n"
      "Forwarded: for=198.51.100.1\r\nX-Forwarded-For: 198.51.100.4\r\nVia: 1.1 a\r\nVia: 1.1 "
      "b\r\n");
  EXPECT_EQ(values(h, "X-Forwarded-For"),
            Values{"198.51.100.1, 198.51.100.2, 198.51.100.3, 198.51.100.4, 10.0.0.2"});
  EXPECT_EQ(values(h, "Forwarded"), Values{"for=198.51.100.1, for=10.0.0.2;proto=http;host=h"});
  EXPECT_EQ(values(h, "Via"), Values{"1.1 a, 1.1 b, 1.1 gatehouse"});
}

TEST(ForwardRequestHead, ClientClaimsAboutThisHopAreReplaced) {
  auto h = forwarded(
      "Host: real.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n"
      "X-Request-Id: client-chosen\r\n",
      {"10.0.0.4", false, "real.example"});
  EXPECT_EQ(values(h, "X-Forwarded-Proto"), Values{"http"});
  EXPECT_EQ(values(h, "X-Forwarded-Host"), Values{"real.example"});
  EXPECT_EQ(values(h, "X-Request-Id"), Values{"req-1"});  // the caller decides which id wins
}

TEST(ForwardRequestHead, ATrustedFrontsSchemeAndHostStand) {
  auto in = parse_head<true>(
      "GET /in HTTP/1.1\r\nHost: gw.internal\r\nX-Forwarded-Proto: HTTPS\r\n"
      "X-Forwarded-Proto: http\r\nX-Forwarded-Host: api.contoso.example\r\n\r\n");
  auto write = [&](bool trusted) {
    std::string out;
    RequestAdditions add{"/in", "backend:80", {"10.0.0.9", false, "gw.internal"}, "req-1"};
    add.trust_forwarded = trusted;
    write_forward_request_head(out, in, add);
    return parse_head<true>(out);
  };
  auto trusted = write(true);
  EXPECT_EQ(values(trusted, "X-Forwarded-Proto"), Values{"https"});  // the first claim
  EXPECT_EQ(values(trusted, "X-Forwarded-Host"), Values{"api.contoso.example"});
  // This hop's own Forwarded element still says what this hop saw.
  EXPECT_EQ(values(trusted, "Forwarded"), Values{"for=10.0.0.9;proto=http;host=gw.internal"});
  auto untrusted = write(false);
  EXPECT_EQ(values(untrusted, "X-Forwarded-Proto"), Values{"http"});
  EXPECT_EQ(values(untrusted, "X-Forwarded-Host"), Values{"gw.internal"});
  // A trusted front's proto that is neither http nor https is not passed on.
  auto odd = parse_head<true>("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: gopher\r\n\r\n");
  std::string out;
  RequestAdditions add{"/", "b:80", {"10.0.0.9", true, "h"}, "r"};
  add.trust_forwarded = true;
  write_forward_request_head(out, odd, add);
  EXPECT_EQ(values(parse_head<true>(out), "X-Forwarded-Proto"), Values{"https"});
}

TEST(ForwardRequestHead, NoHostOmitsHostParameterAndXForwardedHost) {
  auto h = forwarded("", {"10.0.0.5", false, ""});
  EXPECT_EQ(values(h, "Forwarded"), Values{"for=10.0.0.5;proto=http"});
  EXPECT_TRUE(values(h, "X-Forwarded-Host").empty());
}

std::string forwarded_response(std::string_view raw, ResponseAdditions add) {
  auto in = parse_head<false>(raw);
  std::string out;
  write_forward_response_head(out, in, add);
  return out;
}

TEST(ForwardResponseHead, ByteExactWithBackendReasonViaAndRequestId) {
  EXPECT_EQ(
      forwarded_response(
          "HTTP/1.1 201 Made It\r\nContent-Length: 0\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
          "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nVia: 1.0 origin\r\n"
          "X-Request-Id: backend-id\r\n\r\n",
          {11, true, OutFraming::Length, "id-9"}),
      "HTTP/1.1 201 Made It\r\nContent-Length: 0\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
      "Via: 1.0 origin, 1.1 gatehouse\r\nX-Request-Id: id-9\r\n\r\n");
}

TEST(ForwardResponseHead, FramingAndConnectionFollowTheDecision) {
  // A close-delimited backend body re-framed as chunked for an HTTP/1.1 client.
  auto chunked =
      forwarded_response("HTTP/1.1 200 OK\r\n\r\n", {11, true, OutFraming::Chunked, "i"});
  EXPECT_NE(chunked.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << chunked;
  // An already chunked body keeps its one Transfer-Encoding line.
  auto kept = forwarded_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                 {11, false, OutFraming::Chunked, "i"});
  EXPECT_EQ(kept.find("Transfer-Encoding"), kept.rfind("Transfer-Encoding")) << kept;
  EXPECT_NE(kept.find("Connection: close\r\n"), std::string::npos) << kept;
  // HTTP/1.0 client: raw bytes delimited by close, so no Transfer-Encoding at all.
  auto http10 = forwarded_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                                   {10, false, OutFraming::Close, "i"});
  EXPECT_EQ(http10.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << http10;
  EXPECT_EQ(http10.find("Transfer-Encoding"), std::string::npos) << http10;
  auto keep10 = forwarded_response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
                                   {10, true, OutFraming::Length, "i"});
  EXPECT_NE(keep10.find("Connection: keep-alive\r\n"), std::string::npos) << keep10;
}

TEST(ForwardResponseHead, ReasonPhrases) {
  auto reason_of = [](std::string_view raw) {
    auto out = forwarded_response(raw, {11, true, OutFraming::Length, "i"});
    return out.substr(0, out.find("\r\n"));
  };
  EXPECT_EQ(reason_of("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"), "HTTP/1.1 404 Not Found");
  // Without a standard reason the line keeps an empty one, never "<unknown-status>".
  EXPECT_EQ(reason_of("HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n"), "HTTP/1.1 299 ");
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

}  // namespace
}  // namespace gh::http
