#include "http/backend_pool.h"

#include <netinet/tcp.h>

#include "crypto/openssl_error.h"

namespace gh::http {

using namespace std::chrono;

net::awaitable<Result<std::unique_ptr<BackendConnection>>> BackendPool::acquire(
    std::shared_ptr<BackendPool> self, milliseconds connect_timeout) {
  auto now = steady_clock::now();
  while (!self->idle_.empty()) {
    auto conn = std::move(self->idle_.back());
    self->idle_.pop_back();
    if (now - conn->idle_since < kPoolIdleLimit) {
      conn->reused = true;
      co_return conn;
    }
  }
  co_return co_await connect(std::move(self), connect_timeout);
}

net::awaitable<Result<std::unique_ptr<BackendConnection>>> BackendPool::connect(
    std::shared_ptr<BackendPool> self, milliseconds connect_timeout) {
  const BackendTarget& t = *self->target_;
  std::unique_ptr<BackendConnection> conn;
  if (t.tls) {
    conn = std::make_unique<BackendConnection>(self->io_, t.tls_context->context());
  } else {
    conn = std::make_unique<BackendConnection>(net::PlainStream(self->io_));
  }
  auto& tcp = conn->tcp();
  tcp.expires_after(connect_timeout);
  auto [ec, ep] = co_await tcp.connect(t.endpoints);
  if (ec) {
    if (ec == net::beast::error::timeout) {
      co_return unexpected(ErrorKind::Timeout, "connect to backend '" + t.id + "' timed out");
    }
    co_return unexpected(ErrorKind::Unavailable,
                         "connect to backend '" + t.id + "' failed: " + ec.message());
  }
  tcp.socket().set_option(net::tcp::no_delay(true), ec);
  if (t.tls) {
    auto& tls = std::get<1>(conn->stream);
    auto prepared = t.tls_context->prepare(tls.native_handle());
    if (!prepared) co_return unexpected(prepared.error());
    auto [hec] = co_await tls.async_handshake(net::ssl::stream_base::client, net::use_tuple);
    if (hec) {
      if (hec == net::beast::error::timeout) {
        co_return unexpected(ErrorKind::Timeout,
                             "TLS handshake with backend '" + t.id + "' timed out");
      }
      std::string detail = hec.message();
      long verify = SSL_get_verify_result(tls.native_handle());
      if (verify != X509_V_OK) detail = X509_verify_cert_error_string(verify);
      crypto::clear_openssl_errors();
      co_return unexpected(ErrorKind::Unavailable,
                           "TLS handshake with backend '" + t.id + "' failed: " + detail);
    }
  }
  tcp.expires_never();
  co_return conn;
}

void BackendPool::release(std::unique_ptr<BackendConnection> conn) {
  if (idle_.size() >= target_->max_idle) return;  // closes it
  conn->tcp().expires_never();
  conn->idle_since = steady_clock::now();
  idle_.push_back(std::move(conn));
}

}  // namespace gh::http
