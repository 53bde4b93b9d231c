// Fuzzes policy expressions (policy::Expression): any input either fails to compile with a
// message naming a column, or compiles and then evaluates against a small request context
// without crashing, its failures naming a column too. Sources stay bounded (4096 bytes) and the
// nesting limits keep deep inputs cheap.

#include <array>
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "policy/expression.h"

namespace {

// Aborts (a finding) naming the broken invariant.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

bool names_a_place(const std::string& message) {
  return message.starts_with("column ") || message.starts_with("line ");
}

class FixedClock final : public gh::core::Clock {
 public:
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gh::policy;
  const std::string_view source(reinterpret_cast<const char*>(data), size);

  static const FixedClock clock;
  static const std::array<HeaderField, 3> headers{{{"Authorization", "Bearer abc.def.ghi"},
                                                   {"X-Multi", "one"},
                                                   {"x-multi", "two"}}};
  static const std::array<std::pair<std::string_view, std::string_view>, 1> params{
      {{"id", "42"}}};
  static const Jwt jwt = [] {
    auto j = std::make_shared<gh::jose::VerifiedJwt>();
    j->header = boost::json::parse(R"({"alg":"RS256","typ":"JWT"})").as_object();
    j->claims =
        boost::json::parse(R"({"sub":"s","aud":["a","b"],"roles":["r1","r2"],"n":2})").as_object();
    return j;
  }();

  for (auto expected : {ValueType::Any, ValueType::Bool}) {
    auto compiled = Expression::compile(source, expected);
    if (!compiled) {
      FUZZ_CHECK(names_a_place(compiled.error().message));
      continue;
    }
    FUZZ_CHECK(compiled->source() == source);
    RequestContext ctx(clock);
    ctx.request.method = "GET";
    ctx.request.path = "/echo/items/42";
    ctx.request.query = "a=1&b=x%20y";
    ctx.request.host = "api.example.com:8443";
    ctx.request.scheme = "https";
    ctx.request.client_ip = "203.0.113.9";
    ctx.request.headers = headers;
    ctx.request.matched_parameters = params;
    ctx.set_variable("s", std::string("text"));
    ctx.set_variable("b", true);
    ctx.set_variable("i", int64_t{7});
    ctx.set_variable("jwt", jwt);
    auto value = compiled->evaluate(ctx);
    if (!value) {
      FUZZ_CHECK(names_a_place(value.error().message));
      continue;
    }
    if (expected == ValueType::Bool) {
      // A bool expression yields a bool whenever it evaluates.
      FUZZ_CHECK(std::holds_alternative<bool>(*value));
    }
    (void)to_display_string(*value);
  }
  auto text = TextValue::compile(source);
  if (text) {
    FixedClock c;
    RequestContext ctx(c);
    (void)text->evaluate(ctx);
  }
  return 0;
}
