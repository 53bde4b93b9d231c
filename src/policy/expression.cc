#include "policy/expression.h"

#include <boost/json/serialize.hpp>
#include <charconv>
#include <forward_list>
#include <limits>
#include <span>
#include <tuple>
#include <vector>

#include "core/encoding.h"
#include "core/strings.h"
#include "jose/json.h"
#include "jose/jws.h"
#include "jose/jwt.h"

// The expression subset is compiled in three steps: a tokenizer that turns every byte into a
// token (unsupported ones become tokens carrying their rejection, so the first problem in source
// order is the one reported), a recursive-descent parser that resolves `context.` member paths at
// load time into one node per member and type-checks like C# would, and an evaluator that walks
// the immutable tree. Strings read from the request, the tree or a JWT are borrowed during
// evaluation, so a comparison such as `context.Request.Method == "GET"` allocates nothing.

namespace gh::policy {
namespace expr {
namespace {

// Hostile input stays cheap: bounded source, nesting (parser recursion) and tree height
// (evaluator recursion; binary operator chains do not nest in the parser).
constexpr size_t kMaxSourceBytes = 4096;
constexpr int kMaxNesting = 32;
constexpr int kMaxHeight = 64;

// ------------------------------------------------------------------------------------------------
// Static types and the tree.

enum class Type : uint8_t {
  Null,
  Bool,
  Int,
  String,
  DateTime,    // unix seconds
  Jwt,         // policy::Jwt
  Object,      // a variable's value: its type is known only at run time
  Entity,      // a context object (context.Request, ...): members only, or `== null`
  Comparison,  // StringComparison.X (an argument only)
};

enum class Entity : uint8_t {
  Context,
  Request,
  Url,
  Headers,
  Query,
  MatchedParameters,
  Certificate,  // nullable
  SubjectName,
  Subscription,  // nullable
  Product,       // nullable
  Api,           // nullable
  Operation,     // nullable
  Variables,
  Response,   // nullable
  LastError,  // nullable
  JwtClaims,
  ClaimValues,  // Claims["x"]: string[]; only .Contains(v)
};

bool nullable(Entity e) {
  switch (e) {
    case Entity::Certificate:
    case Entity::Subscription:
    case Entity::Product:
    case Entity::Api:
    case Entity::Operation:
    case Entity::Response:
    case Entity::LastError:
      return true;
    default:
      return false;
  }
}

enum class Member : uint8_t {
  Method,
  IpAddress,
  RequestId,
  UrlHost,
  UrlPath,
  UrlPort,
  UrlScheme,
  UrlQueryString,
  UrlToString,
  CertThumbprint,
  CertSubject,
  CertIssuer,
  CertSerialNumber,
  CertNotBefore,
  CertNotAfter,
  CertVerify,
  CertVerifyNoRevocation,
  SubscriptionId,
  SubscriptionKey,
  SubscriptionName,
  ProductId,
  ProductName,
  ApiId,
  ApiName,
  ApiPath,
  ApiServiceUrl,
  OperationId,
  OperationName,
  OperationMethod,
  OperationUrlTemplate,
  ErrorSource,
  ErrorReason,
  ErrorMessage,
  ErrorScope,
  ErrorSection,
  ErrorPath,
  ErrorPolicyId,
  ResponseStatusCode,
  JwtSubject,
  JwtIssuer,
  JwtId,
  JwtAudiences,
  JwtAlgorithm,
  JwtType,
  ToLower,
  ToUpper,
  Trim,
  StartsWith,
  EndsWith,
  Contains,
  Equals,
  Length,
  ToString,
  AsJwt,
};

enum class Op : uint8_t {
  Literal,
  Now,           // DateTime.UtcNow / DateTime.Now
  RequestField,  // member: Method .. UrlToString
  HeaderGet,     // kids: name [, default]
  HeaderHas,     // kids: name
  QueryGet,
  QueryHas,
  ParamIndex,  // kids: name
  ParamGet,    // kids: name [, default]
  ParamHas,
  EntityRef,     // entity (nullable): null or present
  EntityMember,  // member of a nullable entity; conditional: the entity was followed by ?.
  VarIndex,      // kids: name
  VarGet,        // kids: name [, default]; cast: the T of GetValueOrDefault<T> (Object: none)
  VarHas,
  Cast,  // kids: value; cast: target type
  JwtMember,
  JwtClaimGet,       // kids: jwt, name [, default]
  JwtClaimHas,       // kids: jwt, name
  JwtClaimContains,  // kids: jwt, name, needle
  StringMethod,      // kids: target [, argument]; member
  AnyToString,       // kids: target (bool, int, DateTime, Jwt, object)
  IsNullOrEmpty,
  IsNullOrWhiteSpace,
  StaticEquals,  // string.Equals(a, b[, comparison])
  Not,
  Negate,
  Equal,
  NotEqual,
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  And,
  Or,
  Concat,
  Add,
  Subtract,
  Coalesce,
  Conditional,
  ChainEnd,  // ends a member chain that used ?.: a short-circuit becomes null
};

}  // namespace

struct Node {
  Op op = Op::Literal;
  Type type = Type::Null;
  Member member = Member::Method;
  Entity entity = Entity::Context;
  Type cast = Type::Object;
  bool conditional = false;  // reached with ?. (the target's null short-circuits the chain)
  bool ignore_case = false;  // StringComparison.OrdinalIgnoreCase and friends
  uint16_t column = 0;
  uint16_t height = 1;
  bool flag = false;   // Literal bool
  int64_t number = 0;  // Literal int
  std::string text;    // Literal string
  std::vector<std::unique_ptr<Node>> kids;
};

namespace {

using NodePtr = std::unique_ptr<Node>;

std::string_view type_name(Type t) {
  switch (t) {
    case Type::Null:
      return "null";
    case Type::Bool:
      return "bool";
    case Type::Int:
      return "int";
    case Type::String:
      return "string";
    case Type::DateTime:
      return "DateTime";
    case Type::Jwt:
      return "Jwt";
    case Type::Object:
      return "object";
    case Type::Entity:
      return "context object";
    case Type::Comparison:
      return "StringComparison";
  }
  return "value";
}

/// The type with its article, for messages ("an int", "a string", "null").
std::string a_type(Type t) {
  std::string_view n = type_name(t);
  if (t == Type::Null) return std::string(n);
  bool vowel = n[0] == 'i' || n[0] == 'o';
  return (vowel ? "an " : "a ") + std::string(n);
}

bool is_value(Type t) {
  return t != Type::Entity && t != Type::Comparison;
}
bool may_be_null(Type t) {
  return t == Type::Null || t == Type::String || t == Type::Jwt || t == Type::Object;
}

// ------------------------------------------------------------------------------------------------
// Tokens.

enum class Tok : uint8_t { End, Ident, String, Int, Punct, Unsupported };

struct Token {
  Tok kind = Tok::End;
  size_t pos = 0;
  size_t len = 0;
  std::string text;  // Ident: the name; String: the decoded text; Punct: the operator;
                     // Unsupported: the message
  int64_t number = 0;
};

bool ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool ident_char(char c) {
  return ident_start(c) || (c >= '0' && c <= '9');
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view src) : s_(src) {}

  /// Every token from `start` to the end of the source, then End. Never fails: what cannot be
  /// read becomes an Unsupported token, and tokenizing stops there.
  std::vector<Token> run(size_t start) {
    std::vector<Token> out;
    size_t i = start;
    while (true) {
      while (i < s_.size() && (s_[i] == ' ' || s_[i] == '\t' || s_[i] == '\r' || s_[i] == '\n'))
        ++i;
      if (i >= s_.size()) break;
      Token t = next(i);
      i = t.pos + t.len;
      bool stop = t.kind == Tok::Unsupported;
      out.push_back(std::move(t));
      if (stop) return out;
    }
    Token end;
    end.pos = s_.size();
    out.push_back(std::move(end));
    return out;
  }

 private:
  Token make(Tok kind, size_t pos, size_t len, std::string text = {}) {
    Token t;
    t.kind = kind;
    t.pos = pos;
    t.len = len;
    t.text = std::move(text);
    return t;
  }
  Token bad(size_t pos, size_t len, std::string message) {
    return make(Tok::Unsupported, pos, len == 0 ? 1 : len, std::move(message));
  }

  Token next(size_t i) {
    char c = s_[i];
    if (ident_start(c)) {
      size_t j = i;
      while (j < s_.size() && ident_char(s_[j]))
        ++j;
      return make(Tok::Ident, i, j - i, std::string(s_.substr(i, j - i)));
    }
    if (digit(c)) return number(i);
    if (c == '"') return quoted(i, i + 1, '"');
    if (c == '\'') return character(i);
    if (c == '@' && i + 1 < s_.size() && s_[i + 1] == '"') return verbatim(i);
    if (c == '$' && i + 1 < s_.size() && (s_[i + 1] == '"' || s_[i + 1] == '@'))
      return bad(i, 2, "string interpolation ($\"...\") is not supported");
    static constexpr std::string_view kTwo[] = {"??", "?.", "==", "!=", "<=", ">=", "&&", "||"};
    for (auto op : kTwo)
      if (s_.substr(i, 2) == op) return make(Tok::Punct, i, 2, std::string(op));
    static constexpr std::string_view kOne = "()[].,;?:!<>+-{}";
    if (kOne.find(c) != std::string_view::npos) return make(Tok::Punct, i, 1, std::string(1, c));
    // Everything else is C# we do not run; name it.
    if (s_.substr(i, 2) == "=>") return bad(i, 2, "lambda expressions ('=>') are not supported");
    if (s_.substr(i, 2) == "?[")
      return bad(i, 2, "null-conditional indexing ('?[') is not supported");
    static constexpr std::string_view kOps[] = {
        "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", "::"};
    for (auto op : kOps)
      if (s_.substr(i, 2) == op)
        return bad(i, 2, "operator '" + std::string(op) + "' is not supported");
    if (c == '=') return bad(i, 1, "assignment ('=') is not supported");
    if (std::string_view("*/%&|^~").find(c) != std::string_view::npos)
      return bad(i, 1, "operator '" + std::string(1, c) + "' is not supported");
    if (static_cast<unsigned char>(c) >= 0x21 && static_cast<unsigned char>(c) < 0x7F)
      return bad(i, 1, "'" + std::string(1, c) + "' is not supported");
    return bad(i, 1, "unexpected character");
  }

  Token number(size_t i) {
    size_t j = i;
    while (j < s_.size() && digit(s_[j]))
      ++j;
    if (s_.substr(i, 2) == "0x" || s_.substr(i, 2) == "0X" || s_.substr(i, 2) == "0b")
      return bad(i, 2, "hexadecimal and binary literals are not supported");
    if (j < s_.size() && ((s_[j] == '.' && j + 1 < s_.size() && digit(s_[j + 1])) ||
                          std::string_view("eEfFdDmM").find(s_[j]) != std::string_view::npos))
      return bad(i, j + 1 - i, "floating-point literals are not supported");
    if (j < s_.size() && (s_[j] == 'u' || s_[j] == 'U'))
      return bad(i, j + 1 - i, "unsigned literals are not supported");
    Token t = make(Tok::Int, i, j - i);
    auto [end, ec] = std::from_chars(s_.data() + i, s_.data() + j, t.number);
    if (ec != std::errc() || end != s_.data() + j)
      return bad(i, j - i, "integer literal out of range");
    if (j < s_.size() && (s_[j] == 'L' || s_[j] == 'l')) t.len++;  // long suffix
    if (t.pos + t.len < s_.size() && ident_char(s_[t.pos + t.len]))
      return bad(i, t.len + 1, "malformed number");
    return t;
  }

