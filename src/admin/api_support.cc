#include "admin/api_support.h"

#include <algorithm>
#include <boost/json.hpp>

#include "config/value_parsers.h"
#include "core/json_escape.h"
#include "core/strings.h"
#include "jose/json.h"
#include "jose/jwt.h"

namespace gh::admin {

namespace json = boost::json;

// ----- responses -----

AdminResponse json_response(unsigned status, const json::value& body) {
  AdminResponse r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

// Messages quote the request (a path segment, a query value), which need not be UTF-8:
// boost::json would copy such bytes into the body as they are, making it invalid JSON, so the
// message is escaped by the writer that replaces them with U+FFFD.
AdminResponse error_response(unsigned status, std::string_view code, std::string_view message) {
  AdminResponse r;
  r.status = status;
  r.body = "{\"error\":\"";
  core::append_json_escaped(r.body, code);
  r.body += "\",\"message\":\"";
  core::append_json_escaped(r.body, message);
  r.body += "\"}";
  return r;
}

AdminResponse from_error(const Error& e) {
  switch (e.kind) {
    case ErrorKind::InvalidArgument:
    case ErrorKind::Expired:
      return error_response(400, "invalid_request", e.message);
    case ErrorKind::NotFound:
      return error_response(404, "not_found", e.message);
    case ErrorKind::Conflict:
      return error_response(409, "conflict", e.message);
    case ErrorKind::Unauthenticated:
      return error_response(401, "unauthorized", e.message);
    case ErrorKind::PermissionDenied:
      return error_response(403, "forbidden", e.message);
    case ErrorKind::LimitExceeded:  // e.g. the maximum of 20 federated credentials per app
      return error_response(409, "limit_exceeded", e.message);
    default:
      break;
  }
  return error_response(500, "internal", e.message);
}

AdminResponse no_content() {
  AdminResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

AdminResponse method_not_allowed(std::string_view allow) {
  AdminResponse r = error_response(405, "method_not_allowed",
                                   "method not allowed here; allowed: " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

core::Unexpected bad_request(std::string message) {
  return unexpected(ErrorKind::InvalidArgument, std::move(message));
}

json::value time_value(int64_t unix_seconds) {
  if (unix_seconds == 0) return nullptr;
  return json::string(jose::format_numeric_date(static_cast<double>(unix_seconds)));
}

// ----- request parsing -----

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool is_utf8(std::string_view s) {
  static constexpr uint32_t kMinOfLength[] = {0, 0, 0x80, 0x800, 0x10000};
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    size_t length = 1;
    uint32_t cp = lead;
    if (lead >= 0x80) {
      if ((lead & 0xE0) == 0xC0) {
        length = 2;
        cp = lead & 0x1F;
      } else if ((lead & 0xF0) == 0xE0) {
        length = 3;
        cp = lead & 0x0F;
      } else if ((lead & 0xF8) == 0xF0) {
        length = 4;
        cp = lead & 0x07;
      } else {
        return false;
      }
      if (s.size() - i < length) return false;
      for (size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(s[i + k]);
        if ((next & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (next & 0x3F);
      }
      if (cp < kMinOfLength[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return false;
      }
    }
    i += length;
  }
  return true;
}

// Values end up in responses (and a certificate's display name in the directory), so they must
// be UTF-8 like JSON bodies.
Result<std::optional<std::string>> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!value) {
      return bad_request("query parameter '" + std::string(name) + "': bad percent-encoding");
    }
    if (!is_utf8(*value)) {
      return bad_request("query parameter '" + std::string(name) + "': not UTF-8");
    }
    return std::optional<std::string>(std::move(*value));
  }
  return std::optional<std::string>();
}

Result<std::vector<std::string>> path_segments(std::string_view path, std::string_view prefix) {
  std::vector<std::string> segments;
  std::string_view rest = path.substr(std::min(path.size(), prefix.size()));
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    auto segment = percent_decode(rest.substr(0, slash), false);
    if (!segment) return bad_request("bad percent-encoding in path");
    if (!segment->empty() || slash != std::string_view::npos) {
      segments.push_back(std::move(*segment));
    }
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  for (const auto& s : segments) {
    if (s.empty()) {
      return unexpected(ErrorKind::NotFound, "no admin resource at " + std::string(path));
    }
  }
  return segments;
}

// ----- Body -----

Result<Body> Body::parse(std::string_view text, std::initializer_list<std::string_view> known) {
  if (core::trim_ows(text).empty()) return Body{};
  auto parsed = jose::parse_strict_json_object(text, {kMaxAdminBodyBytes, 8});
  if (!parsed) return bad_request("the body must be a JSON object: " + parsed.error().message);
  return check(std::move(*parsed), "", known);
}

Result<Body> Body::check(json::object object, std::string_view prefix,
                         std::initializer_list<std::string_view> known) {
  Body body;
  body.object_ = std::move(object);
  body.prefix_ = std::string(prefix);
  for (const auto& member : body.object_) {
    const std::string_view key = member.key();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string message = "unknown field '" + body.field(key) + "'";
      std::vector<std::string_view> candidates(known.begin(), known.end());
      if (auto s = config::suggest(key, candidates)) {
        message += " (did you mean '" + body.field(*s) + "'?)";
      }
      return bad_request(std::move(message));
    }
  }
  return body;
}

Result<std::optional<std::string>> Body::text(std::string_view name) const {
  const json::value* v = object_.if_contains(name);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return bad_request("field '" + field(name) + "' must be a string");
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::string> Body::required_text(std::string_view name) const {
  GH_TRY(auto v, text(name));
  if (!v || v->empty()) return bad_request("field '" + field(name) + "' is required");
  return std::move(*v);
}

Result<std::optional<bool>> Body::flag(std::string_view name) const {
  const json::value* v = object_.if_contains(name);
  if (!v || v->is_null()) return std::optional<bool>();
  if (!v->is_bool()) return bad_request("field '" + field(name) + "' must be true or false");
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<int64_t>> Body::integer(std::string_view name) const {
  const json::value* v = object_.if_contains(name);
  if (!v || v->is_null()) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::optional<int64_t>(static_cast<int64_t>(v->get_uint64()));
  }
  return bad_request("field '" + field(name) + "' must be an integer");
}

Result<std::optional<std::vector<std::string>>> Body::texts(std::string_view name) const {
  const json::value* v = object_.if_contains(name);
  if (!v || v->is_null()) return std::optional<std::vector<std::string>>();
  const std::string message = "field '" + field(name) + "' must be a list of strings";
  if (!v->is_array()) return bad_request(message);
  std::vector<std::string> out;
  for (const auto& item : v->get_array()) {
    if (!item.is_string()) return bad_request(message);
    out.emplace_back(item.get_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<std::vector<std::pair<std::string, std::string>>>> Body::string_map(
    std::string_view name) const {
  using Map = std::vector<std::pair<std::string, std::string>>;
  const json::value* v = object_.if_contains(name);
  if (!v || v->is_null()) return std::optional<Map>();
  const std::string message =
      "field '" + field(name) + "' must be an object of strings ({\"name\": \"value\"})";
  if (!v->is_object()) return bad_request(message);
  Map out;
  for (const auto& member : v->get_object()) {
    if (!member.value().is_string()) return bad_request(message);
    out.emplace_back(std::string(member.key()), std::string(member.value().get_string()));
  }
  return std::optional<Map>(std::move(out));
}

Result<std::optional<Body>> Body::object(std::string_view name,
                                         std::initializer_list<std::string_view> known) const {
  const json::value* v = object_.if_contains(name);
  if (!v || v->is_null()) return std::optional<Body>();
  if (!v->is_object()) return bad_request("field '" + field(name) + "' must be an object");
  GH_TRY(Body inner, check(v->get_object(), field(name) + ".", known));
  return std::optional<Body>(std::move(inner));
}

}  // namespace gh::admin
