#include "identity/key_ring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "core/encoding.h"
#include "crypto/digest.h"
#include "identity/token_minter.h"
#include "jose/jwt.h"
#include "key_ring_fixtures.h"
#include "x509/certificate.h"

namespace gh::identity {
namespace {

using test::kDay;
using test::kT0;

// ---------------------------------------------------------------------------------------------
// MasterKey

void write_file(const std::string& path, std::string_view data, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

// True when `a` opens what `b` sealed (the keys are equal).
bool same_key(const MasterKey& a, const MasterKey& b) {
  auto sealed = b.seal(core::as_bytes("probe"), "aad");
  if (!sealed) return false;
  auto opened = a.open(*sealed, "aad");
  return opened && core::as_string_view(*opened) == "probe";
}

TEST(MasterKeyTest, SealOpenRoundTripWithFreshNonces) {
  const MasterKey key = test::test_master_key();
  const std::string plain = "-----BEGIN PRIVATE KEY----- not really";
  auto a = key.seal(core::as_bytes(plain), "kid-1");
  auto b = key.seal(core::as_bytes(plain), "kid-1");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 12 + plain.size() + 16);
  EXPECT_NE(*a, *b);  // random nonce: the same plaintext never seals the same way
  EXPECT_TRUE(std::search(a->begin(), a->end(), plain.begin(), plain.end()) == a->end());
  auto opened = key.open(*a, "kid-1");
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(core::as_string_view(*opened), plain);
  auto empty = key.seal({}, "kid");
  ASSERT_TRUE(empty);
  auto empty_opened = key.open(*empty, "kid");
  ASSERT_TRUE(empty_opened);
  EXPECT_TRUE(empty_opened->empty());
}

TEST(MasterKeyTest, AnyAlteredByteWrongAadOrWrongKeyFails) {
  const MasterKey key = test::test_master_key();
  auto sealed = key.seal(core::as_bytes("secret key bytes"), "kid-1");
  ASSERT_TRUE(sealed);
  for (size_t i = 0; i < sealed->size(); ++i) {  // nonce, ciphertext and tag alike
    core::Bytes tampered = *sealed;
    tampered[i] ^= 0x01;
    auto r = key.open(tampered, "kid-1");
    ASSERT_FALSE(r) << "byte " << i;
    EXPECT_EQ(r.error().kind, ErrorKind::Crypto);
  }
  EXPECT_FALSE(key.open(*sealed, "kid-2"));
  EXPECT_FALSE(test::test_master_key(0x43).open(*sealed, "kid-1"));
  EXPECT_FALSE(key.open(std::span<const uint8_t>(sealed->data(), 27), "kid-1"));
  core::Bytes truncated(sealed->begin(), sealed->end() - 1);
  EXPECT_FALSE(key.open(truncated, "kid-1"));
}

TEST(MasterKeyTest, LoadsRawHexAndBase64Files) {
  test::TempDir dir;
  std::array<uint8_t, 32> bytes;
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  const MasterKey expected = MasterKey::from_bytes(bytes);
  const std::string raw(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const std::string forms[] = {raw, core::hex_encode(bytes) + "\n", core::hex_encode_upper(bytes),
                               core::base64_encode(bytes) + "\n"};
  for (const auto& form : forms) {
    const std::string path = dir.file("master.key");
    write_file(path, form, 0600);
    auto key = MasterKey::load(path, "ignored when the file is set");
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_TRUE(same_key(*key, expected));
  }
}

TEST(MasterKeyTest, RejectsFilesOthersCanReadWithAClearMessage) {
  test::TempDir dir;
  const std::string path = dir.file("master.key");
  const std::string hex(64, 'a');
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    write_file(path, hex, mode);
    auto key = MasterKey::load(path, {});
    ASSERT_FALSE(key) << std::oct << mode;
    EXPECT_EQ(key.error().kind, ErrorKind::PermissionDenied);
    EXPECT_NE(key.error().message.find("chmod 600"), std::string::npos) << key.error().message;
    EXPECT_NE(key.error().message.find(path), std::string::npos);
    EXPECT_EQ(key.error().message.find(hex), std::string::npos);  // never the value
  }
  write_file(path, hex, 0400);
  EXPECT_TRUE(MasterKey::load(path, {}));
}

TEST(MasterKeyTest, RejectsBadFilesAndValuesWithoutEchoingThem) {
  test::TempDir dir;
  const std::string path = dir.file("master.key");
  for (const std::string& bad : {std::string(31, 'x'), std::string(33, 'x'), std::string(64, 'g'),
                                 std::string("c2hvcnQ=\n"), std::string()}) {
    write_file(path, bad, 0600);
    auto key = MasterKey::load(path, {});
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().kind, ErrorKind::InvalidArgument);
    if (!bad.empty()) {
      EXPECT_EQ(key.error().message.find(bad), std::string::npos);
    }
  }
  auto missing = MasterKey::load(dir.file("nope.key"), {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::Io);
  auto directory = MasterKey::load(dir.path(), {});
  EXPECT_FALSE(directory);

  const std::string bad_env = "not-a-key-but-maybe-a-secret";
  auto env = MasterKey::load("", bad_env);
  ASSERT_FALSE(env);
  EXPECT_EQ(env.error().message.find(bad_env), std::string::npos);
  EXPECT_FALSE(MasterKey::load("", std::string(32, 'r')));  // raw bytes only from files
  auto none = MasterKey::load("", "");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("no master key"), std::string::npos);
}

TEST(MasterKeyTest, LoadsFromTheEnvironmentValue) {
  std::array<uint8_t, 32> bytes;
  bytes.fill(0x5a);
  const MasterKey expected = MasterKey::from_bytes(bytes);
  for (const std::string& value : {core::hex_encode(bytes), core::base64_encode(bytes),
                                   " " + core::hex_encode(bytes) + "\n"}) {
    auto key = MasterKey::load("", value);
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_TRUE(same_key(*key, expected));
  }
}

TEST(MasterKeyTest, CreateFileWritesAPrivateRandomKeyOnce) {
  test::TempDir dir;
  const std::string path = dir.file("master.key");
  auto created = MasterKey::create_file(path);
  ASSERT_TRUE(created) << created.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto loaded = MasterKey::load(path, {});
  ASSERT_TRUE(loaded);
  EXPECT_TRUE(same_key(*loaded, *created));
  EXPECT_FALSE(same_key(*loaded, test::test_master_key()));

  auto again = MasterKey::create_file(path);  // would orphan every sealed key
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::Conflict);
  auto reloaded = MasterKey::load(path, {});
  ASSERT_TRUE(reloaded);
  EXPECT_TRUE(same_key(*reloaded, *created));

