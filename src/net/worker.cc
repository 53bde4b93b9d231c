#include "net/worker.h"

#include <pthread.h>

#include <string>

namespace gh::net {

Worker::Worker(unsigned index) : index_(index), guard_(asio::make_work_guard(io_)) {}

Worker::~Worker() {
  stop();
}

void Worker::start() {
  thread_ = std::thread([this] {
    std::string name = "gh-worker-" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    io_.run();
  });
}

void Worker::stop() {
  guard_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

std::vector<std::unique_ptr<Worker>> make_workers(unsigned n) {
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<Worker>> workers;
  workers.reserve(n);
  for (unsigned i = 0; i < n; ++i)
    workers.push_back(std::make_unique<Worker>(i));
  return workers;
}

}  // namespace gh::net
