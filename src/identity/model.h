#pragma once

// The identity directory as plain data (Entra's app-registration model, reduced to what the
// client-credentials, federated and managed-identity flows need; see
// ../shared/reference/entra-token-service.md §8). Times are Unix seconds (UTC). GUIDs are
// lower-case 8-4-4-4-12 strings. Nothing here does I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/encoding.h"

namespace gh::identity {

struct Tenant {
  std::string id;  // GUID: the `tid` claim and the canonical path segment
  std::string display_name;
  std::vector<std::string> aliases;  // extra path segments accepted, e.g. "contoso.example"
  int64_t created_at = 0;
};

struct AppRole {
  std::string id;     // GUID
  std::string value;  // what the `roles` claim carries; no spaces
  std::string display_name;
  std::string description;
  bool enabled = true;
  bool allow_applications = true;  // allowedMemberTypes contains "Application"
};

/// A certificate credential (keyCredential, usage Verify, AsymmetricX509Cert).
struct KeyCredential {
  std::string key_id;  // GUID
  std::string display_name;
  core::Bytes thumbprint_sha1;    // 20 bytes, SHA-1 of the certificate DER
  core::Bytes thumbprint_sha256;  // 32 bytes
  core::Bytes certificate_der;    // the public certificate; its key verifies assertions
  int64_t start = 0;              // default: the certificate's notBefore
  int64_t end = 0;                // default: the certificate's notAfter
};

/// A client secret (passwordCredential). The value is shown once at creation; only a salted
/// slow hash is stored.
struct PasswordCredential {
  std::string key_id;  // GUID
  std::string display_name;
  std::string hint;  // first three characters of the secret
  std::string hash;  // PHC-style string from secret_hash.h, e.g. "$scrypt$ln=15,r=8,p=1$salt$hash"
  int64_t start = 0;
  int64_t end = 0;
};

/// A federated identity credential: an external issuer's token stands in for a secret.
struct FederatedCredential {
  std::string id;    // GUID
  std::string name;  // 3-120 chars, unique per app, URL-friendly
  std::string issuer;    // exact match with the token's iss (trailing slash significant)
  std::string subject;   // exact match with sub
  std::string audience;  // exact match with aud; default "api://AzureADTokenExchange"
  std::string description;
};

struct Application {
  std::string object_id;  // GUID of the registration (directory use)
  std::string tenant_id;
  std::string client_id;  // GUID: appId, used in every protocol message
  std::string service_principal_id;  // GUID: the `oid`/`sub` of tokens issued to this app
  std::string display_name;
  std::vector<std::string> identifier_uris;  // "api://demo", "https://..."
  int access_token_version = 1;              // accessTokenAcceptedVersion: 1 or 2 (null = 1)
  bool assignment_required = false;  // appRoleAssignmentRequired on the SP: 501051 without one
  bool strict_assertion_replay = false;  // every assertion jti single-use (breaks MSAL; opt-in)
  bool enabled = true;
  std::vector<AppRole> roles;
  std::vector<KeyCredential> certificates;
  std::vector<PasswordCredential> secrets;
  std::vector<FederatedCredential> federated;
  int64_t created_at = 0;
};

/// A client app granted an app role of a resource app (appRoleAssignment).
struct RoleAssignment {
  std::string id;  // GUID
  std::string tenant_id;
  std::string client_id;    // the assigned principal's app
  std::string resource_id;  // the resource app's client id
  std::string role_id;      // AppRole::id on the resource
  int64_t created_at = 0;
};

/// A managed identity: a workload bound to an application, that gets tokens without holding
/// any credential (IMDS / App Service protocols). See managed_identity.h for how the binding
/// is proven.
struct ManagedIdentity {
  std::string name;       // unique
  std::string tenant_id;
  std::string client_id;  // the application whose tokens the workload gets
  std::string resource_id;  // the msi_res_id / mi_res_id this identity answers to (optional)
  std::vector<std::string> source_cidrs;  // IMDS: callers allowed by address ("127.0.0.1/32")
  std::vector<uint32_t> local_uids;       // IMDS on loopback: callers allowed by socket owner
  std::string identity_header_sha256;     // App Service: SHA-256 hex of X-IDENTITY-HEADER
};

}  // namespace gh::identity