  // Reads one character of a regular string or char literal at `j` into `out`; returns the
  // position after it, or npos with `error` set.
  size_t read_char(size_t j, std::string& out, std::string& error) {
    char c = s_[j];
    if (c == '\r' || c == '\n') {
      error = "newline in a string literal";
      return std::string_view::npos;
    }
    if (c != '\\') {
      out += c;
      return j + 1;
    }
    if (j + 1 >= s_.size()) {
      error = "unterminated string literal";
      return std::string_view::npos;
    }
    char e = s_[j + 1];
    switch (e) {
      case '\\':
      case '"':
      case '\'':
        out += e;
        return j + 2;
      case '0':
        out += '\0';
        return j + 2;
      case 'a':
        out += '\a';
        return j + 2;
      case 'b':
        out += '\b';
        return j + 2;
      case 'f':
        out += '\f';
        return j + 2;
      case 'n':
        out += '\n';
        return j + 2;
      case 'r':
        out += '\r';
        return j + 2;
      case 't':
        out += '\t';
        return j + 2;
      case 'v':
        out += '\v';
        return j + 2;
      case 'u': {
        uint32_t cp = 0;
        for (size_t k = 0; k < 4; ++k) {
          int h = j + 2 + k < s_.size() ? hex_digit(s_[j + 2 + k]) : -1;
          if (h < 0) {
            error = "malformed \\u escape";
            return std::string_view::npos;
          }
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) {
          error = "surrogate \\u escapes are not supported";
          return std::string_view::npos;
        }
        append_utf8(out, cp);
        return j + 6;
      }
      default:
        error = "unrecognized escape sequence '\\" + std::string(1, e) + "'";
        return std::string_view::npos;
    }
  }

  Token quoted(size_t start, size_t j, char quote) {
    std::string text;
    while (j < s_.size() && s_[j] != quote) {
      std::string error;
      size_t next = read_char(j, text, error);
      if (next == std::string_view::npos) return bad(j, 1, error);
      j = next;
    }
    if (j >= s_.size()) return bad(start, 1, "unterminated string literal");
    return make(Tok::String, start, j + 1 - start, std::move(text));
  }

  Token character(size_t i) {
    std::string text;
    std::string error;
    if (i + 1 >= s_.size()) return bad(i, 1, "unterminated character literal");
    size_t j = read_char(i + 1, text, error);
    if (j == std::string_view::npos) return bad(i + 1, 1, error);
    if (j >= s_.size() || s_[j] != '\'') return bad(i, 1, "malformed character literal");
    return make(Tok::String, i, j + 1 - i, std::move(text));
  }

  Token verbatim(size_t i) {
    std::string text;
    size_t j = i + 2;
    while (j < s_.size()) {
      if (s_[j] == '"') {
        if (j + 1 < s_.size() && s_[j + 1] == '"') {
          text += '"';
          j += 2;
          continue;
        }
        return make(Tok::String, i, j + 1 - i, std::move(text));
      }
      text += s_[j++];
    }
    return bad(i, 2, "unterminated string literal");
  }

  std::string_view s_;
};

// ------------------------------------------------------------------------------------------------
// Parser.

/// What a postfix chain has produced so far: a value node, or a context object not yet a value.
struct Operand {
  Type type = Type::Null;
  Entity entity = Entity::Context;
  NodePtr node;                     // the value; for JwtClaims/ClaimValues the Jwt
  NodePtr arg;                      // ClaimValues: the claim name
  bool entity_conditional = false;  // SubjectName: Certificate was followed by ?.
  size_t pos = 0;                   // where the operand starts in the source
  size_t end = 0;                   // where its postfix chain ended (0: not recorded)
};

NodePtr make_node(Op op, Type type, size_t pos) {
  auto n = std::make_unique<Node>();
  n->op = op;
  n->type = type;
  n->column = static_cast<uint16_t>(pos + 1);
  return n;
}

void add_kid(Node& n, NodePtr kid) {
  n.height = std::max<uint16_t>(n.height, static_cast<uint16_t>(kid->height + 1));
  n.kids.push_back(std::move(kid));
}

bool is_type_name(std::string_view s, Type& out) {
  if (s == "string" || s == "String") {
    out = Type::String;
  } else if (s == "bool" || s == "Boolean") {
    out = Type::Bool;
  } else if (s == "int" || s == "long" || s == "Int32" || s == "Int64") {
    out = Type::Int;
  } else if (s == "Jwt") {
    out = Type::Jwt;
  } else if (s == "object" || s == "Object") {
    out = Type::Object;
  } else {
    return false;
  }
  return true;
}

class Parser {
 public:
  Parser(std::string_view source, std::vector<Token> tokens)
      : src_(source), toks_(std::move(tokens)) {}

  Result<NodePtr> parse_paren_form() {
    GH_TRY(Operand e, expression());
    GH_TRY_STATUS(expect(")"));
    if (peek().kind != Tok::End) return unexpected_here("after the expression");
    return finish(std::move(e));
  }

  Result<NodePtr> parse_block_form() {
    const Token& first = peek();
    if (!(first.kind == Tok::Ident && first.text == "return")) {
      if (first.kind == Tok::Unsupported) return fail(first, first.text);
      return fail(first, "only a single 'return <expression>;' statement is supported in @{...}");
    }
    ++i_;
    GH_TRY(Operand e, expression());
    GH_TRY_STATUS(expect(";"));
    if (!(peek().kind == Tok::Punct && peek().text == "}"))
      return fail(peek(), "only a single 'return <expression>;' statement is supported in @{...}");
    ++i_;
    if (peek().kind != Tok::End) return unexpected_here("after the block");
    return finish(std::move(e));
  }

 private:
  // -- plumbing --

  const Token& peek(size_t ahead = 0) const {
    size_t k = std::min(i_ + ahead, toks_.size() - 1);
    return toks_[k];
  }
  bool at(std::string_view punct) const {
    return peek().kind == Tok::Punct && peek().text == punct;
  }
  bool accept(std::string_view punct) {
    if (!at(punct)) return false;
    ++i_;
    return true;
  }

  std::string where(size_t pos) const {
    size_t line = 1;
    size_t line_start = 0;
    for (size_t k = 0; k < pos && k < src_.size(); ++k) {
      if (src_[k] == '\n') {
        ++line;
        line_start = k + 1;
      }
    }
    std::string out;
    if (line > 1) out = "line " + std::to_string(line) + ", ";
    out += "column " + std::to_string(pos - line_start + 1);
    return out;
  }

  core::Unexpected fail_at(size_t pos, std::string_view message) const {
    return unexpected(ErrorKind::InvalidArgument, where(pos) + ": " + std::string(message));
  }
  core::Unexpected fail(const Token& t, std::string_view message) const {
    return fail_at(t.pos, message);
  }
  std::string describe(const Token& t) const {
    if (t.kind == Tok::End) return "the end of the expression";
    return "'" + std::string(src_.substr(t.pos, t.len)) + "'";
  }
  core::Unexpected unexpected_here(std::string_view context) const {
    const Token& t = peek();
    if (t.kind == Tok::Unsupported) return fail(t, t.text);
    if (t.kind == Tok::Ident) return fail(t, "'" + t.text + "' is not supported");
    return fail(t, "unexpected " + describe(t) + " " + std::string(context));
  }
  Status expect(std::string_view punct) {
    if (accept(punct)) return {};
    const Token& t = peek();
    if (t.kind == Tok::Unsupported) return fail(t, t.text);
    if (t.kind == Tok::Ident) return fail(t, "'" + t.text + "' is not supported");
    return fail(t, "expected '" + std::string(punct) + "' but found " + describe(t));
  }
  /// The source text from `pos` to the end of the last token read (for messages).
  std::string text_since(size_t pos) const {
    size_t end = i_ == 0 ? pos : toks_[i_ - 1].pos + toks_[i_ - 1].len;
    if (end < pos) end = pos;
    return std::string(src_.substr(pos, end - pos));
  }

  Result<NodePtr> finish(Operand e) {
    if (!is_value(e.type)) return not_a_value(e);
    GH_TRY_STATUS(check_height(*e.node));
    return std::move(e.node);
  }

  Status check_height(const Node& n) const {
    if (n.height <= kMaxHeight) return {};
    // Report the deepest node that is still within the limit's reach: walk down the tallest path.
    const Node* cur = &n;
    while (cur->height > kMaxHeight) {
      const Node* next = nullptr;
      for (const auto& k : cur->kids)
        if (!next || k->height > next->height) next = k.get();
      if (!next || next->height <= kMaxHeight) break;
      cur = next;
    }
    return fail_at(cur->column - 1u, "expression has more than " + std::to_string(kMaxHeight) +
                                         " levels of operators");
  }

  core::Unexpected not_a_value(const Operand& e) const {
    std::string text =
        e.end > e.pos ? std::string(src_.substr(e.pos, e.end - e.pos)) : text_since(e.pos);
    if (e.type == Type::Comparison)
      return fail_at(e.pos, "'" + text + "' can only be a string method's argument");
    if (e.entity == Entity::ClaimValues)
      return fail_at(e.pos,
                     "'" + text + "' is a string[]: only .Contains(value) is supported on it");
    if (nullable(e.entity))
      return fail_at(
          e.pos, "'" + text + "' is not a value: compare it with null or read one of its members");
    return fail_at(e.pos, "'" + text + "' is not a value: read one of its members");
  }

  /// Turns a finished operand into something operators can use: a nullable context object
  /// becomes a null check, other context objects are refused.
  Result<Operand> as_operand(Operand e) {
    if (e.type == Type::Entity) {
      if (!nullable(e.entity)) return not_a_value(e);
      if (!e.node) {
        e.node = make_node(Op::EntityRef, Type::Entity, e.pos);
        e.node->entity = e.entity;
      }
    }
    return e;
  }

  Status require(const Operand& e, Type t, std::string_view what) const {
    if (e.type == t) return {};
    if (!is_value(e.type)) return not_a_value(e);
    return fail_at(e.pos, std::string(what) + " must be " + a_type(t) + ", not " + a_type(e.type));
  }
  Status require_value(const Operand& e) const {
    if (is_value(e.type)) return {};
    return not_a_value(e);
  }

  // -- expressions, lowest precedence first (C#: ?:, ??, ||, &&, ==, <, +, unary, primary) --

  Result<Operand> expression() {
    if (++depth_ > kMaxNesting) {
      return fail(peek(),
                  "expression nested deeper than " + std::to_string(kMaxNesting) + " levels");
    }
    auto r = conditional();
    --depth_;
    return r;
  }

  Result<Operand> conditional() {
    GH_TRY(Operand c, coalesce());
    if (!at("?")) return c;
    GH_TRY_STATUS(require(c, Type::Bool, "the condition of '?:'"));
    ++i_;
    GH_TRY(Operand a, expression());
    GH_TRY_STATUS(require_value(a));
    GH_TRY_STATUS(expect(":"));
    GH_TRY(Operand b, expression());
    GH_TRY_STATUS(require_value(b));
    Type t;
    if (!unify(a.type, b.type, t)) {
      return fail_at(a.pos, "the branches of '?:' have different types (" +
                                std::string(type_name(a.type)) + " and " +
                                std::string(type_name(b.type)) + ")");
    }
    auto n = make_node(Op::Conditional, t, c.pos);
    add_kid(*n, std::move(c.node));
    add_kid(*n, std::move(a.node));
    add_kid(*n, std::move(b.node));
    return value_operand(std::move(n), c.pos);
  }

  static bool unify(Type a, Type b, Type& out) {
    if (a == b) {
      out = a;
    } else if (a == Type::Null && may_be_null(b)) {
      out = b;
    } else if (b == Type::Null && may_be_null(a)) {
      out = a;
    } else if (a == Type::Object || b == Type::Object) {
      out = Type::Object;
    } else {
      return false;
    }
    return true;
  }

