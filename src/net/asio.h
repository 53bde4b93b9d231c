#pragma once

// The Asio/Beast vocabulary used across net/, http/ and gateway/. Stream I/O uses
// as_tuple(use_awaitable) so that EOF and timeouts are values, not exceptions (style rule 4).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

namespace gh::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

// The concrete executor of a worker's loop, not the type-erased any_io_executor: every handler
// dispatch and coroutine resumption on the request path then skips a polymorphic call.
using Executor = asio::io_context::executor_type;

template <typename T>
using awaitable = asio::awaitable<T, Executor>;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<Executor>{});

using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using SteadyTimer =
    asio::basic_waitable_timer<std::chrono::steady_clock,
                               asio::wait_traits<std::chrono::steady_clock>, Executor>;

}  // namespace gh::net
