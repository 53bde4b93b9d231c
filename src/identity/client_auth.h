#pragma once

// Client authentication at the token endpoint (entra-token-service.md §1.2, §2): a client
// secret (form body or HTTP Basic), a certificate-signed client assertion (private_key_jwt,
// RS256/PS256, key chosen by x5t#S256, x5t or kid), or a federated assertion (an external OIDC
// issuer's JWT, checked against that issuer's JWKS and the app's federated credentials).
// Every failure is an entra_error() with the AADSTS number and text Entra uses.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
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
  std::string_view client_id;       // form client_id ("" when absent)
  std::string_view client_secret;   // form client_secret
  std::string_view basic_user;      // from Authorization: Basic, already form-url-decoded
  std::string_view basic_password;
  bool has_basic = false;
  std::string_view assertion_type;  // client_assertion_type
  std::string_view assertion;       // client_assertion
};

/// Where the request arrived: what an assertion's `aud` may be.
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

struct ClientAuthOptions {
  std::chrono::seconds clock_skew{300};
  std::chrono::seconds max_assertion_lifetime{3600};
  std::chrono::seconds max_federated_lifetime{86400};
  size_t replay_capacity = 1'000'000;  // jti entries kept (oldest-expiring evicted first)
  std::string external_ca_file;        // for fetching external OIDC metadata; "" = system store
};

class ClientAuthenticator {
 public:
  ClientAuthenticator(ClientAuthOptions options, const core::Clock& clock);
  ~ClientAuthenticator();

  /// Authenticates the client of one token request. Exactly one method must be present
  /// (7000218 when none, 90014 when several). Secrets and certificate assertions complete
  /// without suspending; federated assertions may fetch the issuer's metadata and JWKS (cached
  /// per issuer: 24 h, refreshed on an unknown kid at most every 5 min, last good kept on
  /// failure). Thread-safe: one instance serves every worker.
  net::awaitable<Result<AuthenticatedClient>> authenticate(const ClientCredentials& creds,
                                                           const EndpointInfo& where);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh::identity