  const std::string other = dir.file("other.key");
  auto second = MasterKey::create_file(other);
  ASSERT_TRUE(second);
  EXPECT_FALSE(same_key(*second, *created));
}

// ---------------------------------------------------------------------------------------------
// KeyRing

class KeyRingTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyRing> open_ring(const std::string& alg = "ES256",
                                     std::shared_ptr<store::Database> db = nullptr,
                                     const MasterKey& master = test::test_master_key()) {
    if (!db) db = db_;
    auto ring = KeyRing::open(db, master, test::policy(alg), clock_);
    EXPECT_TRUE(ring) << ring.error().message;
    return ring ? std::move(*ring) : nullptr;
  }
  static std::vector<std::string> published_kids(const KeySet& set) {
    std::vector<std::string> out;
    for (const auto& k : set.public_keys().keys())
      out.push_back(k.kid());
    std::sort(out.begin(), out.end());
    return out;
  }
  static const SigningKeyInfo* find(const KeySet& set, const std::string& kid) {
    for (const auto& k : set.keys())
      if (k.kid == kid) return &k;
    return nullptr;
  }
  void tick_at(KeyRing& ring, int64_t t) {
    clock_.set(t);
    auto s = ring.tick();
    ASSERT_TRUE(s) << s.error().message;
  }

  gh::test::FixedClock clock_{kT0};
  std::shared_ptr<store::Database> db_ = test::open_db();
};