  Operand value_operand(NodePtr n, size_t pos) {
    Operand o;
    o.type = n->type;
    o.node = std::move(n);
    o.pos = pos;
    return o;
  }

  Result<Operand> coalesce() {
    GH_TRY(Operand l, logical_or());
    if (!at("??")) return l;
    size_t op_pos = peek().pos;
    ++i_;
    GH_TRY_STATUS(require_value(l));
    // A chain with ?. can be null whatever its type (C#'s int? from `?.Length`).
    bool left_nullable = may_be_null(l.type) || l.node->op == Op::ChainEnd;
    if (!left_nullable)
      return fail_at(op_pos,
                     "'?"
                     "?' needs a left side that can be null, not " +
                         a_type(l.type));
    GH_TRY(Operand r, coalesce());
    GH_TRY_STATUS(require_value(r));
    Type t;
    if (l.type == Type::Object) {
      t = Type::Object;
    } else if (!unify(l.type, r.type, t)) {
      return fail_at(op_pos,
                     "'?"
                     "?' cannot combine " +
                         a_type(l.type) + " with " + a_type(r.type));
    }
    auto n = make_node(Op::Coalesce, t, l.pos);
    size_t pos = l.pos;
    add_kid(*n, std::move(l.node));
    add_kid(*n, std::move(r.node));
    return value_operand(std::move(n), pos);
  }

  Result<Operand> logical_or() {
    GH_TRY(Operand l, logical_and());
    while (at("||")) {
      ++i_;
      GH_TRY_STATUS(require(l, Type::Bool, "the left side of '||'"));
      GH_TRY(Operand r, logical_and());
      GH_TRY_STATUS(require(r, Type::Bool, "the right side of '||'"));
      l = binary(Op::Or, Type::Bool, std::move(l), std::move(r));
    }
    return l;
  }

  Result<Operand> logical_and() {
    GH_TRY(Operand l, equality());
    while (at("&&")) {
      ++i_;
      GH_TRY_STATUS(require(l, Type::Bool, "the left side of '&&'"));
      GH_TRY(Operand r, equality());
      GH_TRY_STATUS(require(r, Type::Bool, "the right side of '&&'"));
      l = binary(Op::And, Type::Bool, std::move(l), std::move(r));
    }
    return l;
  }

  Operand binary(Op op, Type t, Operand l, Operand r) {
    size_t pos = l.pos;
    auto n = make_node(op, t, pos);
    add_kid(*n, std::move(l.node));
    add_kid(*n, std::move(r.node));
    return value_operand(std::move(n), pos);
  }

  static bool comparable(const Operand& a, const Operand& b) {
    auto ok = [](Type x, Type y) {
      if (x == y) return true;
      if (x == Type::Null)
        return y == Type::Entity || may_be_null(y) || y == Type::Int || y == Type::Bool ||
               y == Type::DateTime;
      if (x == Type::Object) return is_value(y);
      return false;
    };
    if (a.type == Type::Entity && b.type == Type::Entity) return false;
    return ok(a.type, b.type) || ok(b.type, a.type);
  }

  Result<Operand> equality() {
    GH_TRY(Operand l, relational());
    while (at("==") || at("!=")) {
      bool eq = peek().text == "==";
      size_t op_pos = peek().pos;
      ++i_;
      GH_TRY(Operand r, relational());
      if (l.type == Type::Comparison || r.type == Type::Comparison)
        return not_a_value(l.type == Type::Comparison ? l : r);
      if (!comparable(l, r)) {
        if (l.type == Type::Entity || r.type == Type::Entity)
          return fail_at(op_pos, "a context object can only be compared with null");
        return fail_at(op_pos, "cannot compare " + a_type(l.type) + " with " + a_type(r.type));
      }
      l = binary(eq ? Op::Equal : Op::NotEqual, Type::Bool, std::move(l), std::move(r));
    }
    return l;
  }

  Result<Operand> relational() {
    GH_TRY(Operand l, additive());
    while (true) {
      const Token& t = peek();
      if (t.kind == Tok::Ident && (t.text == "is" || t.text == "as"))
        return fail(t, "'" + t.text + "' is not supported");
      Op op;
      if (at("<")) {
        op = Op::Less;
      } else if (at("<=")) {
        op = Op::LessEqual;
      } else if (at(">")) {
        op = Op::Greater;
      } else if (at(">=")) {
        op = Op::GreaterEqual;
      } else {
        return l;
      }
      size_t op_pos = t.pos;
      std::string op_text = t.text;
      ++i_;
      GH_TRY(Operand r, additive());
      GH_TRY_STATUS(require_value(l));
      GH_TRY_STATUS(require_value(r));
      bool ok = l.type == r.type && (l.type == Type::Int || l.type == Type::DateTime);
      if (!ok) {
        return fail_at(op_pos, "'" + op_text + "' compares two ints or two DateTimes, not " +
                                   a_type(l.type) + " and " + a_type(r.type));
      }
      l = binary(op, Type::Bool, std::move(l), std::move(r));
    }
  }

  Result<Operand> additive() {
    GH_TRY(Operand l, unary());
    while (at("+") || at("-")) {
      bool plus = peek().text == "+";
      size_t op_pos = peek().pos;
      ++i_;
      GH_TRY(Operand r, unary());
      GH_TRY_STATUS(require_value(l));
      GH_TRY_STATUS(require_value(r));
      if (l.type == Type::Int && r.type == Type::Int) {
        l = binary(plus ? Op::Add : Op::Subtract, Type::Int, std::move(l), std::move(r));
      } else if (plus && (l.type == Type::String || r.type == Type::String) &&
                 !(l.type == Type::Null && r.type == Type::Null)) {
        // C#: string + anything is concatenation (null as "", others by ToString()).
        l = binary(Op::Concat, Type::String, std::move(l), std::move(r));
      } else {
        return fail_at(op_pos, std::string("'") + (plus ? "+" : "-") + "' cannot combine " +
                                   a_type(l.type) + " with " + a_type(r.type));
      }
    }
    return l;
  }

  Result<Operand> unary() {
    const Token& t = peek();
    if (t.kind == Tok::Punct && (t.text == "!" || t.text == "-")) {
      size_t pos = t.pos;
      bool negate = t.text == "-";
      ++i_;
      if (++depth_ > kMaxNesting)
        return fail_at(pos,
                       "expression nested deeper than " + std::to_string(kMaxNesting) + " levels");
      auto inner = unary();
      --depth_;
      if (!inner) return unexpected(std::move(inner).error());
      Operand e = std::move(*inner);
      if (negate) {
        GH_TRY_STATUS(require(e, Type::Int, "the operand of '-'"));
        if (e.node->op == Op::Literal) {  // fold -123
          e.node->number = static_cast<int64_t>(0u - static_cast<uint64_t>(e.node->number));
          e.node->column = static_cast<uint16_t>(pos + 1);
          e.pos = pos;
          return e;
        }
        auto n = make_node(Op::Negate, Type::Int, pos);
        add_kid(*n, std::move(e.node));
        return value_operand(std::move(n), pos);
      }
      GH_TRY_STATUS(require(e, Type::Bool, "the operand of '!'"));
      auto n = make_node(Op::Not, Type::Bool, pos);
      add_kid(*n, std::move(e.node));
      return value_operand(std::move(n), pos);
    }
    // A cast: '(' type-name ')'.
    Type cast_to;
    if (at("(") && peek(1).kind == Tok::Ident && is_type_name(peek(1).text, cast_to) &&
        peek(2).kind == Tok::Punct && peek(2).text == ")") {
      size_t pos = t.pos;
      i_ += 3;
      if (cast_to == Type::Object) return fail_at(pos, "casts to object are not supported");
      if (++depth_ > kMaxNesting)
        return fail_at(pos,
                       "expression nested deeper than " + std::to_string(kMaxNesting) + " levels");
      auto inner = unary();
      --depth_;
      if (!inner) return unexpected(std::move(inner).error());
      Operand e = std::move(*inner);
      GH_TRY_STATUS(require_value(e));
      if (e.type == cast_to) {
        e.pos = pos;
        return e;
      }
      bool ok = e.type == Type::Object || (e.type == Type::Null && may_be_null(cast_to));
      if (!ok) {
        return fail_at(pos,
                       "cannot cast " + a_type(e.type) + " to " + std::string(type_name(cast_to)));
      }
      auto n = make_node(Op::Cast, cast_to, pos);
      n->cast = cast_to;
      add_kid(*n, std::move(e.node));
      return value_operand(std::move(n), pos);
    }
    return postfix();
  }

  // -- primary and member chains --

  Result<Operand> postfix() {
    GH_TRY(Operand cur, primary());
    bool any_conditional = false;
    while (true) {
      if (at(".") || at("?.")) {
        bool conditional = peek().text == "?.";
        any_conditional |= conditional;
        ++i_;
        const Token& name = peek();
        if (name.kind != Tok::Ident) {
          if (name.kind == Tok::Unsupported) return fail(name, name.text);
          return fail(name, "expected a member name but found " + describe(name));
        }
        ++i_;
        GH_TRY(cur, member(std::move(cur), name, conditional));
        continue;
      }
      if (at("[")) {
        size_t pos = peek().pos;
        ++i_;
        GH_TRY(cur, indexer(std::move(cur), pos));
        continue;
      }
      if (at("(")) return fail(peek(), "'" + text_since(cur.pos) + "' cannot be called");
      break;
    }
    cur.end = toks_[i_ - 1].pos + toks_[i_ - 1].len;
    GH_TRY(cur, as_operand(std::move(cur)));
    if (any_conditional && cur.node) {
      auto n = make_node(Op::ChainEnd, cur.type, cur.pos);
      add_kid(*n, std::move(cur.node));
      cur.node = std::move(n);
    }
    return cur;
  }

  Result<Operand> primary() {
    const Token& t = peek();
    size_t pos = t.pos;
    switch (t.kind) {
      case Tok::End:
        return fail(t, "expected an expression but found the end");
      case Tok::Unsupported:
        return fail(t, t.text);
      case Tok::String: {
        auto n = make_node(Op::Literal, Type::String, pos);
        n->text = t.text;
        ++i_;
        return value_operand(std::move(n), pos);
      }
      case Tok::Int: {
        auto n = make_node(Op::Literal, Type::Int, pos);
        n->number = t.number;
        ++i_;
        return value_operand(std::move(n), pos);
      }
      case Tok::Punct:
        if (t.text == "(") {
          ++i_;
          GH_TRY(Operand e, expression());
          GH_TRY_STATUS(expect(")"));
          e.pos = pos;
          return e;
        }
        return fail(t, "expected an expression but found " + describe(t));
      case Tok::Ident:
        break;
    }
    const std::string& id = t.text;
    ++i_;
    if (id == "true" || id == "false") {
      auto n = make_node(Op::Literal, Type::Bool, pos);
      n->flag = id == "true";
      return value_operand(std::move(n), pos);
    }
    if (id == "null") return value_operand(make_node(Op::Literal, Type::Null, pos), pos);
    if (id == "context") {
      Operand o;
      o.type = Type::Entity;
      o.entity = Entity::Context;
      o.pos = pos;
      return o;
    }
    if (id == "string" || id == "String") return string_static(pos);
    if (id == "DateTime") {
      GH_TRY_STATUS(expect("."));
      const Token& m = peek();
      if (m.kind == Tok::Ident && (m.text == "UtcNow" || m.text == "Now")) {
        ++i_;
        return value_operand(make_node(Op::Now, Type::DateTime, pos), pos);
      }
      return fail_at(pos, "'DateTime." + (m.kind == Tok::Ident ? m.text : std::string()) +
                              "' is not supported (only DateTime.UtcNow and DateTime.Now)");
    }
    if (id == "StringComparison") {
      GH_TRY_STATUS(expect("."));
      const Token& m = peek();
      if (m.kind == Tok::Ident) {
        static constexpr std::string_view kExact[] = {"Ordinal", "InvariantCulture",
                                                      "CurrentCulture"};
        static constexpr std::string_view kFold[] = {
            "OrdinalIgnoreCase", "InvariantCultureIgnoreCase", "CurrentCultureIgnoreCase"};
        for (int fold = 0; fold < 2; ++fold) {
          for (auto name : fold ? std::span(kFold) : std::span(kExact)) {
            if (m.text != name) continue;
            ++i_;
            auto n = make_node(Op::Literal, Type::Comparison, pos);
            n->flag = fold == 1;
            return value_operand(std::move(n), pos);
          }
        }
      }
      return fail(m, "'StringComparison." + (m.kind == Tok::Ident ? m.text : std::string()) +
                         "' is not supported");
    }
    if (peek().kind == Tok::Unsupported && src_.substr(peek().pos, 2) == "=>")
      return fail(peek(), peek().text);
    return fail_at(pos, "'" + id + "' is not supported");
  }

