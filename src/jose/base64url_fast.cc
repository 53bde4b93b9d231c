#include "jose/base64url_fast.h"

#include <array>
#include <cstdint>

namespace gh::jose {
namespace {

constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t)
    v = -1;
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return t;
}

constexpr std::array<int8_t, 256> kTable = make_table();

}  // namespace

bool decode_base64url(std::string_view text, core::Bytes& out) {
  const size_t n = text.size();
  const size_t rem = n % 4;
  if (rem == 1) return false;
  out.resize(n / 4 * 3 + (rem == 0 ? 0 : rem - 1));
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  uint8_t* o = out.data();
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const int32_t a = kTable[in[i]], b = kTable[in[i + 1]], c = kTable[in[i + 2]],
                  d = kTable[in[i + 3]];
    if ((a | b | c | d) < 0) return false;  // any -1 sets the sign bit
    const uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                       (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
    o[0] = static_cast<uint8_t>(v >> 16);
    o[1] = static_cast<uint8_t>(v >> 8);
    o[2] = static_cast<uint8_t>(v);
    o += 3;
  }
  if (rem == 2) {
    const int32_t a = kTable[in[i]], b = kTable[in[i + 1]];
    if ((a | b) < 0 || (b & 0x0f) != 0) return false;  // 4 unused bits must be zero
    o[0] = static_cast<uint8_t>((a << 2) | (b >> 4));
  } else if (rem == 3) {
    const int32_t a = kTable[in[i]], b = kTable[in[i + 1]], c = kTable[in[i + 2]];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return false;  // 2 unused bits must be zero
    o[0] = static_cast<uint8_t>((a << 2) | (b >> 4));
    o[1] = static_cast<uint8_t>(((b & 0x0f) << 4) | (c >> 2));
  }
  return true;
}

}  // namespace gh::jose
