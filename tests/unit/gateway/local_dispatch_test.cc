// The gateway's in-process endpoints (http::LocalHandler): a real Server on loopback with a
// recording handler, driven over a plain socket.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "config/environment.h"
#include "gateway/server.h"

namespace gh::gateway {
namespace {

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct Seen {
  std::string listener, method, path, query, host, body, content_type, client_ip, local_ip;
  uint16_t client_port = 0, local_port = 0;
  bool tls = true;
};

class RecordingHandler : public http::LocalHandler {
 public:
  bool claims(std::string_view listener, std::string_view path) const override {
    return listener == "edge" && path.starts_with("/local/");
  }
  size_t max_body_bytes() const override { return 1000; }
  net::awaitable<http::LocalResponse> handle(const http::LocalRequest& r) override {
    {
      std::lock_guard lock(mutex);
      last = Seen{std::string(r.listener),
                  std::string(r.method),
                  std::string(r.path),
                  std::string(r.query),
                  std::string(r.host),
                  std::string(r.body),
                  std::string(r.header("content-type")),
                  std::string(r.client_ip),
                  std::string(r.local_ip),
                  r.client_port,
                  r.local_port,
                  r.tls};
    }
    if (r.path == "/local/throw") throw std::runtime_error("boom");
    http::LocalResponse res;
    res.status = r.path == "/local/created" ? 201 : 200;
    res.headers.emplace_back("Cache-Control", "no-store");
    res.body = "{\"echo\":" + std::to_string(r.body.size()) + "}";
    co_return res;
  }
  std::mutex mutex;
  Seen last;
};

class LocalDispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("gh-local-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    std::ofstream(dir_ / "gatehouse.yaml")
        << "workers: 1\nlisteners:\n  - name: edge\n    address: 127.0.0.1:" << port_
        << "\napis:\n  - name: api\n    path: /api\n    backend_url: http://127.0.0.1:9\n"
        << "access_log: off\n";
    handler_ = std::make_shared<RecordingHandler>();
    Server::Options o;
    o.config_path = (dir_ / "gatehouse.yaml").string();
    o.env = config::fixed_environment({});
    o.make_local_handler =
        [h = handler_](const config::ProxyConfig&) -> Result<std::shared_ptr<http::LocalHandler>> {
      return h;
    };
    auto s = Server::start(std::move(o));
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  int connect_client() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
  static void send_all(int fd, const std::string& s) {
    ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
  }
  /// Reads one response (head + Content-Length body).
  static std::string read_response(int fd) {
    std::string in;
    char buf[4096];
    for (;;) {
      auto end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t len = 0;
        auto cl = in.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) len = std::stoul(in.substr(cl + 16));
        if (in.find("HEAD-MARK") != std::string::npos) len = 0;
        if (in.size() >= end + 4 + len) return in;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return in;
      in.append(buf, static_cast<size_t>(n));
    }
  }
  std::string exchange(const std::string& request) {
    int fd = connect_client();
    send_all(fd, request);
    std::string r = read_response(fd);
    ::close(fd);
    return r;
  }

  std::filesystem::path dir_;
  uint16_t port_ = 0;
  std::shared_ptr<RecordingHandler> handler_;
  std::unique_ptr<Server> server_;
};

TEST_F(LocalDispatchTest, ClaimedRequestReachesTheHandlerWithBodyAndConnection) {
  std::string r = exchange(
      "POST /local/token?client-request-id=abc HTTP/1.1\r\nHost: id.example:8443\r\n"
      "Content-Type: application/x-www-form-urlencoded;charset=utf-8\r\n"
      "Content-Length: 11\r\nConnection: close\r\n\r\ngrant=x&y=z");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("Cache-Control: no-store\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("X-Request-Id: "), std::string::npos) << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("{\"echo\":11}")) << r;
  std::lock_guard lock(handler_->mutex);
  const Seen& s = handler_->last;
  EXPECT_EQ(s.listener, "edge");
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.path, "/local/token");
  EXPECT_EQ(s.query, "client-request-id=abc");
  EXPECT_EQ(s.host, "id.example:8443");
  EXPECT_EQ(s.body, "grant=x&y=z");
  EXPECT_EQ(s.content_type, "application/x-www-form-urlencoded;charset=utf-8");
  EXPECT_EQ(s.client_ip, "127.0.0.1");
  EXPECT_EQ(s.local_ip, "127.0.0.1");
  EXPECT_EQ(s.local_port, port_);
  EXPECT_NE(s.client_port, 0);
  EXPECT_FALSE(s.tls);
}

TEST_F(LocalDispatchTest, ChunkedBodyIsReassembled) {
  std::string r = exchange(
      "POST /local/created HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 201 Created\r\n")) << r;
  std::lock_guard lock(handler_->mutex);
  EXPECT_EQ(handler_->last.body, "abcdefg");
}

TEST_F(LocalDispatchTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  int fd = connect_client();
  for (int i = 0; i < 3; ++i) {
    send_all(fd, "GET /local/keys HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string r = read_response(fd);
    EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
    EXPECT_EQ(r.find("Connection: close"), std::string::npos) << r;
  }
  ::close(fd);
}

TEST_F(LocalDispatchTest, UnclaimedPathsStillRouteToApis) {
  std::string r = exchange("GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 404 ")) << r;
  EXPECT_NE(r.find("\"statusCode\": 404"), std::string::npos) << r;
}

TEST_F(LocalDispatchTest, DeclaredBodyOverTheHandlersLimitIs413WithoutReadingIt) {
  std::string r = exchange("POST /local/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 413 ")) << r;
}

TEST_F(LocalDispatchTest, ChunkedBodyOverTheLimitIs413) {
  std::string big(1500, 'a');
  char size_line[16];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", big.size());
  std::string r =
      exchange("POST /local/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
               std::string(size_line) + big + "\r\n0\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 413 ")) << r;
}

TEST_F(LocalDispatchTest, HeadGetsHeadersWithoutBody) {
  int fd = connect_client();
  send_all(fd, "HEAD /local/keys HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string r;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
    r.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("Content-Length: 10\r\n"), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("\r\n\r\n")) << r;
}

TEST_F(LocalDispatchTest, HandlerFailureIs500AndTheServerKeepsServing) {
  std::string r = exchange("GET /local/throw HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 500 ")) << r;
  r = exchange("GET /local/keys HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 ")) << r;
}

}  // namespace
}  // namespace gh::gateway
