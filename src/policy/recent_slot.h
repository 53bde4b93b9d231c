#pragma once

// The slot of a small per-worker table of recently seen texts (bearer tokens, subscription keys)
// that the gateway looks up in full on every request.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace gh::policy {

/// Which of `slots` (a power of two, at most 2^32) holds `text`: from its length and last eight
/// bytes, where tokens and keys differ (a signature, a random tail), times a Fibonacci constant.
/// No security rests on it: a slot's text is always compared in full.
inline size_t recent_slot(std::string_view text, size_t slots) noexcept {
  uint64_t tail = text.size();
  const size_t n = std::min(text.size(), sizeof tail);
  std::memcpy(&tail, text.data() + text.size() - n, n);
  return static_cast<size_t>((tail * 0x9e3779b97f4a7c15ULL) >> 32) & (slots - 1);
}

}  // namespace gh::policy
