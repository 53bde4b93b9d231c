#include "core/encoding.h"

#include <array>

namespace gh::core {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_table(const char* alphabet) {
  std::array<int8_t, 256> t{};
  for (auto& v : t)
    v = -1;
  for (int i = 0; i < 64; ++i)
    t[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kB64Table = make_table(kB64);
constexpr auto kB64UrlTable = make_table(kB64Url);

std::string encode(std::span<const uint8_t> in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t n = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t n = uint32_t{in[i]} << 16;
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    uint32_t n = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Decodes unpadded text; rejects a length of 1 mod 4 and non-zero unused trailing bits.
Result<Bytes> decode_unpadded(std::string_view in, const std::array<int8_t, 256>& table,
                              std::string_view what) {
  if (in.size() % 4 == 1) {
    return unexpected(ErrorKind::InvalidArgument, std::string(what) + ": invalid length");
  }
  Bytes out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    int8_t v = table[static_cast<uint8_t>(in[i])];
    if (v < 0) {
      return unexpected(ErrorKind::InvalidArgument,
                        std::string(what) + ": invalid character at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return unexpected(ErrorKind::InvalidArgument,
                      std::string(what) + ": non-canonical trailing bits");
  }
  return out;
}

}  // namespace

std::string base64url_encode(std::span<const uint8_t> data) {
  return encode(data, kB64Url, false);
}

Result<Bytes> base64url_decode(std::string_view text) {
  return decode_unpadded(text, kB64UrlTable, "base64url");
}

std::string base64_encode(std::span<const uint8_t> data) {
  return encode(data, kB64, true);
}

Result<Bytes> base64_decode(std::string_view text, bool allow_missing_padding) {
  size_t pad = 0;
  while (pad < 2 && !text.empty() && text.back() == '=') {
    text.remove_suffix(1);
    ++pad;
  }
  if (pad > 0 && (text.size() + pad) % 4 != 0) {
    return unexpected(ErrorKind::InvalidArgument, "base64: invalid padding");
  }
  if (pad == 0 && text.size() % 4 != 0 && !allow_missing_padding) {
    return unexpected(ErrorKind::InvalidArgument, "base64: missing padding");
  }
  return decode_unpadded(text, kB64Table, "base64");
}

namespace {
std::string hex(std::span<const uint8_t> data, const char* digits) {
  std::string out;
  out.resize(data.size() * 2);
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string hex_encode(std::span<const uint8_t> data) {
  return hex(data, "0123456789abcdef");
}
std::string hex_encode_upper(std::span<const uint8_t> data) {
  return hex(data, "0123456789ABCDEF");
}

Result<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return unexpected(ErrorKind::InvalidArgument, "hex: odd length");
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(text[2 * i]);
    int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return unexpected(ErrorKind::InvalidArgument,
                        "hex: invalid character at offset " + std::to_string(2 * i));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

void append_percent_encoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

}  // namespace gh::core
