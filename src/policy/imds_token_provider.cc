#include "policy/imds_token_provider.h"

#include <boost/json.hpp>
#include <chrono>

#include "core/encoding.h"
#include "core/strings.h"
#include "jose/json.h"

namespace gh::policy {
namespace {

std::optional<int64_t> seconds_of(const boost::json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_string()) {
    auto n = core::parse_uint(std::string_view(v->as_string()));
    if (n && *n < (uint64_t{1} << 62)) return static_cast<int64_t>(*n);
  }
  return std::nullopt;
}

}  // namespace

ImdsTokenProvider::ImdsTokenProvider(std::string endpoint, http::FetchOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {
  options_.max_body = std::min<size_t>(options_.max_body, 64 * 1024);
}

std::string ImdsTokenProvider::request_url(std::string_view resource,
                                           std::string_view client_id) const {
  std::string url = endpoint_;
  url += endpoint_.find('?') == std::string::npos ? '?' : '&';
  url += "api-version=2018-02-01&resource=";
  core::append_percent_encoded(url, resource);
  if (!client_id.empty()) {
    url += "&client_id=";
    core::append_percent_encoded(url, client_id);
  }
  return url;
}

net::awaitable<Result<AccessToken>> ImdsTokenProvider::token(std::string resource,
                                                             std::string client_id) {
  http::FetchRequest request;
  request.url = request_url(resource, client_id);
  request.headers.emplace_back("Metadata", "true");
  auto response = co_await http::send_request(std::move(request), options_);
  if (!response) {
    co_return unexpected(response.error().kind,
                         "managed identity endpoint: " + response.error().message);
  }
  if (response->status != 200) {
    co_return unexpected(ErrorKind::Unavailable, "managed identity endpoint answered HTTP " +
                                                     std::to_string(response->status));
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  co_return parse_imds_token_response(response->body, now);
}

Result<AccessToken> parse_imds_token_response(std::string_view body, int64_t now_unix) {
  auto parsed = jose::parse_strict_json_object(body);
  if (!parsed) {
    return unexpected(ErrorKind::InvalidArgument,
                      "managed identity endpoint: the response is not a JSON object");
  }
  const auto* token = parsed->if_contains("access_token");
  if (!token || !token->is_string() || token->as_string().empty()) {
    return unexpected(ErrorKind::InvalidArgument,
                      "managed identity endpoint: the response has no access_token");
  }
  AccessToken out;
  out.token = std::string(token->as_string());
  if (auto on = seconds_of(parsed->if_contains("expires_on"))) {
    out.expires_on = *on;
  } else if (auto in = seconds_of(parsed->if_contains("expires_in"))) {
    out.expires_on = now_unix + *in;
  } else {
    return unexpected(ErrorKind::InvalidArgument,
                      "managed identity endpoint: the response has neither expires_on nor "
                      "expires_in");
  }
  return out;
}

}  // namespace gh::policy
