#pragma once

// The identity role's configuration: the `identity:` section of the same YAML file as the proxy
// (ProxyConfig::identity). Absent section = no identity role. Shape (every key optional):
//
//   identity:
//     data_dir: ./gatehouse-data        # SQLite database (gatehouse.db) lives here
//                                       # (paths are relative to the configuration file)
//     public_url: https://${HOST}:8443  # scheme://host[:port] clients use; default: taken from
//                                       # each request's Host (and TLS) when unset
//     listeners: [public]               # listener names serving the token/discovery endpoints;
//                                       # default: every TLS listener
//     master_key_file: master.key       # 32 random bytes (raw, hex or base64) that encrypt
//     master_key_env: GATEHOUSE_MASTER_KEY   # signing keys at rest; file wins over env
//     admin_token_file: admin.token     # bootstrap admin credential for the admin REST API
//                                       # (created 0600 when missing; default
//                                       <data_dir>/admin.token)
//     audit_log: stderr                 # stdout | stderr | off | a file path (JSON lines)
//     tokens:
//       lifetime: 1h                    # app-only access tokens (5m..24h)
//       managed_identity_lifetime: 24h
//       clock_skew: 5m                  # tolerance for assertion nbf/exp
//       max_assertion_lifetime: 1h      # exp - (nbf|iat) cap for certificate assertions
//       max_federated_lifetime: 24h     # the same for federated (external) tokens
//     signing:
//       algorithm: RS256                # RS256 (Entra) | ES256
//       rotate_every: 90d               # a new key starts signing this often
//       publish_ahead: 2d               # ...after being in the JWKS this long (>= 24h)
//       retire_after: 2d                # a retired key stays published this long (>= lifetime)
//     managed_identities:
//       - name: orders-worker
//         tenant: <tenant GUID>
//         client_id: <application client id>
//         resource_id: /subscriptions/.../orders-worker   # optional msi_res_id / mi_res_id
//         source_cidrs: [10.0.0.7/32]   # IMDS callers allowed by peer address
//         local_uids: [1001]            # IMDS callers on loopback allowed by socket owner uid
//         identity_header_env: ORDERS_IDENTITY_HEADER   # App Service: X-IDENTITY-HEADER value
//     managed_identity_listeners: [imds]  # listeners serving /metadata/identity and /msi/token
//     tenants:                          # declarative directory (GitOps); applied at start and
//       - id: <GUID>                    # on reload; objects named here are created or updated
//                                       # (id and applications[].client_id are required)
//         name: Contoso
//         aliases: [contoso.example]
//         applications:
//           - client_id: <GUID>         # required (stable across environments)
//             name: orders-api
//             identifier_uris: [api://orders]
//             access_token_version: 2
//             assignment_required: true
//             strict_assertion_replay: false
//             roles: [{value: Orders.Read, id: <GUID, optional>}]
//             certificates: [{file: partner.pem, name: partner-2026}]
//             secrets: [{name: ci, value_env: ORDERS_CI_SECRET}]
//             federated: [{name: gha, issuer: https://..., subject: repo:x:ref:y,
//                          audience: api://AzureADTokenExchange}]
//             assignments: [{resource: api://orders, role: Orders.Read}]

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gh::config {

struct IdentityTokens {
  std::chrono::seconds lifetime{3600};
  std::chrono::seconds managed_identity_lifetime{86400};
  std::chrono::seconds clock_skew{300};
  std::chrono::seconds max_assertion_lifetime{3600};
  std::chrono::seconds max_federated_lifetime{86400};
};

struct IdentitySigning {
  std::string algorithm = "RS256";
  std::chrono::seconds rotate_every{90LL * 86400};
  std::chrono::seconds publish_ahead{2LL * 86400};
  std::chrono::seconds retire_after{2LL * 86400};
};

struct ManagedIdentityConfig {
  std::string name;
  std::string tenant;
  std::string client_id;
  std::string resource_id;
  std::vector<std::string> source_cidrs;
  std::vector<uint32_t> local_uids;
  std::string identity_header_env;  // the header value itself never sits in the config
  int line = 0;
};

struct DeclaredRole {
  std::string value;
  std::string id;
  std::string display_name;
  int line = 0;  // where it is declared, for errors when it is applied
};
struct DeclaredCertificate {
  std::string file;
  std::string name;
  int line = 0;  // where it is declared, for errors when it is applied
};
struct DeclaredSecret {
  std::string name;
  std::string value_env;
  int line = 0;  // where it is declared, for errors when it is applied
};
struct DeclaredFederated {
  std::string name;
  std::string issuer;
  std::string subject;
  std::string audience = "api://AzureADTokenExchange";
  std::string description;
  int line = 0;  // where it is declared, for errors when it is applied
};
struct DeclaredAssignment {
  std::string resource;
  std::string role;
  int line = 0;  // where it is declared, for errors when it is applied
};
struct DeclaredApplication {
  std::string client_id;
  std::string name;
  std::vector<std::string> identifier_uris;
  int access_token_version = 1;
  bool assignment_required = false;
  bool strict_assertion_replay = false;
  std::vector<DeclaredRole> roles;
  std::vector<DeclaredCertificate> certificates;
  std::vector<DeclaredSecret> secrets;
  std::vector<DeclaredFederated> federated;
  std::vector<DeclaredAssignment> assignments;
  int line = 0;
};
struct DeclaredTenant {
  std::string id;
  std::string name;
  std::vector<std::string> aliases;
  std::vector<DeclaredApplication> applications;
  int line = 0;
};

struct IdentityConfig {
  std::string data_dir = "gatehouse-data";
  std::string public_url;
  std::vector<std::string> listeners;
  std::string master_key_file;
  std::string master_key_env = "GATEHOUSE_MASTER_KEY";
  std::string admin_token_file;
  std::string audit_log = "stderr";
  IdentityTokens tokens;
  IdentitySigning signing;
  std::vector<ManagedIdentityConfig> managed_identities;
  std::vector<std::string> managed_identity_listeners;
  std::vector<DeclaredTenant> tenants;
  int line = 0;
};

}  // namespace gh::config
