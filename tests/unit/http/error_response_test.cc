#include "http/error_response.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace gh::http {
namespace {

TEST(ApimErrorBody, ExactBytes) {
  EXPECT_EQ(apim_error_body(404, "Resource not found"),
            R"({ "statusCode": 404, "message": "Resource not found" })");
  EXPECT_EQ(
      apim_error_body(401, "Access denied due to missing subscription key."),
      R"({ "statusCode": 401, "message": "Access denied due to missing subscription key." })");
  EXPECT_EQ(apim_error_body(502, ""), R"({ "statusCode": 502, "message": "" })");
}

TEST(ApimErrorBody, MessageIsJsonEscaped) {
  EXPECT_EQ(apim_error_body(400, "say \"hi\" \\ bye"),
            R"({ "statusCode": 400, "message": "say \"hi\" \\ bye" })");
  EXPECT_EQ(apim_error_body(400,
                            "a\nb\rc\td\x01"
                            "e\x1f"
                            "f"),
            R"({ "statusCode": 400, "message": "a\nb\rc\td\u0001e\u001ff" })");
}

TEST(AppendJsonEscaped, ControlCharactersAndPassThrough) {
  std::string out = "prefix:";
  append_json_escaped(out, std::string_view("\0\x0b\x10", 3));
  EXPECT_EQ(out, "prefix:\\u0000\\u000b\\u0010");
  out.clear();
  // DEL and non-ASCII bytes are legal in JSON strings and pass through.
  append_json_escaped(out, "/caf\xc3\xa9\x7f");
  EXPECT_EQ(out, "/caf\xc3\xa9\x7f");
  out.clear();
  append_json_escaped(out, "</script>");
  EXPECT_EQ(out, "</script>");
}

TEST(ProxyErrorTable, StatusMessageAndLabel) {
  struct Row {
    ProxyError e;
    uint16_t status;
    std::string_view message;
    std::string_view label;
  };
  const Row rows[] = {
      {ProxyError::BadRequest, 400, "Bad request", "bad_request"},
      {ProxyError::NotFound, 404, "Resource not found", "not_found"},
      {ProxyError::HeaderTimeout, 408, "Request timeout", "header_timeout"},
      {ProxyError::BodyTooLarge, 413, "Request entity too large", "body_too_large"},
      {ProxyError::UriTooLong, 414, "Request URI too long", "uri_too_long"},
      {ProxyError::HeadersTooLarge, 431, "Request header fields too large", "headers_too_large"},
      {ProxyError::BadGateway, 502, "Bad gateway", "bad_gateway"},
      {ProxyError::GatewayTimeout, 504, "Gateway timeout", "gateway_timeout"},
      {ProxyError::ServiceUnavailable, 503, "Service unavailable", "service_unavailable"},
      {ProxyError::Internal, 500, "Internal server error", "internal"},
  };
  std::set<std::string_view> labels;
  for (const auto& r : rows) {
    EXPECT_EQ(status_of(r.e), r.status) << r.label;
    EXPECT_EQ(default_message(r.e), r.message) << r.label;
    EXPECT_EQ(reason_label(r.e), r.label);
    labels.insert(reason_label(r.e));
  }
  EXPECT_EQ(labels.size(), std::size(rows));  // labels are distinct metric label values
}

}  // namespace
}  // namespace gh::http
