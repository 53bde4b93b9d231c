// Fuzzes the cors policy's request parsing (policy/cors.h): the Origin parser, and a preflight or
// actual request built from the input (lines: method, Origin, Access-Control-Request-Method,
// Access-Control-Request-Headers) against a listed-origins policy with credentials and a
// wildcard one. Whatever the input, every header the policy writes or records is a valid field
// value, Access-Control-Allow-Origin is `*` or exactly the request's Origin, and the policy's
// own answers are empty 200s.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/strings.h"
#include "policy/cors.h"
#include "policy/document.h"
#include "policy/field_setter.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

using namespace gh::policy;

std::unique_ptr<Policy> make(std::string_view xml) {
  auto doc = parse_policy_document(
      "<policies><inbound>" + std::string(xml) + "</inbound></policies>", "fuzz.xml", {});
  FUZZ_CHECK(doc);
  LoadContext load;
  load.lint = true;
  auto policy = make_cors(doc->children[0].children[0], load);
  FUZZ_CHECK(policy);
  return std::move(*policy);
}

const Policy& listed() {
  static const auto policy = make(
      "<cors allow-credentials=\"true\"><allowed-origins><origin>https://app.example</origin>"
      "<origin>http://[::1]:8080</origin></allowed-origins><allowed-methods "
      "preflight-result-max-age=\"60\"><method>GET</method><method>PUT</method></allowed-methods>"
      "<allowed-headers><header>Content-Type</header><header>x-a</header></allowed-headers>"
      "<expose-headers><header>ETag</header></expose-headers></cors>");
  return *policy;
}

const Policy& wildcard() {
  static const auto policy = make(
      "<cors terminate-unmatched-request=\"false\"><allowed-origins><origin>*</origin>"
      "</allowed-origins><allowed-methods><method>*</method></allowed-methods>"
      "<allowed-headers><header>*</header></allowed-headers></cors>");
  return *policy;
}

void check_value(std::string_view value) {
  FUZZ_CHECK(header_value_problem(value).empty());
}

void run(const Policy& policy, std::string_view method, const std::vector<HeaderField>& headers,
         std::string_view origin) {
  RequestContext ctx(gh::core::SystemClock::instance());
  ctx.request.method = method;
  ctx.request.headers = headers;
  const Flow flow = policy.apply(ctx);
  FUZZ_CHECK(flow == Flow::Continue || flow == Flow::Return);
  if (ctx.response) {
    FUZZ_CHECK(flow == Flow::Return);
    FUZZ_CHECK(ctx.response->status == 200 && ctx.response->body.empty());
    for (const auto& [name, value] : ctx.response->headers) {
      FUZZ_CHECK(is_header_name(name));
      check_value(value);
      if (name == "Access-Control-Allow-Origin") FUZZ_CHECK(value == "*" || value == origin);
    }
  }
  for (const auto& change : ctx.response_header_changes) {
    for (const auto& value : change.values) {
      check_value(value);
      if (change.name == "Access-Control-Allow-Origin") FUZZ_CHECK(value == "*" || value == origin);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  for (size_t start = 0; lines.size() < 4;) {
    const size_t end = input.find('\n', start);
    lines.push_back(input.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  lines.resize(4);

  if (auto parts = parse_origin(lines[1])) {
    FUZZ_CHECK(!parts->scheme.empty() && !parts->host.empty());
    FUZZ_CHECK(lines[1].find(parts->host) != std::string_view::npos);
  }

  // The HTTP parser never hands over a value with CR, LF or NUL; neither do we.
  for (auto line : lines)
    if (!header_value_problem(line).empty()) return 0;
  std::vector<HeaderField> headers{{"Origin", lines[1]}};
  if (!lines[2].empty()) headers.push_back({"Access-Control-Request-Method", lines[2]});
  if (!lines[3].empty()) headers.push_back({"Access-Control-Request-Headers", lines[3]});
  for (const Policy* policy : {&listed(), &wildcard()})
    run(*policy, lines[0], headers, gh::core::trim_ows(lines[1]));
  return 0;
}
