#pragma once

// Client authentication at the token endpoint (entra-token-service.md §1.2, §2): a client
// secret (form body or HTTP Basic), a certificate-signed client assertion (private_key_jwt,
// RS256/PS256, key chosen by x5t#S256, x5t or kid), or a federated assertion (an external OIDC
// issuer's JWT, checked against that issuer's JWKS and the app's federated credentials).
// Every failure is an entra_error() with the AADSTS number and text Entra uses.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/url_fetch.h"
#include "identity/directory.h"
#include "identity/model.h"
#include "net/asio.h"

namespace gh::identity {

enum class AuthMethod : uint8_t {
  Secret = 1,           // appidacr/azpacr "1"
  Certificate = 2,      // "2"
  Federated = 3,        // "2"
  ManagedIdentity = 4,  // "2"
};

/// "1" for secrets, "2" for everything else (appidacr / azpacr).
std::string_view acr_of(AuthMethod m) noexcept;

/// The credentials of one token request, as the endpoint found them (views into the request).
struct ClientCredentials {
  std::string_view client_id;      // form client_id ("" when absent)
  std::string_view client_secret;  // form client_secret
  std::string_view basic_user;     // from Authorization: Basic, already form-url-decoded
  std::string_view basic_password;
  bool has_basic = false;
  std::string_view assertion_type;  // client_assertion_type
  std::string_view assertion;       // client_assertion
};

/// HTTP Basic client credentials, decoded (RFC 6749 §2.3.1: client id and secret are each
/// form-url-encoded, joined by ':', then base64-encoded).
struct BasicCredentials {
  std::string user;
  std::string password;
};

/// Parses an Authorization header value. nullopt when its scheme is not Basic (not a client
/// credential); AADSTS7000218 (401 invalid_client) when it is Basic but not base64 of
/// "user:password" with valid form-url-encoding. Split on the first ':'; '+' decodes to a space.
Result<std::optional<BasicCredentials>> parse_basic_authorization(std::string_view header_value);

/// Where the request arrived: what an assertion's `aud` may be. The caller keeps the view (and
/// everything these views point at) alive until authenticate() completes: a secret check or a
/// federated key fetch suspends, and AuthenticatedClient::app points into the view.
struct EndpointInfo {
  const DirectoryView* directory = nullptr;
  const Tenant* tenant = nullptr;
  /// Accepted origins ("https://host:port", lower-case, no trailing slash): the configured
  /// public_url and/or the origin the request arrived on.
  std::vector<std::string_view> origins;
  int64_t now = 0;  // Unix seconds
};

struct AuthenticatedClient {
  const Application* app = nullptr;  // points into the DirectoryView passed in EndpointInfo
  AuthMethod method = AuthMethod::Secret;
  /// For the audit log: SHA-1 hex thumbprint (certificate), secret key id (secret), federated
  /// credential name (federated). Never a secret value.
  std::string credential_id;
  std::string assertion_jti;  // "" for secrets
};

/// GETs one external document (OIDC metadata, JWKS). Injected by tests; the default is
/// http::fetch_url with TLS verified against ClientAuthOptions::external_ca_file.
using DocumentFetcher =
    std::function<net::awaitable<Result<http::FetchedDocument>>(std::string url)>;

struct ClientAuthOptions {
  std::chrono::seconds clock_skew{300};
  std::chrono::seconds max_assertion_lifetime{3600};
  std::chrono::seconds max_federated_lifetime{86400};
  size_t replay_capacity = 1'000'000;  // jti entries kept (oldest-expiring evicted first)
  std::string external_ca_file;        // for fetching external OIDC metadata; "" = system store

  // Client secrets. A verified (client, secret) pair is remembered under an HMAC tag (never the
  // secret) until its credential expires or is removed, and at most secret_cache_ttl.
  size_t secret_cache_capacity = 10'000;
  std::chrono::seconds secret_cache_ttl{600};
  unsigned secret_hash_threads = 2;  // scrypt runs here, off the event loops
  /// Failed secret checks per client within secret_failure_window before further unknown
  /// secrets of that client get 429 (AADSTS90055) without hashing until the window ends.
  unsigned secret_failure_limit = 20;
  std::chrono::seconds secret_failure_window{60};

  // Federated credentials: external issuers' keys.
  std::chrono::seconds issuer_keys_ttl{86400};        // refetch metadata + JWKS after this
  std::chrono::seconds issuer_refresh_interval{300};  // at most one refetch per unknown kid
  std::chrono::milliseconds fetch_timeout{10'000};
  /// Replaces the HTTP(S) fetcher (tests). Issuers must be https://, or http:// on a loopback
  /// host (127.0.0.0/8, ::1, localhost) so that local test issuers work.
  DocumentFetcher fetch_document;
};

/// Counters for metrics and tests.
struct ClientAuthStats {
  uint64_t secret_hashes = 0;      // secret checks that ran scrypt (cache misses)
  uint64_t secret_cache_hits = 0;  // secrets accepted from the verified-secret cache
  uint64_t issuer_fetches = 0;     // external OIDC metadata fetches started
  size_t replay_entries = 0;       // jti entries held
};

class ClientAuthenticator {
 public:
  ClientAuthenticator(ClientAuthOptions options, const core::Clock& clock);
  ~ClientAuthenticator();

  /// Authenticates the client of one token request. Exactly one method must be present
  /// (7000218 when none, 90014 when several). Certificate assertions and cached secrets complete
  /// without suspending; federated assertions may fetch the issuer's metadata and JWKS (cached
  /// per issuer: 24 h, refreshed on an unknown kid at most every 5 min, last good kept on
  /// failure). Secret checks that miss the verified-secret cache run scrypt on an internal
  /// thread pool and resume on the caller's executor. AADSTS90055 (429) means the client is
  /// throttled after repeated wrong secrets: answer it with a Retry-After (the message says how
  /// long). Thread-safe: one instance serves every worker.
  net::awaitable<Result<AuthenticatedClient>> authenticate(const ClientCredentials& creds,
                                                           const EndpointInfo& where);

  ClientAuthStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh::identity
