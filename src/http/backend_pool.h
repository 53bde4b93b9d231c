#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "net/asio.h"
#include "net/tcp_stream.h"
#include "net/tls_context.h"

namespace gh::http {

/// A backend as the request path needs it: compiled once per configuration, immutable, shared by
/// every worker.
struct BackendTarget {
  std::string id;
  bool tls = false;
  std::string host_header;  // host, plus :port when not the scheme's default
  std::string base_path;    // "" or "/base"
  std::vector<net::tcp::endpoint> endpoints;
  std::shared_ptr<const net::BackendTls> tls_context;  // set when tls
  uint32_t max_idle = 64;
};

/// One connection to a backend, plain or TLS, with the bytes read past the last response.
struct BackendConnection {
  explicit BackendConnection(net::PlainStream s) : stream(std::in_place_index<0>, std::move(s)) {}
  BackendConnection(net::asio::io_context& io, net::ssl::context& ctx)
      : stream(std::in_place_index<1>, io, ctx) {}

  net::PlainStream& tcp() noexcept {
    return stream.index() == 0 ? std::get<0>(stream) : std::get<1>(stream).next_layer();
  }

  std::variant<net::PlainStream, net::TlsStream> stream;
  net::beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since{};
  bool reused = false;
};

/// Keep-alive connections to one backend, owned by one worker (no locks: only that worker's
/// coroutines touch it). Held through shared_ptr so that a request in flight keeps its pool alive
/// across a configuration reload.
class BackendPool {
 public:
  BackendPool(net::asio::io_context& io, std::shared_ptr<const BackendTarget> target)
      : io_(io), target_(std::move(target)) {}

  const BackendTarget& target() const noexcept { return *target_; }

  /// An idle connection if one is fresh enough, else a new one (TCP connect, then the TLS
  /// handshake with verification), all within `connect_timeout`. Errors: Timeout (map to 504),
  /// Unavailable (refused, reset, TLS failure: map to 502).
  static net::awaitable<Result<std::unique_ptr<BackendConnection>>> acquire(
      std::shared_ptr<BackendPool> self, std::chrono::milliseconds connect_timeout);

  /// A new connection, never from the idle list (used to retry after a stale pooled one).
  static net::awaitable<Result<std::unique_ptr<BackendConnection>>> connect(
      std::shared_ptr<BackendPool> self, std::chrono::milliseconds connect_timeout);

  /// Returns a connection whose last exchange completed cleanly with keep-alive.
  void release(std::unique_ptr<BackendConnection> conn);

 private:
  net::asio::io_context& io_;
  std::shared_ptr<const BackendTarget> target_;
  std::vector<std::unique_ptr<BackendConnection>> idle_;
};

/// How long an idle pooled connection is kept: shorter than common backend keep-alive timeouts
/// (nginx 75 s, Node 5 s is the outlier, handled by the retry on a stale connection).
inline constexpr std::chrono::seconds kPoolIdleLimit{30};

}  // namespace gh::http
