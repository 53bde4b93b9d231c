#pragma once

// Endpoints that Gatehouse answers itself on a gateway listener (the identity role's token,
// discovery, JWKS and managed-identity endpoints), as opposed to APIs proxied to a backend.
// The gateway asks every installed handler, before API routing, whether it claims a request;
// a claimed request has its body read (bounded by max_body_bytes(), else 413) and is answered
// from handle(). gateway/ knows only this interface; the identity role implements it.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "net/asio.h"

namespace gh::http {

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

/// A request as a local endpoint sees it. Every view is valid for the duration of handle().
struct LocalRequest {
  std::string_view listener;  // the listener's configured name
  std::string_view method;    // as sent, upper-case for standard methods
  std::string_view target;    // origin-form: path and query
  std::string_view path;      // target without the query
  std::string_view query;     // after '?', without it; "" when none
  std::string_view host;      // Host header (or absolute-form authority), as sent
  bool tls = false;
  std::string_view client_ip;  // peer address, no port
  uint16_t client_port = 0;
  std::string_view local_ip;  // the address the connection arrived on
  uint16_t local_port = 0;
  std::string_view client_cert_thumbprint;  // SHA-1 upper hex of a verified client cert, or ""
  std::string_view request_id;
  std::span<const HeaderField> headers;  // in arrival order
  std::string_view body;

  /// First header with this name (case-insensitive), or "" when absent.
  std::string_view header(std::string_view name) const {
    for (const auto& h : headers)
      if (core::iequals(h.name, name)) return h.value;
    return {};
  }
  bool has_header(std::string_view name) const {
    for (const auto& h : headers)
      if (core::iequals(h.name, name)) return true;
    return false;
  }
};

struct LocalResponse {
  uint16_t status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields, written as given
  std::string body;
};

class LocalHandler {
 public:
  virtual ~LocalHandler() = default;
  /// True when this handler answers `path` on `listener` (cheap: called for every request).
  virtual bool claims(std::string_view listener, std::string_view path) const = 0;
  /// Largest request body handle() accepts; a larger one is answered 413 without calling it.
  virtual size_t max_body_bytes() const { return 64 * 1024; }
  /// The limit for one claimed request (a handler serving several endpoints may differ).
  virtual size_t max_body_bytes_for(std::string_view listener, std::string_view path) const {
    (void)listener;
    (void)path;
    return max_body_bytes();
  }
  /// Runs on the worker's event loop; may co_await (e.g. fetching an external JWKS) but must not
  /// block. Never throws for bad input: every failure is a response.
  virtual net::awaitable<LocalResponse> handle(const LocalRequest& request) = 0;
  /// Periodic housekeeping (key schedules, picking up changes made elsewhere), called about
  /// every 30 s from the server's control thread, never from a worker.
  virtual void maintain() {}
  /// Writes out buffered log lines (an audit trail); called every 200 ms from the workers' log
  /// flush loop, so a line is on disk within that time without a syscall per request.
  virtual void flush_logs() {}
};

}  // namespace gh::http
