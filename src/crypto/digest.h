#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace gh::crypto {

enum class DigestAlg : uint8_t { Sha1, Sha256, Sha384, Sha512 };

/// The fetched EVP_MD for `alg`: fetched once per process and reused (implicit fetching per call
/// is OpenSSL 3's known slowdown). Thread-safe; never null.
const EVP_MD* md(DigestAlg alg) noexcept;

/// Digest length in bytes.
size_t digest_size(DigestAlg alg) noexcept;

using Sha1Digest = std::array<uint8_t, 20>;
using Sha256Digest = std::array<uint8_t, 32>;

Sha1Digest sha1(std::span<const uint8_t> data) noexcept;
Sha256Digest sha256(std::span<const uint8_t> data) noexcept;
inline Sha256Digest sha256(std::string_view s) noexcept {
  return sha256({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

/// Constant-time comparison of equal-length buffers; false when lengths differ.
bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept;

}  // namespace gh::crypto
