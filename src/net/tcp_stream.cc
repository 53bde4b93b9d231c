#include "net/tcp_stream.h"

#include <time.h>

#include <algorithm>

namespace gh::net {

using clock = DeadlineSweep::clock;

asio::execution_context::id DeadlineSweep::id;

DeadlineSweep::DeadlineSweep(asio::io_context& io)
    : asio::execution_context::service(io), timer_(io) {}

DeadlineSweep::~DeadlineSweep() = default;

clock::time_point DeadlineSweep::coarse_now() noexcept {
  // CLOCK_MONOTONIC_COARSE counts from the same origin as steady_clock (CLOCK_MONOTONIC) and is
  // read from the vDSO page without a TSC read.
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

clock::duration DeadlineSweep::coarse_resolution() noexcept {
  static const clock::duration resolution = [] {
    timespec ts{};
    ::clock_getres(CLOCK_MONOTONIC_COARSE, &ts);
    return std::chrono::duration_cast<clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                       std::chrono::nanoseconds(ts.tv_nsec));
  }();
  return resolution;
}

void DeadlineSweep::shutdown() {
  // The loop is ending: streams destroyed from here on (with the handlers that own them) must
  // find nothing to unlink, and no wake-up is scheduled again.
  shut_down_ = true;
  for (TcpStream* s = head_; s != nullptr;) {
    TcpStream* next = s->next_;
    s->linked_ = false;
    s->prev_ = s->next_ = nullptr;
    s = next;
  }
  head_ = nullptr;
  timer_.cancel();
}

void DeadlineSweep::link(TcpStream& s) noexcept {
  s.prev_ = nullptr;
  s.next_ = head_;
  if (head_ != nullptr) head_->prev_ = &s;
  head_ = &s;
  s.linked_ = true;
}

void DeadlineSweep::unlink(TcpStream& s) noexcept {
  if (s.prev_ != nullptr) {
    s.prev_->next_ = s.next_;
  } else {
    head_ = s.next_;
  }
  if (s.next_ != nullptr) s.next_->prev_ = s.prev_;
  s.prev_ = s.next_ = nullptr;
  s.linked_ = false;
  // No deadline left: no wake-up either, so that a loop run until it has no work (a blocking
  // fetch's) ends when its last stream is done, not at that stream's old deadline.
  if (head_ == nullptr && scheduled_ != clock::time_point::max()) {
    scheduled_ = clock::time_point::max();
    timer_.cancel();
  }
}

void DeadlineSweep::replace(TcpStream& from, TcpStream& to) noexcept {
  to.prev_ = from.prev_;
  to.next_ = from.next_;
  if (to.prev_ != nullptr) {
    to.prev_->next_ = &to;
  } else {
    head_ = &to;
  }
  if (to.next_ != nullptr) to.next_->prev_ = &to;
  to.linked_ = true;
  from.prev_ = from.next_ = nullptr;
  from.linked_ = false;
}

void DeadlineSweep::deadline_set(clock::time_point deadline) {
  // Only a deadline earlier than the pending wake-up moves it: the common case (the same
  // timeouts again and again, each ending later than the last) costs one comparison.
  if (deadline < scheduled_) schedule(std::max(deadline, last_sweep_ + kSweepGranularity));
}

void DeadlineSweep::schedule(clock::time_point at) {
  if (shut_down_) return;
  scheduled_ = at;
  timer_.expires_at(at);  // cancels the wait for the later wake-up, if any
  timer_.async_wait([this](error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    sweep();
  });
}

void DeadlineSweep::sweep() {
  const clock::time_point now = clock::now();
  last_sweep_ = now;
  scheduled_ = clock::time_point::max();
  clock::time_point earliest = clock::time_point::max();
  for (TcpStream* s = head_; s != nullptr;) {
    TcpStream* next = s->next_;
    if (s->deadline_ <= now) {
      unlink(*s);
      if (s->pending_ > 0) {
        s->expire();
      } else {
        s->deadline_passed_ = true;  // for the next operation to start, as Beast would
      }
    } else {
      earliest = std::min(earliest, s->deadline_);
    }
    s = next;
  }
  if (earliest != clock::time_point::max()) {
    schedule(std::max(earliest, now + kSweepGranularity));
  }
}

TcpStream::TcpStream(asio::io_context& io)
    : socket_(io.get_executor()), sweep_(&asio::use_service<DeadlineSweep>(io)) {}

TcpStream::TcpStream(const Executor& executor)
    : socket_(executor), sweep_(&asio::use_service<DeadlineSweep>(executor.context())) {}

TcpStream::TcpStream(Socket socket)
    : socket_(std::move(socket)),
      sweep_(&asio::use_service<DeadlineSweep>(socket_.get_executor().context())) {}

TcpStream::TcpStream(TcpStream&& other) noexcept
    : socket_(std::move(other.socket_)),
      sweep_(other.sweep_),
      deadline_(other.deadline_),
      deadline_passed_(other.deadline_passed_),
      timed_out_(other.timed_out_) {
  if (other.linked_) sweep_->replace(other, *this);
  other.deadline_ = clock::time_point::max();
}

TcpStream::~TcpStream() {
  if (linked_) sweep_->unlink(*this);
}

void TcpStream::set_deadline(clock::time_point deadline) {
  deadline_ = deadline;
  deadline_passed_ = false;
  if (sweep_->shut_down_) return;
  if (!linked_) sweep_->link(*this);
  sweep_->deadline_set(deadline);
}

void TcpStream::expires_never() noexcept {
  deadline_ = clock::time_point::max();
  deadline_passed_ = false;
  if (linked_) sweep_->unlink(*this);
}

void TcpStream::expire() noexcept {
  // As beast::basic_stream does on a timeout: the socket is closed, so that pending operations
  // end at once (operation_aborted, reported as timeout) and the peer sees the connection end.
  timed_out_ = true;
  deadline_ = clock::time_point::max();
  deadline_passed_ = false;
  error_code ignored;
  socket_.close(ignored);
}

void TcpStream::close() noexcept {
  error_code ignored;
  socket_.close(ignored);
}

awaitable<error_code> TcpStream::connect_one(const tcp::endpoint& ep) {
  if (deadline_passed_) {  // closing would not do: async_connect opens a closed socket again
    expire();
    co_return beast::error::timeout;
  }
  error_code ec;
  if (socket_.is_open()) socket_.close(ec);
  socket_.open(ep.protocol(), ec);
  if (ec) co_return ec;
  auto [cec] = co_await asio::async_initiate<decltype(use_tuple), void(error_code)>(Connect{this},
                                                                                    use_tuple, ep);
  co_return cec;
}

}  // namespace gh::net
