#pragma once

// A small HTTP(S) client for what the gateway and CLI read from elsewhere: JWK Sets and OpenID
// metadata (GET), and the admin REST API (any method, with headers and a body). TLS is verified
// (system trust store or a given CA file, and the host name); redirects are not followed; the
// response body is bounded; one request per connection.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "net/asio.h"

namespace gh::http {

struct FetchOptions {
  std::chrono::milliseconds timeout{10'000};  // for the whole exchange
  std::string ca_file;                        // empty: the system trust store
  size_t max_body = 1024 * 1024;
};

struct FetchedDocument {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

/// A request to send: `method` is an HTTP token ("GET", "POST", "PATCH", ...). Host,
/// User-Agent, Content-Length and Connection are set by the client; `headers` adds the rest
/// (Accept defaults to application/json).
struct FetchRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// Sends `request` and reads the whole response. Errors as fetch_url; InvalidArgument also for
/// a method that is not a token and for header names or values with control characters (no
/// header injection).
net::awaitable<Result<FetchedDocument>> send_request(FetchRequest request, FetchOptions options);

/// The same on a private event loop, for command-line tools.
Result<FetchedDocument> send_request_blocking(const FetchRequest& request,
                                              const FetchOptions& options);

/// GETs `url` (http:// or https://). Errors: InvalidArgument (bad URL), Timeout, Unavailable
/// (resolve, connect, TLS verification), LimitExceeded (body too large). A non-2xx status is not
/// an error here: the caller decides.
net::awaitable<Result<FetchedDocument>> fetch_url(std::string url, FetchOptions options);

/// The same on a private event loop, for command-line tools.
Result<FetchedDocument> fetch_url_blocking(const std::string& url, const FetchOptions& options);

}  // namespace gh::http
