// The admin API client shared by `gatehouse app|tenant|keys|creds` (cli/admin_client.h), against
// a one-shot loopback server.

#include "cli/admin_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

namespace gh::cli {
namespace {

namespace bhttp = boost::beast::http;
using boost::asio::ip::tcp;

// Answers one request with a canned response and keeps the request for inspection.
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
      boost::asio::io_context io;
      tcp::socket wake(io);
      boost::system::error_code ec;
      wake.connect(acceptor_.local_endpoint(), ec);
      wake.close(ec);
      thread_.join();
    }
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
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

class AdminClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("GATEHOUSE_ADMIN_TOKEN");
    ::unsetenv("GATEHOUSE_ADMIN_TOKEN_FILE");
  }
};

TEST_F(AdminClientTest, SendsTheTokenAndParsesTheReply) {
  OneShotServer server(201, R"({"client_id":"abc","roles":[{"value":"R"}]})");
  AdminOptions o;
  o.url = server.url() + "/";
  o.token = "tok-123";
  auto r = admin_call(o, "POST", "/v1/tenants/t/applications", R"({"display_name":"x"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 201u);
  EXPECT_EQ(json_string(r->body, "client_id"), "abc");
  EXPECT_EQ(json_array(r->body, "roles").size(), 1u);
  EXPECT_EQ(json_string(r->body, "missing"), "");
  const auto& seen = server.request();
  EXPECT_EQ(seen.method_string(), "POST");
  EXPECT_EQ(seen.target(), "/v1/tenants/t/applications");
  EXPECT_EQ(seen[bhttp::field::authorization], "Bearer tok-123");
  EXPECT_EQ(seen[bhttp::field::content_type], "application/json");
  EXPECT_EQ(seen.body(), R"({"display_name":"x"})");
}

TEST_F(AdminClientTest, ErrorStatusCarriesTheServersMessage) {
  OneShotServer server(404, R"({"error":"not_found","message":"application 'x' not found"})");
  AdminOptions o;
  o.url = server.url();
  o.token = "t";
  auto r = admin_call(o, "GET", "/v1/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(r.error().message, "application 'x' not found (HTTP 404)");
}

TEST_F(AdminClientTest, TokenFromFileOrEnvironment) {
  const auto file =
      std::filesystem::temp_directory_path() / ("gh-cli-token-" + std::to_string(::getpid()));
  std::ofstream(file) << "  file-token\n";
  {
    OneShotServer server(200, "{}");
    AdminOptions o;
    o.url = server.url();
    o.token_file = file.string();
    ASSERT_TRUE(admin_call(o, "GET", "/v1/keys"));
    EXPECT_EQ(server.request()[bhttp::field::authorization], "Bearer file-token");
  }
  {
    OneShotServer server(200, "{}");
    ::setenv("GATEHOUSE_ADMIN_TOKEN", "env-token", 1);
    AdminOptions o;
    o.url = server.url();
    ASSERT_TRUE(admin_call(o, "GET", "/v1/keys"));
    EXPECT_EQ(server.request()[bhttp::field::authorization], "Bearer env-token");
  }
  {
    OneShotServer server(200, "{}");
    AdminOptions o;
    o.url = server.url();
    o.token_file = file.string();  // a flag wins over the environment
    ASSERT_TRUE(admin_call(o, "GET", "/v1/keys"));
    EXPECT_EQ(server.request()[bhttp::field::authorization], "Bearer file-token");
    ::unsetenv("GATEHOUSE_ADMIN_TOKEN");
  }
  std::filesystem::remove(file);
  AdminOptions none;
  none.url = "http://127.0.0.1:1";
  auto r = admin_call(none, "GET", "/v1/keys");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Unauthenticated);
  EXPECT_NE(r.error().message.find("GATEHOUSE_ADMIN_TOKEN"), std::string::npos);
}

TEST_F(AdminClientTest, TheOnlyTenantIsTheDefault) {
  {
    OneShotServer server(200, R"({"tenants":[{"id":"t-1"}]})");
    AdminOptions o;
    o.url = server.url();
    o.token = "t";
    auto tenant = resolve_tenant(o);
    ASSERT_TRUE(tenant) << tenant.error().message;
    EXPECT_EQ(*tenant, "t-1");
  }
  {
    OneShotServer server(200, R"({"tenants":[{"id":"t-1"},{"id":"t-2"}]})");
    AdminOptions o;
    o.url = server.url();
    o.token = "t";
    auto tenant = resolve_tenant(o);
    ASSERT_FALSE(tenant);
    EXPECT_NE(tenant.error().message.find("--tenant"), std::string::npos);
  }
  AdminOptions given;
  given.tenant = "contoso.example";  // no request needed
  EXPECT_EQ(*resolve_tenant(given), "contoso.example");
}

TEST(Table, AlignsColumns) {
  Table t({"A", "LONGER"});
  t.add({"wide value", "x"});
  t.add({"b"});
  EXPECT_EQ(t.render(),
            "A           LONGER\n"
            "wide value  x\n"
            "b\n");
}

TEST(PathSegment, EscapesReservedCharacters) {
  EXPECT_EQ(path_segment("abc-DEF_1.2~"), "abc-DEF_1.2~");
  EXPECT_EQ(path_segment("a b/c?d"), "a%20b%2Fc%3Fd");
}

}  // namespace
}  // namespace gh::cli
