#pragma once

// Master-key rotation for the identity role's sealed signing keys: every private key is opened
// with the current master key and sealed again with the next one, in the caller's transaction
// (so that the vault's data keys can be re-wrapped in the same one: all or nothing).

#include "core/result.h"
#include "identity/key_ring.h"
#include "store/database.h"

namespace gh::identity {

/// Re-seals every row of the signing key table from `current` to `next`. Call inside
/// Database::transaction. Crypto error (naming the kid, never key material) when a row does not
/// open with `current`: nothing is changed then, once the transaction rolls back. Returns the
/// number of keys re-sealed.
Result<size_t> reseal_signing_keys(store::Database& db, const MasterKey& current,
                                   const MasterKey& next);

}  // namespace gh::identity