TEST_F(KeyRingTest, FirstOpenMakesASignerAndPublishesItsSuccessor) {
  auto ring = open_ring("RS256");
  ASSERT_TRUE(ring);
  const auto set = ring->current();
  ASSERT_TRUE(set);
  ASSERT_NE(set->signer(), nullptr);
  const SigningKeyInfo& signer = *set->signer_info();
  EXPECT_EQ(signer.alg, jose::JwsAlg::RS256);
  EXPECT_EQ(signer.created, kT0);
  EXPECT_EQ(signer.publish_at, kT0);
  EXPECT_EQ(signer.activate_at, kT0);  // signs at once
  EXPECT_EQ(signer.retire_at, kT0 + 90 * kDay);
  EXPECT_EQ(signer.remove_at, kT0 + 92 * kDay);
  EXPECT_TRUE(set->signer()->is_private());
  EXPECT_EQ(set->signer()->kid(), signer.kid);

  ASSERT_EQ(set->keys().size(), 2u);
  const SigningKeyInfo& next = set->keys()[1];
  EXPECT_NE(next.kid, signer.kid);
  EXPECT_EQ(next.publish_at, kT0);
  EXPECT_EQ(next.activate_at, kT0 + 90 * kDay);
  EXPECT_EQ(next.retire_at, 0);
  EXPECT_EQ(next.remove_at, 0);
  EXPECT_EQ(published_kids(*set).size(), 2u);  // always two keys to validate with
  EXPECT_EQ(set->next_event(), kT0 + 90 * kDay);

  for (const auto& k : set->keys()) {
    // kid = x5t = base64url(SHA-1(certificate DER)): 27 characters, no padding.
    EXPECT_EQ(k.kid, core::base64url_encode(crypto::sha1(k.certificate_der)));
    EXPECT_EQ(k.kid.size(), 27u);
    auto cert = x509::Certificate::from_der(k.certificate_der);
    ASSERT_TRUE(cert);
    EXPECT_EQ(cert->subject(), "CN=Gatehouse token signing");
    EXPECT_TRUE(cert->is_self_issued());
    EXPECT_GE(cert->not_after() - cert->not_before(), 5 * 365 * kDay);
    auto pub = cert->public_key();
    EXPECT_EQ(EVP_PKEY_get_base_id(pub.get()), EVP_PKEY_RSA);
    EXPECT_EQ(EVP_PKEY_get_bits(pub.get()), 2048);
  }
}

TEST_F(KeyRingTest, Es256KeysAreP256) {
  auto ring = open_ring("ES256");
  ASSERT_TRUE(ring);
  const auto set = ring->current();
  EXPECT_EQ(set->signer_info()->alg, jose::JwsAlg::ES256);
  EXPECT_EQ(set->signer()->curve(), "P-256");
}

TEST_F(KeyRingTest, RejectsUnsupportedAlgorithmsAndBadPolicies) {
  for (const char* alg : {"PS256", "HS256", "rs256", ""}) {
    auto ring = KeyRing::open(db_, test::test_master_key(), test::policy(alg), clock_);
    ASSERT_FALSE(ring) << alg;
    EXPECT_EQ(ring.error().kind, ErrorKind::InvalidArgument);
  }
  auto p = test::policy();
  p.rotate_every = std::chrono::seconds(0);
  EXPECT_FALSE(KeyRing::open(db_, test::test_master_key(), p, clock_));
  EXPECT_FALSE(KeyRing::open(nullptr, test::test_master_key(), test::policy(), clock_));
}

