#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/error_response.h"

namespace gh::gateway {

/// A counter written by exactly one worker thread and read by the metrics scrape: a relaxed
/// load+store (no read-modify-write, no lock prefix) is enough and costs a plain store.
class WorkerCounter {
 public:
  void add(uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

inline constexpr std::array<double, 12> kDurationBucketsSeconds = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
inline constexpr size_t kProxyErrorCount = static_cast<size_t>(http::ProxyError::Internal) + 1;

/// Why policies refused requests (LastError.Reason), as metric labels: a fixed table, so that
/// counting needs no map; reasons outside it count as "other".
std::span<const std::string_view> policy_refusal_reasons() noexcept;
/// The index of `reason` in policy_refusal_reasons() (the last entry is "other").
size_t policy_refusal_index(std::string_view reason) noexcept;
inline constexpr size_t kPolicyRefusalReasons = 27;

/// One worker's counters; the scrape sums them across workers.
struct WorkerMetrics {
  std::array<WorkerCounter, 6> responses_by_class;  // index 1..5 = 1xx..5xx, 0 = other
  std::array<WorkerCounter, kProxyErrorCount> gateway_errors;
  std::array<WorkerCounter, kPolicyRefusalReasons> policy_refusals;
  std::array<WorkerCounter, kDurationBucketsSeconds.size() + 1> duration_buckets;  // last = +Inf
  WorkerCounter duration_micros_sum;
  WorkerCounter requests;
  WorkerCounter connections_accepted;
  WorkerCounter connections_active;
  WorkerCounter tls_handshake_failures;
  WorkerCounter backend_connections_opened;
  WorkerCounter backend_retries;
  WorkerCounter request_body_bytes;
  WorkerCounter response_body_bytes;

  void record(unsigned status, uint64_t duration_micros) noexcept;
};

/// Process-wide values kept by the control thread.
struct ProcessMetrics {
  std::atomic<uint64_t> reloads_ok{0};
  std::atomic<uint64_t> reloads_failed{0};
  std::atomic<uint64_t> config_generation{0};
  std::atomic<int64_t> config_loaded_unix{0};
};

/// Prometheus text exposition (format 0.0.4) of all workers' counters plus process values.
std::string render_prometheus(const std::vector<std::unique_ptr<WorkerMetrics>>& workers,
                              const ProcessMetrics& process);

}  // namespace gh::gateway
