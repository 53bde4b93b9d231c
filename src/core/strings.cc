#include "core/strings.h"

#include <cstring>

namespace gh::core {

namespace {
constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

/// Eight bytes with 'A'..'Z' lowered and every other byte (non-ASCII included) unchanged.
constexpr uint64_t lower8(uint64_t x) noexcept {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t low7 = x & ~kHigh;  // each byte below 0x80: sums cannot carry
  const uint64_t at_least_a = low7 + kOnes * (0x80 - 'A');
  const uint64_t above_z = low7 + kOnes * (0x80 - 'Z' - 1);
  const uint64_t upper = at_least_a & ~above_z & ~x & kHigh;  // ASCII 'A'..'Z' only
  return x | (upper >> 2);                                    // 0x80 >> 2 is the case bit
}
}  // namespace

bool iequals_bytes(const char* a, const char* b, size_t size) noexcept {
  // Header names and schemes: compared eight bytes at a time.
  for (; size >= 8; a += 8, b += 8, size -= 8) {
    uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y && lower8(x) != lower8(y)) return false;
  }
  for (size_t i = 0; i < size; ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> parse_uint(std::string_view s) noexcept {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = lower(c);
  return out;
}

}  // namespace gh::core
