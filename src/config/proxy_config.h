#pragma once

// The proxy's configuration as plain structs: what `gatehouse serve --config FILE` runs.
// config/ turns YAML text into these (with file:line on every error); net/, http/ and gateway/
// consume them. Nothing here knows about sockets or OpenSSL.
//
// YAML shape (every key optional unless marked required; `${VAR}` / `${VAR:-default}` are
// replaced from the environment before parsing):
//
//   workers: 2                         # default: hardware cores
//   listeners:                         # required, at least one
//     - name: public                   # default: listener-<index>
//       address: 127.0.0.1:8443        # required; host:port, [v6]:port
//       tls:                           # absent = plain HTTP
//         certificates:                # required, at least one; first is the default (no SNI)
//           - cert: server.pem         # PEM, leaf first then chain
//             key: server.key          # PEM private key
//         client_certificate: none     # none | optional | require
//         client_ca: ca.pem            # required when client_certificate is optional/require
//         min_version: "1.2"           # "1.2" | "1.3"
//   admin:                             # /healthz and /metrics; absent = no admin listener
//     address: 127.0.0.1:9901
//   limits:
//     max_header_bytes: 16384          # request line + headers  -> 431
//     max_header_count: 100            #                          -> 431
//     max_uri_length: 8192             #                          -> 414
//     max_body_bytes: 0                # 0 = unlimited (streamed) -> 413
//   timeouts:                          # durations: 250ms, 10s, 5m, 1h, or a plain number = seconds
//     header_read: 10s                 # slowloris defence        -> 408
//     idle: 60s                        # keep-alive between requests
//     backend_connect: 5s              #                          -> 504
//     backend_response: 60s            # until response headers   -> 504
//     drain: 30s                       # SIGTERM: wait this long for in-flight requests
//   backends:
//     - id: origin                     # required, unique
//       url: https://10.0.0.5:8443/base   # required; http or https; path is a prefix
//       tls:
//         ca: backend-ca.pem           # default: the system trust store
//         verify: true                 # validate chain (and hostname unless pinned)
//         server_name: api.internal    # SNI and hostname to check; default: host from url
//         pinned_sha256: ab12...       # accept exactly this leaf (SHA-256 of DER, hex)
//         client_cert: gw.pem          # backend mTLS: the gateway's client certificate
//         client_key: gw.key
//       max_idle_connections: 64       # per worker
//   apis:                              # required, at least one
//     - name: orders                   # required, unique
//       path: /orders                  # prefix; "/" or "" matches everything
//       host: api.example.com          # optional exact Host match (port ignored)
//       backend: origin                # id from backends, or
//       backend_url: http://127.0.0.1:9000   # an inline URL (exactly one of the two)
//       strip_path: false              # true: remove `path` before forwarding
//       operations:                    # absent = every method and path under the prefix
//         - name: get-order
//           method: GET                # or * for any
//           url_template: /{id}        # relative to the API path; {name} matches one segment
//   access_log: stdout                 # stdout | stderr | off | a file path
//   trusted_proxies: []                # reserved for forwarded client certs (policy issue)
//   identity: {...}                    # the identity role: see identity_config.h

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/identity_config.h"

namespace gh::config {

/// Where a value came from, for error messages that name file, line and key.
struct SourceLocation {
  std::string file;
  int line = 0;
};

enum class ClientCertMode : uint8_t { None, Optional, Require };
enum class TlsVersion : uint8_t { V1_2, V1_3 };

struct CertificateFiles {
  std::string cert;  // PEM, leaf first, then intermediates
  std::string key;   // PEM private key
};

struct ListenerTls {
  std::vector<CertificateFiles> certificates;
  ClientCertMode client_certificate = ClientCertMode::None;
  std::string client_ca;
  TlsVersion min_version = TlsVersion::V1_2;
};

struct Listener {
  std::string name;
  std::string host;  // as written: an IPv4/IPv6 literal or a name
  uint16_t port = 0;
  std::optional<ListenerTls> tls;
  SourceLocation where;
};

struct Limits {
  uint32_t max_header_bytes = 16 * 1024;
  uint32_t max_header_count = 100;
  uint32_t max_uri_length = 8 * 1024;
  uint64_t max_body_bytes = 0;  // 0: unlimited, streamed
};

struct Timeouts {
  std::chrono::milliseconds header_read{10'000};
  std::chrono::milliseconds idle{60'000};
  std::chrono::milliseconds backend_connect{5'000};
  std::chrono::milliseconds backend_response{60'000};
  std::chrono::milliseconds drain{30'000};
};

struct BackendTls {
  std::string ca;  // empty: system default trust store
  bool verify = true;
  std::string server_name;    // empty: host from the URL
  std::string pinned_sha256;  // lower-case hex, empty: no pin
  std::string client_cert;    // backend mTLS
  std::string client_key;
};

struct Backend {
  std::string id;
  std::string scheme;  // "http" | "https"
  std::string host;
  uint16_t port = 0;
  std::string base_path;  // "" or "/base" (no trailing slash)
  BackendTls tls;
  uint32_t max_idle_connections = 64;
  SourceLocation where;
};

struct Operation {
  std::string name;
  std::string method;  // upper-case, or "*"
  std::string url_template;
  SourceLocation where;
};

struct Api {
  std::string name;
  std::string path;        // normalised: "" for everything, else "/x" without trailing slash
  std::string host;        // empty: any host
  std::string backend_id;  // always set after parsing (an inline backend_url gets a synthetic id)
  bool strip_path = false;
  std::vector<Operation> operations;
  SourceLocation where;
};

struct ProxyConfig {
  uint32_t workers = 0;  // 0: hardware cores
  std::vector<Listener> listeners;
  std::optional<Listener> admin;
  Limits limits;
  Timeouts timeouts;
  std::vector<Backend> backends;
  std::vector<Api> apis;
  std::string access_log = "stdout";
  std::vector<std::string> trusted_proxies;
  std::optional<IdentityConfig> identity;
  std::string source_file;
};

}  // namespace gh::config
