#include "http/head_scanner.h"

namespace gh::http {
namespace {

// RFC 9110 §5.6.2 tchar.
constexpr bool is_tchar(unsigned char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace

HeadScanner::State HeadScanner::reject(ProxyError e, std::string_view why) noexcept {
  error_ = e;
  reason_ = why;
  return State::Rejected;
}

HeadScanner::State HeadScanner::scan(std::string_view buf) noexcept {
  for (; pos_ < buf.size(); ++pos_) {
    const auto c = static_cast<unsigned char>(buf[pos_]);
    // Skipped leading empty lines count too: they are buffered like the head itself.
    if (pos_ >= limits_.max_header_bytes) {
      if (in_request_line_) return reject(ProxyError::UriTooLong, "request line too long");
      return reject(ProxyError::HeadersTooLarge, "request header fields too large");
    }
    if (saw_cr_) {
      if (c != '\n') return reject(ProxyError::BadRequest, "bare CR in request head");
      saw_cr_ = false;
      if (!started_) {  // an empty line before the request line
        leading_ = pos_ + 1;
        continue;
      }
      if (line_len_ == 0 && !in_request_line_) {
        head_size_ = pos_ + 1;
        ++pos_;
        return State::Complete;
      }
      if (in_request_line_) {
        if (spaces_in_request_line_ != 2)
          return reject(ProxyError::BadRequest, "malformed request line");
        in_request_line_ = false;
      } else {
        if (in_name_) return reject(ProxyError::BadRequest, "header line without a colon");
        if (++headers_ > limits_.max_header_count) {
          return reject(ProxyError::HeadersTooLarge, "too many header fields");
        }
      }
      line_len_ = 0;
      in_name_ = true;
      continue;
    }
    if (c == '\r') {
      saw_cr_ = true;
      continue;
    }
    if (c == '\n') return reject(ProxyError::BadRequest, "bare LF in request head");
    if (c == 0) return reject(ProxyError::BadRequest, "NUL byte in request head");
    started_ = true;
    if (in_request_line_) {
      // request-line = method SP request-target SP HTTP-version
      if (c == ' ') {
        if (++spaces_in_request_line_ > 2)
          return reject(ProxyError::BadRequest, "malformed request line");
      } else if (c < 0x21 || c == 0x7f) {
        return reject(ProxyError::BadRequest, "control character in request line");
      } else if (spaces_in_request_line_ == 1 && ++uri_len_ > limits_.max_uri_length) {
        return reject(ProxyError::UriTooLong, "request URI too long");
      }
      ++line_len_;
      continue;
    }
    if (line_len_ == 0 && (c == ' ' || c == '\t')) {
      return reject(ProxyError::BadRequest, "obsolete line folding in header");
    }
    ++line_len_;
    if (in_name_) {
      if (c == ':') {
        if (line_len_ == 1) return reject(ProxyError::BadRequest, "empty header name");
        in_name_ = false;
      } else if (!is_tchar(c)) {
        return reject(ProxyError::BadRequest, "invalid character in header name");
      }
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return reject(ProxyError::BadRequest, "control character in header value");
    }
  }
  return State::NeedMore;
}

}  // namespace gh::http
