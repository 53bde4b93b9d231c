// Fuzzes the request-head path of the proxy: HeadScanner fed whole and in input-derived splits
// (the verdicts must agree), then, on Complete, Beast's request parser, check_request_framing
// and normalize_target exactly as proxy_session runs them; an accepted head is rewritten for the
// backend (hop-by-hop removal, forwarding fields, head writer) and that head must itself pass
// the scanner, so that nothing a client sends can make the proxy emit a malformed head.

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/forward_head.h"
#include "http/forwarding.h"
#include "http/framing.h"
#include "http/head_scanner.h"

namespace {

namespace bhttp = boost::beast::http;
using gh::http::HeadScanner;

struct Verdict {
  HeadScanner::State state;
  size_t head_size;
  size_t leading;
  gh::http::ProxyError error;
  std::string_view reason;

  bool operator==(const Verdict&) const = default;
};

Verdict verdict_of(const HeadScanner& s, HeadScanner::State st) {
  if (st != HeadScanner::State::Rejected) return {st, s.head_size(), s.leading_skip(), {}, {}};
  return {st, 0, 0, s.error(), s.reason()};
}

// Grows the visible buffer by steps taken from a xorshift stream seeded by the input itself,
// so a crashing input reproduces its own split pattern.
Verdict scan_split(std::string_view in, const gh::http::HeadLimits& limits, uint64_t seed,
                   size_t max_step) {
  HeadScanner s(limits);
  size_t n = 0;
  auto st = HeadScanner::State::NeedMore;
  while (st == HeadScanner::State::NeedMore && n < in.size()) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    n = std::min(in.size(), n + 1 + static_cast<size_t>(seed % max_step));
    st = s.scan(in.substr(0, n));
  }
  return verdict_of(s, st);
}

void parse_and_check(std::string_view head) {
  bhttp::request_parser<bhttp::empty_body> parser;
  parser.eager(false);
  parser.body_limit(boost::none);
  parser.header_limit(static_cast<uint32_t>(head.size() + 4));
  boost::beast::error_code ec;
  const size_t used = parser.put(boost::asio::buffer(head.data(), head.size()), ec);
  if (ec || !parser.is_header_done() || used != head.size()) return;
  auto& req = parser.get();
  auto framing = gh::http::check_request_framing(req.base());
  if (framing.ok && framing.framing == gh::http::BodyFraming::None && framing.content_length != 0)
    __builtin_trap();
  std::string origin_form;
  std::string authority;
  if (!gh::http::normalize_target(req.target(), req.method_string(), origin_form, authority))
    return;
  // A rewritten target is always origin-form.
  if (!origin_form.empty() && origin_form.front() != '/') __builtin_trap();
  if (!authority.empty() && origin_form.empty()) __builtin_trap();
  if (!origin_form.empty()) req.target(origin_form);
  if (!framing.ok || gh::http::has_dot_segment(req.target())) return;

  // The head the proxy sends to the backend (http/forward_head) must itself be well-formed.
  std::string_view client_host =
      authority.empty() ? std::string_view(req[bhttp::field::host]) : std::string_view(authority);
  std::string out;
  gh::http::write_forward_request_head(
      out, req.base(),
      {req.target(), "backend.internal:8080", {"2001:db8::1", true, client_host}, "fuzz-1"});
  const gh::http::HeadLimits roomy{1u << 20, 1u << 16, 1u << 20};
  HeadScanner rescan(roomy);
  if (rescan.scan(out) != HeadScanner::State::Complete || rescan.head_size() != out.size()) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // Small limits so that every limit path is reachable with short inputs.
  const gh::http::HeadLimits limits{512, 12, 128};

  HeadScanner whole(limits);
  const Verdict expected = verdict_of(whole, whole.scan(in));

  uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (unsigned char c : in)
    seed = (seed ^ c) * 0x100000001b3ull;
  seed |= 1;
  if (scan_split(in, limits, seed, 1) != expected) __builtin_trap();  // byte by byte
  if (scan_split(in, limits, seed, 7) != expected) __builtin_trap();
  if (scan_split(in, limits, seed, 64) != expected) __builtin_trap();

  if (expected.state != HeadScanner::State::Complete) return 0;
  if (expected.head_size > size || expected.leading > expected.head_size) __builtin_trap();
  parse_and_check(in.substr(expected.leading, expected.head_size - expected.leading));
  return 0;
}
