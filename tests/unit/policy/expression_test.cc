#include "policy/expression.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/json/parse.hpp>

#include "core/encoding.h"
#include "support/test_pki.h"
#include "x509/certificate.h"

namespace gh::policy {
namespace {

using test::FixedClock;
using test::TestPki;

/// A request with a bit of everything, so each case only says what it reads.
class ExpressionTest : public ::testing::Test {
 protected:
  ExpressionTest() : clock_(TestPki::kDefaultNow), ctx_(clock_) {
    ctx_.request.method = "POST";
    ctx_.request.target = "/echo/items/42?a=1&b=x%20y";
    ctx_.request.path = "/echo/items/42";
    ctx_.request.query = "a=1&b=x%20y";
    ctx_.request.host = "api.example.com:8443";
    ctx_.request.scheme = "https";
    ctx_.request.port = 8080;
    ctx_.request.client_ip = "203.0.113.9";
    ctx_.request.request_id = "req-1";
    ctx_.request.headers = headers_;
    ctx_.request.matched_parameters = params_;
  }

  Result<Value> eval(std::string_view source, ValueType expected = ValueType::Any) {
    auto e = Expression::compile(source, expected);
    if (!e) return unexpected(e.error());
    return e->evaluate(ctx_);
  }
  std::string str(std::string_view source) {
    auto v = eval(source);
    EXPECT_TRUE(v) << source << ": " << v.error().message;
    if (!v) return "<error>";
    auto* s = std::get_if<std::string>(&*v);
    EXPECT_NE(s, nullptr) << source << " is not a string";
    return s ? *s : "<not a string>";
  }
  bool boolean(std::string_view source) {
    auto v = eval(source, ValueType::Bool);
    EXPECT_TRUE(v) << source << ": " << v.error().message;
    if (!v) return false;
    auto* b = std::get_if<bool>(&*v);
    EXPECT_NE(b, nullptr) << source << " is not a bool";
    return b && *b;
  }
  int64_t integer(std::string_view source) {
    auto v = eval(source);
    EXPECT_TRUE(v) << source << ": " << v.error().message;
    if (!v) return -999;
    auto* i = std::get_if<int64_t>(&*v);
    EXPECT_NE(i, nullptr) << source << " is not an int";
    return i ? *i : -999;
  }
  bool is_null(std::string_view source) {
    auto v = eval(source);
    EXPECT_TRUE(v) << source << ": " << v.error().message;
    return v && std::holds_alternative<std::monostate>(*v);
  }
  /// The compile error's message ("" when it compiled).
  std::string rejection(std::string_view source, ValueType expected = ValueType::Any) {
    auto e = Expression::compile(source, expected);
    if (e) return "";
    EXPECT_EQ(e.error().kind, ErrorKind::InvalidArgument);
    return e.error().message;
  }
  /// The evaluation error's message ("" when it evaluated).
  std::string failure(std::string_view source) {
    auto e = Expression::compile(source);
    EXPECT_TRUE(e) << source << ": " << e.error().message;
    if (!e) return "<did not compile>";
    auto v = e->evaluate(ctx_);
    if (v) return "";
    EXPECT_EQ(v.error().kind, ErrorKind::InvalidArgument);
    return v.error().message;
  }

  static Jwt make_jwt(std::string_view claims_json,
                      std::string_view header_json = R"({"alg":"RS256","typ":"JWT"})") {
    auto jwt = std::make_shared<jose::VerifiedJwt>();
    jwt->alg = jose::JwsAlg::RS256;
    jwt->header = boost::json::parse(header_json).as_object();
    jwt->claims = boost::json::parse(claims_json).as_object();
    return jwt;
  }
  static std::string compact(std::string_view header_json, std::string_view claims_json) {
    return core::base64url_encode(header_json) + "." + core::base64url_encode(claims_json) + "." +
           core::base64url_encode(std::string_view("signature"));
  }

