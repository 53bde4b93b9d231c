#include "http/error_response.h"

namespace gh::http {
namespace {

struct Row {
  uint16_t status;
  std::string_view message;
  std::string_view label;
};

constexpr Row row(ProxyError e) noexcept {
  switch (e) {
    case ProxyError::BadRequest:
      return {400, "Bad request", "bad_request"};
    case ProxyError::NotFound:
      return {404, "Resource not found", "not_found"};
    case ProxyError::HeaderTimeout:
      return {408, "Request timeout", "header_timeout"};
    case ProxyError::BodyTooLarge:
      return {413, "Request entity too large", "body_too_large"};
    case ProxyError::UriTooLong:
      return {414, "Request URI too long", "uri_too_long"};
    case ProxyError::HeadersTooLarge:
      return {431, "Request header fields too large", "headers_too_large"};
    case ProxyError::BadGateway:
      return {502, "Bad gateway", "bad_gateway"};
    case ProxyError::GatewayTimeout:
      return {504, "Gateway timeout", "gateway_timeout"};
    case ProxyError::ServiceUnavailable:
      return {503, "Service unavailable", "service_unavailable"};
    case ProxyError::Internal:
      return {500, "Internal server error", "internal"};
  }
  return {500, "Internal server error", "internal"};
}

}  // namespace

uint16_t status_of(ProxyError e) noexcept {
  return row(e).status;
}
std::string_view default_message(ProxyError e) noexcept {
  return row(e).message;
}
std::string_view reason_label(ProxyError e) noexcept {
  return row(e).label;
}

std::string apim_error_body(uint16_t status, std::string_view message) {
  std::string body;
  body.reserve(40 + message.size());
  body += "{ \"statusCode\": ";
  body += std::to_string(status);
  body += ", \"message\": \"";
  append_json_escaped(body, message);
  body += "\" }";
  return body;
}

}  // namespace gh::http
