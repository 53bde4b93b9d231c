// TcpStream: deadlines kept by the loop's sweep, over real loopback sockets.

#include "net/tcp_stream.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace gh::net {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// A connected pair of loopback sockets on one loop: `near` is wrapped by the stream under test.
struct Pair {
  asio::io_context io;
  Socket near{io.get_executor()};
  Socket far{io.get_executor()};

  Pair() {
    Acceptor acceptor(io.get_executor(), tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    near.connect(acceptor.local_endpoint());
    acceptor.accept(far);
  }
};

// Runs `io` until `done()` holds, for at most `limit` (a pending sweep wake-up would keep
// run() going).
template <typename Done>
void run_until(asio::io_context& io, Done done, clock::duration limit = 3s) {
  const auto end = clock::now() + limit;
  while (!done() && clock::now() < end) {
    if (io.stopped()) io.restart();  // it ran out of work earlier: new work was started since
    io.run_one_for(50ms);
  }
}

struct ReadResult {
  error_code ec;
  size_t n = 0;
  clock::duration after{};
};

// Deadlines are taken from the coarse clock, which may lag real time by about a tick; a deadline
// set `d` after it never passes before a precise `d` after the coarse reading taken first. So
// each test measures from `t0`, the coarse clock read before any deadline is set: that bound is
// exact, whatever the machine's load.
class TcpStreamTest : public ::testing::Test {
 protected:
  const clock::time_point t0 = DeadlineSweep::coarse_now();

  // Starts one read on `s`, recording how it ended and when (since t0).
  void start_read(TcpStream& s, std::array<char, 64>& buf, std::optional<ReadResult>& out) {
    s.async_read_some(asio::buffer(buf), [&out, t0 = t0](error_code ec, size_t n) {
      out = ReadResult{ec, n, clock::now() - t0};
    });
  }
};

TEST_F(TcpStreamTest, ReadEndsWithTimeoutOnceTheDeadlinePassesAndTheSocketIsClosed) {
  Pair p;
  TcpStream s(std::move(p.near));
  std::array<char, 64> buf;
  std::optional<ReadResult> r;
  s.expires_after(50ms);
  start_read(s, buf, r);
  run_until(p.io, [&] { return r.has_value(); });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->ec, beast::error::timeout);
  EXPECT_GE(r->after, 50ms);
  EXPECT_TRUE(s.timed_out());
  EXPECT_FALSE(s.socket().is_open());
  // The peer sees the connection end.
  error_code ec;
  p.far.read_some(asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(TcpStreamTest, ExpiresNeverLetsThePendingReadWaitPastTheOldDeadline) {
  Pair p;
  TcpStream s(std::move(p.near));
  std::array<char, 64> buf;
  std::optional<ReadResult> r;
  s.expires_after(30ms);
  start_read(s, buf, r);
  s.expires_never();
  SteadyTimer later(p.io.get_executor());
  later.expires_after(200ms);
  later.async_wait([&](error_code) { asio::write(p.far, asio::buffer("hi", 2)); });
  run_until(p.io, [&] { return r.has_value(); });
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ec) << r->ec.message();
  EXPECT_EQ(r->n, 2u);
  EXPECT_GE(r->after, 200ms);
  EXPECT_FALSE(s.timed_out());
}

TEST_F(TcpStreamTest, ADeadlinePassingWhileNothingIsPendingFailsOnlyTheNextOperation) {
  Pair p;
  TcpStream s(std::move(p.near));
  std::array<char, 64> buf;
  std::optional<ReadResult> first, second;
  s.expires_after(5s);
  asio::write(p.far, asio::buffer("a", 1));
  start_read(s, buf, first);
  run_until(p.io, [&] { return first.has_value(); });
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(first->ec);
  // A deadline left behind by finished work, as after a relay: it passes while the stream sits
  // idle (say, waiting for a backend), which must not close it...
  s.expires_after(30ms);
  SteadyTimer idle(p.io.get_executor());
  bool idled = false;
  idle.expires_after(200ms);
  idle.async_wait([&](error_code) { idled = true; });
  run_until(p.io, [&] { return idled; });
  EXPECT_TRUE(s.socket().is_open());
  EXPECT_FALSE(s.timed_out());
  // ...but the next operation started without a new deadline fails as a timeout, as with Beast.
  start_read(s, buf, second);
  run_until(p.io, [&] { return second.has_value(); });
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->ec, beast::error::timeout);
  EXPECT_FALSE(s.socket().is_open());
}

