#include "vault/envelope.h"

#include <gtest/gtest.h>

#include <string>

#include "vault_fixtures.h"

namespace gh::vault {
namespace {

using test::master_key;

constexpr std::string_view kValue = "correct horse battery staple";

TEST(Envelope, AadNamesTheItem) {
  EXPECT_EQ(envelope_aad("db-password", "0123abcd"), "secrets/db-password/0123abcd");
}

TEST(Envelope, SealsAndOpens) {
  const auto master = master_key(0x11);
  auto sealed = seal_value(master, core::as_bytes(kValue), "secrets/a/1");
  ASSERT_TRUE(sealed) << sealed.error().message;
  EXPECT_EQ(sealed->fingerprint, master.fingerprint());
  EXPECT_EQ(sealed->ciphertext.size(), kValue.size() + 12 + 16);
  EXPECT_EQ(core::as_string_view(sealed->ciphertext).find(kValue), std::string_view::npos);
  auto opened = open_value(master, *sealed, "secrets/a/1");
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, kValue);
}

TEST(Envelope, EverySealUsesItsOwnDataKeyAndNonce) {
  const auto master = master_key(0x11);
  auto a = seal_value(master, core::as_bytes(kValue), "secrets/a/1");
  auto b = seal_value(master, core::as_bytes(kValue), "secrets/a/1");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->ciphertext, b->ciphertext);
  EXPECT_NE(a->wrapped_key, b->wrapped_key);
}

TEST(Envelope, OtherItemsAdditionalDataDoesNotOpen) {
  const auto master = master_key(0x11);
  auto sealed = seal_value(master, core::as_bytes(kValue), "secrets/a/1");
  ASSERT_TRUE(sealed);
  auto opened = open_value(master, *sealed, "secrets/b/1");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, ErrorKind::Crypto);
}

TEST(Envelope, AlteredCiphertextDoesNotOpen) {
  const auto master = master_key(0x11);
  auto sealed = seal_value(master, core::as_bytes(kValue), "secrets/a/1");
  ASSERT_TRUE(sealed);
  sealed->ciphertext[14] ^= 0x01;
  auto opened = open_value(master, *sealed, "secrets/a/1");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, ErrorKind::Crypto);
  EXPECT_EQ(opened.error().message.find(kValue), std::string::npos);

  sealed->ciphertext.resize(10);
  EXPECT_FALSE(open_value(master, *sealed, "secrets/a/1"));
}

TEST(Envelope, WrongMasterKeyIsNamedAsSuch) {
  auto sealed = seal_value(master_key(0x11), core::as_bytes(kValue), "secrets/a/1");
  ASSERT_TRUE(sealed);
  auto opened = open_value(master_key(0x22), *sealed, "secrets/a/1");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, ErrorKind::Crypto);
  EXPECT_NE(opened.error().message.find("master key"), std::string::npos);
  EXPECT_NE(opened.error().message.find(master_key(0x11).fingerprint()), std::string::npos);

  // A forged fingerprint does not help: the wrapped key still fails to authenticate.
  sealed->fingerprint = master_key(0x22).fingerprint();
  opened = open_value(master_key(0x22), *sealed, "secrets/a/1");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, ErrorKind::Crypto);
}

TEST(Envelope, RewrapMovesTheDataKeyOnly) {
  const auto old_key = master_key(0x11);
  const auto new_key = master_key(0x22);
  auto sealed = seal_value(old_key, core::as_bytes(kValue), "secrets/a/1");
  ASSERT_TRUE(sealed);
  const core::Bytes ciphertext = sealed->ciphertext;
  auto moved = rewrap_value(old_key, new_key, *sealed, "secrets/a/1");
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->ciphertext, ciphertext);
  EXPECT_NE(moved->wrapped_key, sealed->wrapped_key);
  EXPECT_EQ(moved->fingerprint, new_key.fingerprint());

  auto opened = open_value(new_key, *moved, "secrets/a/1");
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, kValue);
  EXPECT_FALSE(open_value(old_key, *moved, "secrets/a/1"));

  auto wrong = rewrap_value(new_key, old_key, *sealed, "secrets/a/1");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, ErrorKind::Crypto);
}

TEST(MasterKeyFingerprint, IsShortStableAndPerKey) {
  const std::string a = master_key(0x11).fingerprint();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a, master_key(0x11).fingerprint());
  EXPECT_NE(a, master_key(0x12).fingerprint());
}

}  // namespace
}  // namespace gh::vault
