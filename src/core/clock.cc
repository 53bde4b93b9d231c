#include "core/clock.h"

namespace gh::core {

const SystemClock& SystemClock::instance() noexcept {
  static const SystemClock clock;
  return clock;
}

}  // namespace gh::core
