#include "net/listen_socket.h"

#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>

namespace gh::net {

Result<std::vector<tcp::endpoint>> resolve_endpoints(const std::string& host, uint16_t port) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  error_code ec;
  auto addr = asio::ip::make_address(h, ec);
  if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(addr, port)};
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(h, std::to_string(port), ec);
  if (ec || results.empty()) {
    return unexpected(ErrorKind::Unavailable, "cannot resolve '" + h + "': " + ec.message());
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& r : results)
    endpoints.push_back(r.endpoint());
  return endpoints;
}

Result<tcp::endpoint> resolve_endpoint(const std::string& host, uint16_t port) {
  GH_TRY(auto endpoints, resolve_endpoints(host, port));
  return endpoints.front();
}

Result<void> open_acceptor(Acceptor& acceptor, const tcp::endpoint& endpoint, int backlog) {
  error_code ec;
  std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return unexpected(ErrorKind::Io, "cannot open socket for " + where + ": " + ec.message());
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return unexpected(ErrorKind::Io, "cannot set SO_REUSEPORT on " + where);
  }
  acceptor.bind(endpoint, ec);
  if (ec) return unexpected(ErrorKind::Io, "cannot bind " + where + ": " + ec.message());
  acceptor.listen(backlog, ec);
  if (ec) return unexpected(ErrorKind::Io, "cannot listen on " + where + ": " + ec.message());
  return {};
}

}  // namespace gh::net
