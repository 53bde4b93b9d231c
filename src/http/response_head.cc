#include "http/response_head.h"

#include <algorithm>
#include <boost/beast/http/error.hpp>
#include <cstring>

namespace gh::http {

void ResponseHead::clear() noexcept {
  bytes_.clear();  // capacity stays: the next response's head usually fits
  offsets_.clear();
  fields_.clear();
  reason_ = {};
  status_ = 0;
}

void ResponseHeadParser::on_response_impl(int code, string_view reason, int /*version*/,
                                          error_code& ec) {
  head_.status_ = static_cast<unsigned>(code);
  head_.bytes_.assign(reason.data(), reason.size());
  ec = {};
}

void ResponseHeadParser::on_field_impl(bhttp::field id, string_view name, string_view value,
                                       error_code& ec) {
  ec = {};
  // Trailer fields (after a chunked body) come here too. The head they would belong to has left
  // already, and appending could move the bytes the field views point into: they are dropped.
  if (is_header_done()) return;
  // Beast's header_limit (at most kBackendHeaderLimit) bounds the bytes: offsets fit 32 bits.
  std::string& b = head_.bytes_;
  const auto name_at = static_cast<uint32_t>(b.size());
  b.append(name.data(), name.size());
  const auto value_at = static_cast<uint32_t>(b.size());
  b.append(value.data(), value.size());
  head_.offsets_.push_back({id, name_at, static_cast<uint32_t>(name.size()), value_at,
                            static_cast<uint32_t>(value.size())});
}

void ResponseHeadParser::on_header_impl(error_code& ec) {
  // The bytes are complete: the views into them stay valid until the next response.
  const std::string_view b = head_.bytes_;
  head_.reason_ = b.substr(0, head_.offsets_.empty() ? b.size() : head_.offsets_.front().name_at);
  head_.fields_.clear();
  for (const auto& o : head_.offsets_) {
    head_.fields_.push_back(
        {o.id, b.substr(o.name_at, o.name_len), b.substr(o.value_at, o.value_len)});
  }
  ec = {};
}

size_t ResponseHeadParser::take(string_view body, error_code& ec) noexcept {
  const size_t n = std::min(body.size(), body_size_);
  if (n > 0) {
    std::memcpy(body_data_, body.data(), n);
    body_data_ += n;
    body_size_ -= n;
  }
  if (n == body.size()) {
    ec = {};
  } else {
    ec = bhttp::error::need_buffer;
  }
  return n;
}

}  // namespace gh::http