TEST_F(KeyRingTest, ScheduleAcrossTime) {
  auto ring = open_ring();
  ASSERT_TRUE(ring);
  const auto first = ring->current();
  const std::string k1 = first->signer_info()->kid;
  const std::string k2 = first->keys()[1].kid;

  // Nothing due: the same KeySet stays published.
  tick_at(*ring, kT0 + 60);
  EXPECT_EQ(ring->current()->version(), first->version());
  tick_at(*ring, kT0 + 90 * kDay - 1);
  EXPECT_EQ(ring->current()->version(), first->version());
  EXPECT_EQ(ring->current()->signer_info()->kid, k1);

  // Activation: k2 signs, k1 is retired but still published, k3 is prepared.
  tick_at(*ring, kT0 + 90 * kDay);
  auto set = ring->current();
  EXPECT_NE(set->version(), first->version());
  EXPECT_EQ(ring->version(), set->version());
  ASSERT_NE(set->signer_info(), nullptr);
  EXPECT_EQ(set->signer_info()->kid, k2);
  EXPECT_EQ(set->signer_info()->retire_at, kT0 + 180 * kDay);
  EXPECT_EQ(set->signer_info()->remove_at, kT0 + 182 * kDay);
  ASSERT_EQ(set->keys().size(), 3u);
  const SigningKeyInfo* old = find(*set, k1);
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->retire_at, kT0 + 90 * kDay);
  EXPECT_EQ(old->remove_at, kT0 + 92 * kDay);
  std::string k3;
  for (const auto& k : set->keys())
    if (k.kid != k1 && k.kid != k2) k3 = k.kid;
  const SigningKeyInfo* next = find(*set, k3);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->publish_at, kT0 + 90 * kDay);
  EXPECT_EQ(next->activate_at, kT0 + 180 * kDay);
  EXPECT_EQ(published_kids(*set).size(), 3u);
  EXPECT_NE(set->public_keys().find(k1), nullptr);  // tokens k1 signed still validate
  EXPECT_EQ(set->next_event(), kT0 + 92 * kDay);

  // retire_after later k1 leaves the JWKS; two keys remain.
  tick_at(*ring, kT0 + 92 * kDay - 1);
  EXPECT_NE(ring->current()->public_keys().find(k1), nullptr);
  tick_at(*ring, kT0 + 92 * kDay);
  set = ring->current();
  EXPECT_EQ(find(*set, k1), nullptr);
  EXPECT_EQ(set->public_keys().find(k1), nullptr);
  EXPECT_EQ(published_kids(*set), (std::vector<std::string>{std::min(k2, k3), std::max(k2, k3)}));
  EXPECT_EQ(set->signer_info()->kid, k2);

  // And the next rotation.
  tick_at(*ring, kT0 + 180 * kDay);
  EXPECT_EQ(ring->current()->signer_info()->kid, k3);
  EXPECT_EQ(ring->current()->keys().size(), 3u);
}

TEST_F(KeyRingTest, AfterDowntimeTheSuccessorWaitsPublishAhead) {
  auto ring = open_ring();
  ASSERT_TRUE(ring);
  const std::string k2 = ring->current()->keys()[1].kid;
  // Nobody ticked for 400 days: k2 (published 400 days ago) signs, k1 goes, and the new
  // successor is only just published, so it waits publish_ahead before signing.
  const int64_t now = kT0 + 400 * kDay;
  tick_at(*ring, now);
  const auto set = ring->current();
  EXPECT_EQ(set->signer_info()->kid, k2);
  ASSERT_EQ(set->keys().size(), 2u);
  const SigningKeyInfo& next = set->keys()[1];
  EXPECT_EQ(next.publish_at, now);
  EXPECT_EQ(next.activate_at, now + 2 * kDay);
  EXPECT_EQ(set->signer_info()->retire_at, now + 2 * kDay);
}

TEST_F(KeyRingTest, RotateNowPromotesThePublishedSuccessorAndKeepsTheOldKeyPublished) {
  auto ring = open_ring();
  ASSERT_TRUE(ring);
  const auto before = ring->current();
  const std::string k1 = before->signer_info()->kid;
  const std::string k2 = before->keys()[1].kid;
  TokenMinter minter(*ring);

  const int64_t now = kT0 + 10 * kDay;
  clock_.set(now);
  auto rotated = ring->rotate_now(false);
  ASSERT_TRUE(rotated) << rotated.error().message;
  // The successor validators already hold signs now: no validator meets an unknown kid.
  EXPECT_EQ(rotated->kid, k2);
  EXPECT_EQ(rotated->activate_at, now);
  EXPECT_EQ(rotated->publish_at, kT0);

  const auto set = ring->current();
  EXPECT_EQ(set->signer_info()->kid, rotated->kid);
  const SigningKeyInfo* old = find(*set, k1);
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->retire_at, now);
  EXPECT_EQ(old->remove_at, now + 2 * kDay);
  EXPECT_NE(set->public_keys().find(k1), nullptr);
  ASSERT_EQ(set->keys().size(), 3u);  // old signer, new signer, a new successor
  const SigningKeyInfo& successor = set->keys().back();
  EXPECT_NE(successor.kid, k1);
  EXPECT_NE(successor.kid, k2);
  EXPECT_EQ(successor.publish_at, now);
  EXPECT_EQ(successor.activate_at, now + 90 * kDay);

  tick_at(*ring, now + 2 * kDay);
  EXPECT_EQ(ring->current()->public_keys().find(k1), nullptr);
  EXPECT_EQ(ring->current()->signer_info()->kid, rotated->kid);
}

