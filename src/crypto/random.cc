#include "crypto/random.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <vector>

#include "core/encoding.h"

namespace gh::crypto {

void random_bytes(std::span<uint8_t> out) noexcept {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

std::string random_uuid() {
  uint8_t b[16];
  random_bytes(b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  std::string hex = core::hex_encode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string random_hex(size_t n) {
  std::vector<uint8_t> b(n);
  random_bytes(b);
  return core::hex_encode(b);
}

}  // namespace gh::crypto
