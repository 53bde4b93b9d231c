#include "identity/master_key_rotation.h"

#include <openssl/crypto.h>

#include <string>
#include <utility>
#include <vector>

namespace gh::identity {

Result<size_t> reseal_signing_keys(store::Database& db, const MasterKey& current,
                                   const MasterKey& next) {
  // The table exists once the key ring opened the database; a database that never ran the
  // identity role has nothing to re-seal.
  GH_TRY(auto exists, db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                                 "'signing_keys'",
                                 "look for the signing key table"));
  GH_TRY(bool has_table, exists.step());
  if (!has_table) return size_t{0};

  std::vector<std::pair<std::string, core::Bytes>> resealed;
  {
    GH_TRY(auto rows, db.prepare("SELECT kid, sealed_private_key FROM signing_keys",
                                 "read sealed signing keys"));
    while (true) {
      GH_TRY(bool row, rows.step());
      if (!row) break;
      std::string kid = rows.text(0);
      auto plain = current.open(rows.blob(1), kid);
      if (!plain) {
        return unexpected(ErrorKind::Crypto,
                          "signing key " + kid + " does not open with the current master key");
      }
      auto sealed = next.seal(*plain, kid);
      OPENSSL_cleanse(plain->data(), plain->size());
      if (!sealed) return unexpected(sealed.error());
      resealed.emplace_back(std::move(kid), std::move(*sealed));
    }
  }
  GH_TRY(auto update, db.prepare("UPDATE signing_keys SET sealed_private_key = ?1 WHERE kid = ?2",
                                 "re-seal a signing key"));
  for (const auto& [kid, sealed] : resealed) {
    update.bind_blob(1, sealed).bind(2, kid);
    GH_TRY_STATUS(update.run());
    update.reset();
  }
  return resealed.size();
}

}  // namespace gh::identity
