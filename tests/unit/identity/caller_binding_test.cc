#include "identity/caller_binding.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace gh::identity {
namespace {

IpAddress ip(std::string_view s) {
  auto a = parse_ip(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(IpAddress{});
}

TEST(CallerBinding, ParsesAddressesAndMapsIpv4) {
  EXPECT_TRUE(ip("10.1.2.3").is_v4());
  EXPECT_FALSE(ip("fd00::1").is_v4());
  EXPECT_EQ(ip("127.0.0.1").bytes, ip("::ffff:127.0.0.1").bytes);
  EXPECT_EQ(ip("[::1]").bytes, ip("::1").bytes);
  EXPECT_EQ(ip("fe80::1%eth0").bytes, ip("fe80::1").bytes);
  EXPECT_FALSE(parse_ip("").has_value());
  EXPECT_FALSE(parse_ip("10.1.2").has_value());
  EXPECT_FALSE(parse_ip("localhost").has_value());
  EXPECT_FALSE(parse_ip("1.2.3.4/8").has_value());
}

TEST(CallerBinding, Loopback) {
  EXPECT_TRUE(ip("127.0.0.1").is_loopback());
  EXPECT_TRUE(ip("127.8.9.10").is_loopback());
  EXPECT_TRUE(ip("::ffff:127.0.0.1").is_loopback());
  EXPECT_TRUE(ip("::1").is_loopback());
  EXPECT_FALSE(ip("10.0.0.1").is_loopback());
  EXPECT_FALSE(ip("::2").is_loopback());
  EXPECT_FALSE(ip("::").is_loopback());
}

TEST(CallerBinding, Ipv4Networks) {
  auto net = parse_network("10.0.0.0/8");
  ASSERT_TRUE(net) << net.error().message;
  EXPECT_TRUE(net->contains(ip("10.255.1.2")));
  EXPECT_TRUE(net->contains(ip("::ffff:10.0.0.7")));  // a v4 client on a dual-stack listener
  EXPECT_FALSE(net->contains(ip("11.0.0.1")));
  EXPECT_FALSE(net->contains(ip("::a00:7")));  // IPv4-compatible form is another address

  auto host = parse_network("10.0.0.7");
  ASSERT_TRUE(host);
  EXPECT_TRUE(host->contains(ip("10.0.0.7")));
  EXPECT_FALSE(host->contains(ip("10.0.0.8")));

  auto odd = parse_network("192.168.4.0/22");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(ip("192.168.7.255")));
  EXPECT_FALSE(odd->contains(ip("192.168.8.0")));

  auto all = parse_network("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains(ip("203.0.113.9")));
  EXPECT_FALSE(all->contains(ip("2001:db8::1")));  // /0 of IPv4 is still only IPv4
}

TEST(CallerBinding, Ipv6Networks) {
  auto net = parse_network("fd00:1234::/32");
  ASSERT_TRUE(net) << net.error().message;
  EXPECT_TRUE(net->contains(ip("fd00:1234:ffff::1")));
  EXPECT_FALSE(net->contains(ip("fd00:1235::1")));
  EXPECT_FALSE(net->contains(ip("10.0.0.1")));
  auto one = parse_network("::1/128");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->contains(ip("::1")));
  EXPECT_FALSE(one->contains(ip("127.0.0.1")));
}

TEST(CallerBinding, RejectsBadNetworks) {
  for (std::string_view bad : {"", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "fd00::/129",
                               "10.0.0.7/8", "fd00::1/64", "not-an-ip/8", "10.0.0.0/8x"}) {
    auto net = parse_network(bad);
    EXPECT_FALSE(net) << bad;
    if (!net) {
      EXPECT_EQ(net.error().kind, ErrorKind::InvalidArgument);
    }
  }
}

/// A loopback TCP connection made here: the connecting socket belongs to this process, so the
/// lookup must find our own uid.
class LoopbackConnection {
 public:
  explicit LoopbackConnection(int family) : family_(family) {
    listener_ = ::socket(family, SOCK_STREAM, 0);
    client_ = ::socket(family, SOCK_STREAM, 0);
    if (listener_ < 0 || client_ < 0) return;
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(sockaddr_in);
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      len = sizeof(sockaddr_in6);
    }
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0) return;
    if (::listen(listener_, 1) != 0) return;
    socklen_t got = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &got);
    if (::connect(client_, reinterpret_cast<sockaddr*>(&addr), got) != 0) return;
    accepted_ = ::accept(listener_, nullptr, nullptr);
    ok_ = accepted_ >= 0;
  }
  ~LoopbackConnection() {
    for (int fd : {accepted_, client_, listener_})
      if (fd >= 0) ::close(fd);
  }
  bool ok() const { return ok_; }
  /// The server's view of the connection: peer (client) and local (server) ends.
  void ends(IpAddress& client, uint16_t& client_port, IpAddress& server,
            uint16_t& server_port) const {
    end_of(accepted_, true, client, client_port);
    end_of(accepted_, false, server, server_port);
  }

 private:
  static void end_of(int fd, bool peer, IpAddress& ip_out, uint16_t& port) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (peer)
      ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    else
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    char text[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
      port = ntohs(a->sin_port);
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
      port = ntohs(a->sin6_port);
    }
    ip_out = parse_ip(text).value_or(IpAddress{});
  }
  int family_;
  int listener_ = -1, client_ = -1, accepted_ = -1;
  bool ok_ = false;
};

