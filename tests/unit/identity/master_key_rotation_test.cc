// Master-key rotation of the signing keys (identity/master_key_rotation.h): after re-sealing,
// the ring opens with the new key only and signs with the same keys; a wrong current key
// changes nothing.

#include "identity/master_key_rotation.h"

#include <gtest/gtest.h>

#include "key_ring_fixtures.h"
#include "support/test_pki.h"

namespace gh::identity {
namespace {

class MasterKeyRotationTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
  gh::test::FixedClock clock_{test::kT0};
};

TEST_F(MasterKeyRotationTest, SigningKeysOpenWithTheNewKeyOnly) {
  const std::string path = dir_.file("gatehouse.db");
  std::vector<SigningKeyInfo> before;
  {
    auto ring = KeyRing::open(test::open_db(path), test::test_master_key(0x11),
                              test::policy("RS256"), clock_);
    ASSERT_TRUE(ring) << ring.error().message;
    before = (*ring)->current()->keys();
  }
  auto db = test::open_db(path);
  Result<size_t> resealed = size_t{0};
  auto done = db->transaction([&]() -> Status {
    resealed = reseal_signing_keys(*db, test::test_master_key(0x11), test::test_master_key(0x22));
    if (!resealed) return unexpected(resealed.error());
    return {};
  });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(*resealed, before.size());
  EXPECT_GE(before.size(), 1u);

  auto old_key = KeyRing::open(test::open_db(path), test::test_master_key(0x11),
                               test::policy("RS256"), clock_);
  ASSERT_FALSE(old_key);
  EXPECT_EQ(old_key.error().kind, ErrorKind::Crypto);
  auto ring = KeyRing::open(test::open_db(path), test::test_master_key(0x22), test::policy("RS256"),
                            clock_);
  ASSERT_TRUE(ring) << ring.error().message;
  const auto& after = (*ring)->current()->keys();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].kid, before[i].kid);
    EXPECT_EQ(after[i].certificate_der, before[i].certificate_der);
  }
}

TEST_F(MasterKeyRotationTest, AWrongCurrentKeyChangesNothing) {
  const std::string path = dir_.file("gatehouse.db");
  {
    auto ring = KeyRing::open(test::open_db(path), test::test_master_key(0x11),
                              test::policy("ES256"), clock_);
    ASSERT_TRUE(ring) << ring.error().message;
  }
  auto db = test::open_db(path);
  auto done = db->transaction([&]() -> Status {
    auto r = reseal_signing_keys(*db, test::test_master_key(0x33), test::test_master_key(0x22));
    if (!r) return unexpected(r.error());
    return {};
  });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind, ErrorKind::Crypto);
  EXPECT_EQ(done.error().message.find("PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(KeyRing::open(test::open_db(path), test::test_master_key(0x11), test::policy("ES256"),
                            clock_));
}

TEST_F(MasterKeyRotationTest, ADatabaseWithoutSigningKeysHasNothingToReseal) {
  auto db = test::open_db();
  auto r = reseal_signing_keys(*db, test::test_master_key(0x11), test::test_master_key(0x22));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 0u);
}

}  // namespace
}  // namespace gh::identity
