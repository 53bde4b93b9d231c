#include "gateway/worker_state.h"

#include <charconv>
#include <iterator>
#include <limits>

#include "crypto/random.h"

namespace gh::gateway {

WorkerState::WorkerState(net::Worker& worker, WorkerMetrics& metrics, std::shared_ptr<LogSink> sink)
    : worker_(worker),
      metrics_(metrics),
      log_(std::move(sink)),
      id_prefix_(crypto::random_hex(8) + '-' + std::to_string(worker.index()) + '-') {}

void WorkerState::install(std::shared_ptr<const Snapshot> snapshot) {
  std::vector<std::shared_ptr<http::BackendPool>> pools;
  pools.reserve(snapshot->backends.size());
  for (const auto& target : snapshot->backends) {
    pools.push_back(std::make_shared<http::BackendPool>(worker_.io(), target));
  }
  pools_ = std::move(pools);  // old pools die with their last in-flight request
  snapshot_ = std::move(snapshot);
}

void WorkerState::next_request_id(std::string& out) {
  char counter[std::numeric_limits<uint64_t>::digits10 + 1];
  char* counter_end = std::to_chars(std::begin(counter), std::end(counter), ++id_counter_).ptr;
  out.assign(id_prefix_);
  out.append(counter, counter_end);
}

std::unique_ptr<char[]> WorkerState::take_buffer() {
  if (spare_buffers_.empty()) return std::make_unique<char[]>(kRelayBufferSize);
  auto b = std::move(spare_buffers_.back());
  spare_buffers_.pop_back();
  return b;
}

void WorkerState::give_buffer(std::unique_ptr<char[]> buf) {
  if (spare_buffers_.size() < 64) spare_buffers_.push_back(std::move(buf));
}

std::list<SessionHook>::iterator WorkerState::add_session(net::Socket* socket) {
  metrics_.connections_active.add();
  return sessions_.insert(sessions_.end(), SessionHook{socket, false});
}

void WorkerState::remove_session(std::list<SessionHook>::iterator it) {
  metrics_.connections_active.sub();
  sessions_.erase(it);
}

void WorkerState::begin_drain() {
  draining_ = true;
  for (auto& s : sessions_) {
    if (!s.busy) {
      net::error_code ec;
      s.socket->cancel(ec);  // the session's pending read ends and it closes
    }
  }
  log_.flush();
}

}  // namespace gh::gateway
