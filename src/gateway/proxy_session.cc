#include "gateway/proxy_session.h"

#include <sys/socket.h>

#include <array>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <optional>

#include "core/event_log.h"
#include "core/strings.h"
#include "crypto/ossl_ptr.h"
#include "gateway/policy_run.h"
#include "http/error_response.h"
#include "http/forward_head.h"
#include "http/forwarding.h"
#include "http/framing.h"
#include "http/head_scanner.h"
#include "http/local_handler.h"
#include "http/response_head.h"
#include "net/tcp_stream.h"
#include "policy/context.h"
#include "policy/subscriptions.h"

namespace gh::gateway {

using core::log_event;
namespace {

namespace asio = net::asio;
namespace beast = net::beast;
namespace bhttp = boost::beast::http;
using namespace std::chrono;
using net::awaitable;
using net::error_code;
using net::use_tuple;

constexpr milliseconds kErrorWriteTimeout{5000};
constexpr milliseconds kTlsShutdownTimeout{1000};
constexpr uint32_t kBackendHeaderLimit = 64 * 1024;

/// What a connection knows about its client.
struct ClientInfo {
  std::string listener;
  std::string ip;
  uint16_t port = 0;
  std::string local_ip;
  uint16_t local_port = 0;
  bool tls = false;
  std::string cert_thumbprint;  // SHA-1, upper-case hex; empty without a client certificate
  /// The handshake's client certificate and chain, for policies (built once per connection).
  std::optional<policy::ClientCertificate> certificate;
};

/// One request/response exchange, for the access log and metrics.
struct Exchange {
  steady_clock::time_point start;
  std::string request_id;
  std::string_view method;  // into the request parser, which outlives the exchange's log line
  std::string_view path;
  std::string_view api;
  std::string_view backend;
  unsigned status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  std::string_view error;

