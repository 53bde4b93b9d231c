#pragma once

// A TCP stream with one deadline, as beast::basic_stream has, without its cost per operation.
//
// beast::basic_stream starts a timer wait with every read and write and cancels it on completion
// (about ten timer operations per proxied request), and wraps every buffer sequence so that
// Asio can no longer use recv()/send() but calls recvmsg()/sendmsg(). Here a deadline is a time
// stored in the stream; each event loop has one DeadlineSweep that wakes at the earliest
// deadline (and no more often than every kSweepGranularity). A stream whose deadline has passed
// with an operation pending is closed, and its operations complete with beast::error::timeout.
// As with Beast, a deadline bounds operations only: one that passes while nothing is pending
// fails the next operation to start, and does nothing before. Setting a deadline costs a read of
// the coarse clock (as HAProxy, which times out against its loop's cached date) and a few stores;
// buffers reach the socket unchanged.

#include <chrono>
#include <cstdint>
#include <tuple>
#include <utility>

#include "net/asio.h"

namespace gh::net {

class TcpStream;

/// The deadlines of one event loop's streams (an Asio service: one per io_context, created by
/// the first stream). Only that loop's thread touches it.
class DeadlineSweep : public asio::execution_context::service {
 public:
  using clock = std::chrono::steady_clock;
  using key_type = DeadlineSweep;
  static asio::execution_context::id id;

  /// A sweep never follows the previous one sooner than this: a deadline may pass this late.
  static constexpr std::chrono::milliseconds kSweepGranularity{10};

  explicit DeadlineSweep(asio::io_context& io);
  DeadlineSweep(const DeadlineSweep&) = delete;
  DeadlineSweep& operator=(const DeadlineSweep&) = delete;
  ~DeadlineSweep() override;

  /// Now, from the coarse clock (no TSC read), and how far it may lag the precise one.
  static clock::time_point coarse_now() noexcept;
  static clock::duration coarse_resolution() noexcept;

 private:
  friend class TcpStream;
  void shutdown() override;
  void link(TcpStream& s) noexcept;
  void unlink(TcpStream& s) noexcept;
  void replace(TcpStream& from, TcpStream& to) noexcept;
  void deadline_set(clock::time_point deadline);
  void schedule(clock::time_point at);
  void sweep();

  SteadyTimer timer_;
  TcpStream* head_ = nullptr;                               // streams with a deadline, unordered
  clock::time_point scheduled_ = clock::time_point::max();  // the pending wake-up, if any
  clock::time_point last_sweep_{};
  bool shut_down_ = false;
};

namespace detail {
// Completes an operation of a TcpStream, turning the abort caused by a passed deadline into
// beast::error::timeout. Associated executor, allocator and cancellation slot are the wrapped
// handler's (see the associator specialization below).
template <typename Handler>
struct TimeoutMapped {
  Handler handler;
  TcpStream* stream;

  template <typename... Args>
  void operator()(error_code ec, Args&&... args);
};
}  // namespace detail

/// A TCP socket with a deadline: beast::basic_stream's interface as Gatehouse uses it
/// (expires_after, expires_never, socket, close, connect), an AsyncStream for Beast and ssl.
/// Operations pending when the deadline passes, or started after it, complete with
/// beast::error::timeout (the socket is then closed). Not moved while an operation is pending,
/// and not outliving its io_context.
class TcpStream {
 public:
  using executor_type = Executor;
  using clock = DeadlineSweep::clock;
  using lowest_layer_type = Socket::lowest_layer_type;  // what asio::ssl::stream asks of its layer

  explicit TcpStream(asio::io_context& io);
  explicit TcpStream(const Executor& executor);
  explicit TcpStream(Socket socket);
  TcpStream(TcpStream&& other) noexcept;
  TcpStream& operator=(TcpStream&&) = delete;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream();

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  Socket& socket() noexcept { return socket_; }
  const Socket& socket() const noexcept { return socket_; }
  lowest_layer_type& lowest_layer() noexcept { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const noexcept { return socket_.lowest_layer(); }

  /// Operations pending or started from now fail with beast::error::timeout once `d` has
  /// passed. Replaces any earlier deadline. Measured from the coarse clock (which may lag real
  /// time by about a tick, 4 ms) plus its resolution, and kept to kSweepGranularity.
  template <typename Rep, typename Period>
  void expires_after(std::chrono::duration<Rep, Period> d) {
    set_deadline(DeadlineSweep::coarse_now() + DeadlineSweep::coarse_resolution() +
                 std::chrono::duration_cast<clock::duration>(d));
  }
  void expires_never() noexcept;
  /// True once a deadline has passed: the socket is closed and stays so.
  bool timed_out() const noexcept { return timed_out_; }

  void close() noexcept;

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(ReadSome{this}, token,
                                                                      buffers);
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(WriteSome{this}, token,
                                                                      buffers);
  }

