#pragma once

// Waiting in tests for something another thread does, without asserting anything about time.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace gh::test {

/// Polls `done` every millisecond until it holds, for up to 20 s; then asserts it.
template <typename F>
void wait_until(F done) {
  for (int i = 0; i < 20000 && !done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(done());
}

}  // namespace gh::test
