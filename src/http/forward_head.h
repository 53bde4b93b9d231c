#pragma once

// Writes the heads that leave the gateway straight from the parsed ones: hop-by-hop fields are
// skipped and the gateway's own fields appended while serializing, so the parsed field container
// is never edited (each edit costs a tree insert and an allocation in Beast's fields).

#include <boost/beast/http/message.hpp>
#include <span>
#include <string>
#include <string_view>

#include "http/forwarding.h"

namespace gh::http {

namespace bhttp = boost::beast::http;

/// How a body is framed on the way out. The parser has already removed the incoming framing, so
/// the relay writes exactly one of these.
enum class OutFraming : uint8_t {
  None,     // no body bytes at all (HEAD, 204, 304, empty request)
  Length,   // raw bytes; Content-Length is in the head
  Chunked,  // re-chunked; Transfer-Encoding ends in chunked
  Close,    // raw bytes, delimited by closing the connection (HTTP/1.0 client)
};

/// The standard reason phrase of `status`, or "" for a code without one (never Beast's
/// "<unknown-status>" placeholder).
std::string_view reason_phrase(unsigned status) noexcept;

/// What the gateway adds to a request on its way to the backend.
struct RequestAdditions {
  std::string_view target;       // backend path + query
  std::string_view host_header;  // the backend's Host
  ClientHop hop;                 // for X-Forwarded-*, Forwarded
  std::string_view request_id;
  /// Client fields left out (names, case-insensitive): changed by policies, or forwarded
  /// client-certificate headers from a peer that is not a trusted proxy.
  std::span<const std::string_view> drop = {};
  /// Fields added after the client's, as "Name: value\r\n" lines (policy changes).
  std::string_view extra = {};
  /// The peer is a trusted front proxy (one that terminated the client's TLS): its
  /// X-Forwarded-Proto (http|https) and X-Forwarded-Host stand instead of this hop's.
  bool trust_forwarded = false;
};

/// `METHOD target HTTP/1.1`, the client's end-to-end fields (hop-by-hop, Expect and the fields
/// the gateway owns removed), then Host, X-Forwarded-For (appended to the client's),
/// X-Forwarded-Proto, X-Forwarded-Host (a trusted front's when `trust_forwarded`), Forwarded
/// (appended), Via (appended), X-Request-Id.
void write_forward_request_head(std::string& out, const bhttp::request_header<>& head,
                                const RequestAdditions& add);

/// What the gateway decides about a response on its way to the client.
struct ResponseAdditions {
  unsigned client_version = 11;
  bool keep_alive = true;
  OutFraming framing = OutFraming::Length;
  std::string_view request_id;
  std::span<const std::string_view> drop = {};  // backend fields left out (policy changes)
  uint16_t status = 0;                          // set-status: replaces the backend's status
  std::string_view reason = {};                 // with this reason phrase ("" = standard)
  std::string_view extra = {};                  // "Name: value\r\n" lines added
};

class ResponseHead;

/// The status line for the client's version, the backend's end-to-end fields, Via (appended),
/// X-Request-Id, and the framing and Connection fields that match `add`. `Head` is Beast's
/// response header or a ResponseHead (both instantiated in forward_head.cc).
template <class Head>
void write_forward_response_head(std::string& out, const Head& head, const ResponseAdditions& add);
extern template void write_forward_response_head(std::string&, const bhttp::response_header<>&,
                                                 const ResponseAdditions&);
extern template void write_forward_response_head(std::string&, const ResponseHead&,
                                                 const ResponseAdditions&);

}  // namespace gh::http
