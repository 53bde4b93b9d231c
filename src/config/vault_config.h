#pragma once

// The vault role's configuration: the `vault:` section of the same YAML file (ProxyConfig::vault).
// Absent section = no vault role. The vault lives in the identity role's database and uses its
// master key, so it needs an `identity:` section too. Shape:
//
//   vault:
//     tenant: <tenant GUID or alias>    # required: whose tokens the vault accepts; the 401
//                                       # challenge's authority is <identity origin>/<tenant>
//     listeners: [vault]                # required: listeners serving the Key Vault REST API
//                                       # (it uses the root path, so a listener of its own)
//     resource: https://vault.azure.net # token audience clients ask for (scope
//     <resource>/.default) audit_log: stderr                 # stdout | stderr | off | a file path
//     (JSON lines) soft_delete_retention_days: 90    # 7..90, as Key Vault issuers: # certificate
//     authorities certificate policies may name
//       - {name: dev-ca, cert: ca.pem, key: ca.key}
//     access:                           # Key Vault RBAC: role granted to an application
//       - {client_id: <GUID>, role: Key Vault Secrets User}
//         # roles: Key Vault Secrets User | Key Vault Secrets Officer |
//         #        Key Vault Certificates Officer | Key Vault Administrator
//     secrets:                          # declarative: a new version when the value differs
//       - {name: backend-key, value_env: BACKEND_KEY, content_type: text/plain}
//       - {name: partner-ca, file: partner-ca.pem}
//     certificates:
//       - name: gateway-client          # issued by the vault from a policy, renewed by it
//         policy: {subject: CN=gateway, dns_names: [gw.example], issuer: dev-ca,
//                  validity_months: 12, renew_days_before_expiry: 30, key_type: RSA}
//       - name: edge-tls                # imported from a file (PEM or PKCS#12), watched:
//         file: /etc/tls/edge.pfx       # a changed file becomes a new version within seconds
//         password_env: EDGE_PFX_PASSWORD
//
// Elsewhere in the configuration, a file path may be a vault reference instead:
// `vault:secrets/NAME`, `vault:certificates/NAME` (PEM: private key then chain) or either with
// `/VERSION` appended to pin a version. Unpinned references follow new versions within seconds.

#include <optional>
#include <string>
#include <vector>

namespace gh::config {

struct VaultIssuerConfig {
  std::string name;
  std::string cert;  // PEM file (the issuer first, then any intermediates)
  std::string key;   // PEM file
  int line = 0;
};

struct VaultAccessConfig {
  std::string client_id;
  std::string role;  // a role's display name ("Key Vault Secrets User") or value
  int line = 0;
};

struct VaultSecretConfig {
  std::string name;
  std::string value_env;  // exactly one of value_env and file
  std::string file;
  std::string content_type;
  int line = 0;
};

struct VaultCertificatePolicyConfig {
  std::string subject;
  std::vector<std::string> dns_names;
  std::string key_type = "RSA";
  int key_size = 2048;
  std::string curve = "P-256";
  int validity_months = 12;
  std::string issuer = "Self";
  std::string content_type = "application/x-pem-file";
  int renew_days_before_expiry = 0;
  int renew_at_lifetime_percentage = 80;
};

struct VaultCertificateConfig {
  std::string name;
  std::optional<VaultCertificatePolicyConfig> policy;  // exactly one of policy and file
  std::string file;                                    // PEM or PKCS#12 (.pfx/.p12)
  std::string password_env;
  int line = 0;
};

struct VaultConfig {
  std::string tenant;
  std::vector<std::string> listeners;
  std::string resource = "https://vault.azure.net";
  std::string audit_log = "stderr";
  int soft_delete_retention_days = 90;
  std::vector<VaultIssuerConfig> issuers;
  std::vector<VaultAccessConfig> access;
  std::vector<VaultSecretConfig> secrets;
  std::vector<VaultCertificateConfig> certificates;
  int line = 0;
};

}  // namespace gh::config
