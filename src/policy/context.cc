#include "policy/context.h"

#include "core/strings.h"
#include "http/error_response.h"

namespace gh::policy {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// application/x-www-form-urlencoded decoding of one name or value ('+' is a space); a malformed
/// escape is kept as written, as ASP.NET does.
std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

/// Applies the recorded changes for `name` to its current value (comma-joined values).
std::optional<std::string> apply_changes(std::optional<std::string> current,
                                         std::span<const FieldChange> changes,
                                         std::string_view name, bool case_insensitive) {
  for (const auto& c : changes) {
    bool same = case_insensitive ? core::iequals(c.name, name) : c.name == name;
    if (!same) continue;
    auto joined = [&c] {
      std::string v;
      for (const auto& x : c.values) {
        if (!v.empty()) v += ',';
        v += x;
      }
      return v;
    };
    switch (c.action) {
      case FieldChange::Action::Override:
        current = joined();
        break;
      case FieldChange::Action::Skip:
        if (!current) current = joined();
        break;
      case FieldChange::Action::Append:
        if (current && !current->empty()) {
          if (!c.values.empty()) *current += ',' + joined();
        } else {
          current = joined();
        }
        break;
      case FieldChange::Action::Delete:
        current.reset();
        break;
    }
  }
  return current;
}

}  // namespace

std::string_view to_string(Section s) noexcept {
  switch (s) {
    case Section::Inbound:
      return "inbound";
    case Section::Backend:
      return "backend";
    case Section::Outbound:
      return "outbound";
    case Section::OnError:
      return "on-error";
  }
  return "inbound";
}

std::string_view to_string(Scope s) noexcept {
  switch (s) {
    case Scope::Global:
      return "global";
    case Scope::Product:
      return "product";
    case Scope::Api:
      return "api";
    case Scope::Operation:
      return "operation";
  }
  return "global";
}

std::optional<std::string> RequestContext::header(std::string_view name) const {
  return effective_field(request.headers, request_header_changes, name);
}

std::optional<std::string> effective_field(std::span<const HeaderField> original,
                                           std::span<const FieldChange> changes,
                                           std::string_view name) {
  std::optional<std::string> current;
  for (const auto& h : original) {
    if (!core::iequals(h.name, name)) continue;
    if (!current) {
      current.emplace(h.value);
    } else {
      *current += ',';
      current->append(h.value);
    }
  }
  if (changes.empty()) return current;
  return apply_changes(std::move(current), changes, name, true);
}

std::optional<std::string> RequestContext::query_parameter(std::string_view name) const {
  std::optional<std::string> current;
  std::string_view q = request.query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view raw_name = pair.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (form_decode(raw_name) == name) {
      current = form_decode(raw_value);
      break;
    }
  }
  if (query_changes.empty()) return current;
  return apply_changes(std::move(current), query_changes, name, false);
}

const Value* RequestContext::variable(std::string_view name) const noexcept {
  for (const auto& [n, v] : variables_)
    if (n == name) return &v;
  return nullptr;
}

void RequestContext::set_variable(std::string_view name, Value v) {
  for (auto& [n, existing] : variables_) {
    if (n == name) {
      existing = std::move(v);
      return;
    }
  }
  variables_.emplace_back(std::string(name), std::move(v));
}

void RequestContext::fail(std::string_view source, std::string_view reason,
                          std::string_view message, uint16_t status,
                          std::string_view client_message, std::string_view policy_id) {
  LastError e;
  e.source = source;
  e.reason = reason;
  e.message = message;
  e.scope = scope;
  e.section = section;
  e.path = path;
  e.policy_id = policy_id;
  last_error = std::move(e);
  GatewayResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = http::apim_error_body(status, client_message.empty() ? message : client_message);
  response = std::move(r);
}

}  // namespace gh::policy
