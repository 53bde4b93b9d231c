#include "http/head_scanner.h"

#include <algorithm>
#include <array>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// A field value's ordinary bytes (RFC 9110 §5.5: VCHAR, obs-text, SP, HTAB): nothing the
// byte-by-byte state machine has to look at.
constexpr bool is_plain_value_byte(unsigned char c) noexcept {
  return (c >= 0x20 && c != 0x7f) || c == '\t';
}

constexpr auto make_table(bool (*member)(unsigned char) noexcept) {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<size_t>(c)] = member(static_cast<unsigned char>(c));
  return t;
}

// A request line's ordinary bytes: anything but SP and control bytes (those end a part or the
// line, or are rejected).
constexpr bool is_plain_request_line_byte(unsigned char c) noexcept {
  return c > 0x20 && c != 0x7f;
}

constexpr auto kTchar = make_table(is_tchar);
constexpr auto kPlainRequestLineByte = make_table(is_plain_request_line_byte);
constexpr auto kPlainValueByte = make_table(is_plain_value_byte);

/// The first index in [from, to) of `p` that is not a plain value byte, or `to`.
size_t skip_plain_value(const char* p, size_t from, size_t to) noexcept {
#if defined(__SSE2__)
  // 16 bytes a step (SSE2 is part of x86-64): plain = (c >= 0x20 unsigned && c != 0x7f) || HTAB.
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7f);
  const __m128i tab = _mm_set1_epi8('\t');
  for (; from + 16 <= to; from += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + from));
    const __m128i printable = _mm_cmpeq_epi8(_mm_max_epu8(v, space), v);
    const __m128i plain =
        _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, del), printable), _mm_cmpeq_epi8(v, tab));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(plain));
    if (mask != 0xffffu) return from + static_cast<size_t>(__builtin_ctz(~mask));
  }
#endif
  while (from < to && kPlainValueByte[static_cast<unsigned char>(p[from])])
    ++from;
  return from;
}

}  // namespace

HeadScanner::State HeadScanner::reject(ProxyError e, std::string_view why) noexcept {
  error_ = e;
  reason_ = why;
  return State::Rejected;
}

HeadScanner::State HeadScanner::scan(std::string_view buf) noexcept {
  const size_t scan_end = std::min<size_t>(buf.size(), limits_.max_header_bytes);
  for (; pos_ < buf.size(); ++pos_) {
    // Skip the run of bytes that need no decision in one tight loop: in a header line past its
    // first byte (where obs-fold is checked), a token or a JWT is hundreds of them; in the
    // request line, all but SP and control bytes, the target's counted against max_uri_length
    // so that its run stops where the byte-by-byte path would reject. The byte that ends a run
    // (':', SP, CR, a control byte, a limit) takes the path below.
    if (!saw_cr_ && (in_request_line_ ? started_ : line_len_ != 0)) {
      size_t end = pos_;
      if (in_request_line_) {
        const size_t limit =
            spaces_in_request_line_ == 1
                ? std::min<size_t>(scan_end, pos_ + (limits_.max_uri_length - uri_len_))
                : scan_end;
        while (end < limit && kPlainRequestLineByte[static_cast<unsigned char>(buf[end])])
          ++end;
      } else if (in_name_) {
        while (end < scan_end && kTchar[static_cast<unsigned char>(buf[end])])
          ++end;
      } else {
        end = skip_plain_value(buf.data(), end, scan_end);
      }
      const auto run = static_cast<uint32_t>(end - pos_);
      if (in_request_line_ && spaces_in_request_line_ == 1) uri_len_ += run;
      line_len_ += run;
      pos_ = end;
      if (pos_ == buf.size()) break;
    }
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
        request_line_end_ = pos_ - 1;
      } else {
        if (in_name_) return reject(ProxyError::BadRequest, "header line without a colon");
        if (++headers_ > limits_.max_header_count) {
          return reject(ProxyError::HeadersTooLarge, "too many header fields");
        }
        if (fields_) {                  // offsets fit: the head is bounded by max_header_bytes
          const size_t end = pos_ - 1;  // the CR
          fields_->push_back({static_cast<uint32_t>(end - line_len_), static_cast<uint32_t>(colon_),
                              static_cast<uint32_t>(end)});
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
        colon_ = pos_;
      } else if (!kTchar[c]) {
        return reject(ProxyError::BadRequest, "invalid character in header name");
      }
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return reject(ProxyError::BadRequest, "control character in header value");
    }
  }
  return State::NeedMore;
}

}  // namespace gh::http
