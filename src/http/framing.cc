#include "http/framing.h"

#include "core/strings.h"

namespace gh::http {

FramingVerdict check_request_framing(const bhttp::request_header<>& head) noexcept {
  FramingVerdict v;
  int cl_count = 0;
  int te_count = 0;
  int host_count = 0;
  std::string_view cl_value;
  std::string_view te_value;
  for (const auto& f : head) {
    switch (f.name()) {
      case bhttp::field::content_length:
        ++cl_count;
        cl_value = f.value();
        break;
      case bhttp::field::transfer_encoding:
        ++te_count;
        te_value = f.value();
        break;
      case bhttp::field::host:
        ++host_count;
        break;
      default:
        break;
    }
  }
  // RFC 9112 §3.2: more than one Host is an error in any version; none only in HTTP/1.1.
  if (host_count > 1 || (head.version() >= 11 && host_count == 0)) {
    v.reason = host_count == 0 ? "missing Host header" : "more than one Host header";
    return v;
  }
  if (cl_count > 0 && te_count > 0) {
    v.reason = "both Content-Length and Transfer-Encoding";
    return v;
  }
  if (te_count > 0) {
    if (te_count > 1) {
      v.reason = "more than one Transfer-Encoding header";
      return v;
    }
    if (head.version() < 11) {
      v.reason = "Transfer-Encoding in an HTTP/1.0 request";
      return v;
    }
    if (!core::iequals(core::trim_ows(te_value), "chunked")) {
      v.reason = "unsupported Transfer-Encoding";
      return v;
    }
    v.ok = true;
    v.framing = BodyFraming::Chunked;
    return v;
  }
  if (cl_count > 1) {
    v.reason = "more than one Content-Length header";
    return v;
  }
  if (cl_count == 1) {
    auto n = core::parse_uint(cl_value);
    if (!n) {
      v.reason = "invalid Content-Length";
      return v;
    }
    v.ok = true;
    v.content_length = *n;
    v.framing = *n > 0 ? BodyFraming::ContentLength : BodyFraming::None;
    return v;
  }
  v.ok = true;
  return v;
}

bool normalize_target(std::string_view target, std::string_view method, std::string& origin_form,
                      std::string& authority) {
  origin_form.clear();
  authority.clear();
  if (!target.empty() && target.front() == '/') return true;
  if (target == "*") return method == "OPTIONS";
  std::string_view rest;
  if (target.size() > 7 && core::iequals(target.substr(0, 7), "http://")) {
    rest = target.substr(7);
  } else if (target.size() > 8 && core::iequals(target.substr(0, 8), "https://")) {
    rest = target.substr(8);
  } else {
    return false;
  }
  size_t end = rest.find_first_of("/?#");
  std::string_view auth = rest.substr(0, end);
  if (auth.empty() || auth.find('@') != std::string_view::npos) return false;
  authority.assign(auth);
  std::string_view path = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (path.empty() || path.front() != '/') origin_form = "/";
  origin_form.append(path);
  return true;
}

bool has_dot_segment(std::string_view path) noexcept {
  path = path.substr(0, path.find('?'));
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    // A segment of one or two dots, each written as '.' or %2e/%2E.
    size_t dots = 0;
    size_t i = 0;
    bool only_dots = !seg.empty();
    while (i < seg.size() && only_dots) {
      if (seg[i] == '.') {
        ++dots;
        ++i;
      } else if (i + 2 < seg.size() && seg[i] == '%' && seg[i + 1] == '2' &&
                 (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
        ++dots;
        i += 3;
      } else {
        only_dots = false;
      }
    }
    if (only_dots && dots >= 1 && dots <= 2) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace gh::http
