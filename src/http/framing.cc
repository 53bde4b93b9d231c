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
  // Segments end at '/', and also at '\\' and at %2F/%5C: backends that decode an encoded slash
  // before resolving dot-segments (nginx), or that take a backslash for a slash (IIS), would
  // otherwise climb out of the routed prefix through a segment this check never saw.
  auto hex_pair = [](std::string_view s, size_t i, char hi, char lo) {
    return i + 2 < s.size() && s[i] == '%' && s[i + 1] == hi &&
           (s[i + 2] == lo || s[i + 2] == static_cast<char>(lo - 'a' + 'A'));
  };
  size_t dots = 0;
  bool only_dots = true;
  size_t i = 0;
  auto segment_is_dots = [&] { return only_dots && dots >= 1 && dots <= 2; };
  while (i <= path.size()) {
    size_t sep_len = 0;
    if (i == path.size() || path[i] == '/' || path[i] == '\\') {
      sep_len = 1;
    } else if (hex_pair(path, i, '2', 'f') || hex_pair(path, i, '5', 'c')) {
      sep_len = 3;
    }
    if (sep_len > 0) {
      if (segment_is_dots()) return true;
      dots = 0;
      only_dots = true;
      i += sep_len;
      continue;
    }
    if (path[i] == '.') {
      ++dots;
      ++i;
    } else if (hex_pair(path, i, '2', 'e')) {
      ++dots;
      i += 3;
    } else {
      only_dots = false;
      ++i;
    }
  }
  return false;
}

}  // namespace gh::http
