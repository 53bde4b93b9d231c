#include "gateway/demo_backend.h"

#include <boost/beast/http.hpp>
#include <chrono>
#include <ctime>

#include "http/error_response.h"
#include "net/tcp_stream.h"

namespace gh::gateway {
namespace {

namespace asio = net::asio;
namespace bhttp = boost::beast::http;
using net::awaitable;
using net::use_tuple;

std::string json_field(std::string_view name, std::string_view value) {
  std::string out = "\"";
  out += name;
  out += "\": \"";
  http::append_json_escaped(out, value);
  out += '"';
  return out;
}

bhttp::response<bhttp::string_body> demo_answer(const bhttp::request<bhttp::string_body>& req) {
  bhttp::response<bhttp::string_body> res{bhttp::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(bhttp::field::content_type, "application/json");
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string body = "{\n  " + json_field("message", "Hello from the Gatehouse demo API") + ",\n  ";
  body += json_field("method", req.method_string()) + ",\n  ";
  body += json_field("path", req.target()) + ",\n  ";
  body += json_field("request_id", req["X-Request-Id"]) + ",\n  ";
  body += json_field("forwarded", req[bhttp::field::forwarded]) + ",\n  ";
  body += json_field("time", ts) + "\n}\n";
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

awaitable<void> demo_session(net::Socket socket) {
  net::PlainStream stream(std::move(socket));
  net::beast::flat_buffer buf;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(1024 * 1024);
    stream.expires_after(std::chrono::seconds(60));
    auto [ec, n] = co_await bhttp::async_read(stream, buf, parser, use_tuple);
    if (ec) break;
    auto res = demo_answer(parser.get());
    bool keep = res.keep_alive();
    auto [wec, m] = co_await bhttp::async_write(stream, res, use_tuple);
    if (wec || !keep) break;
  }
  net::error_code ignored;
  stream.socket().shutdown(net::Socket::shutdown_send, ignored);
}

awaitable<void> demo_accept(net::Acceptor* acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(use_tuple);
    if (ec) {
      if (!acceptor->is_open()) co_return;
      continue;
    }
    asio::co_spawn(acceptor->get_executor(), demo_session(std::move(socket)), asio::detached);
  }
}

}  // namespace

Result<std::unique_ptr<DemoBackend>> DemoBackend::start() {
  std::unique_ptr<DemoBackend> d(new DemoBackend());
  net::error_code ec;
  d->acceptor_ = std::make_unique<net::Acceptor>(d->io_);
  net::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  d->acceptor_->open(ep.protocol(), ec);
  if (!ec) d->acceptor_->bind(ep, ec);
  if (!ec) d->acceptor_->listen(128, ec);
  if (ec) return unexpected(ErrorKind::Io, "demo backend: cannot listen: " + ec.message());
  d->port_ = d->acceptor_->local_endpoint().port();
  asio::co_spawn(d->io_, demo_accept(d->acceptor_.get()), asio::detached);
  d->thread_ = std::thread([p = d.get()] { p->io_.run(); });
  return d;
}

DemoBackend::~DemoBackend() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
  acceptor_.reset();
}

}  // namespace gh::gateway
