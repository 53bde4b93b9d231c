#include "policy/cors.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/strings.h"
#include "policy/expression.h"
#include "policy/field_setter.h"

namespace gh::policy {

namespace {

constexpr std::string_view kAllowOrigin = "Access-Control-Allow-Origin";
constexpr std::string_view kAllowCredentials = "Access-Control-Allow-Credentials";
constexpr std::string_view kAllowMethods = "Access-Control-Allow-Methods";
constexpr std::string_view kAllowHeaders = "Access-Control-Allow-Headers";
constexpr std::string_view kExposeHeaders = "Access-Control-Expose-Headers";
constexpr std::string_view kMaxAge = "Access-Control-Max-Age";
constexpr std::string_view kRequestMethod = "Access-Control-Request-Method";
constexpr std::string_view kRequestHeaders = "Access-Control-Request-Headers";

bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_host_char(char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool is_ipv6_char(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/// The one field named `name` among the raw request headers; nullopt when absent or repeated
/// (a repeated Origin is malformed and matches nothing).
std::optional<std::string_view> single_header(const RequestView& request,
                                              std::string_view name) noexcept {
  std::optional<std::string_view> found;
  for (const auto& h : request.headers) {
    if (!core::iequals(h.name, name)) continue;
    if (found) return std::nullopt;
    found = core::trim_ows(h.value);
  }
  return found;
}

bool has_header(const RequestView& request, std::string_view name) noexcept {
  return std::any_of(request.headers.begin(), request.headers.end(),
                     [&](const HeaderField& h) { return core::iequals(h.name, name); });
}

bool contains_token(const std::vector<std::string>& list, std::string_view token) noexcept {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& t) { return core::iequals(t, token); });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

FieldChange header_change(std::string_view name, std::string value,
                          FieldChange::Action action = FieldChange::Action::Override) {
  FieldChange change;
  change.name = std::string(name);
  change.values.push_back(std::move(value));
  change.action = action;
  return change;
}

struct AllowedOrigin {
  std::string scheme;  // lower-case
  std::string host;    // lower-case
  uint16_t port = 0;
};

class Cors final : public Policy {
 public:
  struct Config {
    TextValue allow_credentials{"false"};
    TextValue terminate_unmatched{"true"};
    bool any_origin = false;
    std::vector<AllowedOrigin> origins;
    bool any_method = false;
    std::vector<std::string> methods{"GET", "POST"};
    int64_t max_age = 0;
    bool any_header = false;
    std::vector<std::string> headers;
    std::vector<std::string> expose;
  };

  explicit Cors(Config config) : config_(std::move(config)) {
    star_origin_ = header_change(kAllowOrigin, "*");
    vary_origin_ = header_change("Vary", "Origin", FieldChange::Action::Append);
    allow_credentials_ = header_change(kAllowCredentials, "true");
    if (!config_.expose.empty()) expose_ = header_change(kExposeHeaders, join(config_.expose));
    if (config_.max_age > 0) max_age_ = std::to_string(config_.max_age);
  }

  Flow apply(RequestContext& ctx) const override {
    const RequestView& request = ctx.request;
    if (!has_header(request, "Origin")) return Flow::Continue;  // not a cross-origin request
    auto credentials = config_.allow_credentials.evaluate_bool(ctx);
    if (!credentials) return fail_evaluation(ctx, "cors", credentials.error(), id());
    const auto origin = matching_origin(request);
    if (is_cors_preflight(request)) return preflight(ctx, origin, *credentials);

    if (origin && method_allowed(request.method)) {
      const bool echo = !config_.any_origin || *credentials;
      if (echo) {
        ctx.response_header_changes.push_back(header_change(kAllowOrigin, std::string(*origin)));
        ctx.response_header_changes.push_back(vary_origin_);
      } else {
        ctx.response_header_changes.push_back(star_origin_);
      }
      if (*credentials) ctx.response_header_changes.push_back(allow_credentials_);
      if (expose_) ctx.response_header_changes.push_back(*expose_);
      return Flow::Continue;
    }
    // Unmatched: only GET and HEAD (simple requests) are ended; the rest go on without CORS.
    if (request.method != "GET" && request.method != "HEAD") return Flow::Continue;
    return end_unmatched(ctx);
  }

 private:
  Flow end_unmatched(RequestContext& ctx) const {
    auto terminate = config_.terminate_unmatched.evaluate_bool(ctx);
    if (!terminate) return fail_evaluation(ctx, "cors", terminate.error(), id());
    if (!*terminate) return Flow::Continue;
    ctx.response = GatewayResponse{};  // APIM: an empty 200 OK
    return Flow::Return;
  }

  Flow preflight(RequestContext& ctx, std::optional<std::string_view> origin,
                 bool credentials) const {
    const RequestView& request = ctx.request;
    const auto method = single_header(request, kRequestMethod);
    if (!origin || !method || !is_header_name(*method) || !method_allowed(*method))
      return end_unmatched(ctx);
    std::string requested_headers;
    if (!request_headers_allowed(request, requested_headers)) return end_unmatched(ctx);

    GatewayResponse response;
    const bool echo = !config_.any_origin || credentials;
    response.headers.emplace_back(kAllowOrigin, echo ? std::string(*origin) : std::string("*"));
    if (credentials) response.headers.emplace_back(kAllowCredentials, "true");
    response.headers.emplace_back(kAllowMethods, std::string(*method));
    if (!requested_headers.empty())
      response.headers.emplace_back(kAllowHeaders, std::move(requested_headers));
    if (!max_age_.empty()) response.headers.emplace_back(kMaxAge, max_age_);
    if (echo) response.headers.emplace_back("Vary", "Origin");
    ctx.response = std::move(response);
    return Flow::Return;
  }

  /// The request's Origin when it is allowed, else nullopt.
  std::optional<std::string_view> matching_origin(const RequestView& request) const noexcept {
    const auto origin = single_header(request, "Origin");
    if (!origin || origin->empty()) return std::nullopt;
    if (config_.any_origin) {
      // Echoed in a header: never let anything but a field value through.
      if (!header_value_problem(*origin).empty()) return std::nullopt;
      return origin;
    }
    const auto parts = parse_origin(*origin);
    if (!parts) return std::nullopt;
    for (const auto& allowed : config_.origins) {
      if (allowed.port == parts->port && core::iequals(allowed.scheme, parts->scheme) &&
          core::iequals(allowed.host, parts->host))
        return origin;
    }
    return std::nullopt;
  }

  bool method_allowed(std::string_view method) const noexcept {
    return config_.any_method || contains_token(config_.methods, method);
  }

  /// Every name in Access-Control-Request-Headers (all such fields) is allowed; `echo` gets
  /// them as a comma-separated list for Access-Control-Allow-Headers.
  bool request_headers_allowed(const RequestView& request, std::string& echo) const {
    for (const auto& h : request.headers) {
      if (!core::iequals(h.name, kRequestHeaders)) continue;
      std::string_view list = h.value;
      while (!list.empty()) {
        const size_t comma = list.find(',');
        const std::string_view name = core::trim_ows(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        if (name.empty()) continue;
        if (!is_header_name(name)) return false;
        if (!config_.any_header && !contains_token(config_.headers, name)) return false;
        if (!echo.empty()) echo += ',';
        echo += name;
      }
    }
    return true;
  }

  Config config_;
  FieldChange star_origin_;
  FieldChange vary_origin_;
  FieldChange allow_credentials_;
  std::optional<FieldChange> expose_;
  std::string max_age_;  // "" when no Access-Control-Max-Age is sent
};

/// Reads the <header>/<method>/<origin> children of a list element into `out`, each trimmed;
/// `*` sets `any` instead.
void read_list(const Element& list, std::string_view item_name, std::vector<std::string>& out,
               bool& any, AttributeReader& attrs, std::vector<std::string>& nested) {
  for (const Element& item : list.children) {
    AttributeReader item_attrs(item);
    if (item.name != item_name) {
      attrs.problem("unknown child element <" + item.name + "> in <" + list.name + "> (only <" +
                    std::string(item_name) + ">)");
      continue;
    }
    std::string_view text = item.text;
    text.remove_prefix(std::min(text.size(), text.find_first_not_of(" \t\r\n")));
    text = text.substr(0, text.find_last_not_of(" \t\r\n") + 1);
    if (!item.children.empty()) item_attrs.problem("holds text only");
    if (is_expression_text(text))
      item_attrs.problem("policy expressions are not supported here");
    else if (text == "*")
      any = true;
    else if (item_name != "origin" && !is_header_name(text))
      item_attrs.problem("'" + std::string(text) + "' is not a valid " +
                         (item_name == "method" ? "method" : "header name"));
    else
      out.emplace_back(text);
    if (auto ok = item_attrs.finish(); !ok) nested.push_back(ok.error().message);
  }
}

Result<TextValue> bool_value(AttributeReader& attrs, std::string_view name, bool fallback) {
  const std::string* raw = attrs.raw(name);
  if (!raw) return TextValue(fallback ? "true" : "false");
  if (is_expression_text(*raw)) {
    auto compiled = TextValue::compile(*raw, ValueType::Bool);
    if (!compiled)
      return unexpected(ErrorKind::InvalidArgument,
                        std::string(name) + ": " + compiled.error().message);
    return compiled;
  }
  if (!core::iequals(*raw, "true") && !core::iequals(*raw, "false"))
    return unexpected(ErrorKind::InvalidArgument, std::string(name) + " must be true or false");
  return TextValue(*raw);
}

}  // namespace

std::optional<OriginParts> parse_origin(std::string_view text) noexcept {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  OriginParts parts;
  parts.scheme = text.substr(0, sep);
  if (!is_alpha(parts.scheme.front())) return std::nullopt;
  for (char c : parts.scheme)
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return std::nullopt;

  std::string_view rest = text.substr(sep + 3);
  size_t host_end = 0;
  if (!rest.empty() && rest.front() == '[') {
    host_end = rest.find(']');
    if (host_end == std::string_view::npos || host_end < 2) return std::nullopt;
    for (char c : rest.substr(1, host_end - 1))
      if (!is_ipv6_char(c)) return std::nullopt;
    ++host_end;
  } else {
    while (host_end < rest.size() && is_host_char(rest[host_end]))
      ++host_end;
    if (host_end == 0) return std::nullopt;
  }
  parts.host = rest.substr(0, host_end);
  rest.remove_prefix(host_end);

  if (core::iequals(parts.scheme, "http"))
    parts.port = 80;
  else if (core::iequals(parts.scheme, "https"))
    parts.port = 443;
  if (rest.empty()) return parts;
  if (rest.front() != ':' || rest.size() > 6) return std::nullopt;
  const auto port = core::parse_uint(rest.substr(1));
  if (!port || *port == 0 || *port > 65535) return std::nullopt;
  parts.port = static_cast<uint16_t>(*port);
  return parts;
}

bool is_cors_preflight(const RequestView& request) noexcept {
  return request.method == "OPTIONS" && has_header(request, "Origin") &&
         has_header(request, kRequestMethod);
}

Result<std::unique_ptr<Policy>> make_cors(const Element& element, LoadContext&) {
  AttributeReader attrs(element);
  Cors::Config config;
  std::vector<std::string> nested;

  if (auto v = bool_value(attrs, "allow-credentials", false))
    config.allow_credentials = std::move(*v);
  else
    attrs.problem(v.error().message);
  if (auto v = bool_value(attrs, "terminate-unmatched-request", true))
    config.terminate_unmatched = std::move(*v);
  else
    attrs.problem(v.error().message);

  const Element* origins = nullptr;
  const Element* headers = nullptr;
  for (const Element& child : element.children) {
    AttributeReader child_attrs(child);
    if (child.name == "allowed-origins") {
      origins = &child;
      std::vector<std::string> texts;
      read_list(child, "origin", texts, config.any_origin, child_attrs, nested);
      for (std::string_view text : texts) {
        if (text.ends_with('/')) text.remove_suffix(1);  // "https://a.example/" names an origin
        const auto parts = parse_origin(text);
        if (!parts) {
          child_attrs.problem("'" + std::string(text) +
                              "' is not an origin (scheme://host[:port]) or *");
          continue;
        }
        config.origins.push_back(
            AllowedOrigin{core::to_lower(parts->scheme), core::to_lower(parts->host), parts->port});
      }
      if (!config.any_origin && config.origins.empty() && texts.empty())
        child_attrs.problem("needs at least one <origin>");
    } else if (child.name == "allowed-methods") {
      config.max_age = child_attrs.integer("preflight-result-max-age", 0, 0,
                                           std::numeric_limits<int32_t>::max());
      config.methods.clear();
      read_list(child, "method", config.methods, config.any_method, child_attrs, nested);
      if (config.methods.empty() && !config.any_method)
        child_attrs.problem("needs at least one <method>");
    } else if (child.name == "allowed-headers") {
      headers = &child;
      read_list(child, "header", config.headers, config.any_header, child_attrs, nested);
    } else if (child.name == "expose-headers") {
      bool any_expose = false;
      read_list(child, "header", config.expose, any_expose, child_attrs, nested);
      if (any_expose) config.expose.emplace_back("*");
    } else {
      attrs.problem("unknown child element <" + child.name + ">");
      continue;
    }
    if (auto ok = child_attrs.finish(); !ok) nested.push_back(ok.error().message);
  }
  if (!origins) attrs.problem("missing required element <allowed-origins>");
  if (!headers) attrs.problem("missing required element <allowed-headers>");
  if (config.any_origin && config.allow_credentials.is_literal() &&
      core::iequals(config.allow_credentials.literal(), "true"))
    attrs.problem(
        "allow-credentials=\"true\" cannot be combined with <origin>*</origin>: "
        "browsers refuse credentials for a wildcard origin; list the origins");
  GH_TRY_STATUS(combine_problems(attrs.finish(), nested));
  return std::unique_ptr<Policy>(std::make_unique<Cors>(std::move(config)));
}

}  // namespace gh::policy
