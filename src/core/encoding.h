#pragma once

// Byte encodings used across the wire formats: base64url (JOSE, strict), standard base64 (PEM,
// forwarded certificates), hex (thumbprints).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gh::core {

using Bytes = std::vector<uint8_t>;

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string_view(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// base64url without padding (RFC 7515 §2).
std::string base64url_encode(std::span<const uint8_t> data);
inline std::string base64url_encode(std::string_view s) {
  return base64url_encode(as_bytes(s));
}

/// Strict base64url decode: no padding, only the URL-safe alphabet, and the unused trailing bits
/// must be zero (so each value has exactly one encoding). Fails with InvalidArgument.
Result<Bytes> base64url_decode(std::string_view text);

/// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(std::span<const uint8_t> data);

/// Standard base64 decode; padding required unless `allow_missing_padding`. Ignores no
/// characters: whitespace is an error.
Result<Bytes> base64_decode(std::string_view text, bool allow_missing_padding = false);

/// Lower-case hex.
std::string hex_encode(std::span<const uint8_t> data);
/// Upper-case hex (the form APIM and Entra show certificate thumbprints in).
std::string hex_encode_upper(std::span<const uint8_t> data);
/// Appends `s` percent-encoded for a URL query: every byte but RFC 3986 unreserved characters
/// (ALPHA, DIGIT, "-", ".", "_", "~") becomes %XX (upper-case hex).
void append_percent_encoded(std::string& out, std::string_view s);

/// Hex decode, either case; fails on odd length or a non-hex character.
Result<Bytes> hex_decode(std::string_view text);

}  // namespace gh::core
