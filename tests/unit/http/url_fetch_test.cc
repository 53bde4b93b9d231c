#include "http/url_fetch.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <string>
#include <thread>

namespace gh::http {
namespace {

namespace bhttp = boost::beast::http;
using boost::asio::ip::tcp;

// A one-shot HTTP/1.1 server on loopback: accepts one connection, records the request and
// answers with the canned response.
class OneShotServer {
 public:
  OneShotServer(unsigned status, std::string body)
      : acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this, status, body = std::move(body)] {
      boost::system::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) return;
      boost::beast::flat_buffer buf;
      bhttp::read(socket, buf, request_, ec);
      if (ec) return;
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
      res.set(bhttp::field::content_type, "application/json");
      res.body() = body;
      res.prepare_payload();
      bhttp::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    });
  }
  ~OneShotServer() {
    if (thread_.joinable()) {
      // The test never connected: connect (and hang up) so that the blocking accept returns.
      boost::asio::io_context io;
      tcp::socket wake(io);
      boost::system::error_code ec;
      wake.connect(acceptor_.local_endpoint(), ec);
      wake.close(ec);
      thread_.join();
    }
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) +
           std::string(path);
  }
  // Valid once the response has been received (the server thread is done with it).
  const bhttp::request<bhttp::string_body>& request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  bhttp::request<bhttp::string_body> request_;
  std::thread thread_;
};

TEST(SendRequest, MethodHeadersAndBodyArriveAsSent) {
  OneShotServer server(201, R"({"ok":true})");
  FetchRequest request;
  request.method = "PATCH";
  request.url = server.url("/v1/tenants/t/applications?x=1");
  request.headers = {{"Authorization", "Bearer abc"}, {"Content-Type", "application/json"}};
  request.body = R"({"name":"orders"})";
  auto r = send_request_blocking(request, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 201u);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->body, R"({"ok":true})");
  const auto& seen = server.request();
  EXPECT_EQ(seen.method_string(), "PATCH");
  EXPECT_EQ(seen.target(), "/v1/tenants/t/applications?x=1");
  EXPECT_EQ(seen[bhttp::field::authorization], "Bearer abc");
  EXPECT_EQ(seen[bhttp::field::content_type], "application/json");
  EXPECT_EQ(seen[bhttp::field::content_length], "17");
  EXPECT_EQ(seen.body(), R"({"name":"orders"})");
}

TEST(SendRequest, ErrorStatusIsAResponseNotAnError) {
  OneShotServer server(404, R"({"error":"application 'x' not found"})");
  FetchRequest request;
  request.method = "DELETE";
  request.url = server.url("/v1/x");
  auto r = send_request_blocking(request, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 404u);
  EXPECT_EQ(r->body, R"({"error":"application 'x' not found"})");
  EXPECT_EQ(server.request().method_string(), "DELETE");
  EXPECT_EQ(server.request().body(), "");
}

TEST(SendRequest, ResponseBodyIsBounded) {
  OneShotServer server(200, std::string(2048, 'x'));
  FetchRequest request;
  request.url = server.url("/big");
  FetchOptions options;
  options.max_body = 1024;
  auto r = send_request_blocking(request, options);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::LimitExceeded);
}

TEST(SendRequest, RefusesHeaderInjectionWithoutEchoingTheValue) {
  FetchRequest request;
  request.url = "http://127.0.0.1:1/";
  request.headers = {{"Authorization", "Bearer s3cret\r\nX-Evil: 1"}};
  auto r = send_request_blocking(request, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(r.error().message.find("s3cret"), std::string::npos);
  request.headers = {{"Bad Name", "x"}};
  EXPECT_EQ(send_request_blocking(request, {}).error().kind, ErrorKind::InvalidArgument);
  request.headers.clear();
  request.method = "GET /x";
  EXPECT_EQ(send_request_blocking(request, {}).error().kind, ErrorKind::InvalidArgument);
}

TEST(FetchUrl, StillGets) {
  OneShotServer server(200, R"({"keys":[]})");
  auto r = fetch_url_blocking(server.url("/keys"), {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, R"({"keys":[]})");
  EXPECT_EQ(server.request().method_string(), "GET");
  EXPECT_EQ(server.request()[bhttp::field::accept], "application/json");
}

TEST(FetchUrl, BadUrlAndRefusedConnection) {
  EXPECT_EQ(fetch_url_blocking("ftp://h/", {}).error().kind, ErrorKind::InvalidArgument);
  // Port 1 on loopback: nothing listens there in a test environment.
  auto r = fetch_url_blocking("http://127.0.0.1:1/", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Unavailable);
}

}  // namespace
}  // namespace gh::http
