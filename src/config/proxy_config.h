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
//       policy: orders.xml             # APIM policy XML at API scope (or policy_xml: inline)
//       subscription_required: false   # true: a subscription key is required (APIM's default)
//       subscription_key:              # where the key is read (APIM's defaults)
//         header: Ocp-Apim-Subscription-Key
//         query: subscription-key
//       (operations[] also take policy / policy_xml)
//   access_log: stdout                 # stdout | stderr | off | a file path
//   trusted_proxies: [10.0.0.0/8]      # front proxies whose forwarded client certs are believed
//   policies:                          # global scope and fragments (docs/policies/README.md)
//     global: global.xml               # or global_xml: "<policies>...</policies>"
//     fragments: {auth: auth.xml}      # <include-fragment fragment-id="auth"/>
//     fetch_ca: idp-ca.pem             # trust for openid-config/JWKS fetches (default: system)
//     managed_identity_endpoint: http://169.254.169.254/metadata/identity/oauth2/token
//                                      # IMDS protocol: Azure's, or Gatehouse's identity role
//     openid:                          # OpenID metadata/JWKS caches (read at start only)
//       refresh_interval: 1h           # background refresh (APIM: hourly)
//       min_refetch_interval: 5m       # unknown kid or failed fetch: at most this often (APIM)
//       max_staleness: 24h             # last good keys kept this long through an IdP outage
//   named_values:                      # {{name}} in policy documents
//     - name: jwt-issuer
//       value: ${JWT_ISSUER}           # or file: /run/secrets/x (re-read on change)
//       secret: false                  # true: never logged or echoed
//   certificates:                      # certificate entities referenced by id from policies
//     - id: gateway-client
//       cert: gw.pem                   # PEM, leaf first
//       key: gw.key                    # optional: needed to present it (backend mTLS)
//   client_certificates:               # validate-client-certificate
//     ca: clients-ca.pem               # trust anchors for validate-trust
//     crls: [clients.crl]
//     revocation: soft-fail            # soft-fail | hard-fail (unreachable responder)
//     forwarded:                       # certificates forwarded by a TLS-terminating front proxy
//       - header: X-ARR-ClientCert
//         format: base64-der           # base64-der | rfc9440 | url-encoded-pem | xfcc
//         from: [10.0.0.0/8]           # default: trusted_proxies
//   products:
//     - id: starter
//       name: Starter
//       subscription_required: true
//       apis: [orders]
//       policy: starter.xml            # product scope
//   subscriptions:
//     - id: contoso
//       scope: /products/starter       # / (all access) | /apis | /apis/{api} | /products/{id}
//       primary_key: ${CONTOSO_KEY}    # or sha256:<hex> of the key; kept hashed in memory
//       secondary_key: ...
//       # or primary_key_file / secondary_key_file: a file or "vault:secrets/NAME" holding it
//       state: active                  # active | suspended | submitted | rejected | cancelled |
//                                      # expired: only active grants access
//       start_date: 2024-01-01T00:00:00Z   # quota periods start here (default 1970-01-01)
//   (subscriptions managed at run time live in the identity role's database: docs/admin-api.md)
//   identity: {...}                    # the identity role: see identity_config.h
//   vault: {...}                       # the vault role: see vault_config.h

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/identity_config.h"
#include "config/vault_config.h"

namespace gh::config {

/// Where a value came from, for error messages that name file, line and key.
struct SourceLocation {
  std::string file;
  int line = 0;
  /// "file:line: " to start a message with; "" when the location is unknown.
  std::string prefix() const {
    return file.empty() ? std::string() : file + ":" + std::to_string(line) + ": ";
  }
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

/// A policy document: a file, or inline XML; both empty: none at this scope.
struct PolicySource {
  std::string file;
  std::string xml;
  SourceLocation where;
  bool empty() const noexcept { return file.empty() && xml.empty(); }
};

struct Operation {
  std::string name;
  std::string method;  // upper-case, or "*"
  std::string url_template;
  PolicySource policy;
  SourceLocation where;
};

struct Api {
  std::string name;
  std::string path;        // normalised: "" for everything, else "/x" without trailing slash
  std::string host;        // empty: any host
  std::string backend_id;  // always set after parsing (an inline backend_url gets a synthetic id)
  bool strip_path = false;
  std::vector<Operation> operations;
  PolicySource policy;
  bool subscription_required = false;
  std::string key_header = "Ocp-Apim-Subscription-Key";
  std::string key_query = "subscription-key";
  SourceLocation where;
};

struct NamedValueConfig {
  std::string name;
  std::string value;
  std::string file;  // read at load (and on reload) instead of `value`
  bool secret = false;
  SourceLocation where;
};

struct CertificateEntityConfig {
  std::string id;
  std::string cert;
  std::string key;  // empty: public certificate only
  SourceLocation where;
};

struct ForwardedClientCert {
  std::string header;
  std::string format;             // base64-der | rfc9440 | url-encoded-pem | xfcc
  std::vector<std::string> from;  // CIDRs or addresses; empty: trusted_proxies
  SourceLocation where;
};

struct ClientCertificates {
  std::string ca;
  std::vector<std::string> crls;
  bool hard_fail = false;  // revocation: hard-fail
  std::vector<ForwardedClientCert> forwarded;
};

struct Product {
  std::string id;
  std::string name;
  bool subscription_required = true;
  std::vector<std::string> apis;
  PolicySource policy;
  SourceLocation where;
};

struct Subscription {
  std::string id;
  std::string name;
  std::string scope;
  std::string primary_key;  // the key, or "sha256:<hex>"
  std::string secondary_key;
  // Instead of the key: a file (or vault reference) holding it, read at each (re)load.
  std::string primary_key_file;
  std::string secondary_key_file;
  std::string state = "active";
  int64_t start_unix = 0;  // start_date: <quota> periods are anchored to it (APIM)
  SourceLocation where;
};

struct PolicySettings {
  PolicySource global;
  /// CA bundle for HTTPS fetches policies make (OpenID metadata, JWKS); empty: system store.
  std::string fetch_ca;
  /// IMDS-compatible token endpoint for authentication-managed-identity; empty: none.
  std::string managed_identity_endpoint;
  /// OpenID metadata/JWKS cache intervals (policy::OpenIdCacheOptions); process-wide, so a
  /// change takes effect at the next start.
  std::chrono::seconds openid_refresh_interval{3600};
  std::chrono::seconds openid_min_refetch_interval{300};
  std::chrono::seconds openid_max_staleness{86400};
  std::vector<std::pair<std::string, PolicySource>> fragments;
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
  PolicySettings policies;
  std::vector<NamedValueConfig> named_values;
  std::vector<CertificateEntityConfig> certificates;
  ClientCertificates client_certificates;
  std::vector<Product> products;
  std::vector<Subscription> subscriptions;
  std::optional<IdentityConfig> identity;
  std::optional<VaultConfig> vault;
  std::string source_file;
};

}  // namespace gh::config