  Result<Operand> string_static(size_t pos) {
    GH_TRY_STATUS(expect("."));
    const Token& m = peek();
    if (m.kind != Tok::Ident) return fail(m, "expected a member name but found " + describe(m));
    std::string name = m.text;
    ++i_;
    if (name == "Empty") {
      auto n = make_node(Op::Literal, Type::String, pos);
      return value_operand(std::move(n), pos);
    }
    if (name == "IsNullOrEmpty" || name == "IsNullOrWhiteSpace") {
      GH_TRY(auto args, arguments());
      if (args.size() != 1) return fail_at(pos, "string." + name + " takes one argument");
      GH_TRY_STATUS(require_string_or_null(args[0], "the argument of string." + name));
      auto n = make_node(name == "IsNullOrEmpty" ? Op::IsNullOrEmpty : Op::IsNullOrWhiteSpace,
                         Type::Bool, pos);
      add_kid(*n, std::move(args[0].node));
      return value_operand(std::move(n), pos);
    }
    if (name == "Equals") {
      GH_TRY(auto args, arguments());
      if (args.size() < 2 || args.size() > 3)
        return fail_at(pos, "string.Equals takes two strings and an optional StringComparison");
      GH_TRY_STATUS(require_string_or_null(args[0], "the arguments of string.Equals"));
      GH_TRY_STATUS(require_string_or_null(args[1], "the arguments of string.Equals"));
      auto n = make_node(Op::StaticEquals, Type::Bool, pos);
      if (args.size() == 3) {
        GH_TRY_STATUS(require(args[2], Type::Comparison, "the third argument of string.Equals"));
        n->ignore_case = args[2].node->flag;
      }
      add_kid(*n, std::move(args[0].node));
      add_kid(*n, std::move(args[1].node));
      return value_operand(std::move(n), pos);
    }
    return fail_at(pos, "'string." + name + "' is not supported");
  }

  Status require_string_or_null(const Operand& e, std::string_view what) const {
    if (e.type == Type::String || e.type == Type::Null) return {};
    if (!is_value(e.type)) return not_a_value(e);
    return fail_at(e.pos, std::string(what) + " must be a string, not " + a_type(e.type));
  }

  /// After a method name: '(' args ')'. Each argument is a full expression.
  Result<std::vector<Operand>> arguments() {
    std::vector<Operand> args;
    GH_TRY_STATUS(expect("("));
    if (accept(")")) return args;
    while (true) {
      const Token& t = peek();
      if (t.kind == Tok::Ident && (t.text == "out" || t.text == "ref"))
        return fail(t, "'" + t.text + "' arguments are not supported");
      GH_TRY(Operand a, expression());
      args.push_back(std::move(a));
      if (accept(")")) return args;
      GH_TRY_STATUS(expect(","));
    }
  }

  bool next_is_call() const { return at("("); }

  /// Reads `name(...)` arguments for a method that takes 1..max strings; the first is required.
  Result<std::vector<Operand>> string_args(size_t pos, const std::string& method, size_t min,
                                           size_t max) {
    GH_TRY(auto args, arguments());
    if (args.size() < min || args.size() > max) {
      std::string count =
          min == max ? std::to_string(min) : std::to_string(min) + " or " + std::to_string(max);
      return fail_at(pos, method + " takes " + count + " argument" + (max == 1 ? "" : "s"));
    }
    for (size_t k = 0; k < args.size(); ++k) {
      if (k == 0) {
        GH_TRY_STATUS(require(args[k], Type::String, "the first argument of " + method));
      } else {
        GH_TRY_STATUS(require_string_or_null(args[k], "the default of " + method));
      }
    }
    return args;
  }

  Operand entity(Entity e, size_t pos, bool entity_conditional = false) {
    Operand o;
    o.type = Type::Entity;
    o.entity = e;
    o.pos = pos;
    o.entity_conditional = entity_conditional;
    return o;
  }

  Operand leaf(Op op, Type t, Member m, size_t pos, bool conditional = false) {
    auto n = make_node(op, t, pos);
    n->member = m;
    n->conditional = conditional;
    return value_operand(std::move(n), pos);
  }

  Operand entity_member(Entity owner, Type t, Member m, size_t pos, bool conditional) {
    auto n = make_node(Op::EntityMember, t, pos);
    n->member = m;
    n->entity = owner;
    n->conditional = conditional;
    return value_operand(std::move(n), pos);
  }

  core::Unexpected unsupported_member(const Operand& cur, const Token& name) const {
    std::string path = text_since(cur.pos);
    return fail(name, "'" + path + "' is not supported");
  }

  Result<Operand> member(Operand cur, const Token& name_tok, bool conditional) {
    const std::string& name = name_tok.text;
    size_t pos = cur.pos;
    if (cur.type == Type::Entity) return entity_member_of(std::move(cur), name_tok, conditional);
    if (!is_value(cur.type)) return not_a_value(cur);
    if (cur.type == Type::Null) return fail(name_tok, "null has no members");
    if (cur.type == Type::Jwt) return jwt_member(std::move(cur), name_tok, conditional);
    if (cur.type == Type::String) return string_member(std::move(cur), name_tok, conditional);
    // bool, int, DateTime, object: ToString() only.
    if (name == "ToString") {
      GH_TRY(auto args, arguments());
      if (!args.empty()) return fail(name_tok, "ToString takes no arguments here");
      auto n = make_node(Op::AnyToString, Type::String, pos);
      n->conditional = conditional;
      add_kid(*n, std::move(cur.node));
      return value_operand(std::move(n), pos);
    }
    if (cur.type == Type::Object)
      return fail(name_tok, "'" + text_since(pos) +
                                "' is not supported: cast the variable first, e.g. "
                                "(string)context.Variables[\"name\"]");
    return fail(name_tok, "'." + name + "' is not supported on " + a_type(cur.type));
  }

  Result<Operand> string_member(Operand cur, const Token& name_tok, bool conditional) {
    const std::string& name = name_tok.text;
    size_t pos = cur.pos;
    struct M {
      std::string_view name;
      Member member;
      Type result;
      int args;         // -1: property
      bool comparison;  // accepts a StringComparison as last argument
    };
    static constexpr M kMethods[] = {
        {"ToLower", Member::ToLower, Type::String, 0, false},
        {"ToLowerInvariant", Member::ToLower, Type::String, 0, false},
        {"ToUpper", Member::ToUpper, Type::String, 0, false},
        {"ToUpperInvariant", Member::ToUpper, Type::String, 0, false},
        {"Trim", Member::Trim, Type::String, 0, false},
        {"ToString", Member::ToString, Type::String, 0, false},
        {"StartsWith", Member::StartsWith, Type::Bool, 1, true},
        {"EndsWith", Member::EndsWith, Type::Bool, 1, true},
        {"Contains", Member::Contains, Type::Bool, 1, true},
        {"Equals", Member::Equals, Type::Bool, 1, true},
        {"Length", Member::Length, Type::Int, -1, false},
        {"AsJwt", Member::AsJwt, Type::Jwt, 0, false},
    };
    for (const auto& m : kMethods) {
      if (name != m.name) continue;
      auto n = make_node(Op::StringMethod, m.result, pos);
      n->member = m.member;
      n->conditional = conditional;
      add_kid(*n, std::move(cur.node));
      if (m.args < 0) {
        if (next_is_call()) return fail(peek(), "'" + name + "' is a property, not a method");
        return value_operand(std::move(n), pos);
      }
      GH_TRY(auto args, arguments());
      size_t max = static_cast<size_t>(m.args) + (m.comparison ? 1 : 0);
      if (args.size() < static_cast<size_t>(m.args) || args.size() > max) {
        return fail(name_tok, name + " takes " + std::to_string(m.args) + " argument" +
                                  (m.args == 1 ? "" : "s") +
                                  (m.comparison ? " and an optional StringComparison" : ""));
      }
      if (m.args == 1) {
        if (m.member == Member::Equals) {
          GH_TRY_STATUS(require_string_or_null(args[0], "the argument of " + name));
        } else {
          GH_TRY_STATUS(require(args[0], Type::String, "the argument of " + name));
        }
        add_kid(*n, std::move(args[0].node));
      }
      if (args.size() == max && m.comparison) {
        GH_TRY_STATUS(require(args.back(), Type::Comparison, "the last argument of " + name));
        n->ignore_case = args.back().node->flag;
      }
      return value_operand(std::move(n), pos);
    }
    if (name == "AsBasic" || name == "TryParseJwt" || name == "TryParseBasic")
      return fail(name_tok, "'." + name + "()' is not supported");
    return fail(name_tok, "'." + name + "' is not supported on a string");
  }

  Result<Operand> jwt_member(Operand cur, const Token& name_tok, bool conditional) {
    const std::string& name = name_tok.text;
    size_t pos = cur.pos;
    if (name == "Claims") {
      Operand o = entity(Entity::JwtClaims, pos, conditional);
      o.node = std::move(cur.node);
      return o;
    }
    static constexpr std::pair<std::string_view, Member> kFields[] = {
        {"Subject", Member::JwtSubject},
        {"Issuer", Member::JwtIssuer},
        {"Id", Member::JwtId},
        {"Audiences", Member::JwtAudiences},
        {"Algorithm", Member::JwtAlgorithm},
        {"Type", Member::JwtType},
    };
    for (const auto& [field, m] : kFields) {
      if (name != field) continue;
      if (next_is_call()) return fail(peek(), "'" + name + "' is a property, not a method");
      auto n = make_node(Op::JwtMember, Type::String, pos);
      n->member = m;
      n->conditional = conditional;
      add_kid(*n, std::move(cur.node));
      return value_operand(std::move(n), pos);
    }
    if (name == "ToString") {
      GH_TRY(auto args, arguments());
      if (!args.empty()) return fail(name_tok, "ToString takes no arguments here");
      auto n = make_node(Op::AnyToString, Type::String, pos);
      n->conditional = conditional;
      add_kid(*n, std::move(cur.node));
      return value_operand(std::move(n), pos);
    }
    return unsupported_member(cur, name_tok);
  }

