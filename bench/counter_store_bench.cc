// The throttling hot path: one rate-limit or quota check on a counter that exists already, as
// every request after a key's first makes it (compose the key on the stack, hash, lock one shard,
// slide the window, count). With one thread and with two: on one key (both threads contend for
// one shard) and on a key per thread (no contention: the sharding at work).
//
//   ./build/bench/counter_store_bench --benchmark_min_time=1

#include <benchmark/benchmark.h>

#include <string>

#include "core/clock.h"
#include "policy/counter_store.h"

namespace {

using gh::policy::CounterKey;
using gh::policy::CounterStore;

// One store for the process, as the gateway has (Google Benchmark runs the threads of a
// benchmark on the same function, so it must outlive them).
CounterStore& store() {
  static CounterStore s(gh::core::SystemClock::instance());
  return s;
}

// A limit no benchmark reaches: every call is admitted and counted.
constexpr int64_t kLimit = 2'000'000'000;

void compose(CounterKey& key, std::string_view subscription) {
  key.append("rs\x1f").append(subscription).append("\x1f").append("p\x1f").append("60");
}

void BM_RateSharedKey(benchmark::State& state) {
  for (auto _ : state) {
    CounterKey key;
    compose(key, "0f3c2b1a-subscription-shared");
    auto r = store().acquire_rate(key.view(), kLimit, 60);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_RateSharedKey)->Threads(1)->Threads(2)->UseRealTime();

void BM_RateKeyPerThread(benchmark::State& state) {
  const std::string subscription = "0f3c2b1a-subscription-" + std::to_string(state.thread_index());
  for (auto _ : state) {
    CounterKey key;
    compose(key, subscription);
    auto r = store().acquire_rate(key.view(), kLimit, 60);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_RateKeyPerThread)->Threads(1)->Threads(2)->UseRealTime();

void BM_QuotaSharedKey(benchmark::State& state) {
  const CounterStore::QuotaPeriod period{1'700'000'000, 86400};
  for (auto _ : state) {
    CounterKey key;
    key.append("qs\x1f")
        .append("0f3c2b1a-subscription-shared")
        .append(
            "\x1f"
            "p"
            "\x1f"
            "86400");
    auto r = store().acquire_quota(key.view(), period, {kLimit, 0});
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_QuotaSharedKey)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
