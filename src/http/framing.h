#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <string_view>

namespace gh::http {

namespace bhttp = boost::beast::http;

/// How the request body is delimited, once framing has been checked.
enum class BodyFraming : uint8_t { None, ContentLength, Chunked };

struct FramingVerdict {
  bool ok = false;
  BodyFraming framing = BodyFraming::None;
  uint64_t content_length = 0;
  std::string_view reason;  // why it was rejected (static text)
};

/// RFC 9112 §6 message framing checks on a parsed request head, refusing every ambiguity that
/// request smuggling uses: Content-Length together with Transfer-Encoding; more than one
/// Content-Length (even if equal) or one that is not plain digits; any Transfer-Encoding other
/// than exactly one `chunked`; Transfer-Encoding in HTTP/1.0; a missing or repeated Host in
/// HTTP/1.1 (§3.2).
FramingVerdict check_request_framing(const bhttp::request_header<>& head) noexcept;

/// True when the path (query ignored) has a `.` or `..` segment, literal or percent-encoded
/// (%2e), with segments separated by `/`, `\`, %2F or %5C. Routing matches the path as written
/// while many backends resolve dot-segments (RFC 3986 §5.2.4), so `/public/../admin` would reach an
/// API the gateway did not choose.
bool has_dot_segment(std::string_view path) noexcept;

/// Rewrites an absolute-form target (`http://host/p?q`) to origin-form (`/p?q`) and returns the
/// authority; returns an empty view when `target` is already origin-form. False when the target
/// is neither origin-form nor absolute-form http(s) (or is `*`, which only OPTIONS may use).
bool normalize_target(std::string_view target, std::string_view method, std::string& origin_form,
                      std::string& authority);

}  // namespace gh::http