TEST_F(TcpStreamTest, ANewDeadlineAfterOneThatPassedIdleAppliesAfresh) {
  Pair p;
  TcpStream s(std::move(p.near));
  s.expires_after(20ms);
  SteadyTimer idle(p.io.get_executor());
  bool idled = false;
  idle.expires_after(150ms);
  idle.async_wait([&](error_code) { idled = true; });
  run_until(p.io, [&] { return idled; });
  s.expires_after(5s);
  asio::write(p.far, asio::buffer("b", 1));
  std::array<char, 64> buf;
  std::optional<ReadResult> r;
  start_read(s, buf, r);
  run_until(p.io, [&] { return r.has_value(); });
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ec) << r->ec.message();
  EXPECT_EQ(r->n, 1u);
}

TEST_F(TcpStreamTest, ALaterDeadlineReplacesAnEarlierOne) {
  Pair p;
  TcpStream s(std::move(p.near));
  std::array<char, 64> buf;
  std::optional<ReadResult> r;
  s.expires_after(20ms);   // the sweep is scheduled for this one...
  s.expires_after(300ms);  // ...which no longer applies
  start_read(s, buf, r);
  run_until(p.io, [&] { return r.has_value(); });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->ec, beast::error::timeout);
  EXPECT_GE(r->after, 300ms);
}

TEST_F(TcpStreamTest, AnEarlierDeadlineMovesTheSweepForward) {
  Pair p;
  TcpStream slow(std::move(p.near));
  Acceptor acceptor(p.io.get_executor(), tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  Socket near2(p.io.get_executor()), far2(p.io.get_executor());
  near2.connect(acceptor.local_endpoint());
  acceptor.accept(far2);
  TcpStream fast(std::move(near2));

  std::array<char, 64> b1, b2;
  std::optional<ReadResult> r_slow, r_fast;
  slow.expires_after(1500ms);
  start_read(slow, b1, r_slow);
  fast.expires_after(50ms);  // earlier than the wake-up already scheduled for `slow`
  start_read(fast, b2, r_fast);
  run_until(p.io, [&] { return r_fast && r_slow; });
  ASSERT_TRUE(r_fast.has_value());
  ASSERT_TRUE(r_slow.has_value());
  EXPECT_EQ(r_fast->ec, beast::error::timeout);
  EXPECT_GE(r_fast->after, 50ms);
  EXPECT_LT(r_fast->after, 1500ms);  // it did not wait for the wake-up scheduled for `slow`
  EXPECT_EQ(r_slow->ec, beast::error::timeout);
  EXPECT_GE(r_slow->after, 1500ms);
}

TEST_F(TcpStreamTest, ManyStreamsEachEndAtTheirOwnDeadlineNeverBefore) {
  asio::io_context io;
  Acceptor acceptor(io.get_executor(), tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  constexpr int kStreams = 40;
  std::vector<Socket> fars;
  std::vector<std::unique_ptr<TcpStream>> streams;
  std::vector<std::array<char, 64>> bufs(kStreams);
  std::vector<std::optional<ReadResult>> results(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    Socket near(io.get_executor());
    near.connect(acceptor.local_endpoint());
    fars.emplace_back(io.get_executor());
    acceptor.accept(fars.back());
    streams.push_back(std::make_unique<TcpStream>(std::move(near)));
  }
  // Deadlines in a scrambled order, 10 ms apart; every fourth stream gets data instead.
  for (int i = 0; i < kStreams; ++i) {
    const int slot = (i * 17) % kStreams;
    streams[i]->expires_after(std::chrono::milliseconds(20 + 10 * slot));
    start_read(*streams[i], bufs[i], results[i]);
    if (i % 4 == 0) asio::write(fars[i], asio::buffer("x", 1));
  }
  run_until(io, [&] {
    for (const auto& r : results)
      if (!r) return false;
    return true;
  });
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(results[i].has_value()) << i;
    if (i % 4 == 0) {
      EXPECT_FALSE(results[i]->ec) << i;
      continue;
    }
    const int slot = (i * 17) % kStreams;
    EXPECT_EQ(results[i]->ec, beast::error::timeout) << i;
    EXPECT_GE(results[i]->after, std::chrono::milliseconds(20 + 10 * slot)) << i;
  }
}

TEST_F(TcpStreamTest, AMovedStreamKeepsItsDeadlineAndTheOldOneLeavesTheSweep) {
  Pair p;
  std::optional<TcpStream> first(std::in_place, std::move(p.near));
  first->expires_after(60ms);
  TcpStream moved(std::move(*first));
  first.reset();  // destroying the moved-from stream must not unlink the new one
  std::array<char, 64> buf;
  std::optional<ReadResult> r;
  start_read(moved, buf, r);
  run_until(p.io, [&] { return r.has_value(); });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->ec, beast::error::timeout);
  EXPECT_GE(r->after, 50ms);
}

