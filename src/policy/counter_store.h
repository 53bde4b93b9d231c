#pragma once

// Process-wide throttling counters (rate-limit, rate-limit-by-key, quota, quota-by-key): shared by
// every worker thread and kept across configuration reloads, keyed by strings the policies build
// (a subscription id or a counter-key value plus what identifies the limit).
//
// Rate counters are sliding windows kept as a ring of 64 slots, each 1/63 of the renewal period
// (rounded up to a millisecond), with a count and the time of its newest call. A slot counts
// until its newest call leaves the window, so the store counts a superset of the calls of the
// true window: it never admits more than `limit` units in any window of `period`, and a call
// stops counting between `period` and `period + period/63` after it was admitted (the only
// inexactness: it may refuse up to that much longer than an exact log would). Retry-After is
// the time until enough slots leave the window, rounded up to a second: for a burst, exactly
// the period.
//
// Quota counters are fixed windows aligned to a start time (calls and bytes; period 0 = one
// window for ever).
//
// 64 shards, each a mutex over two hash maps; a call locks one shard for a few dozen instructions.
// Looking up an existing key allocates nothing (heterogeneous lookup with a precomputed hash).
// Memory is bounded: idle counters (nothing left in their window) are dropped when a shard is
// full, and when that is not enough the least recently used eighth of the shard is evicted
// (counted in stats().evictions: an evicted rate counter forgets its calls, so exactness holds
// only while the store is not over-full; size the caps for the keys you expect).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace gh::policy {

/// A counter key composed on the stack when it fits (subscription id + a policy's identity), so
/// that the request path does not allocate for it.
class CounterKey {
 public:
  CounterKey() = default;
  CounterKey(const CounterKey&) = delete;
  CounterKey& operator=(const CounterKey&) = delete;

  CounterKey& append(std::string_view s);
  CounterKey& append_number(int64_t n);
  std::string_view view() const noexcept {
    return heap_.empty() ? std::string_view(inline_.data(), size_) : std::string_view(heap_);
  }

 private:
  std::array<char, 192> inline_{};
  size_t size_ = 0;
  std::string heap_;  // used once the key outgrows inline_
};

struct CounterStoreLimits {
  size_t shards = 64;                  // rounded up to a power of two
  size_t max_rate_counters = 1 << 18;  // ~330 bytes each
  size_t max_quota_counters = 1 << 18;
};

class CounterStore {
 public:
  /// Ring slots of a rate counter; the renewal period spans kRateSlots - 1 of them.
  static constexpr int64_t kRateSlots = 64;
  /// Longest rate-limit renewal period (APIM: 300 s).
  static constexpr int64_t kMaxRatePeriodSeconds = 300;

  explicit CounterStore(const core::Clock& clock, CounterStoreLimits limits = {});
  ~CounterStore();
  CounterStore(const CounterStore&) = delete;
  CounterStore& operator=(const CounterStore&) = delete;

  const core::Clock& clock() const noexcept { return clock_; }

  struct RateResult {
    bool admitted = false;
    int64_t remaining = 0;            // limit minus the units counted, after this call
    int64_t retry_after_seconds = 0;  // refused: whole seconds until `amount` fits (>= 1)
    int64_t at_ms = 0;                // admitted: when it was counted (for release_rate)
  };
  /// Sliding window: counts `amount` units and admits when the units counted in the last
  /// `period_seconds` (1..300) plus `amount` do not exceed `limit`; otherwise counts nothing.
  /// Callers put the period in the key: a key's counter is reset if another period is asked.
  RateResult acquire_rate(std::string_view key, int64_t limit, int64_t period_seconds,
                          int64_t amount = 1);
  /// Takes back `amount` units counted at `at_ms` (a reservation the request did not use), unless
  /// they have left the window already.
  void release_rate(std::string_view key, int64_t period_seconds, int64_t amount, int64_t at_ms);
  /// Units counted in the window now.
  int64_t rate_count(std::string_view key, int64_t period_seconds);

  /// Fixed windows [start + k*period, start + (k+1)*period); period 0: one window for ever.
  struct QuotaPeriod {
    int64_t start_unix = 0;
    int64_t period_seconds = 0;
  };
  /// 0 = not limited.
  struct QuotaLimits {
    int64_t calls = 0;
    int64_t bytes = 0;
  };
  struct QuotaResult {
    enum class Outcome : uint8_t { Admitted, CallsExceeded, BandwidthExceeded };
    Outcome outcome = Outcome::Admitted;
    int64_t period_index = 0;         // the window this call was counted in
    int64_t seconds_to_renewal = -1;  // whole seconds until the next window; -1: never
    int64_t calls_remaining = 0;
  };
  /// Counts `calls` (0: check only) when the window's calls plus `calls` stay within
  /// limits.calls and its bytes are below limits.bytes (a request's size is known only at its
  /// end, so bandwidth refuses once the quota is used up, as APIM does).
  QuotaResult acquire_quota(std::string_view key, QuotaPeriod period, QuotaLimits limits,
                            int64_t calls = 1);
  /// Adds `bytes` and `calls_delta` (negative: takes back a reservation) to window
  /// `period_index`, if it is still the current one (usage of a window that has ended is moot).
  void add_quota_usage(std::string_view key, QuotaPeriod period, int64_t period_index,
                       int64_t calls_delta, int64_t bytes);
  struct QuotaUsage {
    int64_t calls = 0;
    int64_t bytes = 0;
  };
  /// The current window's usage.
  QuotaUsage quota_usage(std::string_view key, QuotaPeriod period);

  struct Stats {
    size_t rate_counters = 0;
    size_t quota_counters = 0;
    uint64_t evictions = 0;  // live counters dropped because a shard was full
  };
  Stats stats() const;
  /// Drops idle counters now (inserts into a full shard do it anyway).
  void sweep();

 private:
  struct Shard;
  Shard& shard_for(size_t hash) const noexcept;
  int64_t now_ms() const noexcept;

  const core::Clock& clock_;
  CounterStoreLimits limits_;
  size_t shard_mask_ = 0;
  size_t rate_cap_per_shard_ = 0;
  size_t quota_cap_per_shard_ = 0;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace gh::policy
