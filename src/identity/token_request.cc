#include "identity/token_request.h"

#include <array>

#include "core/strings.h"
#include "identity/entra_error.h"

namespace gh::identity {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool needs_decoding(std::string_view s) noexcept {
  return s.find_first_of("%+") != std::string_view::npos;
}

/// Decodes a parameter name into a small fixed buffer: names longer than the buffer are none of
/// ours, so they need not be decoded at all.
std::string_view decode_name(std::string_view raw, std::array<char, 48>& buffer) {
  if (!needs_decoding(raw)) return raw;
  size_t n = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (n == buffer.size()) return raw;
    char c = raw[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (raw.size() - i < 3) return raw;
      int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return raw;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    buffer[n++] = c;
  }
  return {buffer.data(), n};
}

bool is_ignored_scope(std::string_view s) noexcept {
  return core::iequals(s, "openid") || core::iequals(s, "profile") ||
         core::iequals(s, "offline_access") || core::iequals(s, "email");
}

constexpr std::string_view kDefaultSuffix = "/.default";

bool ends_with_default(std::string_view s) noexcept {
  return s.size() >= kDefaultSuffix.size() &&
         core::iequals(s.substr(s.size() - kDefaultSuffix.size()), kDefaultSuffix);
}

}  // namespace

bool is_form_content_type(std::string_view content_type) noexcept {
  auto media = content_type.substr(0, content_type.find(';'));
  return core::iequals(core::trim_ows(media), "application/x-www-form-urlencoded");
}

bool form_url_decode(std::string_view in, std::string& out) {
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (in.size() - i < 3) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

Status parse_form(std::string_view text, std::span<const FormField> fields, std::string& storage) {
  storage.clear();
  storage.reserve(text.size());  // decoded text is never longer: views into it stay valid
  for (const auto& f : fields)
    *f.value = {};
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view raw_name = pair.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    std::array<char, 48> name_buffer;
    std::string_view name = decode_name(raw_name, name_buffer);
    const FormField* field = nullptr;
    for (const auto& f : fields) {
      if (f.any_case ? core::iequals(name, f.name) : name == f.name) {
        field = &f;
        break;
      }
    }
    if (field == nullptr) continue;  // telemetry, client_info, anything else: ignored
    // An empty value counts as absent, so "scope=&scope=x" is not a duplicate.
    if (!field->value->empty())
      return unexpected(entra_error(aadsts::kDuplicateParameter,
                                    "The request is not properly formatted. The parameter '" +
                                        std::string(field->name) + "' is duplicated."));
    if (!needs_decoding(raw_value)) {
      *field->value = raw_value;
      continue;
    }
    size_t start = storage.size();
    if (!form_url_decode(raw_value, storage))
      return unexpected(entra_error(aadsts::kMalformedRequest,
                                    "The request is not properly formatted: the parameter '" +
                                        std::string(field->name) +
                                        "' has an invalid percent-encoding."));
    *field->value = std::string_view(storage).substr(start);
  }
  return {};
}

Result<TokenForm> parse_token_form(std::string_view body, std::string& storage) {
  TokenForm form;
  // Parameter names are case-sensitive in OAuth (RFC 6749 §3.1); client-request-id is telemetry.
  const FormField fields[] = {
      {"grant_type", &form.grant_type},
      {"client_id", &form.client_id},
      {"client_secret", &form.client_secret},
      {"client_assertion_type", &form.client_assertion_type},
      {"client_assertion", &form.client_assertion},
      {"scope", &form.scope},
      {"resource", &form.resource},
      {"claims", &form.claims},
      {"client-request-id", &form.client_request_id, true},
  };
  GH_TRY_STATUS(parse_form(body, fields, storage));
  return form;
}

std::string_view query_parameter(std::string_view query, std::string_view name,
                                 std::string& storage) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    std::string_view value = pair.substr(eq + 1);
    if (!needs_decoding(value)) return value;
    storage.clear();
    if (!form_url_decode(value, storage)) return {};
    return storage;
  }
  return {};
}

Result<std::string_view> resource_from_scope(std::string_view scope) {
  const std::string_view whole = scope;
  std::string_view resource;
  bool found = false;
  while (!scope.empty()) {
    size_t sp = scope.find(' ');
    std::string_view item = scope.substr(0, sp);
    scope = sp == std::string_view::npos ? std::string_view{} : scope.substr(sp + 1);
    if (item.empty() || is_ignored_scope(item)) continue;
    if (!ends_with_default(item))
      return unexpected(entra_error(
          aadsts::kScopeNotDefault,
          "The provided value for scope " + std::string(item) +
              " is not valid. Client credential flows must have a scope value with /.default "
              "suffixed to the resource identifier (application ID URI)."));
    std::string_view candidate = item.substr(0, item.size() - kDefaultSuffix.size());
    if (candidate.empty())
      return unexpected(entra_error(aadsts::kInvalidScope,
                                    "The provided value for the input parameter 'scope' isn't "
                                    "valid. The scope " +
                                        std::string(item) + " isn't valid."));
    if (found && !core::iequals(candidate, resource))
      return unexpected(entra_error(aadsts::kMultipleResources,
                                    "The provided value for the input parameter scope isn't "
                                    "valid because it contains more than one resource."));
    resource = candidate;
    found = true;
  }
  if (!found)  // only openid/profile/...: no resource at all
    return unexpected(entra_error(
        aadsts::kScopeNotDefault,
        "The provided value for scope " + std::string(whole) +
            " is not valid. Client credential flows must have a scope value with /.default "
            "suffixed to the resource identifier (application ID URI)."));
  return resource;
}

}  // namespace gh::identity