  /// Ready for the next request on the connection; the request id keeps its capacity.
  void reset() {
    std::string id = std::move(request_id);
    *this = Exchange{};
    id.clear();
    request_id = std::move(id);
  }
};

template <class Stream>
net::PlainStream& lowest(Stream& s) {
  return beast::get_lowest_layer(s);
}

std::string_view view(const beast::flat_buffer& b) {
  return {static_cast<const char*>(b.data().data()), b.size()};
}

void finish(WorkerState& ws, const ClientInfo& client, Exchange& ex) {
  auto micros =
      static_cast<uint64_t>(duration_cast<microseconds>(steady_clock::now() - ex.start).count());
  ws.metrics().record(ex.status, micros);
  ws.metrics().request_body_bytes.add(ex.bytes_in);
  ws.metrics().response_body_bytes.add(ex.bytes_out);
  if (!ws.access_log().enabled()) return;
  AccessRecord r;
  r.request_id = ex.request_id;
  r.client_ip = client.ip;
  r.method = ex.method;
  r.path = ex.path;
  r.status = ex.status;
  r.bytes_in = ex.bytes_in;
  r.bytes_out = ex.bytes_out;
  r.duration_micros = micros;
  r.api = ex.api;
  r.backend = ex.backend;
  r.client_cert_thumbprint = client.cert_thumbprint;
  r.error = ex.error;
  ws.access_log().write(r);
}

/// End of a request that ran policies: the refusal reason (if any) to the access log and its
/// metric, then the policies' end-of-request counting, which needs the body sizes.
void finish_policies(WorkerState& ws, Exchange& ex, policy::RequestContext& ctx) {
  ctx.request_bytes = ex.bytes_in;
  ctx.response_bytes = ex.bytes_out;
  if (ctx.last_error) {
    if (ex.error.empty()) ex.error = ctx.last_error->reason;
    ws.metrics().policy_refusals[policy_refusal_index(ctx.last_error->reason)].add();
  }
  complete_policies(ctx);
}

/// Writes the gateway's own answer in APIM's error shape. Returns false when the write failed.
template <class Stream>
awaitable<bool> send_error(Stream& stream, WorkerState& ws, Exchange& ex, http::ProxyError e,
                           std::string_view message, bool close) {
  const uint16_t status = http::status_of(e);
  if (message.empty()) message = http::default_message(e);
  std::string body = http::apim_error_body(status, message);
  std::string out;
  out.reserve(256 + body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += http::reason_phrase(status);
  out += "\r\nContent-Type: application/json\r\nContent-Length: ";
  out += std::to_string(body.size());
  if (!ex.request_id.empty()) {
    out += "\r\nX-Request-Id: ";
    out += ex.request_id;
  }
  out += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
  out += body;
  ex.status = status;
  ex.bytes_out = body.size();
  ex.error = http::reason_label(e);
  ws.metrics().gateway_errors[static_cast<size_t>(e)].add();
  lowest(stream).expires_after(kErrorWriteTimeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
  co_return !ec;
}

bool expects_continue(std::string_view value) {
  return core::iequals(core::trim_ows(value), "100-continue");
}

enum class RelayOutcome : uint8_t {
  Done,
  InputFailed,   // the sender went away
  BadInput,      // the sender's body framing is invalid (bad chunk)
  OutputFailed,  // the receiver went away
  InputTimeout,
  TooLarge,
};

const boost::system::error_category& kHttpCategory =
    bhttp::make_error_code(bhttp::error::bad_chunk).category();

/// Scratch space one session reuses for every exchange: serialized heads and coalesced writes,
/// and the views and edits a policy pipeline needs (capacity kept across requests).
struct SessionBuffers {
  std::vector<http::FieldSpan> spans;  // the request head's header lines, from the scanner
  std::string framing_head;            // what Beast parses: request line and framing fields
  std::string backend_target;          // the request target as the backend sees it
  std::string head;
  std::string scratch;
  std::vector<http::HeaderField> fields;
  std::vector<std::pair<std::string_view, std::string_view>> parameters;
  std::vector<std::string_view> drop;
  std::string extra;
  std::vector<http::HeaderField> response_fields;
  std::vector<std::string_view> response_drop;
  std::string response_extra;
  // The backend response's head (its bytes reused from response to response) and parser, here
  // rather than in forward()'s coroutine frame: that frame then fits the per-thread frame cache
  // (1020 bytes), instead of a malloc per request.
  http::ResponseHead response_head;
  std::optional<http::ResponseHeadParser> response_parser;
};

/// The fields Beast's parser acts on (RFC 9112 §6: the body's length, and the connection's
/// persistence and upgrade), which it must see itself.
bool frames_message(std::string_view name) noexcept {
  return core::iequals(name, "Content-Length") || core::iequals(name, "Transfer-Encoding") ||
         core::iequals(name, "Connection") || core::iequals(name, "Proxy-Connection") ||
         core::iequals(name, "Upgrade");
}

/// Writes `bufs` as one contiguous buffer when small (one syscall, one TLS record), else gathered.
/// A single buffer is passed alone, so that Asio sends it with send(), not sendmsg(). Not a
/// coroutine itself: it returns the write's own awaitable, so no frame is allocated for it.
template <class Out>
awaitable<std::tuple<error_code, size_t>> write_all(Out& out,
                                                    const std::array<asio::const_buffer, 5>& bufs,
                                                    std::string& scratch) {
  size_t total = 0;
  size_t pieces = 0;
  asio::const_buffer only;
  for (const auto& b : bufs) {
    total += b.size();
    if (b.size() > 0) {
      ++pieces;
      only = b;
    }
  }
  if (pieces == 1) return asio::async_write(out, only, use_tuple);
  if (pieces > 1 && total <= 16 * 1024) {
    scratch.clear();
    for (const auto& b : bufs)
      scratch.append(static_cast<const char*>(b.data()), b.size());
    return asio::async_write(out, asio::buffer(scratch), use_tuple);
  }
  return asio::async_write(out, bufs, use_tuple);
}

/// Where a parser puts the body bytes it reads: the request parser's buffer_body, or a
/// ResponseHeadParser's buffer.
void set_body_buffer(bhttp::request_parser<bhttp::buffer_body>& p, char* data, size_t size) {
  p.get().body().data = data;
  p.get().body().size = size;
}
size_t body_room(const bhttp::request_parser<bhttp::buffer_body>& p) {
  return p.get().body().size;
}
void set_body_buffer(http::ResponseHeadParser& p, char* data, size_t size) {
  p.set_body_buffer(data, size);
}
size_t body_room(const http::ResponseHeadParser& p) {
  return p.body_room();
}

/// Parses the body bytes already in `buf` (a small body usually arrives with its head), as
/// Beast's read_some would first do; need_more when the socket must be read. Beast's read_some
/// finds them too, but then completes through a posted handler: one more pass through the event
/// loop per message.
template <class Parser>
error_code put_buffered(beast::flat_buffer& buf, Parser& p) {
  if (buf.size() == 0) return bhttp::error::need_more;
  error_code ec;
  buf.consume(p.put(buf.data(), ec));
  return ec;
}

/// Moves one message from `in` (whose parser has read the head) to `out`: `head` (serialized) and
/// then the body through one fixed buffer, framed as `framing` says, so memory stays flat whatever
/// the size. When body bytes are already buffered, head and body leave in one write; when none
/// are, the head goes first so that the peer sees it before the body arrives (streaming).
template <class In, class Parser, class Out>
awaitable<RelayOutcome> relay(In& in, beast::flat_buffer& in_buf, Parser& p, Out& out,
                              SessionBuffers& sb, http::OutFraming framing, char* chunk,
                              size_t chunk_size, milliseconds read_timeout,
                              milliseconds write_timeout, uint64_t& moved) {
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  bool head_pending = true;
  if (!p.is_done() && in_buf.size() == 0) {
    lowest(out).expires_after(write_timeout);
    auto [ec, n] = co_await asio::async_write(out, asio::buffer(sb.head), use_tuple);
    if (ec) co_return RelayOutcome::OutputFailed;
    head_pending = false;
  }
  for (;;) {
    size_t n = 0;
    if (!p.is_done()) {
      set_body_buffer(p, chunk, chunk_size);
      error_code ec = put_buffered(in_buf, p);
      if (ec == bhttp::error::need_more) {
        lowest(in).expires_after(read_timeout);
        // read_some, not read: each socket read is forwarded at once (streaming latency), and
        // the read timeout is the longest silence allowed, not the time to fill the buffer.
        auto [read_ec, read] = co_await bhttp::async_read_some(in, in_buf, p, use_tuple);
        ec = read_ec;
      }
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec == bhttp::error::body_limit) co_return RelayOutcome::TooLarge;
      if (ec == beast::error::timeout) co_return RelayOutcome::InputTimeout;
      if (ec && ec.category() == kHttpCategory) co_return RelayOutcome::BadInput;
      if (ec) co_return RelayOutcome::InputFailed;
      n = chunk_size - body_room(p);
      moved += n;
    }
    const bool last = p.is_done();
    const bool chunked = framing == http::OutFraming::Chunked;
    char size_line[24];
    size_t size_len = 0;
    if (chunked && n > 0) {
      int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
      size_len = static_cast<size_t>(len);
    }
    std::array<asio::const_buffer, 5> bufs{
        head_pending ? asio::buffer(sb.head) : asio::const_buffer(),
        asio::const_buffer(size_line, size_len), asio::const_buffer(chunk, n),
        chunked && n > 0 ? asio::buffer(kCrlf) : asio::const_buffer(),
        chunked && last ? asio::buffer(kLastChunk) : asio::const_buffer()};
    if (head_pending || n > 0 || (chunked && last)) {
      lowest(out).expires_after(write_timeout);
      auto [ec, written] = co_await write_all(out, bufs, sb.scratch);
      if (ec) co_return RelayOutcome::OutputFailed;
      head_pending = false;
    }
    if (last) co_return RelayOutcome::Done;
  }
}

/// True when a pooled connection's peer has already closed or sent unsolicited bytes: such a
/// connection must not carry a request whose body cannot be replayed. One non-blocking peek.
bool looks_dead(http::BackendConnection& conn) {
  char c;
  ssize_t n = ::recv(conn.tcp().socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

enum class ForwardResult : uint8_t { Done, Retry, Failed, ClientGone };

struct ForwardState {
  bhttp::request_parser<bhttp::buffer_body>* req_parser = nullptr;
  bool request_has_body = false;
  bool head_request = false;
  bool client_keep_alive = true;
  unsigned client_version = 11;
  http::OutFraming request_framing = http::OutFraming::None;
  http::RequestAdditions additions;
  bool response_started = false;
  http::ProxyError error = http::ProxyError::BadGateway;
  std::string error_message;
  milliseconds backend_response{0};  // forward-request's timeout, else timeouts.backend_response
  policy::RequestContext* ctx = nullptr;  // set when the operation has policies
  const policy::Pipeline* pipeline = nullptr;
};

/// One attempt: request to the backend, response back to the client. Retry means the pooled
/// connection was stale and nothing has been consumed or sent: the caller may try a fresh one.
template <class ClientStream, class BackendStream>
awaitable<ForwardResult> forward(WorkerState& ws, const Snapshot& snap, ClientStream& client,
                                 beast::flat_buffer& client_buf, http::BackendConnection& conn,
                                 BackendStream& backend, ForwardState& st, Exchange& ex,
                                 SessionBuffers& sb, bool& backend_reusable) {
  const auto& timeouts = snap.config.timeouts;
  auto& req = st.req_parser->get();
  backend_reusable = false;

  // The relay buffer is only needed when a body is in flight; most requests have none.
  std::unique_ptr<char[]> chunk;
  char* buf = nullptr;
  size_t buf_size = 0;
  auto ensure_buffer = [&] {
    if (!chunk) {
      chunk = ws.take_buffer();
      buf = chunk.get();
      buf_size = WorkerState::kRelayBufferSize;
    }
  };
  {  // request
    sb.head.clear();
    http::write_forward_request_head(sb.head, req, st.additions);
    if (st.request_has_body) ensure_buffer();
    uint64_t moved = 0;
    auto framing = st.request_framing;
    auto outcome = co_await relay(client, client_buf, *st.req_parser, backend, sb, framing, buf,
                                  buf_size, timeouts.idle, timeouts.backend_response, moved);
    ex.bytes_in += moved;
    ForwardResult result = ForwardResult::Done;
    switch (outcome) {
      case RelayOutcome::Done:
        break;
      case RelayOutcome::OutputFailed:
        if (conn.reused && moved == 0 && !st.request_has_body) {
          result = ForwardResult::Retry;
        } else {
          st.error = http::ProxyError::BadGateway;
          st.error_message = "Bad gateway: the backend closed the connection";
          result = ForwardResult::Failed;
        }
        break;
      case RelayOutcome::TooLarge:
        st.error = http::ProxyError::BodyTooLarge;
        st.error_message.clear();
        result = ForwardResult::Failed;
        break;
      case RelayOutcome::BadInput:
        st.error = http::ProxyError::BadRequest;
        st.error_message = "Bad request: invalid chunked request body";
        result = ForwardResult::Failed;
        break;
      case RelayOutcome::InputFailed:
      case RelayOutcome::InputTimeout:
        result = ForwardResult::ClientGone;
        break;
    }
    if (result != ForwardResult::Done) {
      if (chunk) ws.give_buffer(std::move(chunk));
      co_return result;
    }
  }

  // Response head; 1xx interim responses are consumed (we never forward Expect).
  auto& parser = sb.response_parser;
  for (;;) {
    auto& rp = parser.emplace(sb.response_head);
    rp.header_limit(kBackendHeaderLimit);
    rp.body_limit(boost::none);
    if (st.head_request) rp.skip(true);
    lowest(backend).expires_after(st.backend_response);
    auto [ec, n] = co_await bhttp::async_read_header(backend, conn.buffer, rp, use_tuple);
    if (ec) {
      if (chunk) ws.give_buffer(std::move(chunk));
      if (ec == beast::error::timeout) {
        st.error = http::ProxyError::GatewayTimeout;
        st.error_message = "Gateway timeout: the backend did not answer in time";
        co_return ForwardResult::Failed;
      }
      if (conn.reused && !st.request_has_body && n == 0 &&
          (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset)) {
        co_return ForwardResult::Retry;
      }
      st.error = http::ProxyError::BadGateway;
      st.error_message =
          ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category()
              ? "Bad gateway: invalid response from the backend"
              : "Bad gateway: the backend closed the connection";
      co_return ForwardResult::Failed;
    }
    if (rp.get().result_int() / 100 != 1) break;
  }

  auto& rp = *parser;
  auto& res = rp.get();
  const bool backend_keep_alive = rp.keep_alive();
  const unsigned status = res.result_int();
  const bool bodiless = st.head_request || status == 204 || status == 304;
  http::OutFraming framing = http::OutFraming::None;
  if (!bodiless) {
    if (rp.chunked()) {
      framing = http::OutFraming::Chunked;
    } else if (rp.content_length()) {
      framing = http::OutFraming::Length;
    } else {
      framing = http::OutFraming::Chunked;  // close-delimited backend body: re-frame
    }
    if (framing == http::OutFraming::Chunked && st.client_version < 11) {
      // HTTP/1.0 has no chunked coding: send raw bytes and delimit by closing.
      framing = http::OutFraming::Close;
      st.client_keep_alive = false;
    }
  }
  http::ResponseAdditions response_additions{st.client_version, st.client_keep_alive, framing,
                                             ex.request_id};
  if (st.ctx) {
    // Outbound policies see the backend's head before anything reaches the client.
    sb.response_fields.clear();
    for (const auto& f : res)
      sb.response_fields.push_back({f.name_string(), f.value()});
    st.ctx->backend_response =
        policy::BackendResponseView{static_cast<uint16_t>(status), sb.response_fields};
    // An empty outbound section (the usual case) needs no coroutine.
    const PolicyVerdict verdict = st.pipeline->section(policy::Section::Outbound).empty()
                                      ? PolicyVerdict::Forward
                                      : co_await run_response_policies(*st.pipeline, *st.ctx);
    if (verdict == PolicyVerdict::Respond) {
      // The backend's body is not relayed: that connection cannot be reused.
      if (chunk) ws.give_buffer(std::move(chunk));
      sb.head =
          gateway_response_bytes(*st.ctx, ex.request_id, !st.client_keep_alive, st.head_request);
      ex.status = st.ctx->response->status;
      st.response_started = true;
      lowest(client).expires_after(kErrorWriteTimeout);
      auto [ec, n] = co_await asio::async_write(client, asio::buffer(sb.head), use_tuple);
      if (ec) co_return ForwardResult::ClientGone;
      co_return ForwardResult::Done;
    }
    sb.response_drop.clear();
    sb.response_extra.clear();
    field_edits(sb.response_fields, st.ctx->response_header_changes, sb.response_drop,
                sb.response_extra);
    response_additions.drop = sb.response_drop;
    response_additions.extra = sb.response_extra;
    if (const auto& o = st.ctx->response_status_override) {
      response_additions.status = o->first;
      response_additions.reason = o->second;
    }
  }
  ex.status = response_additions.status != 0 ? response_additions.status : status;
  st.response_started = true;
  sb.head.clear();
  http::write_forward_response_head(sb.head, res, response_additions);

  if (bodiless) {
    lowest(client).expires_after(timeouts.backend_response);
    auto [ec, n] = co_await asio::async_write(client, asio::buffer(sb.head), use_tuple);
    if (chunk) ws.give_buffer(std::move(chunk));
    if (ec) co_return ForwardResult::ClientGone;
    backend_reusable = backend_keep_alive && rp.is_done();
    co_return ForwardResult::Done;
  }
  ensure_buffer();
  uint64_t moved = 0;
  auto outcome = co_await relay(backend, conn.buffer, rp, client, sb, framing, buf, buf_size,
                                timeouts.backend_response, timeouts.idle, moved);
  ex.bytes_out += moved;
  ws.give_buffer(std::move(chunk));
  if (outcome == RelayOutcome::Done) {
    backend_reusable = backend_keep_alive;
    co_return ForwardResult::Done;
  }
  // Mid-body failure: the status line is gone, so the only honest signal is closing.
  st.client_keep_alive = false;
  co_return outcome == RelayOutcome::OutputFailed ? ForwardResult::ClientGone
                                                  : ForwardResult::Failed;
}

template <class ClientStream>
awaitable<ForwardResult> forward_any(WorkerState& ws, const Snapshot& snap, ClientStream& client,
                                     beast::flat_buffer& client_buf, http::BackendConnection& conn,
                                     ForwardState& st, Exchange& ex, SessionBuffers& sb,
                                     bool& reusable) {
  if (conn.stream.index() == 0) {
    co_return co_await forward(ws, snap, client, client_buf, conn, std::get<0>(conn.stream), st, ex,
                               sb, reusable);
  }
  co_return co_await forward(ws, snap, client, client_buf, conn, std::get<1>(conn.stream), st, ex,
                             sb, reusable);
}

template <class Stream>
awaitable<void> graceful_close(Stream& stream) {
  error_code ec;
  if constexpr (std::is_same_v<Stream, net::TlsStream>) {
    lowest(stream).expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(use_tuple);
  }
  lowest(stream).socket().shutdown(net::Socket::shutdown_send, ec);
  lowest(stream).close();
}

/// The client sees a generic 502/504; why the backend could not be reached (refused, timed out,
/// certificate expired or untrusted) goes to the operational log with the request id.
void log_backend_failure(const Exchange& ex, const Error& e) {
  log_event("warn", "backend unreachable",
            {{"backend", ex.backend}, {"request_id", ex.request_id}, {"error", e.message}});
}

/// The header_read deadline of one connection: when it passes, the pending read is cancelled
/// (not the socket closed) so that a 408 can still be written. Armed only when a head does not
/// arrive in one read, so the common request costs no timer.
class HeadDeadline {
 public:
  HeadDeadline(asio::io_context& io, net::Socket& socket)
      : timer_(io), state_(std::make_shared<State>()) {
    state_->socket = &socket;
  }
  ~HeadDeadline() { disarm(); }

  void arm(milliseconds after) {
    state_->armed = true;
    state_->fired = false;
    timer_.expires_after(after);
    // The handler may run after this object is gone: it holds the state, not `this`.
    timer_.async_wait([state = state_](error_code ec) {
      if (ec || !state->armed) return;
      state->fired = true;
      error_code ignored;
      state->socket->cancel(ignored);
    });
  }
  void disarm() {
    if (!state_->armed) return;
    state_->armed = false;
    timer_.cancel();
  }
  bool fired() const noexcept { return state_->fired; }
  bool armed() const noexcept { return state_->armed; }

 private:
  struct State {
    net::Socket* socket = nullptr;
    bool armed = false;
    bool fired = false;
  };
  net::SteadyTimer timer_;
  std::shared_ptr<State> state_;
};

/// Answers a request that the local handler claimed (the identity role's endpoints): reads the
/// body up to the handler's limit, calls it, writes its response. Returns false when the
/// connection must close afterwards.
template <class Stream>
awaitable<bool> serve_local(WorkerState& ws, http::LocalHandler& handler, Stream& stream,
                            beast::flat_buffer& buf,
                            bhttp::request_parser<bhttp::buffer_body>& parser,
                            const http::FramingVerdict& framing, const ClientInfo& client,
                            Exchange& ex, std::string_view host, bool keep_alive,
                            const config::Timeouts& timeouts) {
  auto& req = parser.get();
  ex.api = "local";
  const size_t limit =
      handler.max_body_bytes_for(client.listener, path_of(std::string_view(req.target())));
  const bool has_body = framing.framing != http::BodyFraming::None;
  if (framing.framing == http::BodyFraming::ContentLength && framing.content_length > limit) {
    co_await send_error(stream, ws, ex, http::ProxyError::BodyTooLarge, "", true);
    co_return false;
  }
  std::string body;
  if (has_body) {
    if (expects_continue(req[bhttp::field::expect]) && req.version() >= 11) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      lowest(stream).expires_after(timeouts.idle);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(kContinue), use_tuple);
      if (ec) co_return false;
    }
    std::array<char, 8192> chunk;
    while (!parser.is_done()) {
      set_body_buffer(parser, chunk.data(), chunk.size());
      error_code ec = put_buffered(buf, parser);
      if (ec == bhttp::error::need_more) {
        lowest(stream).expires_after(timeouts.header_read);
        auto [read_ec, n] = co_await bhttp::async_read_some(stream, buf, parser, use_tuple);
        ec = read_ec;
      }
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec && ec.category() == kHttpCategory) {
        co_await send_error(stream, ws, ex, http::ProxyError::BadRequest,
                            "Bad request: invalid request body framing", true);
        co_return false;
      }
      if (ec) co_return false;
      const size_t got = chunk.size() - body_room(parser);
      if (body.size() + got > limit) {
        co_await send_error(stream, ws, ex, http::ProxyError::BodyTooLarge, "", true);
        co_return false;
      }
      body.append(chunk.data(), got);
    }
    ex.bytes_in = body.size();
  }

  std::vector<http::HeaderField> fields;
  fields.reserve(16);
  for (const auto& f : req)
    fields.push_back({f.name_string(), f.value()});
  std::string_view target = req.target();
  const size_t q = target.find('?');
  http::LocalRequest lr;
  lr.listener = client.listener;
  lr.method = req.method_string();
  lr.target = target;
  lr.path = target.substr(0, q);
  lr.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  lr.host = host;
  lr.tls = client.tls;
  lr.client_ip = client.ip;
  lr.client_port = client.port;
  lr.local_ip = client.local_ip;
  lr.local_port = client.local_port;
  lr.client_cert_thumbprint = client.cert_thumbprint;
  lr.request_id = ex.request_id;
  lr.headers = fields;
  lr.body = body;

  http::LocalResponse res;
  bool failed = false;
  try {
    res = co_await handler.handle(lr);
  } catch (const std::exception& e) {
    failed = true;
    log_event("error", "local endpoint failed",
              {{"path", lr.path}, {"request_id", ex.request_id}, {"error", e.what()}});
  }
  if (failed) {
    co_await send_error(stream, ws, ex, http::ProxyError::Internal, "", true);
    co_return false;
  }

  std::string out;
  out.reserve(256 + res.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += http::reason_phrase(res.status);
  out += "\r\nContent-Type: ";
  out += res.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(res.body.size());
  for (const auto& [name, value] : res.headers) {
    out += "\r\n";
    out += name;
    out += ": ";
    out += value;
  }
  out += "\r\nX-Request-Id: ";
  out += ex.request_id;
  out += keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
  if (req.method() != bhttp::verb::head) out += res.body;
  ex.status = res.status;
  ex.bytes_out = res.body.size();
  lowest(stream).expires_after(timeouts.idle);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
  co_return !ec && keep_alive;
}

/// The request loop over one established client stream.
template <class Stream>
awaitable<void> request_loop(WorkerState& ws, Stream& stream, const ClientInfo& client,
                             SessionHook& hook) {
  beast::flat_buffer buf;
  SessionBuffers sb;
  HeadDeadline head_deadline(ws.io(), lowest(stream).socket());
  bool first = true;
  Exchange ex;
  for (;;) {
    hook.busy = false;
    if (ws.draining()) break;
    std::shared_ptr<const Snapshot> snap = ws.snapshot();
    const auto& timeouts = snap->config.timeouts;
    ex.reset();

    // 1. The head, checked byte by byte as it arrives. Waiting for its first byte is bounded by
    // the idle timeout (silent close); once it has started, the whole head must arrive within
    // header_read (slowloris), answered 408 — which needs the socket open, hence our own timer
    // rather than the stream's (a stream timeout closes the socket).
    sb.spans.reserve(snap->head_limits.max_header_count);
    http::HeadScanner scanner(snap->head_limits, &sb.spans);
    bool got_bytes = buf.size() > 0;
    auto state = scanner.scan(view(buf));
    if (state == http::HeadScanner::State::NeedMore) {
      lowest(stream).expires_after(first ? timeouts.header_read : timeouts.idle);
      if (got_bytes) head_deadline.arm(timeouts.header_read);
    }
    while (state == http::HeadScanner::State::NeedMore) {
      auto [ec, n] = co_await stream.async_read_some(buf.prepare(8192), use_tuple);
      if (ec) {
        if (head_deadline.fired()) {
          ex.start = steady_clock::now();
          co_await send_error(stream, ws, ex, http::ProxyError::HeaderTimeout,
                              "Request timeout: request headers not received in time", true);
          finish(ws, client, ex);
        }
        co_return;
      }
      buf.commit(n);
      if (!got_bytes) {
        got_bytes = true;
        hook.busy = true;
        lowest(stream).expires_never();
      }
      state = scanner.scan(view(buf));
      // The first read usually brings the whole head: the deadline (from these first bytes,
      // microseconds ago) is armed only for a head that arrives in pieces.
      if (state == http::HeadScanner::State::NeedMore && !head_deadline.armed()) {
        head_deadline.arm(timeouts.header_read);
      }
    }
    head_deadline.disarm();
    hook.busy = true;
    ex.start = steady_clock::now();
    first = false;
    if (state == http::HeadScanner::State::Rejected) {
      std::string msg = std::string(http::default_message(scanner.error())) + ": " +
                        std::string(scanner.reason());
      co_await send_error(stream, ws, ex, scanner.error(), msg, true);
      finish(ws, client, ex);
      break;
    }
    // 2. The head was validated byte by byte as it arrived, and its header lines located. Beast
    // parses only the request line and the fields that frame the message (it sets up the body
    // reader from them); every other field is inserted as located, in arrival order, instead of
    // being scanned a second time (a bearer token is hundreds of bytes).
    const std::string_view head = view(buf).substr(0, scanner.head_size());
    std::string& framing_head = sb.framing_head;
    framing_head.assign(head.substr(scanner.leading_skip(),
                                    scanner.request_line_end() + 2 - scanner.leading_skip()));
    // Framing lines go to Beast; the other spans stay, in order, for insertion below.
    size_t kept = 0;
    for (const auto& f : sb.spans) {
      if (frames_message(head.substr(f.begin, f.colon - f.begin))) {
        framing_head.append(head.substr(f.begin, f.end + 2 - f.begin));
      } else {
        sb.spans[kept++] = f;
      }
    }
    sb.spans.resize(kept);
    framing_head += "\r\n";

    bhttp::request_parser<bhttp::buffer_body> parser;
    parser.header_limit(snap->head_limits.max_header_bytes + 4);
    if (snap->config.limits.max_body_bytes > 0) {
      parser.body_limit(snap->config.limits.max_body_bytes);
    } else {
      parser.body_limit(boost::none);
    }
    error_code pec;
    size_t used = parser.put(asio::buffer(framing_head), pec);
    if (pec == bhttp::error::body_limit) {  // Content-Length above limits.max_body_bytes
      co_await send_error(stream, ws, ex, http::ProxyError::BodyTooLarge, "", true);
      finish(ws, client, ex);
      break;
    }
    if (pec || !parser.is_header_done() || used != framing_head.size()) {
      co_await send_error(stream, ws, ex, http::ProxyError::BadRequest,
                          "Bad request: malformed request head", true);
      finish(ws, client, ex);
      break;
    }
    for (const auto& f : sb.spans) {
      parser.get().insert(head.substr(f.begin, f.colon - f.begin),
                          core::trim_ows(head.substr(f.colon + 1, f.end - f.colon - 1)));
    }
    buf.consume(scanner.head_size());
    auto& req = parser.get();
    ex.method = req.method_string();
    if (auto id = req["X-Request-Id"]; http::valid_request_id(id)) {
      ex.request_id.assign(id);
    } else {
      ws.next_request_id(ex.request_id);
    }

    // 3. Framing (request smuggling defences) and target form.
    auto framing = http::check_request_framing(req.base());
    std::string origin_form;
    std::string authority;
    if (framing.ok &&
        !http::normalize_target(req.target(), req.method_string(), origin_form, authority)) {
      framing.ok = false;
      framing.reason = "unsupported request target";
    }
    if (!origin_form.empty()) req.target(origin_form);
    std::string_view target = req.target();
    ex.path = path_of(target);
    if (framing.ok && http::has_dot_segment(target)) {
      framing.ok = false;
      framing.reason = "dot-segment in path";
    }
    if (!framing.ok) {
      co_await send_error(stream, ws, ex, http::ProxyError::BadRequest,
                          std::string("Bad request: ") + std::string(framing.reason), true);
      finish(ws, client, ex);
      break;
    }
    const bool has_body = framing.framing != http::BodyFraming::None;
    bool client_keep_alive = req.keep_alive() && !ws.draining();
    const unsigned client_version = req.version();

    // 4. Local endpoints (the identity role), then APIs.
    // The host the request is routed on: an absolute-form target's authority wins over Host
    // (RFC 9112 §3.2.2), and the backend is told the same one. Both outlive the exchange.
    const std::string_view host =
        authority.empty() ? std::string_view(req[bhttp::field::host]) : std::string_view(authority);
    if (snap->local && snap->local->claims(client.listener, path_of(target))) {
      bool keep = co_await serve_local(ws, *snap->local, stream, buf, parser, framing, client, ex,
                                       host, client_keep_alive, timeouts);
      finish(ws, client, ex);
      if (!keep || !parser.is_done() || ws.draining()) break;
      continue;
    }
    RouteMatch m = snap->routes.match(host, path_of(target), req.method_string());
    if (!m.route) {
      // The body (if any) was not read: keep-alive only when there is none.
      bool close = has_body || !client_keep_alive;
      bool ok = co_await send_error(stream, ws, ex, http::ProxyError::NotFound, "", close);
      finish(ws, client, ex);
      if (!ok || close) break;
      continue;
    }
    ex.api = m.route->api_name;
    if (snap->config.limits.max_body_bytes > 0 &&
        framing.framing == http::BodyFraming::ContentLength &&
        framing.content_length > snap->config.limits.max_body_bytes) {
      co_await send_error(stream, ws, ex, http::ProxyError::BodyTooLarge, "", true);
      finish(ws, client, ex);
      break;
    }

    // 5. Policies: the subscription check, inbound and backend sections. Operations without any
    // skip all of it (the plain proxy path allocates nothing here).
    const PolicySet& policies = *snap->policies;
    const OperationPolicies& op_policies =
        policies.for_route(m.route->api_index, m.operation ? m.operation->index : 0);
    std::optional<policy::RequestContext> pctx;
    const policy::Pipeline* pipeline = nullptr;
    size_t backend_index = m.route->backend_index;
    std::string policy_target;
    sb.drop.clear();
    sb.extra.clear();
    // Forwarded client-certificate headers reach the backend only from trusted front proxies.
    const policy::PeerTrust peer = policies.cert_source->peer_trust(client.ip);
    for (const auto& f : req) {
      if (policies.cert_source->must_strip(f.name_string(), peer))
        sb.drop.push_back(f.name_string());
    }
    if (!op_policies.trivial) {
      auto& ctx = pctx.emplace(policies.services->clock);
      sb.fields.clear();
      for (const auto& f : req)
        sb.fields.push_back({f.name_string(), f.value()});
      const size_t q = target.find('?');
      ctx.request.method = req.method_string();
      ctx.request.target = target;
      ctx.request.path = target.substr(0, q);
      ctx.request.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
      ctx.request.host = host;
      ctx.request.scheme = client.tls ? "https" : "http";
      ctx.request.port = client.local_port;
      ctx.request.client_ip = client.ip;
      ctx.request.listener = client.listener;
      ctx.request.request_id = ex.request_id;
      ctx.request.headers = sb.fields;
      sb.parameters.clear();
      if (m.operation) {
        matched_parameters(*m.route, *m.operation, ctx.request.path, sb.parameters);
        ctx.request.matched_parameters = sb.parameters;
      }
      for (std::string_view stripped : sb.drop) {  // policies never see spoofed certificates
        ctx.request_header_changes.push_back(
            {std::string(stripped), {}, policy::FieldChange::Action::Delete});
      }
      auto cert = policies.cert_source->resolve(peer, sb.fields, client.certificate);
      ctx.client_certificate = std::move(cert.certificate);
      if (!cert.problem.empty()) {
        log_event(
            "warn", "forwarded client certificate ignored",
            {{"request_id", ex.request_id}, {"header", cert.header}, {"problem", cert.problem}});
      }
      if (policies.services && policies.services->subscriptions) {
        ctx.managed_subscriptions = ws.managed_subscriptions(*policies.services->subscriptions);
      }
      const PolicyProgress progress = start_request_policies(op_policies, policies, ctx, pipeline);
      PolicyVerdict verdict = progress.verdict;
      if (progress.next != PolicyProgress::Next::Done) {
        verdict = co_await finish_request_policies(progress, ctx, *pipeline);
      }
      if (verdict == PolicyVerdict::Respond) {
        // The body (if any) was not read: keep-alive only when there is none.
        const bool close = has_body || !client_keep_alive;
        std::string out =
            gateway_response_bytes(ctx, ex.request_id, close, req.method() == bhttp::verb::head);
        ex.status = ctx.response ? ctx.response->status : 200;
        ex.bytes_out = ctx.response ? ctx.response->body.size() : 0;
        lowest(stream).expires_after(kErrorWriteTimeout);
        auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
        finish_policies(ws, ex, ctx);
        finish(ws, client, ex);
        if (ec || close) break;
        continue;
      }
      if (ctx.backend >= 0) backend_index = static_cast<size_t>(ctx.backend);
      if (ctx.backend_certificate >= 0) {
        backend_index = static_cast<size_t>(
            policies
                .certificate_variants[backend_index][static_cast<size_t>(ctx.backend_certificate)]);
      }
      if (!ctx.query_changes.empty()) {
        policy_target = apply_query_changes(target, ctx.query_changes);
        target = policy_target;
      }
      field_edits(sb.fields, ctx.request_header_changes, sb.drop, sb.extra);
    }
    const auto& target_backend = *snap->backends[backend_index];
    ex.backend = target_backend.id;

    // 6. The request as the backend sees it.
    std::string& rewritten = sb.backend_target;
    rewritten.assign(target_backend.base_path);
    std::string_view rest = target;
    if (m.route->strip_path) {
      rest.remove_prefix(m.route->path.size());
      if (rest.empty() || rest.front() == '?') rewritten += '/';
    }
    rewritten.append(rest);
    if (has_body && client_version >= 11 && expects_continue(req[bhttp::field::expect])) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      lowest(stream).expires_after(timeouts.idle);
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(kContinue), use_tuple);
      if (ec) break;
    }

    // 7. Forward, retrying once on a fresh connection when a pooled one turns out stale.
    ForwardState st;
    st.backend_response = timeouts.backend_response;
    if (pctx) {
      st.ctx = &*pctx;
      st.pipeline = pipeline;
      if (pctx->backend_timeout) st.backend_response = *pctx->backend_timeout;
    }
    st.req_parser = &parser;
    st.request_has_body = has_body;
    st.head_request = req.method() == bhttp::verb::head;
    st.client_keep_alive = client_keep_alive;
    st.client_version = client_version;
    st.additions = {rewritten,
                    target_backend.host_header,
                    {client.ip, client.tls, host},
                    ex.request_id,
                    sb.drop,
                    sb.extra,
                    policies.trusts_front(client.ip)};
    st.request_framing = framing.framing == http::BodyFraming::Chunked ? http::OutFraming::Chunked
                         : has_body                                    ? http::OutFraming::Length
                                                                       : http::OutFraming::None;
    auto pool = ws.pool(backend_index);
    ForwardResult result = ForwardResult::Failed;
    for (int attempt = 0; attempt < 2; ++attempt) {
      // Two statements, not a conditional expression: g++ 12 miscompiles co_await inside ?:.
      Result<std::unique_ptr<http::BackendConnection>> conn;
      if (attempt == 0) {
        conn = co_await http::BackendPool::acquire(pool, timeouts.backend_connect);
      } else {
        conn = co_await http::BackendPool::connect(pool, timeouts.backend_connect);
      }
      if (!conn) {
        st.error = conn.error().kind == ErrorKind::Timeout ? http::ProxyError::GatewayTimeout
                                                           : http::ProxyError::BadGateway;
        st.error_message =
            (st.error == http::ProxyError::GatewayTimeout ? "Gateway timeout: " : "Bad gateway: ") +
            std::string("cannot connect to backend '") + target_backend.id + "'";
        log_backend_failure(ex, conn.error());
        result = ForwardResult::Failed;
        break;
      }
      if (!(*conn)->reused) ws.metrics().backend_connections_opened.add();
      if ((*conn)->reused && has_body && looks_dead(**conn)) {
        conn = co_await http::BackendPool::connect(pool, timeouts.backend_connect);
        if (!conn) {
          st.error = http::ProxyError::BadGateway;
          st.error_message = "Bad gateway: cannot connect to backend '" + target_backend.id + "'";
          log_backend_failure(ex, conn.error());
          result = ForwardResult::Failed;
          break;
        }
        ws.metrics().backend_connections_opened.add();
      }
      bool reusable = false;
      result = co_await forward_any(ws, *snap, stream, buf, **conn, st, ex, sb, reusable);
      if (result == ForwardResult::Done && reusable) pool->release(std::move(*conn));
      if (result != ForwardResult::Retry) break;
      ws.metrics().backend_retries.add();
    }
    client_keep_alive = st.client_keep_alive;
    if (pctx) finish_policies(ws, ex, *pctx);

    if (result == ForwardResult::ClientGone) {
      if (ex.status == 0) ex.status = 499;  // nginx's convention: client closed the request
      finish(ws, client, ex);
      co_return;
    }
    if (result == ForwardResult::Failed || result == ForwardResult::Retry) {
      if (!st.response_started) {
        co_await send_error(stream, ws, ex, st.error, st.error_message, true);
      }
      finish(ws, client, ex);
      break;
    }
    finish(ws, client, ex);
    if (!client_keep_alive || !parser.is_done() || ws.draining()) break;
  }
  co_await graceful_close(stream);
}

/// Registers the connection for drain and keeps the active-connection gauge right on every exit.
class SessionRegistration {
 public:
  SessionRegistration(WorkerState& ws, net::Socket* socket)
      : ws_(ws), it_(ws.add_session(socket)) {}
  ~SessionRegistration() { ws_.remove_session(it_); }
  SessionHook& hook() { return *it_; }

