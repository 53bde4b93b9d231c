#pragma once

// What set-header, set-query-parameter and return-response's <set-header> share: reading
// `name`, `exists-action` and the <value> children (apim-policies.md §7.6), the header rules the
// gateway must keep, and applying a change to a header list it writes as is.
//
// Serialisation rule for the gateway (§7.6), recorded here because policies only record values:
// a header with several values goes out as ONE field, the values joined with "," (no space:
// `h: v1,v2,v3`), except the names is_repeated_header() lists, which go out as one field per
// value. Query parameter changes hold decoded values; the gateway percent-encodes names and
// values when it writes the query (so no value can inject '&', '#' or a line break).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "policy/context.h"
#include "policy/document.h"
#include "policy/expression.h"
#include "policy/policy.h"

namespace gh::policy {

/// Where a FieldSetter's change goes; decides the validation rules.
enum class FieldTarget : uint8_t { RequestHeader, ResponseHeader, QueryParameter };

/// True for the names whose values go out as repeated fields instead of one comma-joined field
/// (User-Agent, WWW-Authenticate, Proxy-Authenticate, Cookie, Set-Cookie, Warning, Date, Expires,
/// If-Modified-Since, If-Unmodified-Since, Last-Modified, Retry-After; any case).
bool is_repeated_header(std::string_view name) noexcept;

/// True for the headers the gateway owns (message framing and routing: Connection,
/// Content-Length, Keep-Alive, Transfer-Encoding, Host), which set-header may not touch.
bool is_gateway_owned_header(std::string_view name) noexcept;

/// RFC 9110 §5.1 field-name: a non-empty token.
bool is_header_name(std::string_view name) noexcept;

/// Why `value` cannot be a header value or a status reason (RFC 9110 §5.5: no CR, LF, NUL or
/// other control character but HTAB), or "" when it can. The CR/LF text is APIM's own.
std::string_view header_value_problem(std::string_view value) noexcept;

/// Applies `change` to a header list written as is (return-response's response, or ctx.response
/// when the gateway applies response_header_changes to it), with the serialisation rule above.
/// Names compare case-insensitively.
void apply_header_change(std::vector<std::pair<std::string, std::string>>& headers,
                         const FieldChange& change);

/// True when an attribute value or text is a policy expression (APIM: starts with @( or @{).
inline bool is_expression_text(std::string_view text) noexcept {
  return text.starts_with("@(") || text.starts_with("@{");
}

/// Problems found in an element (`own`, from its AttributeReader) and in its children
/// (`nested`, each already "file:line: <child>: message") as one InvalidArgument error, one line
/// each; OK when there are none.
Status combine_problems(Status own, const std::vector<std::string>& nested);

/// Records an expression whose value failed or is unusable (LastError reason
/// ExpressionValueEvaluationFailure, APIM's generic 500 `Internal server error` to the client)
/// and returns Flow::Error.
Flow fail_evaluation(RequestContext& ctx, std::string_view source, const core::Error& error,
                     std::string_view policy_id);

/// The action named by an exists-action value, or nullopt (case-sensitive, as APIM's enum).
std::optional<FieldChange::Action> parse_exists_action(std::string_view text) noexcept;

/// A parsed <set-header> or <set-query-parameter>: compiled once, evaluated per request.
class FieldSetter {
 public:
  /// Reads `element` (name, exists-action, <value>*). Values are trimmed of surrounding
  /// whitespace (XML indentation is not part of a field value). Literal names and values are
  /// checked here; expressions are checked when evaluated.
  static Result<FieldSetter> load(const Element& element, FieldTarget target);

  /// The change for this request. Literal setters return their precomputed change; with
  /// expressions, a failed or invalid value is an Error whose message suits LastError.Message
  /// (reason ExpressionValueEvaluationFailure).
  Result<FieldChange> evaluate(const RequestContext& ctx) const;

  /// True when name and values are literals (evaluate() then cannot fail).
  bool is_literal() const noexcept { return literal_; }
  /// The precomputed change (valid when is_literal()).
  const FieldChange& literal_change() const noexcept { return change_; }

 private:
  Status check_name(std::string_view name) const;
  Status check_value(std::string_view value) const;

  FieldTarget target_ = FieldTarget::RequestHeader;
  TextValue name_;
  std::vector<TextValue> values_;
  FieldChange change_;  // the whole change when literal; else the action only
  bool literal_ = true;
};

}  // namespace gh::policy
