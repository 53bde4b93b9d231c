#include "policy/field_setter.h"

#include <algorithm>
#include <iterator>
#include <span>

#include "core/strings.h"

namespace gh::policy {

namespace {

// apim-policies.md §7.6: the headers APIM sends as repeated fields rather than comma-joined.
constexpr std::string_view kRepeatedHeaders[] = {
    "User-Agent",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Cookie",
    "Set-Cookie",
    "Warning",
    "Date",
    "Expires",
    "If-Modified-Since",
    "If-Unmodified-Since",
    "Last-Modified",
    "Retry-After",
};

// §7.6 (APIM cannot modify or delete the first four) plus Host: the gateway writes Host from the
// backend it routes to, and a policy-set Host would let one API address another's virtual host.
constexpr std::string_view kGatewayOwnedHeaders[] = {
    "Connection", "Content-Length", "Keep-Alive", "Transfer-Encoding", "Host",
};

bool is_tchar(unsigned char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool contains_name(std::span<const std::string_view> names, std::string_view name) noexcept {
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view n) { return core::iequals(n, name); });
}

// Surrounding whitespace of element text is XML layout, not part of a field value.
std::string_view trim_xml_space(std::string_view s) noexcept {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

std::string join_values(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += values[i];
  }
  return out;
}

void add_values(std::vector<std::pair<std::string, std::string>>& headers,
                const FieldChange& change) {
  if (is_repeated_header(change.name)) {
    for (const auto& v : change.values)
      headers.emplace_back(change.name, v);
  } else {
    headers.emplace_back(change.name, join_values(change.values));
  }
}

core::Error invalid(std::string message) {
  return core::Error(ErrorKind::InvalidArgument, std::move(message));
}

}  // namespace

bool is_repeated_header(std::string_view name) noexcept {
  return contains_name(kRepeatedHeaders, name);
}

bool is_gateway_owned_header(std::string_view name) noexcept {
  return contains_name(kGatewayOwnedHeaders, name);
}

bool is_header_name(std::string_view name) noexcept {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return is_tchar(static_cast<unsigned char>(c));
  });
}

std::string_view header_value_problem(std::string_view value) noexcept {
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\r' || c == '\n')
      return "Expression value is invalid. Specified value has invalid CRLF characters.";
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return "Expression value is invalid. Specified value has invalid control characters.";
  }
  return {};
}

void apply_header_change(std::vector<std::pair<std::string, std::string>>& headers,
                         const FieldChange& change) {
  const auto same_name = [&](const std::pair<std::string, std::string>& h) {
    return core::iequals(h.first, change.name);
  };
  const auto existing = std::find_if(headers.begin(), headers.end(), same_name);
  switch (change.action) {
    case FieldChange::Action::Delete:
      std::erase_if(headers, same_name);
      return;
    case FieldChange::Action::Skip:
      if (existing != headers.end()) return;
      add_values(headers, change);
      return;
    case FieldChange::Action::Override:
      std::erase_if(headers, same_name);
      add_values(headers, change);
      return;
    case FieldChange::Action::Append:
      if (existing == headers.end() || is_repeated_header(change.name)) {
        add_values(headers, change);
      } else {
        for (const auto& v : change.values) {
          existing->second += ',';
          existing->second += v;
        }
      }
      return;
  }
}

Status combine_problems(Status own, const std::vector<std::string>& nested) {
  if (own && nested.empty()) return {};
  std::string joined = own ? std::string() : own.error().message;
  for (const auto& line : nested) {
    if (!joined.empty()) joined += '\n';
    joined += line;
  }
  return unexpected(ErrorKind::InvalidArgument, std::move(joined));
}

Flow fail_evaluation(RequestContext& ctx, std::string_view source, const core::Error& error,
                     std::string_view policy_id) {
  ctx.fail(source, "ExpressionValueEvaluationFailure", error.message, 500, "Internal server error",
           policy_id);
  return Flow::Error;
}

std::optional<FieldChange::Action> parse_exists_action(std::string_view text) noexcept {
  if (text == "override") return FieldChange::Action::Override;
  if (text == "skip") return FieldChange::Action::Skip;
  if (text == "append") return FieldChange::Action::Append;
  if (text == "delete") return FieldChange::Action::Delete;
  return std::nullopt;
}

