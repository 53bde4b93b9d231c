#pragma once

// HMAC with SHA-2 (JWS HS256/384/512). The EVP_MAC is fetched once per process, and each
// thread keeps one context per digest.

#include <cstdint>
#include <span>

#include "core/encoding.h"
#include "core/result.h"
#include "crypto/digest.h"

namespace gh::crypto {

/// HMAC of `data` under `key`. Crypto error only if OpenSSL fails.
Result<core::Bytes> hmac(DigestAlg alg, std::span<const uint8_t> key,
                         std::span<const uint8_t> data);

/// Constant-time check that `mac` is the HMAC of `data` under `key`. Thread-safe.
bool hmac_verify(DigestAlg alg, std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<const uint8_t> mac) noexcept;

}  // namespace gh::crypto
