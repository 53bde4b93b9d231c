#pragma once

// The subset of APIM policy expressions (`@(...)`, `@{ ... return x; }`; C# in APIM) that
// authentication and routing policies use in practice (apim-policies.md §1.4), compiled once at
// load into a small tree and evaluated against a RequestContext with no parsing per request.
//
// Supported (documented in docs/policies/expressions.md):
//   literals: "string", 'c', 123, true, false, null
//   context.Request.Method | .IpAddress | .Url.{Host,Path,Port,Scheme,QueryString}
//   context.Request.OriginalUrl.{...same}
//   context.Request.Headers.GetValueOrDefault("name"[, "default"])
//   context.Request.Url.Query.GetValueOrDefault("name"[, "default"])
//   context.Request.MatchedParameters["name"] / .GetValueOrDefault("name"[, "default"])
//   context.Request.Certificate (== null / != null), .Thumbprint, .SubjectName.Name, .Subject,
//     .Issuer, .SerialNumber, .NotBefore, .NotAfter, .Verify(), .VerifyNoRevocation()
//   context.Subscription (== null), .Id, .Key, .Name, .PrimaryKey/.SecondaryKey (never: refused)
//   context.Product.{Id,Name}, context.Api.{Id,Name,Path,ServiceUrl},
//   context.Operation.{Id,Name,Method,UrlTemplate}
//   context.Variables["name"], context.Variables.GetValueOrDefault<T>("name"[, default]),
//   context.Variables.ContainsKey("name"), context.Response.StatusCode,
//   context.LastError.{Source,Reason,Message,Scope,Section,Path,PolicyId}
//   ((Jwt)context.Variables["x"]).Claims.GetValueOrDefault("c"[, "d"]), .Subject, .Issuer,
//     .Id, .Audiences (joined), and "...".AsJwt()?.<same>
//   operators: ?. ?? ! == != < <= > >= && || + (string concatenation) ( ) and `? :`
//   string methods: .ToLower() .ToUpper() .Trim() .StartsWith(s) .EndsWith(s) .Contains(s)
//     .Equals(s) .Length, string.IsNullOrEmpty(x), .ToString()
//   @{ return <expr>; } with a single return statement.
// Everything else fails at load with the column of the first unsupported token.

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "policy/context.h"

namespace gh::policy {

namespace expr {
struct Node;  // the compiled tree (expression.cc)
}

/// What an expression's value is expected to be where it is used.
enum class ValueType : uint8_t { Any, String, Bool, Int };

class Expression {
 public:
  /// Compiles `source`, which starts with "@(" or "@{". Errors (InvalidArgument) say what is
  /// unsupported and at which column, e.g. "column 12: 'context.User' is not supported".
  static Result<Expression> compile(std::string_view source, ValueType expected = ValueType::Any);

  /// Evaluates against `ctx`. Fails (InvalidArgument, "ExpressionValueEvaluationFailure" in
  /// LastError terms) when the value has the wrong type for a cast, a variable cast mismatches,
  /// or a member of null is read without `?.`. Never throws.
  Result<Value> evaluate(const RequestContext& ctx) const;

  const std::string& source() const noexcept { return source_; }

 private:
  std::shared_ptr<const expr::Node> root_;
  std::string source_;
};

/// An attribute value or element text that may be an expression: a literal when it does not start
/// with '@(' or '@{' (APIM's rule), else a compiled Expression.
class TextValue {
 public:
  TextValue() = default;
  explicit TextValue(std::string literal) : literal_(std::move(literal)) {}
  static Result<TextValue> compile(std::string_view raw, ValueType expected = ValueType::String);

  bool is_literal() const noexcept { return !expr_; }
  const std::string& literal() const noexcept { return literal_; }

  /// The value as a string: the literal, or the expression's value converted as C# would
  /// (bool -> "True"/"False", null -> "", integers in decimal, a JWT -> "Jwt" as C#'s type name).
  Result<std::string> evaluate(const RequestContext& ctx) const;
  /// The value as a bool: a literal must be true/false (case-insensitive).
  Result<bool> evaluate_bool(const RequestContext& ctx) const;
  /// The value as an integer.
  Result<int64_t> evaluate_int(const RequestContext& ctx) const;

 private:
  std::string literal_;
  std::shared_ptr<const Expression> expr_;
};

/// C#'s ToString of a value (see TextValue::evaluate).
std::string to_display_string(const Value& v);

}  // namespace gh::policy