  Result<Operand> indexer(Operand cur, size_t bracket_pos) {
    auto read_index = [this]() -> Result<Operand> {
      GH_TRY(Operand key, expression());
      GH_TRY_STATUS(expect("]"));
      return key;
    };
    if (cur.type == Type::Entity) {
      switch (cur.entity) {
        case Entity::Variables:
        case Entity::MatchedParameters: {
          GH_TRY(Operand key, read_index());
          GH_TRY_STATUS(require(key, Type::String, "the index"));
          bool vars = cur.entity == Entity::Variables;
          auto n = make_node(vars ? Op::VarIndex : Op::ParamIndex,
                             vars ? Type::Object : Type::String, cur.pos);
          add_kid(*n, std::move(key.node));
          return value_operand(std::move(n), cur.pos);
        }
        case Entity::JwtClaims: {
          GH_TRY(Operand key, read_index());
          GH_TRY_STATUS(require(key, Type::String, "the claim name"));
          Operand o = entity(Entity::ClaimValues, cur.pos, cur.entity_conditional);
          o.node = std::move(cur.node);
          o.arg = std::move(key.node);
          return o;
        }
        case Entity::Headers:
        case Entity::Query:
          return fail_at(bracket_pos, "'" +
                                          std::string(src_.substr(cur.pos, bracket_pos - cur.pos)) +
                                          "[...]' is not supported: use GetValueOrDefault(name, "
                                          "default)");
        default:
          break;
      }
    }
    return fail_at(bracket_pos, "indexing '" +
                                    std::string(src_.substr(cur.pos, bracket_pos - cur.pos)) +
                                    "' is not supported");
  }

  Result<Operand> entity_member_of(Operand cur, const Token& name_tok, bool conditional) {
    const std::string& name = name_tok.text;
    size_t pos = cur.pos;
    // A member of a nullable object is where ?. matters: remember it on the member node.
    bool cond = conditional;
    switch (cur.entity) {
      case Entity::Context:
        if (name == "Request") return entity(Entity::Request, pos);
        if (name == "Response") return entity(Entity::Response, pos);
        if (name == "Subscription") return entity(Entity::Subscription, pos);
        if (name == "Product") return entity(Entity::Product, pos);
        if (name == "Api") return entity(Entity::Api, pos);
        if (name == "Operation") return entity(Entity::Operation, pos);
        if (name == "Variables") return entity(Entity::Variables, pos);
        if (name == "LastError") return entity(Entity::LastError, pos);
        if (name == "RequestId")
          return leaf(Op::RequestField, Type::String, Member::RequestId, pos);
        break;
      case Entity::Request:
        if (name == "Method") return leaf(Op::RequestField, Type::String, Member::Method, pos);
        if (name == "IpAddress")
          return leaf(Op::RequestField, Type::String, Member::IpAddress, pos);
        if (name == "Url" || name == "OriginalUrl") return entity(Entity::Url, pos);
        if (name == "Headers") return entity(Entity::Headers, pos);
        if (name == "MatchedParameters") return entity(Entity::MatchedParameters, pos);
        if (name == "Certificate") return entity(Entity::Certificate, pos);
        break;
      case Entity::Url: {
        static constexpr std::pair<std::string_view, Member> kUrl[] = {
            {"Host", Member::UrlHost},
            {"Path", Member::UrlPath},
            {"Port", Member::UrlPort},
            {"Scheme", Member::UrlScheme},
            {"QueryString", Member::UrlQueryString},
        };
        for (const auto& [field, m] : kUrl)
          if (name == field)
            return leaf(Op::RequestField, m == Member::UrlPort ? Type::Int : Type::String, m, pos);
        if (name == "Query") return entity(Entity::Query, pos);
        if (name == "ToString") {
          GH_TRY(auto args, arguments());
          if (!args.empty()) return fail(name_tok, "ToString takes no arguments");
          return leaf(Op::RequestField, Type::String, Member::UrlToString, pos);
        }
        break;
      }
      case Entity::Headers:
      case Entity::Query:
      case Entity::MatchedParameters: {
        bool headers = cur.entity == Entity::Headers;
        bool query = cur.entity == Entity::Query;
        if (name == "GetValueOrDefault") {
          GH_TRY(auto args, string_args(pos, name, 1, 2));
          Op op = headers ? Op::HeaderGet : query ? Op::QueryGet : Op::ParamGet;
          auto n = make_node(op, Type::String, pos);
          for (auto& a : args)
            add_kid(*n, std::move(a.node));
          return value_operand(std::move(n), pos);
        }
        if (name == "ContainsKey") {
          GH_TRY(auto args, string_args(pos, name, 1, 1));
          Op op = headers ? Op::HeaderHas : query ? Op::QueryHas : Op::ParamHas;
          auto n = make_node(op, Type::Bool, pos);
          add_kid(*n, std::move(args[0].node));
          return value_operand(std::move(n), pos);
        }
        break;
      }
      case Entity::Certificate: {
        static constexpr std::tuple<std::string_view, Member, Type> kCert[] = {
            {"Thumbprint", Member::CertThumbprint, Type::String},
            {"Subject", Member::CertSubject, Type::String},
            {"Issuer", Member::CertIssuer, Type::String},
            {"SerialNumber", Member::CertSerialNumber, Type::String},
            {"NotBefore", Member::CertNotBefore, Type::DateTime},
            {"NotAfter", Member::CertNotAfter, Type::DateTime},
        };
        for (const auto& [field, m, t] : kCert) {
          if (name != field) continue;
          if (next_is_call()) return fail(peek(), "'" + name + "' is a property, not a method");
          return entity_member(Entity::Certificate, t, m, pos, cond);
        }
        if (name == "SubjectName") return entity(Entity::SubjectName, pos, cond);
        if (name == "Verify" || name == "VerifyNoRevocation") {
          GH_TRY(auto args, arguments());
          if (!args.empty()) return fail(name_tok, name + " takes no arguments");
          return entity_member(
              Entity::Certificate, Type::Bool,
              name == "Verify" ? Member::CertVerify : Member::CertVerifyNoRevocation, pos, cond);
        }
        break;
      }
      case Entity::SubjectName:
        if (name == "Name")
          return entity_member(Entity::Certificate, Type::String, Member::CertSubject, pos,
                               cur.entity_conditional);
        break;
      case Entity::Subscription:
        if (name == "PrimaryKey" || name == "SecondaryKey") {
          return fail(name_tok, "'" + text_since(pos) +
                                    "' is refused: subscription keys are secrets and never "
                                    "available to expressions (context.Subscription.Key is the "
                                    "key the caller presented)");
        }
        if (name == "Id")
          return entity_member(Entity::Subscription, Type::String, Member::SubscriptionId, pos,
                               cond);
        if (name == "Key")
          return entity_member(Entity::Subscription, Type::String, Member::SubscriptionKey, pos,
                               cond);
        if (name == "Name")
          return entity_member(Entity::Subscription, Type::String, Member::SubscriptionName, pos,
                               cond);
        break;
      case Entity::Product:
        if (name == "Id")
          return entity_member(Entity::Product, Type::String, Member::ProductId, pos, cond);
        if (name == "Name")
          return entity_member(Entity::Product, Type::String, Member::ProductName, pos, cond);
        break;
      case Entity::Api: {
        static constexpr std::pair<std::string_view, Member> kApi[] = {
            {"Id", Member::ApiId},
            {"Name", Member::ApiName},
            {"Path", Member::ApiPath},
            {"ServiceUrl", Member::ApiServiceUrl},
        };
        for (const auto& [field, m] : kApi)
          if (name == field) return entity_member(Entity::Api, Type::String, m, pos, cond);
        break;
      }
      case Entity::Operation: {
        static constexpr std::pair<std::string_view, Member> kOp[] = {
            {"Id", Member::OperationId},
            {"Name", Member::OperationName},
            {"Method", Member::OperationMethod},
            {"UrlTemplate", Member::OperationUrlTemplate},
        };
        for (const auto& [field, m] : kOp)
          if (name == field) return entity_member(Entity::Operation, Type::String, m, pos, cond);
        break;
      }
      case Entity::LastError: {
        static constexpr std::pair<std::string_view, Member> kErr[] = {
            {"Source", Member::ErrorSource},     {"Reason", Member::ErrorReason},
            {"Message", Member::ErrorMessage},   {"Scope", Member::ErrorScope},
            {"Section", Member::ErrorSection},   {"Path", Member::ErrorPath},
            {"PolicyId", Member::ErrorPolicyId},
        };
        for (const auto& [field, m] : kErr)
          if (name == field) return entity_member(Entity::LastError, Type::String, m, pos, cond);
        break;
      }
      case Entity::Response:
        if (name == "StatusCode")
          return entity_member(Entity::Response, Type::Int, Member::ResponseStatusCode, pos, cond);
        break;
      case Entity::Variables:
        if (name == "GetValueOrDefault") return variable_get(pos, name_tok);
        if (name == "ContainsKey") {
          GH_TRY(auto args, string_args(pos, name, 1, 1));
          auto n = make_node(Op::VarHas, Type::Bool, pos);
          add_kid(*n, std::move(args[0].node));
          return value_operand(std::move(n), pos);
        }
        break;
      case Entity::JwtClaims:
        if (name == "GetValueOrDefault" || name == "ContainsKey") {
          bool get = name == "GetValueOrDefault";
          GH_TRY(auto args, string_args(pos, name, 1, get ? 2 : 1));
          auto n = make_node(get ? Op::JwtClaimGet : Op::JwtClaimHas,
                             get ? Type::String : Type::Bool, pos);
          n->conditional = cur.entity_conditional;
          add_kid(*n, std::move(cur.node));
          for (auto& a : args)
            add_kid(*n, std::move(a.node));
          return value_operand(std::move(n), pos);
        }
        break;
      case Entity::ClaimValues:
        if (name == "Contains") {
          GH_TRY(auto args, string_args(pos, name, 1, 1));
          auto n = make_node(Op::JwtClaimContains, Type::Bool, pos);
          n->conditional = cur.entity_conditional;
          add_kid(*n, std::move(cur.node));
          add_kid(*n, std::move(cur.arg));
          add_kid(*n, std::move(args[0].node));
          return value_operand(std::move(n), pos);
        }
        return fail(name_tok, "'" + text_since(pos) +
                                  "' is not supported: a string[] supports only .Contains(value)");
    }
    return unsupported_member(cur, name_tok);
  }

  /// context.Variables.GetValueOrDefault[<T>](name[, default]): T is explicit, or inferred from
  /// the default as C# does; without either the value is an object.
  Result<Operand> variable_get(size_t pos, const Token& name_tok) {
    Type t = Type::Object;
    bool explicit_type = false;
    if (at("<")) {
      ++i_;
      const Token& ty = peek();
      if (ty.kind != Tok::Ident || !is_type_name(ty.text, t)) {
        return fail(ty, "type " + describe(ty) +
                            " is not supported in GetValueOrDefault<...> (string, bool, int, "
                            "long, Jwt, object)");
      }
      ++i_;
      GH_TRY_STATUS(expect(">"));
      explicit_type = true;
    }
    GH_TRY(auto args, arguments());
    if (args.empty() || args.size() > 2)
      return fail(name_tok, "GetValueOrDefault takes 1 or 2 arguments");
    GH_TRY_STATUS(require(args[0], Type::String, "the variable name"));
    if (args.size() == 2) {
      const Operand& d = args[1];
      GH_TRY_STATUS(require_value(d));
      if (!explicit_type) {
        t = d.type == Type::Null ? Type::Object : d.type;
        if (t == Type::DateTime) return fail_at(d.pos, "DateTime variables are not supported");
      } else if (!(d.type == t || (d.type == Type::Null && may_be_null(t)) || t == Type::Object)) {
        return fail_at(d.pos, "the default must be " + a_type(t) + ", not " + a_type(d.type));
      }
    }
    auto n = make_node(Op::VarGet, t, pos);
    n->cast = t;
    for (auto& a : args)
      add_kid(*n, std::move(a.node));
    return value_operand(std::move(n), pos);
  }

