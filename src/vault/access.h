#pragma once

// Who may do what in the vault, as Key Vault's Azure RBAC data-plane roles, granted to an
// application (a workload's managed identity, the gateway's own identity, a partner's app).
//
// Gatehouse records a grant as an app role assignment on a built-in resource application that
// stands for Key Vault in the vault's tenant: client id cfa8b339-82a2-471a-a3c9-0fc0be7a4093
// (Azure Key Vault's own application id), identifier URI = the vault resource
// ("https://vault.azure.net"), one app role per RBAC role with the role definition's GUID as its
// id. So grants use the directory's existing assignment API, CLI and declarative config, and a
// token for the vault is an ordinary client-credentials token for that resource. Access is
// decided at each request from the live directory (not from the token's `roles`), so removing a
// grant takes effect at once, as Azure RBAC does (after its propagation delay).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/local_handler.h"
#include "identity/directory.h"
#include "identity/key_ring.h"

namespace gh::vault {

inline constexpr std::string_view kKeyVaultAppId = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093";
inline constexpr std::string_view kKeyVaultResource = "https://vault.azure.net";

/// What an operation needs.
enum class Permission : uint8_t {
  SecretsRead,        // get secret value, list secrets and versions
  SecretsWrite,       // set, update, delete, recover, purge secrets
  CertificatesRead,   // get certificate, policy, list (public parts)
  CertificatesWrite,  // create, import, renew, update, delete, recover, purge certificates
};

struct VaultRole {
  std::string_view display_name;  // "Key Vault Secrets User": what people type
  std::string_view value;         // "KeyVault.Secrets.User": the app role value
  std::string_view id;            // Azure's role definition GUID
  uint8_t permissions;            // bit (1 << Permission)
};

/// Key Vault Secrets User, Secrets Officer, Certificates Officer, Administrator.
const std::array<VaultRole, 4>& vault_roles() noexcept;
/// By display name or value (case-insensitive); null when none.
const VaultRole* find_vault_role(std::string_view name_or_value) noexcept;

/// Creates or completes the Key Vault resource application in `tenant_id` (idempotent; its
/// identifier URI is `resource`). Returns its client id.
Result<std::string> ensure_vault_application(identity::Directory& directory,
                                             std::string_view tenant_id, std::string_view resource);

/// The caller of one vault request, from a verified bearer token.
struct VaultCaller {
  std::string tenant_id;
  std::string client_id;    // appid / azp
  std::string object_id;    // oid (the service principal)
  uint8_t permissions = 0;  // from the caller's current grants
  bool allows(Permission p) const noexcept { return permissions & (1u << static_cast<int>(p)); }
};

struct VaultAuthOptions {
  std::string tenant_id;  // the vault's tenant (GUID)
  std::string resource = std::string(kKeyVaultResource);
  int64_t clock_skew_seconds = 300;
};

/// Checks `Authorization: Bearer <token>`: signature by the identity role's published keys,
/// issuer of the vault's tenant (v1 or v2 form), audience = resource (with or without a
/// trailing slash) or the Key Vault app id, exp/nbf within skew; then looks the client up in
/// the directory for its grants. Unauthenticated (missing/invalid token: the REST layer answers
/// 401 with the challenge) or PermissionDenied (another tenant's token, disabled app).
Result<VaultCaller> authenticate_caller(const http::LocalRequest& request,
                                        const identity::KeySet& keys,
                                        const identity::DirectoryView& directory,
                                        const VaultAuthOptions& options, int64_t now);

}  // namespace gh::vault
