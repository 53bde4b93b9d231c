#pragma once

#include <cstdint>
#include <memory>
#include <thread>

#include "core/result.h"
#include "net/asio.h"

namespace gh::gateway {

/// The demo API that `gatehouse dev` puts behind the gateway: a small JSON responder on an
/// ephemeral loopback port, on its own thread, so that a newcomer has something to call.
class DemoBackend {
 public:
  /// Binds 127.0.0.1 on a free port and starts serving.
  static Result<std::unique_ptr<DemoBackend>> start();
  ~DemoBackend();

  uint16_t port() const noexcept { return port_; }

 private:
  DemoBackend() = default;
  net::asio::io_context io_{1};
  std::unique_ptr<net::Acceptor> acceptor_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace gh::gateway