  std::string_view src_;
  std::vector<Token> toks_;
  size_t i_ = 0;
  int depth_ = 0;
};

// ------------------------------------------------------------------------------------------------
// Evaluation.

/// A value during evaluation: plain data, copied freely. Strings are views into what outlives
/// the evaluation (the tree, the request, a JWT, or the evaluation's Arena for strings it
/// builds); a JWT is a pointer to its owner (a context variable, or the Arena for AsJwt()).
struct Val {
  enum class Kind : uint8_t { Absent, Null, Bool, Int, Str, DateTime, Jwt, Present };
  Kind kind = Kind::Null;
  bool b = false;
  int64_t i = 0;
  std::string_view view;
  const Jwt* jwt = nullptr;

  std::string_view str() const { return view; }
  const jose::VerifiedJwt& token() const { return **jwt; }
  static Val null() { return Val{}; }
  static Val absent() {
    Val v;
    v.kind = Kind::Absent;
    return v;
  }
  static Val boolean(bool x) {
    Val v;
    v.kind = Kind::Bool;
    v.b = x;
    return v;
  }
  static Val integer(int64_t x, Kind k = Kind::Int) {
    Val v;
    v.kind = k;
    v.i = x;
    return v;
  }
  static Val borrowed(std::string_view s) {
    Val v;
    v.kind = Kind::Str;
    v.view = s;
    return v;
  }
  static Val token(const Jwt* owner) {
    Val v;
    v.kind = *owner ? Kind::Jwt : Kind::Null;
    v.jwt = owner;
    return v;
  }
};

/// What one evaluation builds (strings, decoded JWTs), kept until it ends so that every Val
/// stays a view. Lists, because their elements never move; nothing is allocated until used.
class Arena {
 public:
  std::string_view keep(std::string s) { return strings_.emplace_front(std::move(s)); }
  const Jwt* keep(Jwt jwt) { return &jwts_.emplace_front(std::move(jwt)); }

 private:
  std::forward_list<std::string> strings_;
  std::forward_list<Jwt> jwts_;
};

using Kind = Val::Kind;

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::Null:
    case Kind::Absent:
      return "null";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Str:
      return "string";
    case Kind::DateTime:
      return "DateTime";
    case Kind::Jwt:
      return "Jwt";
    case Kind::Present:
      return "object";
  }
  return "value";
}

std::string a_kind(Kind k) {
  std::string_view n = kind_name(k);
  if (k == Kind::Null || k == Kind::Absent) return std::string(n);
  bool vowel = n[0] == 'i' || n[0] == 'o';
  return (vowel ? "an " : "a ") + std::string(n);
}

Val from_value(const Value& v) {
  return std::visit(
      [](const auto& x) -> Val {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return Val::null();
        } else if constexpr (std::is_same_v<T, bool>) {
          return Val::boolean(x);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return Val::integer(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return Val::borrowed(x);
        } else {
          return Val::token(&x);
        }
      },
      v);
}

std::string format_date(int64_t unix_seconds) {
  return jose::format_numeric_date(static_cast<double>(unix_seconds));
}

void append_display(std::string& out, const Val& v) {
  switch (v.kind) {
    case Kind::Absent:
    case Kind::Null:
      break;
    case Kind::Bool:
      out += v.b ? "True" : "False";
      break;
    case Kind::Int:
      out += std::to_string(v.i);
      break;
    case Kind::Str:
      out += v.str();
      break;
    case Kind::DateTime:
      out += format_date(v.i);
      break;
    case Kind::Jwt:
      out += "Jwt";
      break;
    case Kind::Present:
      break;
  }
}

/// One JSON claim value as text: strings as they are, arrays comma-joined, others as JSON.
void append_claim(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::string:
      out += v.get_string();
      break;
    case boost::json::kind::array: {
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        if (e.is_array()) {
          out += boost::json::serialize(e);
        } else {
          append_claim(out, e);
        }
      }
      break;
    }
    case boost::json::kind::null:
      break;
    case boost::json::kind::int64:
      out += std::to_string(v.get_int64());
      break;
    case boost::json::kind::uint64:
      out += std::to_string(v.get_uint64());
      break;
    default:  // bool, double, object
      out += boost::json::serialize(v);
      break;
  }
}

/// A claim as a Val: a string claim is a view into its JWT, others are formatted into `arena`.
Val claim_val(const boost::json::value& v, Arena& arena) {
  if (v.is_string()) return Val::borrowed(std::string_view(v.get_string()));
  std::string s;
  append_claim(s, v);
  return Val::borrowed(arena.keep(std::move(s)));
}

/// "...".AsJwt(): the token decoded, not verified (as APIM's AsJwt); null when it is not a
/// compact JWS with a JSON claims set. A leading "Bearer " is skipped.
Jwt parse_jwt_unverified(std::string_view text) {
  text = core::trim_ows(text);
  if (text.size() > 7 && core::iequals(text.substr(0, 7), "Bearer ")) {
    text = core::trim_ows(text.substr(7));
  }
  if (text.size() > jose::kMaxTokenBytes) return nullptr;
  auto decoded = jose::decode_compact(text);
  if (!decoded) return nullptr;
  auto claims = jose::parse_strict_json_object(core::as_string_view(decoded->payload));
  if (!claims) return nullptr;
  auto jwt = std::make_shared<jose::VerifiedJwt>();
  jwt->alg = jose::JwsAlg::RS256;  // meaningless here: Algorithm reads the header's text
  if (const auto* alg = decoded->header.if_contains("alg"); alg && alg->is_string()) {
    if (auto a = jose::parse_alg(std::string_view(alg->get_string()))) jwt->alg = *a;
  }
  if (const auto* kid = decoded->header.if_contains("kid"); kid && kid->is_string())
    jwt->kid = std::string(kid->get_string());
  jwt->header = std::move(decoded->header);
  jwt->claims = std::move(*claims);
  if (const auto* exp = jwt->claims.if_contains("exp")) jwt->exp = jose::numeric_date(*exp);
  return jwt;
}

/// X509Certificate2.Subject's form: RFC 2253 order with ", " between RDNs.
std::string dotnet_name(std::string rfc2253) {
  std::string out;
  out.reserve(rfc2253.size() + 8);
  bool escaped = false;
  for (char c : rfc2253) {
    out += c;
    if (escaped) {
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == ',') {
      out += ' ';
    }
  }
  return out;
}

bool ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equal_text(std::string_view a, std::string_view b, bool ignore_case) {
  return ignore_case ? core::iequals(a, b) : a == b;
}

bool starts_with(std::string_view s, std::string_view p, bool ignore_case) {
  return s.size() >= p.size() && equal_text(s.substr(0, p.size()), p, ignore_case);
}
bool ends_with(std::string_view s, std::string_view p, bool ignore_case) {
  return s.size() >= p.size() && equal_text(s.substr(s.size() - p.size()), p, ignore_case);
}
bool contains(std::string_view s, std::string_view p, bool ignore_case) {
  if (!ignore_case) return s.find(p) != std::string_view::npos;
  if (p.empty()) return true;
  for (size_t k = 0; k + p.size() <= s.size(); ++k)
    if (core::iequals(s.substr(k, p.size()), p)) return true;
  return false;
}

/// The value equality C#'s == gives for the types the parser lets through (strings ordinal;
/// object-typed values by value, which C# would compare by reference).
bool equal_vals(const Val& a, const Val& b) {
  bool an = a.kind == Kind::Null || a.kind == Kind::Absent;
  bool bn = b.kind == Kind::Null || b.kind == Kind::Absent;
  if (an || bn) return an && bn;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::Bool:
      return a.b == b.b;
    case Kind::Int:
    case Kind::DateTime:
      return a.i == b.i;
    case Kind::Str:
      return a.str() == b.str();
    case Kind::Jwt:
      return a.jwt->get() == b.jwt->get();
    default:
      return true;
  }
}

class Evaluator {
 public:
  explicit Evaluator(const RequestContext& ctx) : ctx_(ctx) {}

