#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "net/asio.h"

namespace gh::net {

/// One event loop on one thread. Connections accepted by a worker stay on it, so per-worker state
/// (backend pools, counters, log buffers) needs no locks (style rule 9).
class Worker {
 public:
  explicit Worker(unsigned index);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

  unsigned index() const noexcept { return index_; }
  asio::io_context& io() noexcept { return io_; }

  /// Starts the thread running the loop until stop(). The work guard keeps it alive when idle.
  void start();
  /// Stops the loop (pending handlers are abandoned) and joins the thread.
  void stop();

 private:
  unsigned index_;
  // Every socket operation of a worker runs on its thread (other threads only post), so the
  // reactor's per-descriptor locking is dropped; the scheduler stays safe for those posts.
  asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

/// Creates `n` workers (0: hardware concurrency).
std::vector<std::unique_ptr<Worker>> make_workers(unsigned n);

}  // namespace gh::net
