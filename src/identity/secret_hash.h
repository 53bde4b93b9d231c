#pragma once

// Client secrets at rest: scrypt (OpenSSL EVP_KDF "SCRYPT"), salted, in a PHC-style string
// "$scrypt$ln=15,r=8,p=1$<b64 salt>$<b64 hash>" so parameters can be raised later and old hashes
// still verify. Verification is constant-time on the hash. Slow by design (~50 ms): the token
// endpoint keeps an in-memory cache of recently verified secrets (client_auth.h).

#include <string>
#include <string_view>

#include "core/result.h"

namespace gh::identity {

struct ScryptParams {
  int log2_n = 15;  // N = 32768
  int r = 8;
  int p = 1;
};

/// Hashes `secret` with a fresh 16-byte salt.
Result<std::string> hash_secret(std::string_view secret, const ScryptParams& params = {});
/// True when `secret` matches `phc`. InvalidArgument when `phc` is malformed.
Result<bool> verify_secret(std::string_view secret, std::string_view phc);

/// A new secret: 40 characters from [A-Za-z0-9._~-] (240 bits), like Entra's generated values.
std::string generate_secret();

}  // namespace gh::identity
