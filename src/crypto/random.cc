#include "crypto/random.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <vector>

#include "core/encoding.h"

namespace gh::crypto {

void random_bytes(std::span<uint8_t> out) noexcept {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

void random_uuid(std::span<char, 36> out) noexcept {
  uint8_t b[16];
  random_bytes(b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[b[i] >> 4];
    out[o++] = kHex[b[i] & 15];
  }
}

std::string random_uuid() {
  std::string s(36, '\0');
  random_uuid(std::span<char, 36>(s.data(), 36));
  return s;
}

std::string random_hex(size_t n) {
  std::vector<uint8_t> b(n);
  random_bytes(b);
  return core::hex_encode(b);
}

}  // namespace gh::crypto