TEST(CallerBinding, FindsTheOwnerOfAnIpv4LoopbackConnection) {
  LoopbackConnection conn(AF_INET);
  ASSERT_TRUE(conn.ok());
  IpAddress client, server;
  uint16_t client_port = 0, server_port = 0;
  conn.ends(client, client_port, server, server_port);
  auto uid = socket_owner_uid(client, client_port, server, server_port);
  ASSERT_TRUE(uid.has_value());
  EXPECT_EQ(*uid, ::getuid());
  // The accepted (server) socket has the opposite tuple; asking for a port nobody uses finds
  // nothing.
  EXPECT_FALSE(socket_owner_uid(client, static_cast<uint16_t>(client_port ^ 1), server, server_port)
                   .has_value());
}

TEST(CallerBinding, FindsTheOwnerOfAnIpv6LoopbackConnection) {
  LoopbackConnection conn(AF_INET6);
  if (!conn.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  IpAddress client, server;
  uint16_t client_port = 0, server_port = 0;
  conn.ends(client, client_port, server, server_port);
  auto uid = socket_owner_uid(client, client_port, server, server_port);
  ASSERT_TRUE(uid.has_value());
  EXPECT_EQ(*uid, ::getuid());
}

TEST(CallerBinding, ReadsProcTablesWrittenByTheKernelFormat) {
  // 127.0.0.1:40000 -> 127.0.0.1:8444 owned by uid 1234; a TIME_WAIT twin owned by 0 must not
  // count; a v6 socket [::ffff:10.0.0.5]:41000 -> [::ffff:10.0.0.1]:8444 owned by 77.
  auto dir = std::filesystem::temp_directory_path() / ("gh_proc_net_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  uint32_t lo = 0;
  uint8_t lo_bytes[4] = {127, 0, 0, 1};
  std::memcpy(&lo, lo_bytes, 4);
  char lo_hex[9];
  std::snprintf(lo_hex, sizeof lo_hex, "%08X", lo);
  {
    std::ofstream tcp(dir / "tcp");
    tcp << "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
           "timeout inode\n";
    tcp << "   0: " << lo_hex << ":9C40 " << lo_hex
        << ":20FC 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0\n";
    tcp << "   1: " << lo_hex << ":9C40 " << lo_hex
        << ":20FC 01 00000000:00000000 00:00000000 00000000  1234        0 4242 1 0 20 4 30 10 "
           "-1\n";
  }
  {
    uint8_t client6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 5};
    uint8_t server6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
    auto hex6 = [](const uint8_t* b) {
      std::string out;
      for (int i = 0; i < 4; ++i) {
        uint32_t w;
        std::memcpy(&w, b + i * 4, 4);
        char buf[9];
        std::snprintf(buf, sizeof buf, "%08X", w);
        out += buf;
      }
      return out;
    };
    std::ofstream tcp6(dir / "tcp6");
    tcp6 << "  sl  local_address                         remote_address                        st "
            "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    tcp6 << "   0: " << hex6(client6) << ":A028 " << hex6(server6)
         << ":20FC 01 00000000:00000000 00:00000000 00000000    77        0 999 1 0\n";
  }
  EXPECT_EQ(socket_owner_uid(ip("127.0.0.1"), 40000, ip("127.0.0.1"), 8444, dir.string()),
            std::optional<uint32_t>(1234));
  EXPECT_EQ(socket_owner_uid(ip("10.0.0.5"), 41000, ip("10.0.0.1"), 8444, dir.string()),
            std::optional<uint32_t>(77));
  EXPECT_FALSE(
      socket_owner_uid(ip("127.0.0.1"), 40001, ip("127.0.0.1"), 8444, dir.string()).has_value());
  EXPECT_FALSE(
      socket_owner_uid(ip("127.0.0.1"), 40000, ip("127.0.0.1"), 8445, dir.string()).has_value());
  EXPECT_FALSE(
      socket_owner_uid(ip("127.0.0.1"), 40000, ip("127.0.0.1"), 8444, "/nonexistent").has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gh::identity