TEST_F(KeyRingTest, RotateNowAfterAnAlgorithmChangeMakesAKeyOfTheNewAlgorithm) {
  {
    auto es = open_ring("ES256");
    ASSERT_TRUE(es);
  }
  auto rs = open_ring("RS256");  // the same database, the configuration now says RS256
  ASSERT_TRUE(rs);
  const std::string old_successor = rs->current()->keys()[1].kid;
  ASSERT_EQ(rs->current()->keys()[1].alg, jose::JwsAlg::ES256);
  clock_.set(kT0 + kDay);
  auto rotated = rs->rotate_now(false);
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_EQ(rotated->alg, jose::JwsAlg::RS256);
  EXPECT_NE(rotated->kid, old_successor);
  EXPECT_EQ(rs->current()->signer_info()->kid, rotated->kid);
}

TEST_F(KeyRingTest, EmergencyRotationUnpublishesEveryOlderKeyAtOnce) {
  auto ring = open_ring();
  ASSERT_TRUE(ring);
  const auto before = ring->current();
  const std::string k1 = before->signer_info()->kid;
  const std::string k2 = before->keys()[1].kid;
  clock_.set(kT0 + 5 * kDay);
  auto rotated = ring->rotate_now(true);
  ASSERT_TRUE(rotated) << rotated.error().message;
  const auto set = ring->current();
  EXPECT_EQ(set->signer_info()->kid, rotated->kid);
  EXPECT_EQ(set->public_keys().find(k1), nullptr);
  EXPECT_EQ(set->public_keys().find(k2), nullptr);
  EXPECT_EQ(find(*set, k1), nullptr);
  EXPECT_EQ(set->keys().size(), 2u);  // the new signer and its new successor
  // The rows are gone too: a reopened ring does not bring them back.
  auto reopened = open_ring("ES256", db_);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(find(*reopened->current(), k1), nullptr);
  EXPECT_EQ(reopened->current()->signer_info()->kid, rotated->kid);
}

TEST_F(KeyRingTest, ReopeningFromTheDatabaseGivesTheSameKeys) {
  test::TempDir dir;
  const std::string path = dir.file("gatehouse.db");
  std::vector<SigningKeyInfo> keys;
  std::string token;
  {
    auto ring = open_ring("RS256", test::open_db(path));
    ASSERT_TRUE(ring);
    keys = ring->current()->keys();
    Tenant tenant{"8eaef023-2b34-4da1-9baa-8bc8c9d6a490", "Contoso", {}, 0};
    Application app;
    app.client_id = "6731de76-14a6-49ae-97bc-6eba6914391e";
    app.service_principal_id = "1e7d0a3e-7b2f-4c1a-9d3e-2f6a4b5c6d7e";
    MintRequest req;
    req.tenant = &tenant;
    req.client = &app;
    req.resource = &app;
    req.origin = "https://localhost:8443";
    req.now = kT0;
    auto minted = TokenMinter(*ring).mint(req);
    ASSERT_TRUE(minted) << minted.error().message;
    token = minted->access_token;
  }
  // A new process: new Database connection, new ring, same master key.
  auto ring = open_ring("RS256", test::open_db(path));
  ASSERT_TRUE(ring);
  const auto set = ring->current();
  ASSERT_EQ(set->keys().size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(set->keys()[i].kid, keys[i].kid);
    EXPECT_EQ(set->keys()[i].activate_at, keys[i].activate_at);
    EXPECT_EQ(set->keys()[i].retire_at, keys[i].retire_at);
    EXPECT_EQ(set->keys()[i].certificate_der, keys[i].certificate_der);
  }
  // The private key came back too: what the first process signed verifies, and what this one
  // signs has the same kid.
  jose::JwtVerifyOptions options;
  auto verified = jose::verify_jwt(token, set->public_keys(), options, clock_);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->kid, keys[0].kid);
  auto cert = x509::Certificate::from_der(keys[0].certificate_der);
  ASSERT_TRUE(cert);
  EXPECT_EQ(EVP_PKEY_eq(cert->public_key().get(), set->signer()->pkey()), 1);

  // The wrong master key cannot open the ring (and says why, without key material).
  auto wrong = KeyRing::open(test::open_db(path), test::test_master_key(0x99),
                             test::policy("RS256"), clock_);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, ErrorKind::Crypto);
  EXPECT_NE(wrong.error().message.find("master key"), std::string::npos);
  EXPECT_EQ(wrong.error().message.find("PRIVATE KEY"), std::string::npos);
}

