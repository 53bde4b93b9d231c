#include "policy/counter_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "throttle_fixtures.h"

namespace gh::policy {
namespace {

using throttle_test::FakeClock;
using Outcome = CounterStore::QuotaResult::Outcome;

TEST(CounterKey, StaysInlineUntilItOutgrowsItsBuffer) {
  CounterKey k;
  k.append("sub-1").append("|").append_number(-42);
  EXPECT_EQ(k.view(), "sub-1|-42");
  std::string long_part(300, 'x');
  k.append(long_part).append_number(7);
  EXPECT_EQ(k.view(), "sub-1|-42" + long_part + "7");
}

TEST(CounterStoreRate, AdmitsTheLimitThenRefusesWithTheWaitUntilTheOldestCallAgesOut) {
  FakeClock clock;
  CounterStore store(clock);
  for (int i = 0; i < 5; ++i) {
    auto r = store.acquire_rate("k", 5, 10);
    ASSERT_TRUE(r.admitted) << i;
    EXPECT_EQ(r.remaining, 4 - i);
  }
  clock.advance_ms(3000);
  auto refused = store.acquire_rate("k", 5, 10);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.remaining, 0);
  // The calls of t=0 leave the window at t=10 s.
  EXPECT_EQ(refused.retry_after_seconds, 7);
  EXPECT_EQ(store.rate_count("k", 10), 5);
}

TEST(CounterStoreRate, ABurstWaitsExactlyThePeriod) {
  FakeClock clock(1'800'000'000'123);
  CounterStore store(clock);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(store.acquire_rate("k", 3, 90).admitted);
  EXPECT_EQ(store.acquire_rate("k", 3, 90).retry_after_seconds, 90);
  clock.advance_ms(89'999);
  EXPECT_FALSE(store.acquire_rate("k", 3, 90).admitted);
  clock.advance_ms(1);
  EXPECT_TRUE(store.acquire_rate("k", 3, 90).admitted);
}

TEST(CounterStoreRate, WindowSlides) {
  FakeClock clock;
  CounterStore store(clock);
  int64_t t0 = clock.ms();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(store.acquire_rate("k", 5, 10).admitted);
  clock.set_ms(t0 + 5000);
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(store.acquire_rate("k", 5, 10).admitted);
  clock.set_ms(t0 + 9999);
  EXPECT_FALSE(store.acquire_rate("k", 5, 10).admitted);
  // The three calls of t0 have aged out; the two of t0+5 s still count.
  clock.set_ms(t0 + 10'200);
  EXPECT_EQ(store.rate_count("k", 10), 2);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(store.acquire_rate("k", 5, 10).admitted) << i;
  auto r = store.acquire_rate("k", 5, 10);
  EXPECT_FALSE(r.admitted);
  // Next to age out: the two calls of t0+5 s, at t0+15 s.
  EXPECT_EQ(r.retry_after_seconds, 5);
  clock.set_ms(t0 + 14'999);
  EXPECT_FALSE(store.acquire_rate("k", 5, 10).admitted);
  clock.set_ms(t0 + 15'000);
  EXPECT_TRUE(store.acquire_rate("k", 5, 10).admitted);
}

TEST(CounterStoreRate, RetryAfterCountsEnoughCallsForTheAmountAsked) {
  FakeClock clock;
  CounterStore store(clock);
  int64_t t0 = clock.ms();
  for (int s = 0; s < 4; ++s) {
    clock.set_ms(t0 + s * 10'000);
    ASSERT_TRUE(store.acquire_rate("k", 4, 60).admitted);
  }
  clock.set_ms(t0 + 30'000);
  // One unit frees at t0+60 s; three need the call of t0+20 s gone too: at t0+80 s.
  auto one = store.acquire_rate("k", 4, 60, 1);
  EXPECT_FALSE(one.admitted);
  EXPECT_EQ(one.retry_after_seconds, 30);
  auto three = store.acquire_rate("k", 4, 60, 3);
  EXPECT_FALSE(three.admitted);
  EXPECT_EQ(three.retry_after_seconds, 50);
  auto too_many = store.acquire_rate("k", 4, 60, 5);
  EXPECT_FALSE(too_many.admitted);
  EXPECT_EQ(too_many.retry_after_seconds, 60);
}

TEST(CounterStoreRate, NeverAdmitsMoreThanTheLimitInAnyWindowAndRefusesOnlyNearIt) {
  FakeClock clock;
  CounterStore store(clock);
  std::mt19937 rng(12345);
  constexpr int64_t kLimit = 7;
  constexpr int64_t kPeriodMs = 2000;
  // Slot width: the period over 63, rounded up; the counted window is at most one slot longer.
  constexpr int64_t kSlack = (kPeriodMs + 62) / 63;
  std::vector<int64_t> admitted;  // one entry per unit
  std::uniform_int_distribution<int> step(0, 120), amount_of(1, 3);
  for (int i = 0; i < 20'000; ++i) {
    clock.advance_ms(step(rng));
    int64_t amount = amount_of(rng);
    int64_t now = clock.ms();
    auto r = store.acquire_rate("k", kLimit, kPeriodMs / 1000, amount);
    auto in_window = [&](int64_t length) {
      return std::count_if(admitted.begin(), admitted.end(),
                           [&](int64_t t) { return t > now - length; });
    };
    if (r.admitted) {
      for (int64_t a = 0; a < amount; ++a)
        admitted.push_back(now);
      ASSERT_LE(in_window(kPeriodMs), kLimit) << "at step " << i;
    } else {
      // Refused only when the period plus one slot already holds too much.
      ASSERT_GT(in_window(kPeriodMs + kSlack) + amount, kLimit) << "at step " << i;
    }
    if (admitted.size() > 1000) admitted.erase(admitted.begin(), admitted.begin() + 500);
  }
}

TEST(CounterStoreRate, ReleaseGivesBackAReservationOnlyWhileItIsInTheWindow) {
  FakeClock clock;
  CounterStore store(clock);
  auto first = store.acquire_rate("k", 2, 10);
  auto second = store.acquire_rate("k", 2, 10);
  ASSERT_TRUE(first.admitted && second.admitted);
  EXPECT_FALSE(store.acquire_rate("k", 2, 10).admitted);
  clock.advance_ms(4000);
  store.release_rate("k", 10, 1, second.at_ms);
  EXPECT_EQ(store.rate_count("k", 10), 1);
  EXPECT_TRUE(store.acquire_rate("k", 2, 10).admitted);
  // A release after the call aged out changes nothing (no negative counts).
  clock.advance_ms(6500);
  store.release_rate("k", 10, 1, first.at_ms);
  EXPECT_EQ(store.rate_count("k", 10), 1);
  EXPECT_TRUE(store.acquire_rate("k", 2, 10).admitted);
  EXPECT_FALSE(store.acquire_rate("k", 2, 10).admitted);
}

TEST(CounterStoreRate, KeysAreIndependentAndAnotherPeriodResetsTheCounter) {
  FakeClock clock;
  CounterStore store(clock);
  ASSERT_TRUE(store.acquire_rate("a", 1, 10).admitted);
  EXPECT_FALSE(store.acquire_rate("a", 1, 10).admitted);
  EXPECT_TRUE(store.acquire_rate("b", 1, 10).admitted);
  EXPECT_TRUE(store.acquire_rate("a", 1, 20).admitted);
  EXPECT_EQ(store.rate_count("a", 10), 0);
}

TEST(CounterStoreRate, AClockSteppingBackCountsInTheNewestSlot) {
  FakeClock clock;
  CounterStore store(clock);
  ASSERT_TRUE(store.acquire_rate("k", 2, 10).admitted);
  clock.advance_ms(-60'000);
  ASSERT_TRUE(store.acquire_rate("k", 2, 10).admitted);
  EXPECT_FALSE(store.acquire_rate("k", 2, 10).admitted);
}

TEST(CounterStoreRate, ConcurrentCallersOnOneKeyAreAdmittedExactlyTheLimit) {
  FakeClock clock;
  CounterStore store(clock);
  constexpr int kThreads = 4;
  constexpr int kAttempts = 5000;
  constexpr int64_t kLimit = 3217;
  std::vector<int> admitted(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAttempts; ++i)
        if (store.acquire_rate("shared", kLimit, 60).admitted) ++admitted[static_cast<size_t>(t)];
    });
  }
  for (auto& th : threads)
    th.join();
  int total = 0;
  for (int a : admitted)
    total += a;
  EXPECT_EQ(total, kLimit);
  EXPECT_EQ(store.rate_count("shared", 60), kLimit);
}

TEST(CounterStoreQuota, FixedWindowsAlignedToTheStart) {
  FakeClock clock(1'800'000'000'000);
  CounterStore store(clock);
  // Windows of an hour starting 100 s before now: the current one ends in 3500 s.
  CounterStore::QuotaPeriod period{1'800'000'000 - 100, 3600};
  for (int i = 0; i < 3; ++i) {
    auto r = store.acquire_quota("q", period, {3, 0});
    ASSERT_EQ(r.outcome, Outcome::Admitted) << i;
    EXPECT_EQ(r.calls_remaining, 2 - i);
    EXPECT_EQ(r.seconds_to_renewal, 3500);
  }
  clock.advance_ms(499);
  auto refused = store.acquire_quota("q", period, {3, 0});
  EXPECT_EQ(refused.outcome, Outcome::CallsExceeded);
  EXPECT_EQ(refused.seconds_to_renewal, 3500);  // 3499.501 s, rounded up
  clock.set_ms(1'800'000'000'000 + 3'500'000);
  auto renewed = store.acquire_quota("q", period, {3, 0});
  EXPECT_EQ(renewed.outcome, Outcome::Admitted);
  EXPECT_EQ(renewed.period_index, refused.period_index + 1);
  EXPECT_EQ(renewed.seconds_to_renewal, 3600);
}

TEST(CounterStoreQuota, BandwidthRefusesOnceUsedUp) {
  FakeClock clock;
  CounterStore store(clock);
  CounterStore::QuotaPeriod period{0, 86400};
  CounterStore::QuotaLimits limits{0, 2048};
  auto a = store.acquire_quota("q", period, limits);
  ASSERT_EQ(a.outcome, Outcome::Admitted);
  store.add_quota_usage("q", period, a.period_index, 0, 2047);
  auto b = store.acquire_quota("q", period, limits);
  ASSERT_EQ(b.outcome, Outcome::Admitted);
  store.add_quota_usage("q", period, b.period_index, 0, 1);
  EXPECT_EQ(store.acquire_quota("q", period, limits).outcome, Outcome::BandwidthExceeded);
  EXPECT_EQ(store.quota_usage("q", period).bytes, 2048);
  EXPECT_EQ(store.quota_usage("q", period).calls, 2);
}

TEST(CounterStoreQuota, UsageForAWindowThatEndedIsDropped) {
  FakeClock clock;
  CounterStore store(clock);
  CounterStore::QuotaPeriod period{0, 300};
  auto a = store.acquire_quota("q", period, {1, 0});
  ASSERT_EQ(a.outcome, Outcome::Admitted);
  clock.advance_ms(300'000);
  store.add_quota_usage("q", period, a.period_index, -1, 500);
  EXPECT_EQ(store.quota_usage("q", period).bytes, 0);
  EXPECT_EQ(store.acquire_quota("q", period, {1, 0}).outcome, Outcome::Admitted);
}

TEST(CounterStoreQuota, LifetimeQuotaNeverRenews) {
  FakeClock clock;
  CounterStore store(clock);
  CounterStore::QuotaPeriod lifetime{0, 0};
  ASSERT_EQ(store.acquire_quota("q", lifetime, {1, 0}).outcome, Outcome::Admitted);
  clock.advance_ms(400LL * 86400 * 1000);
  auto r = store.acquire_quota("q", lifetime, {1, 0});
  EXPECT_EQ(r.outcome, Outcome::CallsExceeded);
  EXPECT_EQ(r.seconds_to_renewal, -1);
}

TEST(CounterStoreQuota, CheckOnlyDoesNotCount) {
  FakeClock clock;
  CounterStore store(clock);
  CounterStore::QuotaPeriod period{0, 3600};
  ASSERT_EQ(store.acquire_quota("q", period, {1, 0}).outcome, Outcome::Admitted);
  EXPECT_EQ(store.acquire_quota("q", period, {1, 0}, 0).outcome, Outcome::Admitted);
  EXPECT_EQ(store.quota_usage("q", period).calls, 1);
}

TEST(CounterStoreMemory, IdleCountersGoFirstThenTheLeastRecentlyUsed) {
  FakeClock clock;
  CounterStore store(clock, {.shards = 1, .max_rate_counters = 16, .max_quota_counters = 16});
  for (int i = 0; i < 16; ++i)
    ASSERT_TRUE(store.acquire_rate("old" + std::to_string(i), 5, 1).admitted);
  clock.advance_ms(5000);  // all idle now
  for (int i = 0; i < 16; ++i) {
    clock.advance_ms(1);
    ASSERT_TRUE(store.acquire_rate("live" + std::to_string(i), 5, 60).admitted);
  }
  EXPECT_EQ(store.stats().evictions, 0u);
  EXPECT_EQ(store.stats().rate_counters, 16u);
  // Full of live counters: a new key evicts the least recently used eighth (live0, live1).
  ASSERT_TRUE(store.acquire_rate("live0", 5, 60).admitted);  // refreshes live0
  ASSERT_TRUE(store.acquire_rate("new", 5, 60).admitted);
  EXPECT_EQ(store.stats().evictions, 2u);
  EXPECT_LE(store.stats().rate_counters, 16u);
  EXPECT_EQ(store.rate_count("live0", 60), 2);
  EXPECT_EQ(store.rate_count("live1", 60), 0);
  EXPECT_EQ(store.rate_count("live2", 60), 0);
  EXPECT_EQ(store.rate_count("live3", 60), 1);
}

TEST(CounterStoreMemory, SweepDropsIdleCounters) {
  FakeClock clock;
  CounterStore store(clock);
  ASSERT_TRUE(store.acquire_rate("r", 5, 1).admitted);
  ASSERT_EQ(store.acquire_quota("q", {0, 300}, {5, 0}).outcome, Outcome::Admitted);
  ASSERT_EQ(store.acquire_quota("forever", {0, 0}, {5, 0}).outcome, Outcome::Admitted);
  store.sweep();
  EXPECT_EQ(store.stats().rate_counters, 1u);
  EXPECT_EQ(store.stats().quota_counters, 2u);
  clock.advance_ms(301'000);
  store.sweep();
  EXPECT_EQ(store.stats().rate_counters, 0u);
  EXPECT_EQ(store.stats().quota_counters, 1u);  // a lifetime quota is never idle while used
}

}  // namespace
}  // namespace gh::policy
