#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gh::core {

/// ASCII case-insensitive equality of two strings of `size` bytes.
bool iequals_bytes(const char* a, const char* b, size_t size) noexcept;

/// ASCII case-insensitive equality (HTTP tokens, header names). Inline: most calls compare
/// strings of different lengths, which takes no call at all.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && iequals_bytes(a.data(), b.data(), a.size());
}

/// Removes HTTP optional whitespace (SP, HTAB) from both ends.
std::string_view trim_ows(std::string_view s) noexcept;

/// Parses a non-negative decimal integer with no sign, no spaces, no overflow.
std::optional<uint64_t> parse_uint(std::string_view s) noexcept;

/// A lower-cased copy (ASCII).
std::string to_lower(std::string_view s);

}  // namespace gh::core
