#pragma once

// Shared by the vault store tests: a temporary directory, fixed master keys, a store on a fixed
// clock over an in-memory (or file) database.

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "identity/key_ring.h"
#include "store/database.h"
#include "support/test_pki.h"
#include "vault/vault_store.h"

namespace gh::vault::test {

/// 2027-01-15T08:00:00Z.
inline constexpr int64_t kT0 = 1'800'000'000;
inline constexpr int64_t kDay = 86400;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gh_vault_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline identity::MasterKey master_key(uint8_t fill) {
  std::array<uint8_t, 32> bytes;
  bytes.fill(fill);
  bytes[0] = 0x01;
  return identity::MasterKey::from_bytes(bytes);
}

inline std::shared_ptr<store::Database> open_db(const std::string& path = ":memory:") {
  auto db = store::Database::open(path);
  if (!db) {
    ADD_FAILURE() << db.error().message;
    return nullptr;
  }
  return std::shared_ptr<store::Database>(std::move(*db));
}

inline std::unique_ptr<VaultStore> open_store(std::shared_ptr<store::Database> db,
                                              identity::MasterKey master, const core::Clock& clock,
                                              std::vector<CertificateIssuer> issuers = {},
                                              VaultLimits limits = {}) {
  auto store =
      VaultStore::open(std::move(db), std::move(master), std::move(issuers), clock, limits);
  if (!store) {
    ADD_FAILURE() << store.error().message;
    return nullptr;
  }
  return std::move(*store);
}

inline NewSecret new_secret(std::string name, std::string value) {
  NewSecret s;
  s.name = std::move(name);
  s.value = std::move(value);
  return s;
}

inline bool is_version_id(const std::string& v) {
  if (v.size() != 32) return false;
  for (const char c : v) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace gh::vault::test