TEST_F(TcpStreamTest, ADestroyedStreamLeavesTheSweepAndOthersStillExpire) {
  Pair p;
  TcpStream keep(std::move(p.near));
  {
    Socket other(p.io.get_executor());
    TcpStream gone(std::move(other));
    gone.expires_after(20ms);
    keep.expires_after(80ms);
  }
  std::array<char, 64> buf;
  std::optional<ReadResult> r;
  start_read(keep, buf, r);
  run_until(p.io, [&] { return r.has_value(); });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->ec, beast::error::timeout);
}

TEST_F(TcpStreamTest, WithNoDeadlineLeftTheLoopHasNoWorkLeft) {
  asio::io_context io;
  {
    TcpStream s(io);
    s.expires_after(std::chrono::hours(1));
    s.expires_never();
    TcpStream t(io);
    t.expires_after(std::chrono::hours(1));
  }  // t leaves the sweep as it is destroyed
  // run_for ends early, and the loop counts as stopped, only when no work is left: a pending
  // wake-up for the old deadlines would keep it running until the time is up.
  io.run_for(200ms);
  EXPECT_TRUE(io.stopped());
}

TEST_F(TcpStreamTest, ReadsAndWritesMoveBytesWithADeadlineSet) {
  Pair p;
  TcpStream s(std::move(p.near));
  s.expires_after(5s);
  std::string got;
  asio::co_spawn(
      p.io,
      [&]() -> awaitable<void> {
        auto [wec, wn] = co_await asio::async_write(s, asio::buffer("ping", 4), use_tuple);
        EXPECT_FALSE(wec);
        EXPECT_EQ(wn, 4u);
        std::array<char, 16> b;
        auto [rec, rn] = co_await s.async_read_some(asio::buffer(b), use_tuple);
        EXPECT_FALSE(rec);
        got.assign(b.data(), rn);
        s.expires_never();
      },
      asio::detached);
  std::array<char, 16> b;
  asio::co_spawn(
      p.io,
      [&]() -> awaitable<void> {
        auto [ec, n] = co_await p.far.async_read_some(asio::buffer(b), use_tuple);
        EXPECT_EQ(std::string_view(b.data(), n), "ping");
        co_await asio::async_write(p.far, asio::buffer("pong", 4), use_tuple);
      },
      asio::detached);
  run_until(p.io, [&] { return !got.empty(); });
  EXPECT_EQ(got, "pong");
  EXPECT_FALSE(s.timed_out());
}

TEST_F(TcpStreamTest, ConnectTriesEachEndpointInTurn) {
  asio::io_context io;
  Acceptor open(io.get_executor(), tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  // A port that refuses: bound, then closed.
  tcp::endpoint refused;
  {
    Acceptor closed(io.get_executor(), tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    refused = closed.local_endpoint();
  }
  TcpStream s(io);
  s.expires_after(2s);
  const std::vector<tcp::endpoint> endpoints{refused, open.local_endpoint()};
  std::optional<std::tuple<error_code, tcp::endpoint>> result;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto [ec, ep] = co_await s.connect(endpoints);
        result.emplace(ec, ep);
      },
      asio::detached);
  run_until(io, [&] { return result.has_value(); });
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(std::get<0>(*result)) << std::get<0>(*result).message();
  EXPECT_EQ(std::get<1>(*result), open.local_endpoint());
  EXPECT_TRUE(s.socket().is_open());
}

TEST_F(TcpStreamTest, ConnectAfterTheDeadlinePassedReportsTimeout) {
  asio::io_context io;
  Acceptor open(io.get_executor(), tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  TcpStream s(io);
  s.expires_after(10ms);
  SteadyTimer wait(io.get_executor());
  const std::vector<tcp::endpoint> endpoints{open.local_endpoint()};
  std::optional<std::tuple<error_code, tcp::endpoint>> result;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        wait.expires_after(200ms);
        co_await wait.async_wait(use_tuple);
        auto [ec, ep] = co_await s.connect(endpoints);
        result.emplace(ec, ep);
      },
      asio::detached);
  run_until(io, [&] { return result.has_value(); });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(std::get<0>(*result), beast::error::timeout);
}

}  // namespace
}  // namespace gh::net
