#include "identity/replay_cache.h"

#include <gtest/gtest.h>

#include "identity/secret_cache.h"

namespace gh::identity {
namespace {

using V = ReplayCache::Verdict;

TEST(ReplayCache, FirstRepeatAndReplay) {
  ReplayCache cache(100);
  EXPECT_EQ(cache.check_and_record("t\nc\nc", "j1", "assertion-a", 1000, 100), V::First);
  EXPECT_EQ(cache.check_and_record("t\nc\nc", "j1", "assertion-a", 1000, 200), V::Repeat);
  EXPECT_EQ(cache.check_and_record("t\nc\nc", "j1", "assertion-b", 1000, 200), V::Replay);
  // The same jti in another scope (another client) is unrelated.
  EXPECT_EQ(cache.check_and_record("t\nd\nd", "j1", "assertion-b", 1000, 200), V::First);
  // Scope and jti are separated: ("ab","c") is not ("a","bc").
  EXPECT_EQ(cache.check_and_record("ab", "c", "x", 1000, 200), V::First);
  EXPECT_EQ(cache.check_and_record("a", "bc", "y", 1000, 200), V::First);
  EXPECT_EQ(cache.size(), 4u);
}

TEST(ReplayCache, ExpiredEntriesAreForgottenAndPurged) {
  ReplayCache cache(100);
  EXPECT_EQ(cache.check_and_record("s", "j1", "a", 1000, 100), V::First);
  EXPECT_EQ(cache.check_and_record("s", "j2", "a", 1000, 100), V::First);
  // After expiry a different assertion may use the jti again.
  EXPECT_EQ(cache.check_and_record("s", "j1", "b", 3000, 1000), V::First);
  EXPECT_EQ(cache.check_and_record("s", "j1", "a", 3000, 1001), V::Replay);
  EXPECT_EQ(cache.check_and_record("s", "j3", "a", 5000, 2000), V::First);
  // j2 (expired at 1000) has been purged along the way.
  EXPECT_EQ(cache.size(), 2u);
}

TEST(ReplayCache, FullCacheEvictsTheSoonestExpiring) {
  ReplayCache cache(3);
  EXPECT_EQ(cache.check_and_record("s", "late", "a", 9000, 100), V::First);
  EXPECT_EQ(cache.check_and_record("s", "soon", "a", 1000, 100), V::First);
  EXPECT_EQ(cache.check_and_record("s", "mid", "a", 5000, 100), V::First);
  EXPECT_EQ(cache.check_and_record("s", "new", "a", 6000, 100), V::First);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.check_and_record("s", "late", "b", 9000, 100), V::Replay);  // kept
  EXPECT_EQ(cache.check_and_record("s", "mid", "b", 5000, 100), V::Replay);   // kept
  EXPECT_EQ(cache.check_and_record("s", "soon", "b", 1000, 100), V::First);   // evicted
}

TEST(VerifiedSecretCache, TagsDependOnEveryPartAndEntriesExpire) {
  VerifiedSecretCache cache(100);
  auto t1 = cache.tag("tenant", "client", "secret");
  auto t2 = cache.tag("tenant", "client", "secreT");
  auto t3 = cache.tag("tenant", "clientsecret", "");
  ASSERT_TRUE(t1 && t2 && t3);
  EXPECT_NE(*t1, *t2);
  EXPECT_NE(*t1, *t3);
  EXPECT_EQ(*t1, *cache.tag("tenant", "client", "secret"));
  // Another process (another key) gives other tags: nothing to precompute offline.
  VerifiedSecretCache other(100);
  EXPECT_NE(*t1, *other.tag("tenant", "client", "secret"));

  cache.insert(*t1, "key-1", 1000, 100);
  EXPECT_EQ(cache.find(*t1, 999), "key-1");
  EXPECT_FALSE(cache.find(*t1, 1000));
  EXPECT_FALSE(cache.find(*t2, 500));
}

TEST(VerifiedSecretCache, StaysBounded) {
  VerifiedSecretCache cache(4);
  for (int i = 0; i < 50; ++i) {
    auto t = cache.tag("t", "c", std::to_string(i));
    ASSERT_TRUE(t);
    cache.insert(*t, "k", 1000, 100);
  }
  EXPECT_LE(cache.size(), 4u);
}

TEST(SecretFailureThrottle, RefusesOverTheLimitUntilTheWindowEnds) {
  SecretFailureThrottle throttle(3, 60);
  EXPECT_EQ(throttle.retry_after("c", 100), 0);
  throttle.record_failure("c", 100);
  throttle.record_failure("c", 110);
  EXPECT_EQ(throttle.retry_after("c", 110), 0);
  throttle.record_failure("c", 120);
  EXPECT_EQ(throttle.retry_after("c", 120), 40);
  EXPECT_EQ(throttle.retry_after("other", 120), 0);
  EXPECT_EQ(throttle.retry_after("c", 160), 0);
  throttle.record_failure("c", 160);  // a new window
  EXPECT_EQ(throttle.retry_after("c", 161), 0);
}

}  // namespace
}  // namespace gh::identity