  /// Connects to the first endpoint that accepts, in order, within the deadline. The result
  /// is the endpoint connected to, or the last error (beast::error::timeout when it passed).
  /// `endpoints`: any range of tcp::endpoint (or of resolver entries, which convert to one).
  template <typename Endpoints>
  awaitable<std::tuple<error_code, tcp::endpoint>> connect(const Endpoints& endpoints) {
    error_code ec = asio::error::host_not_found;
    for (const auto& entry : endpoints) {
      const tcp::endpoint& ep = entry;  // a resolver entry converts to its endpoint
      if (timed_out_) co_return std::tuple{error_code(beast::error::timeout), tcp::endpoint{}};
      ec = co_await connect_one(ep);
      if (!ec) co_return std::tuple{ec, ep};
    }
    co_return std::tuple{ec, tcp::endpoint{}};
  }

 private:
  friend class DeadlineSweep;
  template <typename Handler>
  friend struct detail::TimeoutMapped;

  struct ReadSome {
    TcpStream* self;
    template <typename Handler, typename Buffers>
    void operator()(Handler&& h, const Buffers& b) const {
      self->start_operation();
      self->socket_.async_read_some(
          b, detail::TimeoutMapped<std::decay_t<Handler>>{std::forward<Handler>(h), self});
    }
  };
  struct WriteSome {
    TcpStream* self;
    template <typename Handler, typename Buffers>
    void operator()(Handler&& h, const Buffers& b) const {
      self->start_operation();
      self->socket_.async_write_some(
          b, detail::TimeoutMapped<std::decay_t<Handler>>{std::forward<Handler>(h), self});
    }
  };

  struct Connect {
    TcpStream* self;
    template <typename Handler>
    void operator()(Handler&& h, const tcp::endpoint& ep) const {
      self->start_operation();
      self->socket_.async_connect(
          ep, detail::TimeoutMapped<std::decay_t<Handler>>{std::forward<Handler>(h), self});
    }
  };

  void set_deadline(clock::time_point deadline);
  void start_operation() noexcept {
    ++pending_;
    if (deadline_passed_) expire();  // the operation then fails at once, as a timeout
  }
  awaitable<error_code> connect_one(const tcp::endpoint& ep);
  void expire() noexcept;

  Socket socket_;
  DeadlineSweep* sweep_;
  clock::time_point deadline_ = clock::time_point::max();
  TcpStream* prev_ = nullptr;  // links in the sweep's list while a deadline is set
  TcpStream* next_ = nullptr;
  uint32_t pending_ = 0;  // operations started and not yet completed
  bool linked_ = false;
  bool deadline_passed_ = false;  // it passed while nothing was pending
  bool timed_out_ = false;
};

template <typename Handler>
template <typename... Args>
void detail::TimeoutMapped<Handler>::operator()(error_code ec, Args&&... args) {
  --stream->pending_;
  if (ec && stream->timed_out_) ec = beast::error::timeout;
  std::move(handler)(ec, std::forward<Args>(args)...);
}

/// The stream types of the request path: plain TCP, and TLS over it.
using PlainStream = TcpStream;
using TlsStream = beast::ssl_stream<PlainStream>;

}  // namespace gh::net

template <template <typename, typename> class Associator, typename Handler,
          typename DefaultCandidate>
struct boost::asio::associator<Associator, gh::net::detail::TimeoutMapped<Handler>,
                               DefaultCandidate> : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const gh::net::detail::TimeoutMapped<Handler>& h) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.handler);
  }
  static auto get(const gh::net::detail::TimeoutMapped<Handler>& h,
                  const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
    return Associator<Handler, DefaultCandidate>::get(h.handler, c);
  }
};