  Result<Val> eval(const Node& n) const {
    switch (n.op) {
      case Op::Literal:
        switch (n.type) {
          case Type::Bool:
            return Val::boolean(n.flag);
          case Type::Int:
            return Val::integer(n.number);
          case Type::String:
            return Val::borrowed(n.text);
          default:
            return Val::null();
        }
      case Op::Now:
        return Val::integer(ctx_.clock().now_unix(), Kind::DateTime);
      case Op::RequestField:
        return request_field(n);
      case Op::HeaderGet:
      case Op::QueryGet: {
        GH_TRY(Val name, name_arg(n));
        auto v = n.op == Op::HeaderGet ? ctx_.header(name.str()) : ctx_.query_parameter(name.str());
        if (v) return owned(std::move(*v));
        return default_arg(n, 1);
      }
      case Op::HeaderHas:
      case Op::QueryHas: {
        GH_TRY(Val name, name_arg(n));
        auto v = n.op == Op::HeaderHas ? ctx_.header(name.str()) : ctx_.query_parameter(name.str());
        return Val::boolean(v.has_value());
      }
      case Op::ParamIndex:
      case Op::ParamGet:
      case Op::ParamHas: {
        GH_TRY(Val name, name_arg(n));
        for (const auto& [k, v] : ctx_.request.matched_parameters) {
          if (!core::iequals(k, name.str())) continue;
          if (n.op == Op::ParamHas) return Val::boolean(true);
          return Val::borrowed(v);
        }
        if (n.op == Op::ParamHas) return Val::boolean(false);
        if (n.op == Op::ParamGet) return default_arg(n, 1);
        return error(n, "matched parameter" + literal_name(n) + " not found");
      }
      case Op::EntityRef:
        return present(n.entity) ? present_val() : Val::null();
      case Op::EntityMember:
        if (!present(n.entity)) {
          if (n.conditional) return Val::absent();
          return error(n, "object reference not set: " + std::string(entity_path(n.entity)) +
                              " is null (use ?.)");
        }
        return entity_field(n);
      case Op::VarIndex: {
        GH_TRY(Val name, name_arg(n));
        const Value* v = ctx_.variable(name.str());
        if (!v) return error(n, "variable" + literal_name(n) + " is not set");
        return from_value(*v);
      }
      case Op::VarGet: {
        GH_TRY(Val name, name_arg(n));
        const Value* v = ctx_.variable(name.str());
        if (!v) {
          if (n.kids.size() > 1) return eval(*n.kids[1]);
          switch (n.cast) {  // default(T)
            case Type::Bool:
              return Val::boolean(false);
            case Type::Int:
              return Val::integer(0);
            default:
              return Val::null();
          }
        }
        Val r = from_value(*v);
        if (n.cast == Type::Object) return r;
        return checked_cast(n, std::move(r), n.cast, "variable" + literal_name(n));
      }
      case Op::VarHas: {
        GH_TRY(Val name, name_arg(n));
        return Val::boolean(ctx_.variable(name.str()) != nullptr);
      }
      case Op::Cast: {
        GH_TRY(Val v, eval(*n.kids[0]));
        return checked_cast(n, std::move(v), n.cast, "the value");
      }
      case Op::JwtMember:
        return jwt_member(n);
      case Op::JwtClaimGet:
      case Op::JwtClaimHas:
      case Op::JwtClaimContains:
        return jwt_claims(n);
      case Op::StringMethod:
        return string_method(n);
      case Op::AnyToString: {
        GH_TRY(Val v, eval(*n.kids[0]));
        if (v.kind == Kind::Absent) return v;
        if (v.kind == Kind::Null) {
          if (n.conditional) return Val::absent();
          return error(n, "object reference not set: ToString() called on null (use ?.)");
        }
        if (v.kind == Kind::Str) return v;
        std::string s;
        append_display(s, v);
        return owned(std::move(s));
      }
      case Op::IsNullOrEmpty:
      case Op::IsNullOrWhiteSpace: {
        GH_TRY(Val v, eval(*n.kids[0]));
        if (v.kind != Kind::Str) return Val::boolean(true);
        std::string_view s = v.str();
        if (n.op == Op::IsNullOrEmpty) return Val::boolean(s.empty());
        for (char c : s)
          if (!ascii_space(c)) return Val::boolean(false);
        return Val::boolean(true);
      }
      case Op::StaticEquals: {
        GH_TRY(Val a, eval(*n.kids[0]));
        GH_TRY(Val b, eval(*n.kids[1]));
        if (a.kind != Kind::Str || b.kind != Kind::Str)
          return Val::boolean(a.kind != Kind::Str && b.kind != Kind::Str);
        return Val::boolean(equal_text(a.str(), b.str(), n.ignore_case));
      }
      case Op::Not: {
        GH_TRY(Val v, eval(*n.kids[0]));
        GH_TRY_STATUS(need(n, v, Kind::Bool));
        return Val::boolean(!v.b);
      }
      case Op::Negate: {
        GH_TRY(Val v, eval(*n.kids[0]));
        GH_TRY_STATUS(need(n, v, Kind::Int));
        return Val::integer(static_cast<int64_t>(0u - static_cast<uint64_t>(v.i)));
      }
      case Op::Equal:
      case Op::NotEqual: {
        GH_TRY(Val a, eval(*n.kids[0]));
        GH_TRY(Val b, eval(*n.kids[1]));
        bool eq = equal_vals(a, b);
        return Val::boolean(n.op == Op::Equal ? eq : !eq);
      }
      case Op::Less:
      case Op::LessEqual:
      case Op::Greater:
      case Op::GreaterEqual: {
        GH_TRY(Val a, eval(*n.kids[0]));
        GH_TRY(Val b, eval(*n.kids[1]));
        if (a.kind != b.kind || (a.kind != Kind::Int && a.kind != Kind::DateTime))
          return error(n, "comparison of " + a_kind(a.kind) + " with " + a_kind(b.kind));
        bool r = n.op == Op::Less        ? a.i < b.i
                 : n.op == Op::LessEqual ? a.i <= b.i
                 : n.op == Op::Greater   ? a.i > b.i
                                         : a.i >= b.i;
        return Val::boolean(r);
      }
      case Op::And:
      case Op::Or: {
        GH_TRY(Val a, eval(*n.kids[0]));
        GH_TRY_STATUS(need(*n.kids[0], a, Kind::Bool));
        if (n.op == Op::And ? !a.b : a.b) return a;  // short-circuit
        GH_TRY(Val b, eval(*n.kids[1]));
        GH_TRY_STATUS(need(*n.kids[1], b, Kind::Bool));
        return b;
      }
      case Op::Concat: {
        GH_TRY(Val a, eval(*n.kids[0]));
        GH_TRY(Val b, eval(*n.kids[1]));
        std::string s;
        append_display(s, a);
        append_display(s, b);
        return owned(std::move(s));
      }
      case Op::Add:
      case Op::Subtract: {
        GH_TRY(Val a, eval(*n.kids[0]));
        GH_TRY(Val b, eval(*n.kids[1]));
        GH_TRY_STATUS(need(*n.kids[0], a, Kind::Int));
        GH_TRY_STATUS(need(*n.kids[1], b, Kind::Int));
        // Wraps on overflow like C#'s unchecked arithmetic (no signed-overflow UB).
        uint64_t x = static_cast<uint64_t>(a.i);
        uint64_t y = static_cast<uint64_t>(b.i);
        return Val::integer(static_cast<int64_t>(n.op == Op::Add ? x + y : x - y));
      }
      case Op::Coalesce: {
        GH_TRY(Val a, eval(*n.kids[0]));
        if (a.kind != Kind::Null && a.kind != Kind::Absent) return a;
        return eval(*n.kids[1]);
      }
      case Op::Conditional: {
        GH_TRY(Val c, eval(*n.kids[0]));
        GH_TRY_STATUS(need(*n.kids[0], c, Kind::Bool));
        return eval(*n.kids[c.b ? 1 : 2]);
      }
      case Op::ChainEnd: {
        GH_TRY(Val v, eval(*n.kids[0]));
        if (v.kind == Kind::Absent) return Val::null();
        return v;
      }
    }
    return error(n, "unknown node");
  }

 private:
  core::Unexpected error(const Node& n, std::string message) const {
    return unexpected(ErrorKind::InvalidArgument,
                      "column " + std::to_string(n.column) + ": " + std::move(message));
  }

  Status need(const Node& n, const Val& v, Kind k) const {
    if (v.kind == k) return {};
    return error(n, "expected " + a_kind(k) + " but the value is " + a_kind(v.kind));
  }

  static Val present_val() {
    Val v;
    v.kind = Kind::Present;
    return v;
  }

  /// ` 'name'` when the name argument is a literal (the policy's own text), else "".
  static std::string literal_name(const Node& n) {
    if (n.kids.empty() || n.kids[0]->op != Op::Literal) return {};
    return " '" + n.kids[0]->text + "'";
  }

  Result<Val> name_arg(const Node& n) const {
    GH_TRY(Val v, eval(*n.kids[0]));
    if (v.kind != Kind::Str) return error(*n.kids[0], "the name is null");
    return v;
  }

  Result<Val> default_arg(const Node& n, size_t index) const {
    if (n.kids.size() > index) return eval(*n.kids[index]);
    return Val::null();
  }

  Result<Val> checked_cast(const Node& n, Val v, Type to, const std::string& what) const {
    Kind want;
    switch (to) {
      case Type::String:
        want = Kind::Str;
        break;
      case Type::Bool:
        want = Kind::Bool;
        break;
      case Type::Int:
        want = Kind::Int;
        break;
      case Type::Jwt:
        want = Kind::Jwt;
        break;
      default:
        return v;
    }
    if (v.kind == want) return v;
    if (v.kind == Kind::Null && (want == Kind::Str || want == Kind::Jwt)) return v;
    return error(n, "invalid cast: " + what + " is " + a_kind(v.kind) + ", not " + a_type(to));
  }

  bool present(Entity e) const {
    switch (e) {
      case Entity::Certificate:
        return ctx_.client_certificate.has_value();
      case Entity::Subscription:
        return ctx_.subscription != nullptr;
      case Entity::Product:
        return ctx_.product != nullptr;
      case Entity::Api:
        return ctx_.api != nullptr;
      case Entity::Operation:
        return ctx_.operation != nullptr;
      case Entity::Response:
        return ctx_.response.has_value() || ctx_.backend_response.has_value();
      case Entity::LastError:
        return ctx_.last_error.has_value();
      default:
        return true;
    }
  }

  static std::string_view entity_path(Entity e) {
    switch (e) {
      case Entity::Certificate:
        return "context.Request.Certificate";
      case Entity::Subscription:
        return "context.Subscription";
      case Entity::Product:
        return "context.Product";
      case Entity::Api:
        return "context.Api";
      case Entity::Operation:
        return "context.Operation";
      case Entity::Response:
        return "context.Response";
      case Entity::LastError:
        return "context.LastError";
      default:
        return "context";
    }
  }

  Result<Val> request_field(const Node& n) const {
    const RequestView& r = ctx_.request;
    switch (n.member) {
      case Member::Method:
        return Val::borrowed(r.method);
      case Member::IpAddress:
        return Val::borrowed(r.client_ip);
      case Member::RequestId:
        return Val::borrowed(r.request_id);
      case Member::UrlHost:
        return Val::borrowed(host_only(r.host));
      case Member::UrlPath:
        return Val::borrowed(r.path);
      case Member::UrlPort:
        return Val::integer(port_of(r));
      case Member::UrlScheme:
        return Val::borrowed(r.scheme);
      case Member::UrlQueryString:
        if (r.query.empty()) return Val::borrowed({});
        return owned("?" + std::string(r.query));
      case Member::UrlToString: {
        std::string s;
        s.reserve(r.scheme.size() + r.host.size() + r.path.size() + r.query.size() + 5);
        s.append(r.scheme).append("://").append(r.host).append(r.path);
        if (!r.query.empty()) s.append("?").append(r.query);
        return owned(std::move(s));
      }
      default:
        return error(n, "unknown request member");
    }
  }

