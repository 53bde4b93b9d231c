// Fuzzes ip-filter's address parser (policy::parse_ip_address): whatever the input, it either
// fails or yields an address that inet_ntop prints and the parser reads back to the same value.

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "policy/ip_filter.h"

namespace {

// Aborts (a finding) naming the broken invariant.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bool v4 = false;
  auto ip = gh::policy::parse_ip_address(text, &v4);
  if (!ip) return 0;
  unsigned char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(ip->high >> (56 - 8 * i));
    bytes[8 + i] = static_cast<unsigned char>(ip->low >> (56 - 8 * i));
  }
  char printed[INET6_ADDRSTRLEN];
  if (v4) {
    // IPv4 is stored IPv4-mapped.
    FUZZ_CHECK(ip->high == 0 && (ip->low >> 32) == 0xFFFF);
    FUZZ_CHECK(inet_ntop(AF_INET, bytes + 12, printed, sizeof printed) != nullptr);
  } else {
    FUZZ_CHECK(inet_ntop(AF_INET6, bytes, printed, sizeof printed) != nullptr);
  }
  auto again = gh::policy::parse_ip_address(printed);
  FUZZ_CHECK(again && *again == *ip);
  return 0;
}
