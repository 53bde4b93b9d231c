#pragma once

// A fake clock for the throttling tests (rate-limit, quota and their counter store): time stands
// still until a test moves it, so windows slide without sleeping.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/clock.h"

namespace gh::policy::throttle_test {

class FakeClock final : public core::Clock {
 public:
  /// Starts at a whole second, far from the epoch.
  explicit FakeClock(int64_t unix_ms = 1'800'000'000'000) : now_ms_(unix_ms) {}
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  int64_t ms() const noexcept { return now_ms_.load(); }
  void set_ms(int64_t unix_ms) noexcept { now_ms_.store(unix_ms); }
  void advance_ms(int64_t ms) noexcept { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace gh::policy::throttle_test