  /// Host without the port; an IPv6 literal keeps its brackets as .NET's Uri.Host does.
  static std::string_view host_only(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
      size_t close = host.find(']');
      return close == std::string_view::npos ? host : host.substr(0, close + 1);
    }
    return host.substr(0, host.find(':'));
  }

  /// The port the client addressed: Host's, else the scheme's default, else the listener's.
  static int64_t port_of(const RequestView& r) {
    std::string_view host = r.host;
    size_t colon = std::string_view::npos;
    if (!host.empty() && host.front() == '[') {
      size_t close = host.find(']');
      if (close != std::string_view::npos && close + 1 < host.size() && host[close + 1] == ':')
        colon = close + 1;
    } else {
      colon = host.find(':');
    }
    if (colon != std::string_view::npos) {
      if (auto p = core::parse_uint(host.substr(colon + 1)); p && *p <= 65535)
        return static_cast<int64_t>(*p);
    }
    if (r.scheme == "https") return 443;
    if (r.scheme == "http") return 80;
    return r.port;
  }

  Result<Val> entity_field(const Node& n) const {
    switch (n.member) {
      case Member::CertThumbprint:
        return owned(ctx_.client_certificate->leaf.thumbprint_sha1());
      case Member::CertSubject:
        return owned(dotnet_name(ctx_.client_certificate->leaf.subject()));
      case Member::CertIssuer:
        return owned(dotnet_name(ctx_.client_certificate->leaf.issuer()));
      case Member::CertSerialNumber:
        return owned(ctx_.client_certificate->leaf.serial_hex());
      case Member::CertNotBefore:
        return Val::integer(ctx_.client_certificate->leaf.not_before(), Kind::DateTime);
      case Member::CertNotAfter:
        return Val::integer(ctx_.client_certificate->leaf.not_after(), Kind::DateTime);
      case Member::CertVerify:
      case Member::CertVerifyNoRevocation:
        // Gatehouse: whether the listener verified the chain against its client CA during the
        // handshake (no separate revocation check yet); a forwarded certificate is never verified
        // here.
        return Val::boolean(ctx_.client_certificate->handshake_verified);
      case Member::SubscriptionId:
        return Val::borrowed(ctx_.subscription->id);
      case Member::SubscriptionKey:
        return Val::borrowed(ctx_.subscription_key);
      case Member::SubscriptionName:
        return Val::borrowed(ctx_.subscription->name);
      case Member::ProductId:
        return Val::borrowed(ctx_.product->id);
      case Member::ProductName:
        return Val::borrowed(ctx_.product->name);
      case Member::ApiId:
        return Val::borrowed(ctx_.api->id);
      case Member::ApiName:
        return Val::borrowed(ctx_.api->name);
      case Member::ApiPath:
        return Val::borrowed(ctx_.api->path);
      case Member::ApiServiceUrl:
        return Val::borrowed(ctx_.api->service_url);
      case Member::OperationId:
        return Val::borrowed(ctx_.operation->id);
      case Member::OperationName:
        return Val::borrowed(ctx_.operation->name);
      case Member::OperationMethod:
        return Val::borrowed(ctx_.operation->method);
      case Member::OperationUrlTemplate:
        return Val::borrowed(ctx_.operation->url_template);
      case Member::ErrorSource:
        return Val::borrowed(ctx_.last_error->source);
      case Member::ErrorReason:
        return Val::borrowed(ctx_.last_error->reason);
      case Member::ErrorMessage:
        return Val::borrowed(ctx_.last_error->message);
      case Member::ErrorScope:
        return Val::borrowed(to_string(ctx_.last_error->scope));
      case Member::ErrorSection:
        return Val::borrowed(to_string(ctx_.last_error->section));
      case Member::ErrorPath:
        return Val::borrowed(ctx_.last_error->path);
      case Member::ErrorPolicyId:
        return Val::borrowed(ctx_.last_error->policy_id);
      case Member::ResponseStatusCode:
        return Val::integer(ctx_.response ? ctx_.response->status : ctx_.backend_response->status);
      default:
        return error(n, "unknown member");
    }
  }

  /// Evaluates a Jwt target; nullopt-like results: Absent (short-circuit) or an error.
  Result<Val> jwt_target(const Node& n) const {
    GH_TRY(Val j, eval(*n.kids[0]));
    if (j.kind == Kind::Absent) return j;
    if (j.kind == Kind::Null) {
      if (n.conditional) return Val::absent();
      return error(n, "object reference not set: the Jwt is null (use ?.)");
    }
    if (j.kind != Kind::Jwt) return error(n, "the value is not a Jwt");
    return j;
  }

  Result<Val> jwt_member(const Node& n) const {
    GH_TRY(Val j, jwt_target(n));
    if (j.kind == Kind::Absent) return j;
    const jose::VerifiedJwt& t = j.token();
    const boost::json::value* v = nullptr;
    switch (n.member) {
      case Member::JwtSubject:
        v = t.claims.if_contains("sub");
        break;
      case Member::JwtIssuer:
        v = t.claims.if_contains("iss");
        break;
      case Member::JwtId:
        v = t.claims.if_contains("jti");
        break;
      case Member::JwtAudiences:
        v = t.claims.if_contains("aud");
        break;
      case Member::JwtAlgorithm:
        v = t.header.if_contains("alg");
        break;
      case Member::JwtType:
        v = t.header.if_contains("typ");
        break;
      default:
        break;
    }
    if (!v || v->is_null()) return Val::null();
    return claim_val(*v, arena_);
  }

  Result<Val> jwt_claims(const Node& n) const {
    GH_TRY(Val j, jwt_target(n));
    if (j.kind == Kind::Absent) return j;
    GH_TRY(Val name, eval(*n.kids[1]));
    if (name.kind != Kind::Str) return error(*n.kids[1], "the claim name is null");
    const boost::json::value* v = j.token().claims.if_contains(name.str());
    if (n.op == Op::JwtClaimHas) return Val::boolean(v != nullptr);
    if (n.op == Op::JwtClaimGet) {
      if (!v) return default_arg(n, 2);
      return claim_val(*v, arena_);
    }
    // Claims["x"].Contains(v): element equality over the claim's values.
    if (!v) {
      std::string claim =
          n.kids[1]->op == Op::Literal ? " '" + n.kids[1]->text + "'" : std::string();
      return error(n, "claim" + claim + " not found");
    }
    GH_TRY(Val needle, eval(*n.kids[2]));
    if (needle.kind != Kind::Str) return Val::boolean(false);
    auto matches = [&needle](const boost::json::value& e) {
      if (e.is_string()) return std::string_view(e.get_string()) == needle.str();
      std::string s;
      append_claim(s, e);
      return s == needle.str();
    };
    if (v->is_array()) {
      for (const auto& e : v->get_array())
        if (matches(e)) return Val::boolean(true);
      return Val::boolean(false);
    }
    return Val::boolean(matches(*v));
  }

  Result<Val> string_method(const Node& n) const {
    GH_TRY(Val s, eval(*n.kids[0]));
    if (s.kind == Kind::Absent) return s;
    if (s.kind == Kind::Null) {
      if (n.conditional) return Val::absent();
      return error(n, "object reference not set: a string member of null (use ?.)");
    }
    GH_TRY_STATUS(need(n, s, Kind::Str));
    switch (n.member) {
      case Member::ToLower:
      case Member::ToUpper: {
        bool up = n.member == Member::ToUpper;
        std::string out(s.view);
        for (char& c : out) {
          if (up && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
          if (!up) c = lower(c);
        }
        return owned(std::move(out));
      }
      case Member::Trim: {
        std::string_view v = s.str();
        size_t b = 0;
        size_t e = v.size();
        while (b < e && ascii_space(v[b]))
          ++b;
        while (e > b && ascii_space(v[e - 1]))
          --e;
        s.view = v.substr(b, e - b);
        return s;
      }
      case Member::ToString:
        return s;
      case Member::Length:
        return Val::integer(static_cast<int64_t>(s.str().size()));
      case Member::AsJwt: {
        Jwt jwt = parse_jwt_unverified(s.str());
        if (!jwt) return Val::null();
        return Val::token(arena_.keep(std::move(jwt)));
      }
      case Member::StartsWith:
      case Member::EndsWith:
      case Member::Contains:
      case Member::Equals: {
        GH_TRY(Val arg, eval(*n.kids[1]));
        if (arg.kind != Kind::Str) {
          if (n.member == Member::Equals) return Val::boolean(false);
          return error(*n.kids[1], "the argument of a string method is null");
        }
        std::string_view a = s.str();
        std::string_view b = arg.str();
        switch (n.member) {
          case Member::StartsWith:
            return Val::boolean(starts_with(a, b, n.ignore_case));
          case Member::EndsWith:
            return Val::boolean(ends_with(a, b, n.ignore_case));
          case Member::Contains:
            return Val::boolean(contains(a, b, n.ignore_case));
          default:
            return Val::boolean(equal_text(a, b, n.ignore_case));
        }
      }
      default:
        return error(n, "unknown string member");
    }
  }

  Val owned(std::string s) const { return Val::borrowed(arena_.keep(std::move(s))); }

  const RequestContext& ctx_;
  mutable Arena arena_;  // eval() is const over the context; the arena is the evaluation's own
};

Value to_value(const Val& v) {
  switch (v.kind) {
    case Kind::Absent:
    case Kind::Null:
    case Kind::Present:
      return std::monostate{};
    case Kind::Bool:
      return v.b;
    case Kind::Int:
      return v.i;
    case Kind::Str:
      return std::string(v.str());
    case Kind::DateTime:
      return format_date(v.i);
    case Kind::Jwt:
      return *v.jwt;
  }
  return std::monostate{};
}

bool type_fits(Type actual, ValueType expected) {
  switch (expected) {
    case ValueType::Any:
    case ValueType::String:
      return true;
    case ValueType::Bool:
      return actual == Type::Bool;
    case ValueType::Int:
      return actual == Type::Int || actual == Type::Object || actual == Type::String;
  }
  return true;
}

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::Bool:
      return "a bool";
    case ValueType::Int:
      return "an int";
    case ValueType::String:
      return "a string";
    case ValueType::Any:
      return "a value";
  }
  return "a value";
}

}  // namespace

}  // namespace expr

// ------------------------------------------------------------------------------------------------

Result<Expression> Expression::compile(std::string_view source, ValueType expected) {
  using namespace expr;
  bool paren = source.starts_with("@(");
  bool block = source.starts_with("@{");
  if (!paren && !block) {
    return unexpected(ErrorKind::InvalidArgument,
                      "column 1: an expression starts with '@(' or '@{'");
  }
  if (source.size() > kMaxSourceBytes) {
    return unexpected(ErrorKind::InvalidArgument, "column " + std::to_string(kMaxSourceBytes + 1) +
                                                      ": expression longer than " +
                                                      std::to_string(kMaxSourceBytes) +
                                                      " characters");
  }
  Parser parser(source, Tokenizer(source).run(2));
  GH_TRY(NodePtr root, paren ? parser.parse_paren_form() : parser.parse_block_form());
  if (!type_fits(root->type, expected)) {
    return unexpected(ErrorKind::InvalidArgument, "column 1: the expression must be " +
                                                      std::string(value_type_name(expected)) +
                                                      ", but it is " + a_type(root->type));
  }
  Expression e;
  e.root_ = std::shared_ptr<const Node>(std::move(root));
  e.source_ = std::string(source);
  return e;
}

Result<Value> Expression::evaluate(const RequestContext& ctx) const {
  if (!root_) return unexpected(ErrorKind::InvalidArgument, "empty expression");
  expr::Evaluator ev(ctx);
  GH_TRY(expr::Val v, ev.eval(*root_));
  return expr::to_value(v);
}

std::string to_display_string(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return {};
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "True" : "False";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else {
          return x ? "Jwt" : "";
        }
      },
      v);
}

namespace {

bool is_expression_text(std::string_view s) {
  return s.starts_with("@(") || s.starts_with("@{");
}

std::string_view trim_space(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && expr::ascii_space(s[b]))
    ++b;
  while (e > b && expr::ascii_space(s[e - 1]))
    --e;
  return s.substr(b, e - b);
}

std::optional<bool> parse_bool_literal(std::string_view s) {
  s = trim_space(s);
  if (core::iequals(s, "true")) return true;
  if (core::iequals(s, "false")) return false;
  return std::nullopt;
}

std::optional<int64_t> parse_int_literal(std::string_view s) {
  s = trim_space(s);
  int64_t v = 0;
  if (s.starts_with('+')) s.remove_prefix(1);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<TextValue> TextValue::compile(std::string_view raw, ValueType expected) {
  // APIM's rule: a value is an expression when it starts with '@(' or '@{'. Element text often
  // carries indentation around it, so surrounding whitespace is ignored for that test.
  std::string_view trimmed = trim_space(raw);
  if (is_expression_text(trimmed)) {
    GH_TRY(Expression e, Expression::compile(trimmed, expected));
    TextValue t;
    t.expr_ = std::make_shared<const Expression>(std::move(e));
    return t;
  }
  if (expected == ValueType::Bool && !parse_bool_literal(raw)) {
    return unexpected(
        ErrorKind::InvalidArgument,
        "expected true or false (or an expression), found '" + std::string(raw) + "'");
  }
  if (expected == ValueType::Int && !parse_int_literal(raw)) {
    return unexpected(ErrorKind::InvalidArgument,
                      "expected an integer (or an expression), found '" + std::string(raw) + "'");
  }
  return TextValue(std::string(raw));
}

Result<std::string> TextValue::evaluate(const RequestContext& ctx) const {
  if (!expr_) return literal_;
  GH_TRY(Value v, expr_->evaluate(ctx));
  if (auto* s = std::get_if<std::string>(&v)) return std::move(*s);
  return to_display_string(v);
}

Result<bool> TextValue::evaluate_bool(const RequestContext& ctx) const {
  if (!expr_) {
    if (auto b = parse_bool_literal(literal_)) return *b;
    return unexpected(ErrorKind::InvalidArgument, "'" + literal_ + "' is not true or false");
  }
  GH_TRY(Value v, expr_->evaluate(ctx));
  if (auto* b = std::get_if<bool>(&v)) return *b;
  return unexpected(ErrorKind::InvalidArgument, "the expression's value is not a bool");
}

Result<int64_t> TextValue::evaluate_int(const RequestContext& ctx) const {
  if (!expr_) {
    if (auto i = parse_int_literal(literal_)) return *i;
    return unexpected(ErrorKind::InvalidArgument, "'" + literal_ + "' is not an integer");
  }
  GH_TRY(Value v, expr_->evaluate(ctx));
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* s = std::get_if<std::string>(&v)) {
    if (auto i = parse_int_literal(*s)) return *i;
  }
  return unexpected(ErrorKind::InvalidArgument, "the expression's value is not an integer");
}

}  // namespace gh::policy
