#pragma once

// How the managed-identity endpoint recognises a workload without a credential: by the peer
// address of its connection (a CIDR list per identity) or, for a connection over loopback, by
// the uid owning the connecting socket, read from /proc/net/tcp{,6}. Both are facts the kernel
// establishes, not claims the caller makes.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gh::identity {

/// An IP address in 16 bytes: IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so one
/// comparison covers a v4 client reaching a dual-stack socket.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool is_v4() const noexcept;
  bool is_loopback() const noexcept;  // 127.0.0.0/8 (also v4-mapped) or ::1
};

/// Parses "10.0.0.7", "::1", "::ffff:127.0.0.1" (an IPv6 zone "%eth0" is ignored).
std::optional<IpAddress> parse_ip(std::string_view text) noexcept;

/// A CIDR block. An IPv4 block stores its prefix length + 96 so it applies to mapped addresses.
struct IpNetwork {
  IpAddress base;
  int prefix_bits = 128;
  bool contains(const IpAddress& a) const noexcept;
};

/// "10.0.0.0/8", "fd00::/8", or a bare address (/32 or /128). InvalidArgument naming the text.
Result<IpNetwork> parse_network(std::string_view text);

/// The uid owning the TCP socket whose local end is `client` (ip, port) and whose remote end is
/// `server` (ip, port): the connecting socket of a loopback connection, seen from this network
/// namespace. Looks in `proc_net_dir`/tcp and /tcp6. nullopt when no such socket is listed
/// (closed, another namespace) or the files cannot be read.
std::optional<uint32_t> socket_owner_uid(const IpAddress& client, uint16_t client_port,
                                         const IpAddress& server, uint16_t server_port,
                                         const std::string& proc_net_dir = "/proc/net");

}  // namespace gh::identity
