#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gh::core {

/// ASCII case-insensitive equality (HTTP tokens, header names).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// Removes HTTP optional whitespace (SP, HTAB) from both ends.
std::string_view trim_ows(std::string_view s) noexcept;

/// Parses a non-negative decimal integer with no sign, no spaces, no overflow.
std::optional<uint64_t> parse_uint(std::string_view s) noexcept;

/// A lower-cased copy (ASCII).
std::string to_lower(std::string_view s);

}  // namespace gh::core
