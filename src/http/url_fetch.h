#pragma once

// A small HTTP(S) GET client for documents the gateway and CLI read from elsewhere: JWK Sets and
// OpenID metadata. TLS is verified (system trust store or a given CA file, and the host name);
// redirects are not followed; the body is bounded.

#include <chrono>
#include <string>

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

/// GETs `url` (http:// or https://). Errors: InvalidArgument (bad URL), Timeout, Unavailable
/// (resolve, connect, TLS verification), LimitExceeded (body too large). A non-2xx status is not
/// an error here: the caller decides.
net::awaitable<Result<FetchedDocument>> fetch_url(std::string url, FetchOptions options);

/// The same on a private event loop, for command-line tools.
Result<FetchedDocument> fetch_url_blocking(const std::string& url, const FetchOptions& options);

}  // namespace gh::http