  std::array<HeaderField, 4> headers_{
      {{"Authorization", "Bearer abc"}, {"X-Multi", "one"}, {"x-multi", "two"}, {"X-Empty", ""}}};
  std::array<std::pair<std::string_view, std::string_view>, 1> params_{{{"id", "42"}}};
  FixedClock clock_;
  RequestContext ctx_;
};

// -- literals and operators --

TEST_F(ExpressionTest, Literals) {
  EXPECT_EQ(str(R"(@("text"))"), "text");
  EXPECT_EQ(str(R"(@("a\"b\\c\n\u00e9"))"), "a\"b\\c\n\xc3\xa9");
  EXPECT_EQ(str(R"(@(@"C:\path ""q"""))"), "C:\\path \"q\"");
  EXPECT_EQ(str("@('c')"), "c");
  EXPECT_EQ(integer("@(123)"), 123);
  EXPECT_EQ(integer("@(-5)"), -5);
  EXPECT_EQ(integer("@(7L)"), 7);
  EXPECT_TRUE(boolean("@(true)"));
  EXPECT_FALSE(boolean("@(false)"));
  EXPECT_TRUE(is_null("@(null)"));
  EXPECT_EQ(str("@(string.Empty)"), "");
}

TEST_F(ExpressionTest, BooleanOperatorsAndPrecedence) {
  EXPECT_TRUE(boolean("@(!false)"));
  EXPECT_TRUE(boolean("@(true || false && false)"));  // && binds tighter
  EXPECT_FALSE(boolean("@((true || false) && false)"));
  EXPECT_TRUE(boolean("@(1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3)"));
  EXPECT_FALSE(boolean("@(2 < 1)"));
  EXPECT_TRUE(boolean(R"(@("a" == "a" && "a" != "b"))"));
  EXPECT_FALSE(boolean(R"(@("a" == "A"))"));  // ordinal
  EXPECT_TRUE(boolean("@(1 + 2 == 3)"));
  EXPECT_EQ(integer("@(10 - 4 - 3)"), 3);  // left-associative
  EXPECT_EQ(integer("@(true ? 1 : 2)"), 1);
  EXPECT_EQ(str(R"(@(false ? "x" : true ? "y" : "z"))"), "y");
}

TEST_F(ExpressionTest, ShortCircuitSkipsFailingRightSide) {
  // The right sides would fail (missing variable); && and || must not evaluate them.
  EXPECT_FALSE(boolean(R"(@(false && (bool)context.Variables["missing"]))"));
  EXPECT_TRUE(boolean(R"(@(true || (bool)context.Variables["missing"]))"));
  EXPECT_NE(failure(R"(@(true && (bool)context.Variables["missing"]))"), "");
}

TEST_F(ExpressionTest, ConcatenationConvertsLikeCSharp) {
  EXPECT_EQ(str(R"(@("n=" + 5 + ", b=" + true + ", null=" + null))"), "n=5, b=True, null=");
  EXPECT_EQ(str(R"(@(1 + "x"))"), "1x");
  EXPECT_EQ(str(R"(@("ip:" + context.Request.IpAddress))"), "ip:203.0.113.9");
}

TEST_F(ExpressionTest, CoalesceAndNullPropagation) {
  EXPECT_EQ(str(R"(@(context.Subscription?.Key ?? "anonymous"))"), "anonymous");
  EXPECT_TRUE(is_null("@(context.Subscription?.Id)"));
  EXPECT_TRUE(is_null(R"(@(context.Request.Headers.GetValueOrDefault("Nope")?.ToLower().Trim()))"));
  EXPECT_EQ(str(R"(@(context.Request.Headers.GetValueOrDefault("Nope") ?? "d"))"), "d");
  EXPECT_EQ(str(R"(@(null ?? null ?? "third"))"), "third");
  EXPECT_EQ(str(R"(@(context.Request.Headers.GetValueOrDefault("X-Multi")?.ToUpper()))"),
            "ONE,TWO");
  EXPECT_TRUE(boolean("@(context.Subscription == null)"));
  EXPECT_FALSE(boolean("@(null != context.Subscription)"));
  EXPECT_EQ(integer(R"(@(context.Request.Headers.GetValueOrDefault("Nope")?.Length ?? 0))"), 0)
      << "int? ?? int";
}

// -- context members --

TEST_F(ExpressionTest, RequestMembers) {
  EXPECT_EQ(str("@(context.Request.Method)"), "POST");
  EXPECT_EQ(str("@(context.Request.IpAddress)"), "203.0.113.9");
  EXPECT_EQ(str("@(context.RequestId)"), "req-1");
  EXPECT_EQ(str("@(context.Request.Url.Host)"), "api.example.com");
  EXPECT_EQ(str("@(context.Request.Url.Path)"), "/echo/items/42");
  EXPECT_EQ(integer("@(context.Request.Url.Port)"), 8443);
  EXPECT_EQ(str("@(context.Request.Url.Scheme)"), "https");
  EXPECT_EQ(str("@(context.Request.Url.QueryString)"), "?a=1&b=x%20y");
  EXPECT_EQ(str("@(context.Request.OriginalUrl.Path)"), "/echo/items/42");
  EXPECT_EQ(str("@(context.Request.Url.ToString())"),
            "https://api.example.com:8443/echo/items/42?a=1&b=x%20y");
  EXPECT_EQ(str(R"(@(context.Request.Url.Query.GetValueOrDefault("b")))"), "x y");
  EXPECT_EQ(str(R"(@(context.Request.Url.Query.GetValueOrDefault("c", "none")))"), "none");
  EXPECT_TRUE(boolean(R"(@(context.Request.Url.Query.ContainsKey("a")))"));
  EXPECT_FALSE(boolean(R"(@(context.Request.Url.Query.ContainsKey("A")))"));
}

TEST_F(ExpressionTest, UrlPortDefaultsToTheScheme) {
  ctx_.request.host = "api.example.com";
  EXPECT_EQ(integer("@(context.Request.Url.Port)"), 443);
  ctx_.request.scheme = "http";
  EXPECT_EQ(integer("@(context.Request.Url.Port)"), 80);
  ctx_.request.host = "[2001:db8::1]:9000";
  EXPECT_EQ(integer("@(context.Request.Url.Port)"), 9000);
  EXPECT_EQ(str("@(context.Request.Url.Host)"), "[2001:db8::1]");
  ctx_.request.query = "";
  EXPECT_EQ(str("@(context.Request.Url.QueryString)"), "");
}

TEST_F(ExpressionTest, Headers) {
  EXPECT_EQ(str(R"(@(context.Request.Headers.GetValueOrDefault("authorization")))"), "Bearer abc");
  EXPECT_EQ(str(R"(@(context.Request.Headers.GetValueOrDefault("X-MULTI", "")))"), "one,two");
  EXPECT_EQ(str(R"(@(context.Request.Headers.GetValueOrDefault("X-Empty", "d")))"), "");
  EXPECT_TRUE(is_null(R"(@(context.Request.Headers.GetValueOrDefault("Missing")))"));
  EXPECT_TRUE(boolean(R"(@(context.Request.Headers.ContainsKey("x-empty")))"));
  EXPECT_FALSE(boolean(R"(@(context.Request.Headers.ContainsKey("Missing")))"));
  // Earlier set-header changes are visible.
  ctx_.request_header_changes.push_back({"Missing", {"now"}, FieldChange::Action::Override});
  EXPECT_EQ(str(R"(@(context.Request.Headers.GetValueOrDefault("Missing")))"), "now");
  // The name can itself be computed.
  EXPECT_EQ(str(R"(@(context.Request.Headers.GetValueOrDefault("X-" + "Multi")))"), "one,two");
}

TEST_F(ExpressionTest, MatchedParameters) {
  EXPECT_EQ(str(R"(@(context.Request.MatchedParameters["id"]))"), "42");
  EXPECT_EQ(str(R"(@(context.Request.MatchedParameters.GetValueOrDefault("x", "d")))"), "d");
  EXPECT_TRUE(boolean(R"(@(context.Request.MatchedParameters.ContainsKey("id")))"));
  EXPECT_NE(failure(R"(@(context.Request.MatchedParameters["x"]))").find("'x' not found"),
            std::string::npos);
}

TEST_F(ExpressionTest, SubscriptionProductApiOperation) {
  ProductInfo product{"starter", "Starter", true};
  ApiInfo api;
  api.id = "echo";
  api.name = "Echo API";
  api.path = "/echo";
  api.service_url = "http://backend:8080";
  OperationInfo op{"get-item", "Get item", "GET", "/items/{id}"};
  SubscriptionInfo sub;
  sub.id = "sub-1";
  sub.name = "Contoso";
  sub.product = &product;
  ctx_.subscription = &sub;
  ctx_.subscription_key = "presented-key";
  ctx_.product = &product;
  ctx_.api = &api;
  ctx_.operation = &op;
  EXPECT_EQ(str("@(context.Subscription.Id)"), "sub-1");
  EXPECT_EQ(str("@(context.Subscription.Name)"), "Contoso");
  EXPECT_EQ(str(R"(@(context.Subscription?.Key ?? "anonymous"))"), "presented-key");
  EXPECT_TRUE(boolean("@(context.Subscription != null)"));
  EXPECT_EQ(str("@(context.Product.Id + '/' + context.Product.Name)"), "starter/Starter");
  EXPECT_EQ(str("@(context.Api.Id)"), "echo");
  EXPECT_EQ(str("@(context.Api.Name)"), "Echo API");
  EXPECT_EQ(str("@(context.Api.Path)"), "/echo");
  EXPECT_EQ(str("@(context.Api.ServiceUrl)"), "http://backend:8080");
  EXPECT_EQ(str("@(context.Operation.Id)"), "get-item");
  EXPECT_EQ(str("@(context.Operation.Name)"), "Get item");
  EXPECT_EQ(str("@(context.Operation.Method)"), "GET");
  EXPECT_EQ(str("@(context.Operation.UrlTemplate)"), "/items/{id}");
}

TEST_F(ExpressionTest, NullObjectMemberFailsWithoutConditionalAccess) {
  std::string m = failure("@(context.Subscription.Id)");
  EXPECT_NE(m.find("context.Subscription is null"), std::string::npos) << m;
  EXPECT_TRUE(m.starts_with("column ")) << m;
  EXPECT_NE(failure("@(context.Product.Name)"), "");
  EXPECT_NE(failure("@(context.LastError.Reason)"), "");
  EXPECT_NE(failure("@(context.Response.StatusCode)"), "");
  EXPECT_NE(failure("@(context.Request.Certificate.Thumbprint)"), "");
  EXPECT_NE(failure(R"(@(context.Request.Headers.GetValueOrDefault("Missing").ToLower()))"), "");
}

TEST_F(ExpressionTest, LastErrorAndResponse) {
  ctx_.scope = Scope::Api;
  ctx_.section = Section::Inbound;
  ctx_.path = "check-header[1]";
  ctx_.fail("check-header", "HeaderNotFound", "Header X was not found", 401, {}, "p7");
  EXPECT_EQ(str("@(context.LastError.Source)"), "check-header");
  EXPECT_EQ(str("@(context.LastError.Reason)"), "HeaderNotFound");
  EXPECT_EQ(str("@(context.LastError.Message)"), "Header X was not found");
  EXPECT_EQ(str("@(context.LastError.Scope)"), "api");
  EXPECT_EQ(str("@(context.LastError.Section)"), "inbound");
  EXPECT_EQ(str("@(context.LastError.Path)"), "check-header[1]");
  EXPECT_EQ(str("@(context.LastError.PolicyId)"), "p7");
  EXPECT_EQ(integer("@(context.Response.StatusCode)"), 401);
  ctx_.response.reset();
  EXPECT_TRUE(is_null("@(context.Response?.StatusCode)"));
  ctx_.backend_response = BackendResponseView{503, {}};
  EXPECT_EQ(integer("@(context.Response.StatusCode)"), 503);
}

TEST_F(ExpressionTest, Variables) {
  ctx_.set_variable("s", std::string("text"));
  ctx_.set_variable("b", true);
  ctx_.set_variable("i", int64_t{41});
  ctx_.set_variable("n", std::monostate{});
  EXPECT_EQ(str(R"(@((string)context.Variables["s"]))"), "text");
  EXPECT_TRUE(boolean(R"(@((bool)context.Variables["b"]))"));
  EXPECT_EQ(integer(R"(@((int)context.Variables["i"] + 1))"), 42);
  EXPECT_TRUE(boolean(R"(@(context.Variables["s"] == "text"))"));
  EXPECT_EQ(str(R"(@(context.Variables["i"].ToString()))"), "41");
  EXPECT_EQ(str(R"(@(context.Variables.GetValueOrDefault<string>("s")))"), "text");
  EXPECT_TRUE(boolean(R"(@(context.Variables.GetValueOrDefault<bool>("b")))"));
  EXPECT_EQ(integer(R"(@(context.Variables.GetValueOrDefault<int>("i", 0)))"), 41);
  EXPECT_EQ(integer(R"(@(context.Variables.GetValueOrDefault<long>("none", 7)))"), 7);
  EXPECT_FALSE(boolean(R"(@(context.Variables.GetValueOrDefault<bool>("none")))"));
  EXPECT_EQ(integer(R"(@(context.Variables.GetValueOrDefault<int>("none")))"), 0);
  EXPECT_TRUE(is_null(R"(@(context.Variables.GetValueOrDefault<string>("none")))"));
  EXPECT_EQ(str(R"(@(context.Variables.GetValueOrDefault("none", "dflt")))"), "dflt");
  EXPECT_EQ(str(R"(@(context.Variables.GetValueOrDefault("s", "dflt")))"), "text");
  EXPECT_TRUE(is_null(R"(@(context.Variables.GetValueOrDefault("none")))"));
  EXPECT_TRUE(boolean(R"(@(context.Variables.ContainsKey("n")))"));
  EXPECT_FALSE(boolean(R"(@(context.Variables.ContainsKey("none")))"));
  EXPECT_TRUE(is_null(R"(@((string)context.Variables["n"]))"));
}

TEST_F(ExpressionTest, VariableTypeMismatchFailsEvaluation) {
  ctx_.set_variable("s", std::string("text"));
  ctx_.set_variable("b", true);
  std::string m = failure(R"(@(context.Variables.GetValueOrDefault<bool>("s")))");
  EXPECT_NE(m.find("invalid cast"), std::string::npos) << m;
  EXPECT_NE(m.find("'s'"), std::string::npos) << m;
  EXPECT_NE(failure(R"(@(context.Variables.GetValueOrDefault<int>("b", 0)))"), "");
  EXPECT_NE(failure(R"(@(context.Variables.GetValueOrDefault<Jwt>("s")))"), "");
  // The default fixes T as in C#: a bool variable read with a string default is a mismatch.
  EXPECT_NE(failure(R"(@(context.Variables.GetValueOrDefault("b", "x")))"), "");
  EXPECT_NE(failure(R"(@((int)context.Variables["s"]))"), "");
  EXPECT_NE(failure(R"(@((bool)context.Variables["none"]))").find("'none' is not set"),
            std::string::npos);
  ctx_.set_variable("n", std::monostate{});
  EXPECT_NE(failure(R"(@((bool)context.Variables["n"]))"), "");
}

TEST_F(ExpressionTest, StringMethods) {
  EXPECT_EQ(str(R"(@("MiXeD".ToLower()))"), "mixed");
  EXPECT_EQ(str(R"(@("MiXeD".ToUpperInvariant()))"), "MIXED");
  EXPECT_EQ(str(R"(@("  pad \t".Trim()))"), "pad");
  EXPECT_EQ(str(R"(@(("  a" + "b  ").Trim().ToUpper()))"), "AB");
  EXPECT_EQ(integer(R"(@("four".Length))"), 4);
  EXPECT_TRUE(boolean(R"(@("Bearer x".StartsWith("Bearer ")))"));
  EXPECT_FALSE(boolean(R"(@("Bearer x".StartsWith("bearer ")))"));
  EXPECT_TRUE(
      boolean(R"(@("Bearer x".StartsWith("bearer ", StringComparison.OrdinalIgnoreCase)))"));
  EXPECT_TRUE(boolean(R"(@("file.json".EndsWith(".json")))"));
  EXPECT_TRUE(boolean(R"(@("a,b,c".Contains(",b,")))"));
  EXPECT_TRUE(boolean(R"(@("abc".Equals("abc")))"));
  EXPECT_FALSE(boolean(R"(@("abc".Equals(null)))"));
  EXPECT_TRUE(boolean(R"(@("ABC".Equals("abc", StringComparison.OrdinalIgnoreCase)))"));
  EXPECT_TRUE(
      boolean(R"(@(string.Equals("x", "X", StringComparison.InvariantCultureIgnoreCase)))"));
  EXPECT_TRUE(
      boolean(R"(@(string.IsNullOrEmpty(context.Request.Headers.GetValueOrDefault("Missing"))))"));
  EXPECT_TRUE(boolean(R"(@(String.IsNullOrEmpty("")))"));
  EXPECT_FALSE(boolean(R"(@(string.IsNullOrEmpty(" ")))"));
  EXPECT_TRUE(boolean(R"(@(string.IsNullOrWhiteSpace(" \t")))"));
  EXPECT_EQ(str("@(true.ToString())"), "True");
  EXPECT_EQ(str("@((5).ToString())"), "5");
  EXPECT_NE(failure(R"(@("abc".Contains((string)null)))"), "");
}

TEST_F(ExpressionTest, BlockWithReturn) {
  EXPECT_EQ(str(R"(@{ return context.Request.Method.ToLower(); })"), "post");
  EXPECT_EQ(str("@{\n  return \"multi\" +\n  \"line\";\n}"), "multiline");
}

// -- JWTs --

TEST_F(ExpressionTest, JwtFromVariable) {
  ctx_.set_variable("jwt", make_jwt(R"({"sub":"user-1","iss":"https://issuer","jti":"id-9",
      "aud":["api://a","api://b"],"roles":["reader","writer"],"azpacr":"2","n":5,"ok":true})"));
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Subject))"), "user-1");
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Issuer))"), "https://issuer");
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Id))"), "id-9");
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Audiences))"), "api://a,api://b");
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Algorithm))"), "RS256");
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Type))"), "JWT");
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("roles")))"),
            "reader,writer");
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("azpacr", "0")))"),
            "2");
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("n")))"), "5");
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("ok")))"), "true");
  EXPECT_EQ(str(R"(@(((Jwt)context.Variables["jwt"]).Claims.GetValueOrDefault("none", "d")))"),
            "d");
  EXPECT_TRUE(boolean(R"(@(((Jwt)context.Variables["jwt"]).Claims["roles"].Contains("writer")))"));
  EXPECT_FALSE(boolean(R"(@(((Jwt)context.Variables["jwt"]).Claims["roles"].Contains("write")))"));
  EXPECT_TRUE(boolean(R"(@(((Jwt)context.Variables["jwt"]).Claims["azpacr"].Contains("2")))"));
  EXPECT_TRUE(boolean(R"(@(((Jwt)context.Variables["jwt"]).Claims.ContainsKey("roles")))"));
  EXPECT_NE(failure(R"(@(((Jwt)context.Variables["jwt"]).Claims["none"].Contains("x")))"), "");
  EXPECT_EQ(str(R"(@(context.Variables.GetValueOrDefault<Jwt>("jwt")?.Subject))"), "user-1");
  EXPECT_TRUE(is_null(R"(@(context.Variables.GetValueOrDefault<Jwt>("absent")?.Subject))"));
  EXPECT_NE(failure(R"(@(context.Variables.GetValueOrDefault<Jwt>("absent").Subject))"), "");
  // A JWT variable's display value is C#'s type name.
  auto v = eval(R"(@(context.Variables["jwt"]))");
  ASSERT_TRUE(v);
  EXPECT_EQ(to_display_string(*v), "Jwt");
  EXPECT_NE(std::get_if<Jwt>(&*v), nullptr);
}

TEST_F(ExpressionTest, AsJwtDecodesWithoutVerifying) {
  std::string token =
      compact(R"({"alg":"ES256","typ":"at+jwt"})", R"({"sub":"s1","iss":"i1","roles":"admin"})");
  std::string bearer = "Bearer " + token;
  headers_[0].value = bearer;
  EXPECT_EQ(
      str(R"(@(context.Request.Headers.GetValueOrDefault("Authorization","").AsJwt()?.Subject))"),
      "s1");
  EXPECT_EQ(
      str(R"(@(context.Request.Headers.GetValueOrDefault("Authorization").AsJwt().Algorithm))"),
      "ES256");
  headers_[0].value = token;
  EXPECT_EQ(
      str(R"(@(context.Request.Headers.GetValueOrDefault("Authorization").AsJwt()?.Claims.GetValueOrDefault("roles", "")))"),
      "admin");
  headers_[0].value = "Bearer not-a-jwt";
  EXPECT_TRUE(is_null(
      R"(@(context.Request.Headers.GetValueOrDefault("Authorization","").AsJwt()?.Subject))"));
  EXPECT_TRUE(boolean(
      R"(@(context.Request.Headers.GetValueOrDefault("Authorization","").AsJwt() == null))"));
}

// -- certificates and time --

TEST_F(ExpressionTest, ClientCertificate) {
  TestPki pki;
  EXPECT_TRUE(boolean("@(context.Request.Certificate == null)"));
  EXPECT_TRUE(is_null("@(context.Request.Certificate?.Thumbprint)"));
  EXPECT_TRUE(is_null("@(context.Request.Certificate?.SubjectName.Name)"));

  x509::Certificate leaf(crypto::share(pki.client().cert.get()));
  ctx_.client_certificate = ClientCertificate{leaf, {}, ClientCertificate::Source::Handshake, true};
  EXPECT_TRUE(boolean("@(context.Request.Certificate != null)"));
  EXPECT_EQ(str("@(context.Request.Certificate.Thumbprint)"), leaf.thumbprint_sha1());
  EXPECT_EQ(str("@(context.Request.Certificate.SerialNumber)"), leaf.serial_hex());
  std::string subject = str("@(context.Request.Certificate.Subject)");
  EXPECT_TRUE(subject.starts_with("CN=client.test")) << subject;
  EXPECT_EQ(str("@(context.Request.Certificate.SubjectName.Name)"), subject);
  std::string issuer = str("@(context.Request.Certificate.Issuer)");
  EXPECT_NE(issuer.find("CN=Gatehouse Test Issuing CA, "), std::string::npos) << issuer;
  EXPECT_TRUE(boolean("@(context.Request.Certificate.Verify())"));
  EXPECT_TRUE(boolean("@(context.Request.Certificate.VerifyNoRevocation())"));
  EXPECT_TRUE(boolean("@(context.Request.Certificate.NotBefore < DateTime.UtcNow)"));
  EXPECT_TRUE(boolean("@(context.Request.Certificate.NotAfter > DateTime.Now)"));
  EXPECT_EQ(str("@(context.Request.Certificate.NotAfter.ToString())"),
            jose::format_numeric_date(static_cast<double>(leaf.not_after())));
  // The reference's idiom.
  std::string idiom =
      "@(context.Request.Certificate == null || !context.Request.Certificate.Verify()"
      " || context.Request.Certificate.Thumbprint != \"" +
      leaf.thumbprint_sha1() + "\")";
  EXPECT_FALSE(boolean(idiom));
  ctx_.client_certificate->handshake_verified = false;
  EXPECT_TRUE(boolean(idiom));
  clock_.set(leaf.not_after() + 1);
  EXPECT_FALSE(boolean("@(context.Request.Certificate.NotAfter > DateTime.UtcNow)"));
}

// -- rejections at load, each with its column --

TEST_F(ExpressionTest, RejectsUnsupportedMembersWithColumn) {
  EXPECT_EQ(rejection("@(context.User.Email)"), "column 11: 'context.User' is not supported");
  EXPECT_EQ(rejection("@(context.Request.Body.As<string>())"),
            "column 19: 'context.Request.Body' is not supported");
  EXPECT_EQ(rejection("@(context.Deployment.Region)"),
            "column 11: 'context.Deployment' is not supported");
  EXPECT_EQ(rejection("@(DateTime.Now.AddDays(1))"),
            "column 16: '.AddDays' is not supported on a DateTime");
  EXPECT_EQ(rejection("@(Guid.NewGuid())"), "column 3: 'Guid' is not supported");
  EXPECT_EQ(rejection(R"(@("a".Split(' ')))"), "column 7: '.Split' is not supported on a string");
  EXPECT_EQ(rejection(R"(@(context.Request.Headers["Authorization"]))"),
            "column 26: 'context.Request.Headers[...]' is not supported: use "
            "GetValueOrDefault(name, default)");
  EXPECT_EQ(rejection("@(context.Request.Certificate.FriendlyName)"),
            "column 31: 'context.Request.Certificate.FriendlyName' is not supported");
}

TEST_F(ExpressionTest, RefusesSubscriptionSecrets) {
  std::string m = rejection("@(context.Subscription.PrimaryKey)");
  EXPECT_TRUE(m.starts_with("column 24: 'context.Subscription.PrimaryKey' is refused")) << m;
  m = rejection(R"(@(context.Subscription?.SecondaryKey ?? ""))");
  EXPECT_TRUE(m.starts_with("column 25: 'context.Subscription?.SecondaryKey' is refused")) << m;
}

TEST_F(ExpressionTest, RejectsUnsupportedSyntaxWithColumn) {
  EXPECT_EQ(rejection(R"(@($"x{1}"))"),
            "column 3: string interpolation ($\"...\") is not supported");
  EXPECT_EQ(rejection("@(new string('a', 2))"), "column 3: 'new' is not supported");
  EXPECT_EQ(rejection("@(1 * 2)"), "column 5: operator '*' is not supported");
  EXPECT_EQ(rejection("@(1.5)"), "column 3: floating-point literals are not supported");
  EXPECT_EQ(rejection(R"(@(context.Variables.Any(v => v.Key == "x")))"),
            "column 21: 'context.Variables.Any' is not supported");
  EXPECT_EQ(rejection("@(x => x)"), "column 5: lambda expressions ('=>') are not supported");
  EXPECT_EQ(rejection(R"(@(context.Variables["x"] as string))"),
            "column 26: 'as' is not supported");
  EXPECT_EQ(rejection(R"(@("abc"[0]))"), "column 8: indexing '\"abc\"' is not supported");
  EXPECT_EQ(rejection("@(typeof(string))"), "column 3: 'typeof' is not supported");
  EXPECT_EQ(rejection(R"(@{ var x = 1; return x; })"),
            "column 4: only a single 'return <expression>;' statement is supported in @{...}");
  EXPECT_EQ(rejection(R"(@{ return "a"; return "b"; })"),
            "column 16: only a single 'return <expression>;' statement is supported in @{...}");
  EXPECT_EQ(rejection(R"(@("unterminated))"), "column 3: unterminated string literal");
  EXPECT_EQ(rejection(R"(@("a\q"))"), "column 5: unrecognized escape sequence '\\q'");
  EXPECT_EQ(rejection("@(1 == 1"), "column 9: expected ')' but found the end of the expression");
  EXPECT_EQ(rejection("@(1) x"), "column 6: 'x' is not supported");
  EXPECT_EQ(rejection("@()"), "column 3: expected an expression but found ')'");
  EXPECT_EQ(rejection("@(x = 1)"), "column 3: 'x' is not supported");
  EXPECT_EQ(rejection(R"(@("a" == "b" = 1))"), "column 14: assignment ('=') is not supported");
  EXPECT_EQ(rejection("@(context.Request.Method)\n"), "");
  EXPECT_EQ(rejection("text"), "column 1: an expression starts with '@(' or '@{'");
  EXPECT_EQ(rejection("@{\n  retur 1;\n}"),
            "line 2, column 3: only a single 'return <expression>;' statement is supported in "
            "@{...}");
}

TEST_F(ExpressionTest, RejectsTypeErrors) {
  EXPECT_EQ(rejection(R"(@(1 == "1"))"), "column 5: cannot compare an int with a string");
  EXPECT_EQ(rejection(R"(@(!"x"))"), "column 4: the operand of '!' must be a bool, not a string");
  EXPECT_EQ(rejection(R"(@("a" && true))"),
            "column 3: the left side of '&&' must be a bool, not a string");
  EXPECT_EQ(rejection(R"(@("a" < "b"))"),
            "column 7: '<' compares two ints or two DateTimes, not a string and a string");
  EXPECT_EQ(rejection("@(1 ?? 2)"),
            "column 5: '?"
            "?' needs a left side that can be null, not an int");
  EXPECT_EQ(rejection(R"(@(true ? 1 : "x"))"),
            "column 10: the branches of '?:' have different types (int and string)");
  EXPECT_EQ(rejection(R"js(@((bool)"x"))js"), "column 3: cannot cast a string to bool");
  EXPECT_EQ(rejection(R"(@(context.Variables["x"] && true))"),
            "column 3: the left side of '&&' must be a bool, not an object");
  EXPECT_EQ(rejection(R"(@(context.Variables["x"].Length))"),
            "column 26: 'context.Variables[\"x\"].Length' is not supported: cast the variable "
            "first, e.g. (string)context.Variables[\"name\"]");
  EXPECT_EQ(rejection("@(context.Request)"),
            "column 3: 'context.Request' is not a value: read one of its members");
  EXPECT_EQ(rejection("@(context.Request.Certificate)"),
            "column 3: 'context.Request.Certificate' is not a value: compare it with null or "
            "read one of its members");
  EXPECT_EQ(rejection(R"(@(context.Subscription == "x"))"),
            "column 24: a context object can only be compared with null");
  EXPECT_EQ(rejection(R"(@(context.Request.Headers.GetValueOrDefault(1)))"),
            "column 45: the first argument of GetValueOrDefault must be a string, not an int");
  EXPECT_EQ(rejection(R"(@(context.Variables.GetValueOrDefault<double>("x")))"),
            "column 39: type 'double' is not supported in GetValueOrDefault<...> (string, bool, "
            "int, long, Jwt, object)");
  EXPECT_EQ(rejection(R"(@(context.Variables.GetValueOrDefault<int>("x", "d")))"),
            "column 49: the default must be an int, not a string");
}

TEST_F(ExpressionTest, ExpectedTypeIsCheckedAtLoad) {
  EXPECT_EQ(rejection(R"(@("yes"))", ValueType::Bool),
            "column 1: the expression must be a bool, but it is a string");
  EXPECT_EQ(rejection("@(1)", ValueType::Bool),
            "column 1: the expression must be a bool, but it is an int");
  EXPECT_EQ(rejection("@(1)", ValueType::String), "");
  EXPECT_EQ(rejection("@(true)", ValueType::Int),
            "column 1: the expression must be an int, but it is a bool");
  EXPECT_EQ(rejection(R"(@(((Jwt)context.Variables["j"]).Claims["r"]))"),
            "column 3: '((Jwt)context.Variables[\"j\"]).Claims[\"r\"]' is a string[]: only "
            ".Contains(value) is supported on it");
}

TEST_F(ExpressionTest, LimitsKeepHostileInputCheap) {
  std::string long_source = "@(\"" + std::string(5000, 'a') + "\")";
  EXPECT_EQ(rejection(long_source), "column 4097: expression longer than 4096 characters");
  std::string deep = "@(" + std::string(40, '(') + "1" + std::string(40, ')') + ")";
  EXPECT_TRUE(rejection(deep).find("nested deeper than 32 levels") != std::string::npos)
      << rejection(deep);
  std::string nots = "@(" + std::string(40, '!') + "true)";
  EXPECT_TRUE(rejection(nots).find("nested deeper than 32 levels") != std::string::npos);
  std::string chain = "@(1";
  for (int k = 0; k < 100; ++k)
    chain += " + 1";
  chain += ")";
  EXPECT_TRUE(rejection(chain).find("more than 64 levels of operators") != std::string::npos)
      << rejection(chain);
  std::string ok_chain = "@(1";
  for (int k = 0; k < 50; ++k)
    ok_chain += " + 1";
  ok_chain += ")";
  EXPECT_EQ(integer(ok_chain), 51);
}

// -- TextValue --

TEST_F(ExpressionTest, TextValueLiteralsAndExpressions) {
  auto lit = TextValue::compile("plain @(not an expression)");
  ASSERT_TRUE(lit);
  EXPECT_TRUE(lit->is_literal());
  EXPECT_EQ(*lit->evaluate(ctx_), "plain @(not an expression)");

  auto e = TextValue::compile("  @(context.Request.Method)\n");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_FALSE(e->is_literal());
  EXPECT_EQ(*e->evaluate(ctx_), "POST");

  auto b = TextValue::compile("@(1 < 2)", ValueType::String);
  ASSERT_TRUE(b);
  EXPECT_EQ(*b->evaluate(ctx_), "True");

  auto flag = TextValue::compile("TRUE", ValueType::Bool);
  ASSERT_TRUE(flag);
  EXPECT_TRUE(*flag->evaluate_bool(ctx_));
  EXPECT_FALSE(TextValue::compile("maybe", ValueType::Bool));
  auto cond = TextValue::compile(R"(@(context.Request.Method == "GET"))", ValueType::Bool);
  ASSERT_TRUE(cond);
  EXPECT_FALSE(*cond->evaluate_bool(ctx_));

  auto n = TextValue::compile("429", ValueType::Int);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n->evaluate_int(ctx_), 429);
  EXPECT_FALSE(TextValue::compile("4x", ValueType::Int));
  auto ne = TextValue::compile(R"(@(context.Request.MatchedParameters["id"]))", ValueType::Int);
  ASSERT_TRUE(ne);
  EXPECT_EQ(*ne->evaluate_int(ctx_), 42);

  auto bad = TextValue::compile("@(context.User.Id)");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "column 11: 'context.User' is not supported");
}

TEST_F(ExpressionTest, DisplayStrings) {
  EXPECT_EQ(to_display_string(Value{}), "");
  EXPECT_EQ(to_display_string(Value{true}), "True");
  EXPECT_EQ(to_display_string(Value{false}), "False");
  EXPECT_EQ(to_display_string(Value{int64_t{-3}}), "-3");
  EXPECT_EQ(to_display_string(Value{std::string("s")}), "s");
}

TEST_F(ExpressionTest, CompiledExpressionIsReusableAcrossRequests) {
  auto e =
      Expression::compile(R"(@(context.Request.Headers.GetValueOrDefault("X-Tenant", "none")))");
  ASSERT_TRUE(e);
  EXPECT_EQ(std::get<std::string>(*e->evaluate(ctx_)), "none");
  FixedClock clock(1);
  RequestContext other(clock);
  std::array<HeaderField, 1> h{{{"X-Tenant", "t2"}}};
  other.request.headers = h;
  EXPECT_EQ(std::get<std::string>(*e->evaluate(other)), "t2");
  Expression copy = *e;
  EXPECT_EQ(copy.source(), e->source());
  EXPECT_EQ(std::get<std::string>(*copy.evaluate(other)), "t2");
}

}  // namespace
}  // namespace gh::policy
