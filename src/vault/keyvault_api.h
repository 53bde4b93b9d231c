#pragma once

// The Azure Key Vault data-plane REST API (the subset @azure/keyvault-secrets and
// @azure/keyvault-certificates use), answered from the VaultStore. api-version 7.0 .. 7.6
// (and 2025-07-01) accepted; responses carry Key Vault's JSON shapes, ids as
// <vault origin>/secrets/<name>/<version>, paging with `nextLink`, errors as
// {"error":{"code":"SecretNotFound","message":"..."}} with Key Vault's codes and statuses.
//
//   secrets:       GET|PUT|PATCH /secrets/{name}[/{version}], GET /secrets, GET
//   /secrets/{name}/versions,
//                  DELETE /secrets/{name}, GET|DELETE /deletedsecrets/{name}, GET /deletedsecrets,
//                  POST /deletedsecrets/{name}/recover
//   certificates:  POST /certificates/{name}/create, POST /certificates/{name}/import,
//                  GET /certificates/{name}/pending, GET|PATCH /certificates/{name}[/{version}],
//                  GET /certificates, GET /certificates/{name}/versions,
//                  GET|PATCH /certificates/{name}/policy, DELETE /certificates/{name},
//                  GET|DELETE /deletedcertificates/{name}, GET /deletedcertificates,
//                  POST /deletedcertificates/{name}/recover
//
// Authentication: a request without a valid bearer token gets 401 with
//   WWW-Authenticate: Bearer authorization="<identity origin>/<tenant>", resource="<resource>"
// which the Azure SDK's challenge policy reads to learn the authority and scope. An authenticated
// caller without the needed role gets 403 {"error":{"code":"Forbidden",...}}. Every operation,
// allowed or not, writes one audit line (vault/audit.h); a value never appears in a log.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "http/local_handler.h"
#include "identity/directory.h"
#include "identity/key_ring.h"
#include "vault/access.h"
#include "vault/audit.h"
#include "vault/vault_store.h"

namespace gh::vault {

struct KeyVaultApiOptions {
  VaultAuthOptions auth;
  /// The challenge's authority origin (scheme://host[:port] of the identity role, e.g. its
  /// public_url). Empty: "https://" + the request's Host without its port + ":" +
  /// authority_port (the identity role's listener, which is not the vault's) — or the request's
  /// own origin when authority_port is 0.
  std::string authority_origin;
  uint16_t authority_port = 0;
  /// Reported as attributes.recoverableDays (the store's VaultLimits::soft_delete_retention_days).
  int64_t soft_delete_retention_days = 90;
};

class KeyVaultApi {
 public:
  KeyVaultApi(VaultStore& store, identity::Directory& directory, identity::KeyRing& keys,
              VaultAudit& audit, KeyVaultApiOptions options, const core::Clock& clock);

  /// True for the paths above (cheap).
  static bool is_api_path(std::string_view path) noexcept;
  /// Never throws; every failure is a response.
  http::LocalResponse handle(const http::LocalRequest& request);

 private:
  VaultStore& store_;
  identity::Directory& directory_;
  identity::KeyRing& keys_;
  VaultAudit& audit_;
  KeyVaultApiOptions options_;
  const core::Clock& clock_;
};

}  // namespace gh::vault
