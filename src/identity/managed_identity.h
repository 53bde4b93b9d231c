#pragma once

// Managed identity for workloads on hosts Gatehouse trusts (entra-token-service.md §5): the IMDS
// protocol (GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=..., header
// `Metadata: true`) and the App Service protocol (GET /msi/token?api-version=2019-08-01&resource=
// ..., header X-IDENTITY-HEADER). A token goes to the application bound to the identity, as an
// app-only token with appidacr/azpacr "2".
//
// Binding (who may get which identity's tokens):
//  - IMDS: the caller's peer address must fall in one of the identity's source_cidrs, or, on a
//    loopback connection, the socket's owner uid (looked up in /proc/net/tcp{,6} by the
//    connection's 4-tuple) must be one of its local_uids. A caller matching several identities
//    picks one with client_id / object_id / msi_res_id, else gets 400 "Identity not found"
//    unless exactly one matches.
//  - App Service: X-IDENTITY-HEADER must equal the identity's secret (compared in constant time
//    against its SHA-256); the platform hands that secret only to the workload's environment.
// Errors use the shapes the clients parse, and 400 for every permanent failure (404/410/429/5xx
// make msal-node retry for up to 70 s).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/identity_config.h"
#include "core/clock.h"
#include "core/result.h"
#include "http/local_handler.h"
#include "identity/audit_log.h"
#include "identity/directory.h"
#include "identity/token_minter.h"

namespace gh::identity {

class ManagedIdentityEndpoint {
 public:
  /// Resolves identity_header_env values from `env_lookup` (name -> value or "") and checks
  /// every entry (CIDRs parse, tenant/client exist when the endpoint is used). InvalidArgument
  /// naming the identity otherwise.
  static Result<std::unique_ptr<ManagedIdentityEndpoint>> create(
      const std::vector<config::ManagedIdentityConfig>& identities,
      const std::function<std::string(std::string_view)>& env_lookup);

  /// /metadata/identity/oauth2/token and /msi/token.
  static bool is_path(std::string_view path) noexcept;

  /// Answers one request on either path. `origin` ("https://host[:port]") makes the tokens'
  /// issuer, so it must be the public origin the token endpoint's clients use. Audits every
  /// issuance and failure (endpoint "imds" / "app_service"). Synchronous; reads
  /// /proc/net/tcp{,6} only for a loopback caller when some identity binds local uids.
  http::LocalResponse handle(const http::LocalRequest& req, const DirectoryView& directory,
                             const TokenMinter& minter, AuditLog& audit, int64_t lifetime_seconds,
                             std::string_view origin, int64_t now) const;

  /// Number of configured identities.
  size_t size() const noexcept;

 private:
  ManagedIdentityEndpoint() = default;
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace gh::identity
