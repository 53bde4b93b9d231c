#pragma once

// StaticHttpServer: a plain-HTTP/1.1 server on 127.0.0.1 (ephemeral port), on its own thread,
// answering GETs from a table of fixed documents. For tests of code that fetches metadata or key
// sets over the network (OIDC discovery, JWKS) against a real socket. One request per
// connection; unknown paths get 404.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gh::test {

class StaticHttpServer {
 public:
  StaticHttpServer();   // listening when the constructor returns
  ~StaticHttpServer();  // stops and joins the thread
  StaticHttpServer(const StaticHttpServer&) = delete;
  StaticHttpServer& operator=(const StaticHttpServer&) = delete;

  /// Serves `body` at `path` (exact match, query ignored) from now on. Thread-safe.
  void set(std::string path, std::string body, unsigned status = 200,
           std::string content_type = "application/json");
  /// "http://127.0.0.1:PORT"
  std::string origin() const;
  /// Requests received for `path` so far.
  size_t requests(std::string_view path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh::test