TEST_F(KeyRingTest, PrivateKeysAreSealedInTheDatabase) {
  auto ring = open_ring("RS256");
  ASSERT_TRUE(ring);
  auto st = db_->prepare("SELECT kid, sealed_private_key FROM signing_keys", "test");
  ASSERT_TRUE(st);
  int rows = 0;
  while (true) {
    auto row = st->step();
    ASSERT_TRUE(row);
    if (!*row) break;
    ++rows;
    const auto sealed = st->blob(1);
    const std::string text(sealed.begin(), sealed.end());
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
    // Sealed with the kid as associated data: it opens only under its own kid.
    auto plain = test::test_master_key().open(sealed, st->text(0));
    ASSERT_TRUE(plain);
    EXPECT_NE(core::as_string_view(*plain).find("BEGIN PRIVATE KEY"), std::string::npos);
    EXPECT_FALSE(test::test_master_key().open(sealed, "another kid"));
  }
  EXPECT_EQ(rows, 2);
}

TEST_F(KeyRingTest, ChangesByAnotherProcessArePickedUpByTick) {
  test::TempDir dir;
  const std::string path = dir.file("gatehouse.db");
  auto a = open_ring("ES256", test::open_db(path));
  auto b = open_ring("ES256", test::open_db(path));
  ASSERT_TRUE(a && b);
  // Both see the same keys: the second did not make its own first key.
  EXPECT_EQ(a->current()->signer_info()->kid, b->current()->signer_info()->kid);
  EXPECT_EQ(a->current()->keys().size(), 2u);
  EXPECT_EQ(b->current()->keys().size(), 2u);

  clock_.set(kT0 + kDay);
  auto rotated = a->rotate_now(false);
  ASSERT_TRUE(rotated);
  ASSERT_TRUE(b->tick());
  EXPECT_EQ(b->current()->signer_info()->kid, rotated->kid);
  EXPECT_EQ(b->current()->keys().size(), 3u);

  // A scheduled rotation is prepared once, by whichever process ticks first.
  clock_.set(kT0 + 91 * kDay);
  ASSERT_TRUE(a->tick());
  ASSERT_TRUE(b->tick());
  std::set<std::string> kids_a, kids_b;
  for (const auto& k : a->current()->keys())
    kids_a.insert(k.kid);
  for (const auto& k : b->current()->keys())
    kids_b.insert(k.kid);
  EXPECT_EQ(kids_a, kids_b);
  EXPECT_EQ(a->current()->signer_info()->kid, b->current()->signer_info()->kid);
}

TEST_F(KeyRingTest, JwksIsEntrasShape) {
  auto ring = open_ring("RS256");
  ASSERT_TRUE(ring);
  const auto set = ring->current();
  const auto doc = boost::json::parse(set->jwks_json({})).as_object();
  ASSERT_EQ(doc.size(), 1u);
  const auto& keys = doc.at("keys").as_array();
  ASSERT_EQ(keys.size(), 2u);
  for (const auto& v : keys) {
    const auto& k = v.as_object();
    std::vector<std::string> names;
    for (const auto& m : k)
      names.emplace_back(m.key());
    EXPECT_EQ(names, (std::vector<std::string>{"kty", "use", "kid", "x5t", "n", "e", "x5c"}));
    EXPECT_EQ(k.at("kty").as_string(), "RSA");
    EXPECT_EQ(k.at("use").as_string(), "sig");
    EXPECT_EQ(k.at("e").as_string(), "AQAB");
    EXPECT_EQ(k.at("kid").as_string(), k.at("x5t").as_string());
    ASSERT_EQ(k.at("x5c").as_array().size(), 1u);
    auto der = core::base64_decode(k.at("x5c").as_array()[0].as_string());  // standard base64
    ASSERT_TRUE(der);
    EXPECT_EQ(k.at("kid").as_string(), core::base64url_encode(crypto::sha1(*der)));
    // n and e are the certificate's key.
    auto cert = x509::Certificate::from_der(*der);
    ASSERT_TRUE(cert);
    auto jwk = jose::Jwk::from_pkey(cert->public_key(), {});
    ASSERT_TRUE(jwk);
    auto pub = jwk->to_public_json();
    ASSERT_TRUE(pub);
    EXPECT_EQ(k.at("n").as_string(), pub->at("n").as_string());
    const auto* listed = set->public_keys().find(std::string(k.at("kid").as_string()));
    ASSERT_NE(listed, nullptr);
  }
  // The signer comes first.
  EXPECT_EQ(keys[0].as_object().at("kid").as_string(), set->signer_info()->kid);
  // Our own JWKS parser accepts it, checking x5c against n/e and x5t against x5c.
  auto parsed = jose::JwkSet::parse(set->jwks_json({}));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->keys().size(), 2u);
  EXPECT_TRUE(parsed->skipped().empty());
  // The private key never appears.
  EXPECT_EQ(set->jwks_json({}).find("\"d\""), std::string::npos);
}

