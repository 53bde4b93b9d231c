#pragma once

// Parses one backend response with Beast's response parser and with ResponseHeadParser, to the
// same comparable summary: the differential check shared by the unit test and the fuzz target.
// Header-only (the fuzz targets do not link the test-support library).

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/forward_head.h"
#include "http/response_head.h"

namespace gh::test {

namespace bhttp = boost::beast::http;

struct ParsedResponse {
  bool ok = false;
  unsigned status = 0;
  std::string reason;  // as Beast reports it: an empty one filled in from its table
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  bool keep_alive = false;
  bool chunked = false;
  std::string head;  // what write_forward_response_head writes for the client

  bool operator==(const ParsedResponse&) const = default;
};

inline const http::ResponseAdditions kResponseAdditions{11, true, http::OutFraming::Chunked,
                                                        "req-1"};
inline constexpr uint64_t kResponseBodyLimit = 1 << 20;

/// Beast's parser over the whole input. The fields and the written head are taken when the
/// header is done: trailer fields, which Beast adds to the same fields after the body, never
/// reach the client (the head has left by then).
inline ParsedResponse parse_with_beast(std::string_view raw) {
  ParsedResponse out;
  bhttp::response_parser<bhttp::string_body> p;
  p.body_limit(kResponseBodyLimit);
  p.header_limit(64 * 1024);
  p.eager(false);
  boost::system::error_code ec;
  size_t used = p.put(boost::asio::buffer(raw.data(), raw.size()), ec);
  if (ec || !p.is_header_done()) return out;
  const auto& res = p.get();
  for (const auto& f : res)
    out.fields.emplace_back(f.name_string(), f.value());
  http::write_forward_response_head(out.head, res.base(), kResponseAdditions);
  p.eager(true);
  if (!p.is_done()) {
    used += p.put(boost::asio::buffer(raw.data() + used, raw.size() - used), ec);
    if (!ec && !p.is_done() && used == raw.size()) p.put_eof(ec);
  }
  if (ec || !p.is_done()) return out;
  out.ok = true;
  out.status = res.result_int();
  out.reason = res.reason();
  out.body = res.body();
  out.keep_alive = p.keep_alive();
  out.chunked = p.chunked();
  return out;
}

/// ResponseHeadParser over the input fed in pieces of next_piece() bytes, the body through a
/// buffer of next_room() bytes (at most 4096) at a time, as the relay does.
template <class NextPiece, class NextRoom>
ParsedResponse parse_with_ours(std::string_view raw, http::ResponseHead& head, NextPiece next_piece,
                               NextRoom next_room) {
  ParsedResponse out;
  http::ResponseHeadParser p(head);
  p.body_limit(kResponseBodyLimit);
  p.header_limit(64 * 1024);
  p.eager(true);
  std::string buffered;
  std::vector<char> room(4096);
  size_t fed = 0;
  bool need_input = true;
  while (!p.is_done()) {
    boost::system::error_code ec;
    if (need_input) {
      if (fed == raw.size()) {
        if (!p.got_some()) return out;  // nothing at all: no message (put_eof asserts some)
        p.put_eof(ec);
        if (ec) return out;
        break;
      }
      const size_t n = std::min<size_t>(std::max<size_t>(next_piece(), 1), raw.size() - fed);
      buffered.append(raw.substr(fed, n));
      fed += n;
      need_input = false;
    }
    const size_t size = std::clamp<size_t>(next_room(), 1, room.size());
    p.set_body_buffer(room.data(), size);
    const size_t used = p.put(boost::asio::buffer(buffered), ec);
    buffered.erase(0, used);
    out.body.append(room.data(), size - p.body_room());
    if (ec == bhttp::error::need_more) {
      need_input = true;
      continue;
    }
    if (ec == bhttp::error::need_buffer) continue;  // a fresh buffer on the next turn
    if (ec) return out;
    if (buffered.empty()) need_input = true;
  }
  out.ok = true;
  out.status = head.result_int();
  out.reason = head.reason().empty()
                   ? std::string(bhttp::obsolete_reason(bhttp::int_to_status(out.status)))
                   : std::string(head.reason());
  for (const auto& f : head)
    out.fields.emplace_back(f.name_string(), f.value());
  out.keep_alive = p.keep_alive();
  out.chunked = p.chunked();
  http::write_forward_response_head(out.head, head, kResponseAdditions);
  return out;
}

/// Beast's fields put a field after the last one of the same name, a ResponseHead keeps arrival
/// order; both keep the order among fields of one name, the only order HTTP gives a meaning
/// (RFC 9110 §5.3). This puts fields, and the head's field lines, in a stable order by
/// lower-cased name, so that the two can be compared. What a refused message left behind is
/// dropped: it does not matter.
inline ParsedResponse canonical(ParsedResponse p) {
  if (!p.ok) return ParsedResponse{};
  auto lower_name = [](std::string_view line) {
    std::string n(line.substr(0, line.find(':')));
    for (char& c : n)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return n;
  };
  std::stable_sort(p.fields.begin(), p.fields.end(), [&](const auto& x, const auto& y) {
    return lower_name(x.first) < lower_name(y.first);
  });
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < p.head.size()) {
    const size_t end = p.head.find("\r\n", at);
    if (end == std::string::npos || end == at) break;
    lines.push_back(p.head.substr(at, end - at));
    at = end + 2;
  }
  if (!lines.empty()) {
    std::stable_sort(lines.begin() + 1, lines.end(),
                     [&](const auto& x, const auto& y) { return lower_name(x) < lower_name(y); });
  }
  p.head.clear();
  for (const auto& l : lines)
    p.head += l + "\r\n";
  return p;
}

}  // namespace gh::test
