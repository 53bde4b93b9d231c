#pragma once

#include <chrono>

namespace gh::core {

/// Wall-clock time source, injected so that tests can run on a fake clock (expiry, skew, rotation)
/// without sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point now() const noexcept = 0;
  /// Seconds since the Unix epoch.
  int64_t now_unix() const noexcept {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::now();
  }
  /// A process-wide instance (stateless, so sharing it is safe).
  static const SystemClock& instance() noexcept;
};

}  // namespace gh::core