Status FieldSetter::check_name(std::string_view name) const {
  if (target_ == FieldTarget::QueryParameter) {
    if (name.empty()) return unexpected(invalid("the query parameter name is empty"));
    return {};
  }
  if (!is_header_name(name)) return unexpected(invalid("not a valid HTTP header name"));
  if (is_gateway_owned_header(name))
    return unexpected(invalid("the " + std::string(name) +
                              " header is managed by the gateway and cannot be set or removed"));
  return {};
}

Status FieldSetter::check_value(std::string_view value) const {
  // Query values are percent-encoded by the gateway, so any byte is safe there.
  if (target_ == FieldTarget::QueryParameter) return {};
  if (auto problem = header_value_problem(value); !problem.empty())
    return unexpected(invalid(std::string(problem)));
  return {};
}

Result<FieldSetter> FieldSetter::load(const Element& element, FieldTarget target) {
  FieldSetter setter;
  setter.target_ = target;
  AttributeReader attrs(element);

  if (const std::string* name = attrs.required("name")) {
    if (auto compiled = TextValue::compile(*name); !compiled) {
      attrs.problem("name: " + compiled.error().message);
    } else {
      setter.name_ = std::move(*compiled);
      if (setter.name_.is_literal()) {
        if (auto ok = setter.check_name(setter.name_.literal()); !ok) {
          // A secret named value's text is never echoed.
          attrs.problem(element.secret
                            ? "name: " + ok.error().message
                            : "name '" + setter.name_.literal() + "': " + ok.error().message);
        }
        setter.change_.name = setter.name_.literal();
      } else {
        setter.literal_ = false;
      }
    }
  }

  if (const std::string* action = attrs.raw("exists-action")) {
    if (is_expression_text(*action)) {
      attrs.problem(
          "exists-action: policy expressions are not supported here; use one of "
          "override, skip, append, delete");
    } else if (auto parsed = parse_exists_action(*action)) {
      setter.change_.action = *parsed;
    } else {
      attrs.problem("exists-action must be override, skip, append or delete");
    }
  }

  std::vector<std::string> nested;  // problems of <value> children, already located
  for (const Element& child : element.children) {
    if (child.name != "value") {
      attrs.problem("unknown child element <" + child.name + "> (only <value> is allowed)");
      continue;
    }
    AttributeReader value_attrs(child);
    if (!child.children.empty())
      value_attrs.problem("<value> holds text only (write markup as escaped text or CDATA)");
    auto compiled = TextValue::compile(trim_xml_space(child.text));
    if (!compiled) {
      value_attrs.problem(compiled.error().message);
    } else if (compiled->is_literal()) {
      if (auto ok = setter.check_value(compiled->literal()); !ok)
        value_attrs.problem(ok.error().message);
    } else {
      setter.literal_ = false;
    }
    if (auto ok = value_attrs.finish(); !ok) {
      nested.push_back(ok.error().message);
      continue;
    }
    setter.values_.push_back(std::move(*compiled));
  }
  GH_TRY_STATUS(combine_problems(attrs.finish(), nested));

  if (setter.change_.action == FieldChange::Action::Delete) {
    setter.values_.clear();  // APIM ignores values given with delete
  } else if (setter.values_.empty()) {
    setter.values_.emplace_back(std::string());  // no <value>: the field is set, empty
  }
  if (setter.literal_) {
    for (const auto& v : setter.values_)
      setter.change_.values.push_back(v.literal());
  }
  return setter;
}

Result<FieldChange> FieldSetter::evaluate(const RequestContext& ctx) const {
  if (literal_) return change_;
  FieldChange change;
  change.action = change_.action;
  if (name_.is_literal()) {
    change.name = name_.literal();
  } else {
    GH_TRY(change.name, name_.evaluate(ctx));
    GH_TRY_STATUS(check_name(change.name));
  }
  change.values.reserve(values_.size());
  for (const auto& v : values_) {
    if (v.is_literal()) {
      change.values.push_back(v.literal());
      continue;
    }
    GH_TRY(std::string value, v.evaluate(ctx));
    GH_TRY_STATUS(check_value(value));
    change.values.push_back(std::move(value));
  }
  return change;
}

}  // namespace gh::policy
