#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/error_response.h"

namespace gh::http {

/// Limits enforced while a request head arrives, before any parser sees it.
struct HeadLimits {
  uint32_t max_header_bytes = 16 * 1024;
  uint32_t max_header_count = 100;
  uint32_t max_uri_length = 8 * 1024;
};

/// Where one header line of a scanned head is, as offsets from the buffer's first byte (leading
/// empty lines included): the name is [begin, colon), the raw value (colon, end), before CRLF.
struct FieldSpan {
  uint32_t begin = 0;
  uint32_t colon = 0;
  uint32_t end = 0;
};

/// Incremental, byte-exact validator of a request head (request line + header lines + CRLF).
/// It rejects what Beast's parser tolerates and what request smuggling relies on (RFC 9112):
/// bare CR or bare LF line endings, obs-fold continuation lines, NUL and other control bytes,
/// whitespace between a field name and its colon, an empty field name; and it enforces the URI,
/// header-count and header-size limits as the bytes arrive, so an oversized head is refused
/// without being buffered. Leading empty lines before the request line are skipped (§2.2).
class HeadScanner {
 public:
  enum class State : uint8_t { NeedMore, Complete, Rejected };

  /// With `fields`, the scanner also records where each header line is, so that a complete head
  /// can be used without parsing it again; the vector is cleared first and should have room for
  /// limits.max_header_count spans (it grows otherwise).
  explicit HeadScanner(HeadLimits limits, std::vector<FieldSpan>* fields = nullptr) noexcept
      : limits_(limits), fields_(fields) {
    if (fields_) fields_->clear();
  }

  /// Scans the bytes of `buffer` not yet seen (the buffer holds the head from its first byte and
  /// may grow between calls). On Complete, head_size() is the length of the head in `buffer`.
  State scan(std::string_view buffer) noexcept;

  size_t head_size() const noexcept { return head_size_; }
  /// Bytes of leading empty lines skipped before the request line.
  size_t leading_skip() const noexcept { return leading_; }
  /// Offset of the request line's CRLF (valid once Complete).
  size_t request_line_end() const noexcept { return request_line_end_; }
  ProxyError error() const noexcept { return error_; }
  std::string_view reason() const noexcept { return reason_; }

 private:
  State reject(ProxyError e, std::string_view why) noexcept;

  const HeadLimits limits_;  // by value: 12 bytes, and a temporary can never dangle
  std::vector<FieldSpan>* fields_;
  size_t request_line_end_ = 0;
  size_t colon_ = 0;
  size_t pos_ = 0;
  size_t head_size_ = 0;
  size_t leading_ = 0;
  uint32_t headers_ = 0;
  uint32_t line_len_ = 0;
  uint32_t uri_len_ = 0;
  uint8_t spaces_in_request_line_ = 0;
  bool started_ = false;  // request line began
  bool in_request_line_ = true;
  bool saw_cr_ = false;
  bool in_name_ = true;  // header line: still in the field name
  ProxyError error_ = ProxyError::BadRequest;
  std::string_view reason_;
};

}  // namespace gh::http
