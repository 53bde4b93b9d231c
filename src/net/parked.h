#pragma once

// A coroutine parked until another thread resumes it: what a single-flight fetch shared by
// every worker (OpenID metadata, managed-identity tokens) gives its waiters. The waiter keeps its
// own worker's loop alive while parked and is resumed on that loop, never inline.

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <utility>

#include "net/asio.h"

namespace gh::net {

/// One parked coroutine. Move-only; resume() exactly once.
struct Parked {
  asio::any_completion_handler<void()> handler;
  asio::executor_work_guard<Executor> work;  // keeps the waiter's loop running

  /// Resumes the coroutine on its own loop (the post keeps that loop's work count).
  void resume() && { asio::post(work.get_executor(), std::move(handler)); }
};

namespace detail {
// The initiation of park(): a named type, not a lambda inside the co_await (g++ 12).
template <typename Owner>
struct ParkInitiation {
  Owner* owner;
  template <typename Handler>
  void operator()(Handler&& handler) const {
    auto executor = asio::get_associated_executor(handler);
    owner->enqueue(Parked{std::forward<Handler>(handler), asio::make_work_guard(executor)});
  }
};
}  // namespace detail

/// Suspends the calling coroutine and hands it to `owner->enqueue(Parked)`, which either keeps
/// it (under its own lock) to resume later, or resumes it at once when there is nothing to wait
/// for.
template <typename Owner>
awaitable<void> park(Owner* owner) {
  using Token = asio::use_awaitable_t<Executor>;
  co_await asio::async_initiate<const Token&, void()>(detail::ParkInitiation<Owner>{owner},
                                                      Token{});
}

}  // namespace gh::net
