#pragma once

// Client secrets at rest: scrypt (OpenSSL EVP_KDF "SCRYPT"), salted, in a PHC-style string
// "$scrypt$ln=15,r=8,p=1$<b64 salt>$<b64 hash>" so parameters can be raised later and old hashes
// still verify. Verification is constant-time on the hash. Slow by design (~50 ms): the token
// endpoint keeps an in-memory cache of recently verified secrets (client_auth.h).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "core/result.h"

namespace gh::identity {

struct ScryptParams {
  int log2_n = 15;  // N = 32768
  int r = 8;
  int p = 1;
};

/// Bounds accepted when hashing and when verifying a stored hash, so that a tampered row cannot
/// make one verification take minutes or gigabytes: ln 10..20, r 1..32, p 1..16, and together
/// at most 256 MiB (128·r·N bytes) and 16 times the default's work (N·r·p <= 2^22). The
/// per-parameter ranges alone would allow 4 GiB and 2048 times the work.
bool scrypt_params_allowed(const ScryptParams& params) noexcept;

/// Raw scrypt (RFC 7914) through OpenSSL's KDF: `length` bytes derived from `secret` and `salt`.
/// Fails (kind Crypto) when OpenSSL refuses the parameters.
Result<core::Bytes> scrypt(std::string_view secret, std::span<const uint8_t> salt,
                           const ScryptParams& params, size_t length);

/// Hashes `secret` with a fresh 16-byte salt.
Result<std::string> hash_secret(std::string_view secret, const ScryptParams& params = {});
/// A stored hash string, parsed: parameters within scrypt_params_allowed(), salt 8..64 bytes,
/// hash 16..64 bytes.
struct PhcHash {
  ScryptParams params;
  core::Bytes salt;
  core::Bytes hash;
};

/// Parses "$scrypt$ln=N,r=N,p=N$<salt>$<hash>" (unpadded standard base64, parameters in that
/// order) without hashing anything. InvalidArgument when malformed or out of bounds.
Result<PhcHash> parse_phc(std::string_view phc);

/// True when `secret` matches `phc`. InvalidArgument when `phc` is malformed (parse_phc).
Result<bool> verify_secret(std::string_view secret, std::string_view phc);

/// A new secret: 40 characters drawn uniformly from [A-Za-z0-9._~-] (66 symbols, ~241 bits),
/// like Entra's generated values.
std::string generate_secret();

}  // namespace gh::identity
