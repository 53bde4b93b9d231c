#include "http/head_writer.h"

#include <boost/beast/http/status.hpp>

namespace gh::http {
namespace {

void write_fields(std::string& out, const bhttp::fields& fields) {
  for (const auto& f : fields) {
    out.append(f.name_string());
    out += ": ";
    out.append(f.value());
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace

void write_request_head(std::string& out, const bhttp::request_header<>& head) {
  out.append(head.method_string());
  out += ' ';
  out.append(head.target());
  out += " HTTP/1.1\r\n";
  write_fields(out, head);
}

void write_response_head(std::string& out, const bhttp::response_header<>& head, unsigned version) {
  out += version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
  unsigned status = head.result_int();
  char code[4] = {char('0' + status / 100 % 10), char('0' + status / 10 % 10),
                  char('0' + status % 10), ' '};
  out.append(code, 4);
  // Beast's reason() fills an empty one with its own table, including "<unknown-status>".
  std::string_view reason = head.reason();
  if (reason.empty() || reason == bhttp::obsolete_reason(head.result())) {
    reason = reason_phrase(status);
  }
  out.append(reason);
  out += "\r\n";
  write_fields(out, head);
}

std::string_view reason_phrase(unsigned status) noexcept {
  if (bhttp::int_to_status(status) == bhttp::status::unknown) return {};
  return bhttp::obsolete_reason(static_cast<bhttp::status>(status));
}

void write_chunk_size(std::string& out, size_t size) {
  char buf[20];
  int i = 20;
  do {
    buf[--i] = "0123456789abcdef"[size & 15];
    size >>= 4;
  } while (size != 0);
  out.append(buf + i, static_cast<size_t>(20 - i));
  out += "\r\n";
}

}  // namespace gh::http