 private:
  WorkerState& ws_;
  std::list<SessionHook>::iterator it_;
};

std::string address_text(const net::asio::ip::address& addr) {
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    return net::asio::ip::make_address_v4(net::asio::ip::v4_mapped, addr.to_v6()).to_string();
  }
  return addr.to_string();
}

/// Both ends of the connection: the client's address for logs and forwarding headers, and the
/// full 4-tuple for local endpoints that bind callers by socket (managed identity).
void describe_connection(const net::Socket& socket, ClientInfo& client) {
  error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) {
    client.ip = "unknown";
  } else {
    client.ip = address_text(remote.address());
    client.port = remote.port();
  }
  auto local = socket.local_endpoint(ec);
  if (!ec) {
    client.local_ip = address_text(local.address());
    client.local_port = local.port();
  }
}

}  // namespace

awaitable<void> serve_plain(WorkerState* ws, net::Socket socket, std::string listener) {
  ws->metrics().connections_accepted.add();
  ClientInfo client;
  client.listener = std::move(listener);
  describe_connection(socket, client);
  error_code ec;
  socket.set_option(net::tcp::no_delay(true), ec);
  net::PlainStream stream(std::move(socket));
  SessionRegistration reg(*ws, &stream.socket());
  co_await request_loop(*ws, stream, client, reg.hook());
}

