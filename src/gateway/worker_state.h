#pragma once

#include <list>
#include <memory>
#include <string>
#include <vector>

#include "gateway/access_log.h"
#include "gateway/metrics.h"
#include "gateway/snapshot.h"
#include "http/backend_pool.h"
#include "net/worker.h"
#include "policy/subscriptions.h"

namespace gh::gateway {

/// A live client connection as drain sees it: its socket, and whether a request is in flight.
struct SessionHook {
  net::Socket* socket = nullptr;
  bool busy = false;
};

/// Everything one worker owns. Touched only from that worker's thread (reload and drain reach it
/// through net::asio::post), so none of it needs a lock.
class WorkerState {
 public:
  WorkerState(net::Worker& worker, WorkerMetrics& metrics, std::shared_ptr<LogSink> sink);

  net::Worker& worker() noexcept { return worker_; }
  net::asio::io_context& io() noexcept { return worker_.io(); }
  WorkerMetrics& metrics() noexcept { return metrics_; }
  AccessLog& access_log() noexcept { return log_; }
  const std::shared_ptr<const Snapshot>& snapshot() const noexcept { return snapshot_; }
  std::shared_ptr<http::BackendPool> pool(size_t backend_index) { return pools_[backend_index]; }

  /// Switches to a new configuration: new connections and requests use it; connections to
  /// backends from the old one finish their exchange and are then closed.
  void install(std::shared_ptr<const Snapshot> snapshot);

  /// The managed subscriptions as `feed` has them now. Copies the table only when the feed's
  /// generation moved since the last call: no lock on the request path otherwise.
  const std::shared_ptr<const policy::ManagedSubscriptionTable>& managed_subscriptions(
      const policy::SubscriptionFeed& feed) {
    const uint64_t generation = feed.generation();
    if (generation != managed_generation_) {
      managed_ = feed.current();
      managed_generation_ = generation;
    }
    return managed_;
  }

  /// Writes a fresh X-Request-Id into `out` (replacing its text, reusing its capacity): a random
  /// per-worker prefix and a counter (unique, no syscall).
  void next_request_id(std::string& out);

  /// A relay buffer of kRelayBufferSize bytes, recycled per worker.
  std::unique_ptr<char[]> take_buffer();
  void give_buffer(std::unique_ptr<char[]> buf);
  static constexpr size_t kRelayBufferSize = 64 * 1024;

  std::list<SessionHook>::iterator add_session(net::Socket* socket);
  void remove_session(std::list<SessionHook>::iterator it);

  /// Drops pooled backend connections (before the worker's loop is destroyed at exit).
  void release_connections() { pools_.clear(); }

  bool draining() const noexcept { return draining_; }
  /// Stops keep-alive: idle connections are closed now, busy ones after their response.
  void begin_drain();

 private:
  net::Worker& worker_;
  WorkerMetrics& metrics_;
  AccessLog log_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<std::shared_ptr<http::BackendPool>> pools_;
  std::vector<std::unique_ptr<char[]>> spare_buffers_;
  std::list<SessionHook> sessions_;
  std::shared_ptr<const policy::ManagedSubscriptionTable> managed_;
  uint64_t managed_generation_ = 0;
  std::string id_prefix_;  // "<random>-<worker index>-": the request ids' constant part
  uint64_t id_counter_ = 0;
  bool draining_ = false;
};

}  // namespace gh::gateway