TEST_F(KeyRingTest, V2JwksKeysCarryIssuerAndCloudInstance) {
  auto ring = open_ring("ES256");
  ASSERT_TRUE(ring);
  const std::string issuer = "https://localhost:8443/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/v2.0";
  const auto doc = boost::json::parse(ring->current()->jwks_json(issuer)).as_object();
  for (const auto& v : doc.at("keys").as_array()) {
    const auto& k = v.as_object();
    std::vector<std::string> names;
    for (const auto& m : k)
      names.emplace_back(m.key());
    EXPECT_EQ(names, (std::vector<std::string>{"kty", "use", "kid", "x5t", "crv", "x", "y", "x5c",
                                               "cloud_instance_name", "issuer"}));
    EXPECT_EQ(k.at("kty").as_string(), "EC");
    EXPECT_EQ(k.at("crv").as_string(), "P-256");
    EXPECT_EQ(k.at("issuer").as_string(), issuer);
    EXPECT_EQ(k.at("cloud_instance_name").as_string(), kCloudInstanceName);
  }
}

TEST_F(KeyRingTest, MintedTokensVerifyAgainstThePublicKeys) {
  auto ring = open_ring("RS256");
  ASSERT_TRUE(ring);
  Tenant tenant{"8eaef023-2b34-4da1-9baa-8bc8c9d6a490", "Contoso", {}, 0};
  Application app;
  app.client_id = "6731de76-14a6-49ae-97bc-6eba6914391e";
  app.service_principal_id = "1e7d0a3e-7b2f-4c1a-9d3e-2f6a4b5c6d7e";
  MintRequest req;
  req.tenant = &tenant;
  req.client = &app;
  req.resource = &app;
  req.origin = "https://localhost:8443";
  req.now = kT0;
  TokenMinter minter(*ring);
  auto minted = minter.mint(req);
  ASSERT_TRUE(minted);
  jose::JwtVerifyOptions options;
  options.jws.allowed_algs = {jose::JwsAlg::RS256};
  auto verified =
      jose::verify_jwt(minted->access_token, ring->current()->public_keys(), options, clock_);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->kid, ring->current()->signer_info()->kid);

  // After a rotation the minter signs with the new key at once, and the old token still
  // verifies against the new public keys (the old key stays published).
  clock_.set(kT0 + kDay);
  auto rotated = ring->rotate_now(false);
  ASSERT_TRUE(rotated);
  req.now = kT0 + kDay;
  auto after = minter.mint(req);
  ASSERT_TRUE(after);
  auto v2 = jose::verify_jwt(after->access_token, ring->current()->public_keys(), options, clock_);
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_EQ(v2->kid, rotated->kid);
  // (Its exp has passed by now: check the signature alone.)
  EXPECT_TRUE(jose::verify_compact(minted->access_token, ring->current()->public_keys()));
  // An emergency rotation makes the old tokens fail.
  auto emergency = ring->rotate_now(true);
  ASSERT_TRUE(emergency);
  EXPECT_FALSE(
      jose::verify_jwt(after->access_token, ring->current()->public_keys(), options, clock_));
}

TEST_F(KeyRingTest, ReadersSeeConsistentKeySetsWhileRotating) {
  auto ring = open_ring("ES256");
  ASSERT_TRUE(ring);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const auto set = ring->current();
        if (!set || set->signer() == nullptr ||
            set->public_keys().find(set->signer_info()->kid) == nullptr ||
            set->version() > ring->version()) {
          ++bad;
        }
        ++reads;
      }
    });
  }
  for (int i = 0; i < 5; ++i) {
    clock_.set(kT0 + i * kDay);
    ASSERT_TRUE(ring->rotate_now(i % 2 == 1));
  }
  while (reads.load() < 1000)
    std::this_thread::yield();
  stop = true;
  for (auto& t : readers)
    t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace gh::identity
