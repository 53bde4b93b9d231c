#include "crypto/prepared_signer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/encoding.h"
#include "crypto/key.h"

namespace gh::crypto {
namespace {

struct Case {
  const char* name;
  EvpPkeyPtr key;
  SignatureAlg alg;
};

std::vector<Case> cases() {
  static const auto rsa = generate_rsa(2048);
  static const auto p256 = generate_ec("P-256");
  static const auto p521 = generate_ec("P-521");
  std::vector<Case> out;
  out.push_back({"RS256", share(rsa->get()), {SignatureScheme::RsaPkcs1, DigestAlg::Sha256}});
  out.push_back({"PS384", share(rsa->get()), {SignatureScheme::RsaPss, DigestAlg::Sha384}});
  out.push_back({"ES256", share(p256->get()), {SignatureScheme::EcdsaP1363, DigestAlg::Sha256}});
  out.push_back({"ES512", share(p521->get()), {SignatureScheme::EcdsaP1363, DigestAlg::Sha512}});
  return out;
}

TEST(PreparedSigner, RepeatedSignaturesVerifyWithTheSharedVerifier) {
  for (auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto signer = PreparedSigner::make(c.key.get(), c.alg);
    ASSERT_TRUE(signer) << signer.error().message;
    core::Bytes sig(signer->max_size());
    for (int i = 0; i < 3; ++i) {  // the same context signs again and again
      const std::string msg = "signing input " + std::to_string(i);
      auto len = signer->sign(core::as_bytes(msg), sig);
      ASSERT_TRUE(len) << len.error().message;
      if (c.alg.scheme == SignatureScheme::EcdsaP1363) {
        EXPECT_EQ(*len, 2 * ecdsa_scalar_size(c.key.get()));
      } else {
        EXPECT_EQ(*len, 256u);
      }
      const std::span<const uint8_t> s(sig.data(), *len);
      EXPECT_TRUE(verify_signature(c.key.get(), c.alg, core::as_bytes(msg), s));
      EXPECT_FALSE(verify_signature(c.key.get(), c.alg, core::as_bytes(msg + "x"), s));
    }
  }
}

TEST(PreparedSigner, RsaPkcs1MatchesSignData) {
  // PKCS#1 v1.5 is deterministic: the prepared path must give the very same bytes.
  auto c = std::move(cases().front());
  auto signer = PreparedSigner::make(c.key.get(), c.alg);
  ASSERT_TRUE(signer);
  const auto msg = core::as_bytes("the same input");
  core::Bytes sig(signer->max_size());
  auto len = signer->sign(msg, sig);
  ASSERT_TRUE(len);
  sig.resize(*len);
  auto reference = sign_data(c.key.get(), c.alg, msg);
  ASSERT_TRUE(reference);
  EXPECT_EQ(sig, *reference);
}

TEST(PreparedSigner, RefusesWhatItCannotSign) {
  auto ed = generate_ed25519();
  ASSERT_TRUE(ed);
  EXPECT_FALSE(PreparedSigner::make(ed->get(), {SignatureScheme::Ed25519, DigestAlg::Sha512}));
  auto p256 = generate_ec("P-256");
  EXPECT_FALSE(PreparedSigner::make(p256->get(), {SignatureScheme::RsaPkcs1, DigestAlg::Sha256}));
  // A public key alone cannot sign: make() finds out at once.
  auto pem = public_key_pem(p256->get());
  ASSERT_TRUE(pem);
  auto pub = load_public_key(*pem);
  ASSERT_TRUE(pub);
  EXPECT_FALSE(PreparedSigner::make(pub->get(), {SignatureScheme::EcdsaP1363, DigestAlg::Sha256}));
  // Too small an output buffer.
  auto signer = PreparedSigner::make(p256->get(), {SignatureScheme::EcdsaP1363, DigestAlg::Sha256});
  ASSERT_TRUE(signer);
  uint8_t small[10];
  EXPECT_FALSE(signer->sign(core::as_bytes("x"), small));
}

TEST(PreparedSigner, OneSignerPerThreadFromTheSameKey) {
  auto c = std::move(cases().front());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto signer = PreparedSigner::make(c.key.get(), c.alg);
      if (!signer) return;
      core::Bytes sig(signer->max_size());
      for (int i = 0; i < 20; ++i) {
        auto len = signer->sign(core::as_bytes("msg"), sig);
        if (len && verify_signature(c.key.get(), c.alg, core::as_bytes("msg"),
                                    std::span<const uint8_t>(sig.data(), *len))) {
          ++good;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(good.load(), 80);
}

}  // namespace
}  // namespace gh::crypto
