#include "policy/check_header.h"

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/strings.h"
#include "http/error_response.h"
#include "policy/expression.h"

namespace gh::policy {
namespace {

constexpr std::string_view kSource = "check-header";

bool is_tchar(char c) {
  // RFC 9110 §5.6.2 token characters.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

bool same(std::string_view a, std::string_view b, bool ignore_case) {
  return ignore_case ? core::iequals(a, b) : a == b;
}

/// A header name for a message: a computed name may hold anything, so control characters (CR/LF
/// above all) are replaced.
std::string printable(std::string_view s) {
  std::string out(s.substr(0, 128));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  return out;
}

/// The header's fields with one name. Without earlier set-header changes these are the parsed
/// fields themselves (no copy); with changes, the one value RequestContext::header() computes.
class HeaderFields {
 public:
  HeaderFields(const RequestContext& ctx, std::string_view name) : name_(name) {
    if (ctx.request_header_changes.empty()) {
      fields_ = ctx.request.headers;
      for (const auto& f : fields_)
        present_ |= core::iequals(f.name, name_);
      return;
    }
    changed_ = ctx.header(name);
    if (changed_) {
      one_ = HeaderField{name_, *changed_};
      fields_ = std::span<const HeaderField>(&one_, 1);
      present_ = true;
    }
  }

  bool present() const noexcept { return present_; }

  /// True when the whole value (fields joined with ',') or one comma-separated element equals
  /// `allowed`.
  bool matches(std::string_view allowed, bool ignore_case) const {
    return whole_equals(allowed, ignore_case) || element_equals(allowed, ignore_case);
  }

 private:
  bool whole_equals(std::string_view allowed, bool ignore_case) const {
    size_t pos = 0;
    bool first = true;
    for (const auto& f : fields_) {
      if (!core::iequals(f.name, name_)) continue;
      if (!first) {
        if (pos >= allowed.size() || allowed[pos] != ',') return false;
        ++pos;
      }
      first = false;
      if (allowed.size() - pos < f.value.size()) return false;
      if (!same(allowed.substr(pos, f.value.size()), f.value, ignore_case)) return false;
      pos += f.value.size();
    }
    return !first && pos == allowed.size();
  }

  bool element_equals(std::string_view allowed, bool ignore_case) const {
    for (const auto& f : fields_) {
      if (!core::iequals(f.name, name_)) continue;
      std::string_view rest = f.value;
      while (true) {
        size_t comma = rest.find(',');
        if (same(core::trim_ows(rest.substr(0, comma)), allowed, ignore_case)) return true;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    return false;
  }

  std::string_view name_;
  std::span<const HeaderField> fields_;
  std::optional<std::string> changed_;
  HeaderField one_;
  bool present_ = false;
};

class CheckHeader final : public Policy {
 public:
  TextValue name;
  TextValue status;  // int
  TextValue error_message;
  TextValue ignore_case;  // bool
  std::vector<TextValue> values;

  Flow apply(RequestContext& ctx) const override {
    std::string computed_name;
    std::string_view header = name.literal();
    if (!name.is_literal()) {
      auto v = name.evaluate(ctx);
      if (!v) return expression_failed(ctx, "name", v.error());
      computed_name = std::move(*v);
      header = computed_name;
    }
    HeaderFields fields(ctx, header);
    if (!fields.present()) {
      return refuse(
          ctx, kHeaderNotFound,
          "Header " + printable(header) + " was not found in the request. Access denied.");
    }
    if (values.empty()) return Flow::Continue;
    auto fold = ignore_case.evaluate_bool(ctx);
    if (!fold) return expression_failed(ctx, "ignore-case", fold.error());
    for (const auto& v : values) {
      if (v.is_literal()) {
        if (fields.matches(v.literal(), *fold)) return Flow::Continue;
        continue;
      }
      auto allowed = v.evaluate(ctx);
      if (!allowed) return expression_failed(ctx, "value", allowed.error());
      if (fields.matches(*allowed, *fold)) return Flow::Continue;
    }
    // APIM's message quotes the received value. check-header usually guards a shared secret, so
    // Gatehouse never copies the value into LastError (which reaches logs and on-error).
    return refuse(ctx, kHeaderValueNotAllowed,
                  "Header " + printable(header) + " value of *** is not allowed. Access denied.");
  }

 private:
  Flow refuse(RequestContext& ctx, std::string_view reason, const std::string& message) const {
    auto code = status.evaluate_int(ctx);
    if (!code) return expression_failed(ctx, "failed-check-httpcode", code.error());
    if (*code < 100 || *code > 599) {
      return expression_failed(
          ctx, "failed-check-httpcode",
          Error(ErrorKind::InvalidArgument, "the status code is not from 100 to 599"));
    }
    auto text = error_message.evaluate(ctx);
    if (!text) return expression_failed(ctx, "failed-check-error-message", text.error());
    ctx.fail(kSource, reason, message, static_cast<uint16_t>(*code), *text, id());
    // An empty configured message would otherwise fall back to the LastError text.
    if (text->empty() && ctx.response) {
      ctx.response->body = http::apim_error_body(static_cast<uint16_t>(*code), "");
    }
    return Flow::Error;
  }

  Flow expression_failed(RequestContext& ctx, std::string_view attribute, const Error& e) const {
    ctx.fail(kSource, "ExpressionValueEvaluationFailure",
             "check-header " + std::string(attribute) + ": " + e.message, 500,
             "Internal server error", id());
    return Flow::Error;
  }
};

/// Compiles an attribute that APIM allows expressions in; records a problem when it fails.
std::optional<TextValue> compile(AttributeReader& reader, std::string_view attribute,
                                 const std::string* raw, ValueType type) {
  if (!raw) return std::nullopt;
  auto v = TextValue::compile(*raw, type);
  if (!v) {
    reader.problem("attribute '" + std::string(attribute) + "': " + v.error().message);
    return std::nullopt;
  }
  return std::move(*v);
}

}  // namespace

Result<std::unique_ptr<Policy>> make_check_header(const Element& element, LoadContext&) {
  auto policy = std::make_unique<CheckHeader>();
  AttributeReader reader(element);
  const std::string* name = reader.required("name");
  const std::string* code = reader.required("failed-check-httpcode");
  const std::string* message = reader.required("failed-check-error-message");
  const std::string* fold = reader.required("ignore-case");

  if (auto v = compile(reader, "name", name, ValueType::String)) {
    if (v->is_literal() && !is_token(v->literal())) {
      reader.problem("attribute 'name' must be a header name (an HTTP token)");
    }
    policy->name = std::move(*v);
  }
  if (auto v = compile(reader, "failed-check-httpcode", code, ValueType::Int)) {
    if (v->is_literal()) {
      auto n = core::parse_uint(trimmed(v->literal()));
      if (!n || *n < 100 || *n > 599)
        reader.problem("attribute 'failed-check-httpcode' must be an HTTP status from 100 to 599");
    }
    policy->status = std::move(*v);
  }
  if (auto v = compile(reader, "failed-check-error-message", message, ValueType::String))
    policy->error_message = std::move(*v);
  if (auto v = compile(reader, "ignore-case", fold, ValueType::Bool))
    policy->ignore_case = std::move(*v);

  std::vector<std::string> child_problems;
  for (const Element& child : element.children) {
    if (child.name != "value") {
      reader.problem("unknown child element <" + child.name + "> (expected <value>)");
      continue;
    }
    AttributeReader value_reader(child);
    if (!child.children.empty()) value_reader.problem("<value> takes no child elements");
    auto v = TextValue::compile(child.text, ValueType::String);
    if (!v) {
      value_reader.problem(v.error().message);
    } else if (v->is_literal()) {
      // Indentation around the text is not part of the value (header values never carry it).
      policy->values.emplace_back(std::string(trimmed(v->literal())));
    } else {
      policy->values.push_back(std::move(*v));
    }
    if (auto st = value_reader.finish(); !st) child_problems.push_back(st.error().message);
  }
  if (!trimmed(element.text).empty()) reader.problem("text is not allowed here (use <value>)");
  auto status = reader.finish();
  if (!status || !child_problems.empty()) {
    std::string joined = status ? std::string() : status.error().message;
    for (const auto& p : child_problems) {
      if (!joined.empty()) joined += '\n';
      joined += p;
    }
    return unexpected(ErrorKind::InvalidArgument, std::move(joined));
  }
  return std::unique_ptr<Policy>(std::move(policy));
}

}  // namespace gh::policy
