#pragma once

// Envelope encryption of one vault value (private to the vault store).
//
// Each value gets its own random 256-bit data key: the value is sealed with it (AES-256-GCM,
// random 96-bit nonce, layout nonce || ciphertext || tag), and the data key itself is sealed by
// the master key (identity::MasterKey::seal). Both use the same additional data, the item id
// "secrets/<name>/<version>", so a sealed value or wrapped key copied to another row does not
// open. The master key's fingerprint is kept beside the wrapped key so that a value sealed under
// another master key is reported as that, not as corruption. Rewrapping moves a data key to a
// new master key without ever decrypting the value.

#include <span>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "core/result.h"
#include "identity/key_ring.h"

namespace gh::vault {

/// What is stored for one sealed value.
struct SealedValue {
  core::Bytes ciphertext;   // nonce || AES-256-GCM(data key, value) || tag
  core::Bytes wrapped_key;  // MasterKey::seal(data key)
  std::string fingerprint;  // MasterKey::fingerprint() of the wrapping key
};

/// The additional data binding a value to its item: "secrets/<name>/<version>".
std::string envelope_aad(std::string_view name, std::string_view version);

/// Seals `plain` under a fresh data key wrapped by `master`.
Result<SealedValue> seal_value(const identity::MasterKey& master, std::span<const uint8_t> plain,
                               std::string_view aad);

/// Opens a sealed value. Crypto error (naming nothing secret) when `master` is not the key it
/// was wrapped under, or when the ciphertext, wrapped key or `aad` do not authenticate.
Result<std::string> open_value(const identity::MasterKey& master, const SealedValue& sealed,
                               std::string_view aad);

/// The data key of `sealed` unwrapped with `from` and wrapped again with `to` (the value's
/// ciphertext is untouched). Crypto error when `from` is not the key it was wrapped under.
Result<SealedValue> rewrap_value(const identity::MasterKey& from, const identity::MasterKey& to,
                                 SealedValue sealed, std::string_view aad);

}  // namespace gh::vault
