#include "admin/admin_server.h"

#include <boost/beast/http.hpp>

#include "http/error_response.h"

namespace gh::admin {
namespace {

namespace asio = net::asio;
namespace beast = net::beast;
namespace bhttp = boost::beast::http;
using net::awaitable;
using net::use_tuple;

constexpr std::chrono::seconds kAdminTimeout{10};

bhttp::response<bhttp::string_body> answer(const bhttp::request<bhttp::string_body>& req,
                                           const gateway::Server& server) {
  bhttp::response<bhttp::string_body> res{bhttp::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  std::string_view target = req.target();
  target = target.substr(0, target.find('?'));
  if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
    res.result(bhttp::status::method_not_allowed);
    res.set(bhttp::field::allow, "GET, HEAD");
    res.set(bhttp::field::content_type, "application/json");
    res.body() = http::apim_error_body(405, "Method not allowed");
  } else if (target == "/healthz") {
    res.set(bhttp::field::content_type, "application/json");
    if (server.healthy()) {
      res.body() = R"({"status":"ok"})";
    } else {
      res.result(bhttp::status::service_unavailable);
      res.body() = R"({"status":"draining"})";
    }
  } else if (target == "/metrics") {
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = server.metrics_text();
  } else {
    res.result(bhttp::status::not_found);
    res.set(bhttp::field::content_type, "application/json");
    res.body() = http::apim_error_body(404, http::default_message(http::ProxyError::NotFound));
  }
  res.prepare_payload();
  if (req.method() == bhttp::verb::head) res.body().clear();
  return res;
}

awaitable<void> admin_session(net::Socket socket, const gateway::Server* server) {
  net::PlainStream stream(std::move(socket));
  beast::flat_buffer buf;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(8192);
    parser.body_limit(8192);
    stream.expires_after(kAdminTimeout);
    auto [ec, n] = co_await bhttp::async_read(stream, buf, parser, use_tuple);
    if (ec) break;
    auto res = answer(parser.get(), *server);
    bool keep = res.keep_alive();
    auto [wec, m] = co_await bhttp::async_write(stream, res, use_tuple);
    if (wec || !keep) break;
  }
  net::error_code ignored;
  stream.socket().shutdown(net::Socket::shutdown_send, ignored);
}

awaitable<void> admin_accept_loop(net::Acceptor* acceptor, const gateway::Server* server) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      continue;
    }
    asio::co_spawn(acceptor->get_executor(), admin_session(std::move(socket), server),
                   asio::detached);
  }
}

}  // namespace

void start_admin_server(net::asio::io_context& io, net::Acceptor& acceptor,
                        const gateway::Server& server,
                        std::shared_ptr<identity::IdentityService> identity) {
  // TODO(h5-admin): serve /v1/ from `identity` (admin/identity_api.h).
  (void)identity;
  asio::co_spawn(io, admin_accept_loop(&acceptor, &server), asio::detached);
}

}  // namespace gh::admin