awaitable<void> serve_tls(WorkerState* ws, net::Socket socket,
                          std::shared_ptr<const net::ServerTls> tls, std::string listener) {
  ws->metrics().connections_accepted.add();
  ClientInfo client;
  client.listener = std::move(listener);
  describe_connection(socket, client);
  client.tls = true;
  error_code ec;
  socket.set_option(net::tcp::no_delay(true), ec);
  net::TlsStream stream(net::PlainStream(std::move(socket)), tls->context());
  SessionRegistration reg(*ws, &lowest(stream).socket());
  reg.hook().busy = true;
  lowest(stream).expires_after(ws->snapshot()->config.timeouts.header_read);
  auto [hec] = co_await stream.async_handshake(net::ssl::stream_base::server, use_tuple);
  if (hec) {
    ws->metrics().tls_handshake_failures.add();
    lowest(stream).close();
    co_return;
  }
  // The presented client certificate (verified unless the mode is optional) stays reachable
  // through the SSL object for the whole connection; the access log names it by thumbprint.
  if (X509* peer = SSL_get0_peer_certificate(stream.native_handle())) {
    client.cert_thumbprint = net::sha1_thumbprint(peer);
    policy::ClientCertificate cc{x509::Certificate(crypto::share(peer)),
                                 {},
                                 policy::ClientCertificate::Source::Handshake,
                                 SSL_get_verify_result(stream.native_handle()) == X509_V_OK};
    for (auto& intermediate : net::peer_intermediates(stream.native_handle()))
      cc.chain.emplace_back(std::move(intermediate));
    client.certificate = std::move(cc);
  }
  co_await request_loop(*ws, stream, client, reg.hook());
}

}  // namespace gh::gateway
