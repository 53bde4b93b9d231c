#include "jose/token_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "jose/jwt_error.h"
#include "unit/jose/jose_fixtures.h"

namespace gh::jose {
namespace {

constexpr double kNow = 1'800'000'000;

class TokenCacheTest : public ::testing::Test {
 protected:
  std::string sign(std::string_view claims) {
    return *sign_compact(core::as_bytes(claims), key_, JwsAlg::ES256);
  }
  Jwk key_ = test::private_jwk("P-256", "c");
  JwkSet set_ = test::set_of(test::public_of(key_));
  test::FakeClock clock_{kNow};
  JwtVerifyOptions opts_;
};

TEST_F(TokenCacheTest, HitReturnsTheSameVerificationAndRechecksClaims) {
  VerifiedTokenCache cache(clock_, 64);
  const std::string token = sign(R"({"aud":"api","exp":1800000100})");
  auto first = verify_jwt_cached(token, set_, opts_, clock_, cache);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(cache.size(), 1u);
  auto second = verify_jwt_cached(token, set_, opts_, clock_, cache);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->get(), second->get());  // no second signature check

  // Another policy sharing the cache applies its own audience.
  JwtVerifyOptions strict = opts_;
  strict.claims.audiences = {"other"};
  auto aud = verify_jwt_cached(token, set_, strict, clock_, cache);
  ASSERT_FALSE(aud);
  EXPECT_EQ(jwt_error(aud.error()), JwtError::Audience);
  JwtVerifyOptions rsa_only = opts_;
  rsa_only.jws.allowed_algs = {JwsAlg::RS256};
  auto alg = verify_jwt_cached(token, set_, rsa_only, clock_, cache);
  ASSERT_FALSE(alg);
  EXPECT_EQ(jwt_error(alg.error()), JwtError::AlgNotAllowed);
}

TEST_F(TokenCacheTest, EntriesExpireWithTheToken) {
  VerifiedTokenCache cache(clock_, 64);
  const std::string token = sign(R"({"exp":1800000100})");
  ASSERT_TRUE(verify_jwt_cached(token, set_, opts_, clock_, cache));
  EXPECT_NE(cache.find(set_.id(), token), nullptr);
  clock_.set(kNow + 100);
  EXPECT_EQ(cache.find(set_.id(), token), nullptr);
  auto r = verify_jwt_cached(token, set_, opts_, clock_, cache);
  ASSERT_FALSE(r);
  EXPECT_EQ(jwt_error(r.error()), JwtError::Expired);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(TokenCacheTest, ScopedByKeySetAndFailuresNotCached) {
  VerifiedTokenCache cache(clock_, 64);
  const std::string token = sign(R"({"exp":1800000100})");
  ASSERT_TRUE(verify_jwt_cached(token, set_, opts_, clock_, cache));
  // A refreshed set without the key: the cached entry must not vouch for the token.
  auto other = test::set_of(test::public_of(test::private_jwk("P-384", "c")));
  auto r = verify_jwt_cached(token, other, opts_, clock_, cache);
  ASSERT_FALSE(r);
  EXPECT_EQ(jwt_error(r.error()), JwtError::KeyMismatch);
  std::string forged = token;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_jwt_cached(forged, set_, opts_, clock_, cache));
  EXPECT_EQ(cache.find(set_.id(), forged), nullptr);
}

TEST_F(TokenCacheTest, BoundedAndTokensWithoutExpUseMaxTtl) {
  VerifiedTokenCache cache(clock_, VerifiedTokenCache::kShards * 2, std::chrono::seconds(30));
  JwtVerifyOptions lax = opts_;
  lax.claims.require_exp = false;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(
        verify_jwt_cached(sign(R"({"n":)" + std::to_string(i) + "}"), set_, lax, clock_, cache));
  }
  EXPECT_LE(cache.size(), VerifiedTokenCache::kShards * 2);
  const std::string t = sign(R"({"n":"x"})");
  ASSERT_TRUE(verify_jwt_cached(t, set_, lax, clock_, cache));
  EXPECT_NE(cache.find(set_.id(), t), nullptr);
  clock_.set(kNow + 31);
  EXPECT_EQ(cache.find(set_.id(), t), nullptr);
}

TEST_F(TokenCacheTest, ConcurrentUse) {
  VerifiedTokenCache cache(clock_, 1024);
  std::vector<std::string> tokens;
  for (int i = 0; i < 32; ++i) {
    tokens.push_back(sign(R"({"exp":1800000100,"n":)" + std::to_string(i) + "}"));
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 20; ++round) {
        for (const auto& tok : tokens) {
          if (!verify_jwt_cached(tok, set_, opts_, clock_, cache)) ++failures;
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(cache.size(), tokens.size());
}

}  // namespace
}  // namespace gh::jose
