#pragma once

// A backend response's head kept flat, and the parser that fills it.
//
// Beast's response_parser stores each field in its own allocation, inserted into a
// case-insensitive tree: five mallocs and tree inserts for nginx's five fields, and a free each
// when the message goes, on every proxied request. The gateway only walks a response's fields in
// order (to forward them) and asks Beast's parser for the framing (chunked, length,
// keep-alive), so here the field bytes are appended to one per-connection string, reused from
// response to response, and the body goes to the caller's buffer as with buffer_body.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gh::http {

namespace bhttp = boost::beast::http;

/// One field of a ResponseHead, with the accessors Beast's fields have.
struct ResponseField {
  bhttp::field id;
  std::string_view name_text;
  std::string_view value_text;

  bhttp::field name() const noexcept { return id; }
  std::string_view name_string() const noexcept { return name_text; }
  std::string_view value() const noexcept { return value_text; }
};

/// The status line and fields of one response, in arrival order. Filled by ResponseHeadParser;
/// valid once its header is done, until the next parser for the same head starts.
class ResponseHead {
 public:
  unsigned result_int() const noexcept { return status_; }
  std::string_view reason() const noexcept { return reason_; }

  auto begin() const noexcept { return fields_.begin(); }
  auto end() const noexcept { return fields_.end(); }
  size_t size() const noexcept { return fields_.size(); }

 private:
  friend class ResponseHeadParser;
  struct Offsets {
    bhttp::field id;
    uint32_t name_at, name_len, value_at, value_len;
  };
  void clear() noexcept;

  std::string bytes_;                  // reason phrase, then each name and value
  std::vector<Offsets> offsets_;       // while parsing (bytes_ may still move)
  std::vector<ResponseField> fields_;  // views into bytes_, once the header is done
  std::string_view reason_;
  unsigned status_ = 0;
};

/// Beast's response parser with the head going to a ResponseHead and the body to a buffer the
/// caller sets before each read (buffer_body's contract: bhttp::error::need_buffer when full).
class ResponseHeadParser : public bhttp::basic_parser<false> {
 public:
  explicit ResponseHeadParser(ResponseHead& head) : head_(head) { head_.clear(); }

  ResponseHead& get() noexcept { return head_; }
  const ResponseHead& get() const noexcept { return head_; }

  /// Where the next body bytes go, and how much room is left there.
  void set_body_buffer(char* data, size_t size) noexcept {
    body_data_ = data;
    body_size_ = size;
  }
  size_t body_room() const noexcept { return body_size_; }

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::system::error_code;

  void on_request_impl(bhttp::verb, string_view, string_view, int, error_code&) override {}
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(bhttp::field id, string_view name, string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code& ec) override {
    ec = {};
  }
  size_t on_body_impl(string_view body, error_code& ec) override { return take(body, ec); }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code& ec) override { ec = {}; }
  size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    return take(body, ec);
  }
  void on_finish_impl(error_code& ec) override { ec = {}; }

  size_t take(string_view body, error_code& ec) noexcept;

  ResponseHead& head_;
  char* body_data_ = nullptr;
  size_t body_size_ = 0;
};

}  // namespace gh::http
