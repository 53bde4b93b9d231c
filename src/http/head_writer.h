#pragma once

#include <boost/beast/http/message.hpp>
#include <string>

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

/// Appends `METHOD target HTTP/1.1\r\n`, every field, and the blank line to `out` in one flat
/// buffer (one gather-free write; Beast's serializer walks one buffer per field).
void write_request_head(std::string& out, const bhttp::request_header<>& head);

/// Appends the status line for `version` (10 or 11), every field, and the blank line.
void write_response_head(std::string& out, const bhttp::response_header<>& head, unsigned version);

/// The standard reason phrase of `status`, or "" for a code without one (never Beast's
/// "<unknown-status>" placeholder).
std::string_view reason_phrase(unsigned status) noexcept;

/// Appends one chunk-size line (`%x\r\n`) to `out`.
void write_chunk_size(std::string& out, size_t size);

}  // namespace gh::http
