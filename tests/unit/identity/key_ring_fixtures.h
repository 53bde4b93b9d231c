#pragma once

// Shared by the key ring and token minter tests: a temporary directory, a fixed master key, a
// ring on a fake clock.

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <memory>
#include <string>

#include "identity/key_ring.h"
#include "store/database.h"
#include "support/test_pki.h"

namespace gh::identity::test {

/// 2027-01-15T08:00:00Z: a round instant for schedules.
inline constexpr int64_t kT0 = 1'800'000'000;
inline constexpr int64_t kDay = 86400;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gh_keys_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline MasterKey test_master_key(uint8_t fill = 0x42) {
  std::array<uint8_t, 32> bytes;
  bytes.fill(fill);
  bytes[0] = 0x01;  // not all the same byte
  return MasterKey::from_bytes(bytes);
}

inline config::IdentitySigning policy(const std::string& alg = "ES256") {
  config::IdentitySigning p;
  p.algorithm = alg;
  p.rotate_every = std::chrono::seconds(90 * kDay);
  p.publish_ahead = std::chrono::seconds(2 * kDay);
  p.retire_after = std::chrono::seconds(2 * kDay);
  return p;
}

inline std::shared_ptr<store::Database> open_db(const std::string& path = ":memory:") {
  auto db = store::Database::open(path);
  if (!db) {
    ADD_FAILURE() << db.error().message;
    return nullptr;
  }
  return std::shared_ptr<store::Database>(std::move(*db));
}

}  // namespace gh::identity::test
