#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace gh::crypto {

/// Fills `out` from OpenSSL's CSPRNG; aborts if the CSPRNG fails (never silently weak).
void random_bytes(std::span<uint8_t> out) noexcept;

/// A random version-4 UUID in lower-case canonical form.
std::string random_uuid();
/// The same into a caller's buffer (no allocation: per-request ids on hot paths).
void random_uuid(std::span<char, 36> out) noexcept;

/// `n` random bytes as lower-case hex (request ids, nonces).
std::string random_hex(size_t n);

}  // namespace gh::crypto
