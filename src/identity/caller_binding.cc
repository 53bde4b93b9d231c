#include "identity/caller_binding.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "core/strings.h"

namespace gh::identity {

namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

IpAddress from_v4(const uint8_t* four) noexcept {
  IpAddress a;
  std::memcpy(a.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size());
  std::memcpy(a.bytes.data() + 12, four, 4);
  return a;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<uint32_t> parse_hex32(std::string_view s) noexcept {
  if (s.empty() || s.size() > 8) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<uint32_t>(d);
  }
  return v;
}

/// "0100007F:1F90" (tcp) or 32 hex digits ":PORT" (tcp6). The kernel prints each 32-bit word of
/// the address as the host-order integer it holds in memory, so copying the parsed word back
/// into memory restores the network-order bytes on any endianness.
bool parse_proc_endpoint(std::string_view field, IpAddress& ip, uint16_t& port) noexcept {
  size_t colon = field.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view addr = field.substr(0, colon);
  auto p = parse_hex32(field.substr(colon + 1));
  if (!p || *p > 0xffff) return false;
  port = static_cast<uint16_t>(*p);
  if (addr.size() == 8) {
    auto w = parse_hex32(addr);
    if (!w) return false;
    uint8_t four[4];
    std::memcpy(four, &*w, 4);
    ip = from_v4(four);
    return true;
  }
  if (addr.size() == 32) {
    for (size_t i = 0; i < 4; ++i) {
      auto w = parse_hex32(addr.substr(i * 8, 8));
      if (!w) return false;
      std::memcpy(ip.bytes.data() + i * 4, &*w, 4);
    }
    return true;
  }
  return false;
}

/// Splits off the next whitespace-separated field of `line`.
std::string_view next_field(std::string_view& line) noexcept {
  size_t start = line.find_first_not_of(" \t\n");
  if (start == std::string_view::npos) {
    line = {};
    return {};
  }
  line.remove_prefix(start);
  size_t end = line.find_first_of(" \t\n");
  std::string_view field = line.substr(0, end);
  line = end == std::string_view::npos ? std::string_view{} : line.substr(end);
  return field;
}

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

std::optional<uint32_t> search_table(const std::string& path, const IpAddress& client,
                                     uint16_t client_port, const IpAddress& server,
                                     uint16_t server_port) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "re"));
  if (!file) return std::nullopt;
  char* raw = nullptr;
  size_t capacity = 0;
  std::optional<uint32_t> found;
  bool header = true;
  while (::getline(&raw, &capacity, file.get()) > 0) {
    if (header) {  // "  sl  local_address rem_address   st ..."
      header = false;
      continue;
    }
    std::string_view line(raw);
    next_field(line);  // "sl:"
    IpAddress local_ip, remote_ip;
    uint16_t local_port = 0, remote_port = 0;
    if (!parse_proc_endpoint(next_field(line), local_ip, local_port) ||
        !parse_proc_endpoint(next_field(line), remote_ip, remote_port))
      continue;
    if (local_port != client_port || remote_port != server_port || local_ip.bytes != client.bytes ||
        remote_ip.bytes != server.bytes)
      continue;
    std::string_view state = next_field(line);
    // TIME_WAIT (06) entries are owned by nobody (uid 0): never a live caller.
    if (state == "06") continue;
    next_field(line);  // tx_queue:rx_queue
    next_field(line);  // tr:tm->when
    next_field(line);  // retrnsmt
    auto uid = core::parse_uint(next_field(line));
    if (uid && *uid <= 0xffffffffu) found = static_cast<uint32_t>(*uid);
    break;
  }
  std::free(raw);
  return found;
}

}  // namespace

bool IpAddress::is_v4() const noexcept {
  return std::memcmp(bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

bool IpAddress::is_loopback() const noexcept {
  if (is_v4()) return bytes[12] == 127;
  for (size_t i = 0; i < 15; ++i)
    if (bytes[i] != 0) return false;
  return bytes[15] == 1;
}

std::optional<IpAddress> parse_ip(std::string_view text) noexcept {
  text = text.substr(0, text.find('%'));
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  char buffer[64];
  if (text.empty() || text.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  uint8_t four[4];
  if (::inet_pton(AF_INET, buffer, four) == 1) return from_v4(four);
  IpAddress a;
  if (::inet_pton(AF_INET6, buffer, a.bytes.data()) == 1) return a;
  return std::nullopt;
}

bool IpNetwork::contains(const IpAddress& a) const noexcept {
  int full = prefix_bits / 8, rest = prefix_bits % 8;
  if (std::memcmp(a.bytes.data(), base.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}

Result<IpNetwork> parse_network(std::string_view text) {
  auto bad = [&] {
    return unexpected(ErrorKind::InvalidArgument,
                      "'" + std::string(text) + "' is not an IP address or CIDR block");
  };
  size_t slash = text.find('/');
  auto ip = parse_ip(core::trim_ows(text.substr(0, slash)));
  if (!ip) return bad();
  IpNetwork net;
  net.base = *ip;
  const int offset = ip->is_v4() ? 96 : 0;
  net.prefix_bits = 128;
  if (slash != std::string_view::npos) {
    auto bits = core::parse_uint(core::trim_ows(text.substr(slash + 1)));
    if (!bits || static_cast<int>(*bits) > 128 - offset) return bad();
    net.prefix_bits = static_cast<int>(*bits) + offset;
  }
  // Host bits must be zero ("10.0.0.7/8" is a typo more often than an intent).
  IpNetwork exact = net;
  for (int bit = net.prefix_bits; bit < 128; ++bit)
    exact.base.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  if (exact.base.bytes != net.base.bytes)
    return unexpected(ErrorKind::InvalidArgument,
                      "'" + std::string(text) + "' has host bits set beyond its prefix length");
  return net;
}

std::optional<uint32_t> socket_owner_uid(const IpAddress& client, uint16_t client_port,
                                         const IpAddress& server, uint16_t server_port,
                                         const std::string& proc_net_dir) {
  // An IPv4 socket is listed in tcp; an IPv6 socket (also one talking IPv4 through mapped
  // addresses) in tcp6.
  if (client.is_v4()) {
    if (auto uid = search_table(proc_net_dir + "/tcp", client, client_port, server, server_port))
      return uid;
  }
  return search_table(proc_net_dir + "/tcp6", client, client_port, server, server_port);
}

}  // namespace gh::identity
