#pragma once

// The vault role: the Key Vault REST API on its listeners, declarative secrets, certificates and
// grants from the configuration, automatic renewal, file-backed certificates, and the resolver
// behind `vault:` references elsewhere in the configuration (core/references.h), which lets the
// gateway load listener certificates, backend client certificates, trusted CAs, CRLs and named
// values from the vault and notice new versions within seconds.

#include <memory>
#include <string>

#include "config/environment.h"
#include "config/vault_config.h"
#include "core/clock.h"
#include "core/references.h"
#include "core/result.h"
#include "http/local_handler.h"
#include "identity/identity_service.h"
#include "vault/audit.h"
#include "vault/vault_store.h"

namespace gh::vault {

/// A declared policy (the `vault.certificates[].policy` section) as the store takes it.
CertificatePolicy certificate_policy_from_config(const config::VaultCertificatePolicyConfig& c);
/// Checks every declared certificate policy as issuance will (what `config check` and start
/// report); InvalidArgument naming the entry and its line.
Status check_declared_certificates(const config::VaultConfig& config);

class VaultService : public http::LocalHandler, public core::ReferenceResolver {
 public:
  /// Opens the store in the identity role's database with its master key, ensures the Key
  /// Vault resource application in the vault's tenant, applies the declared grants, secrets and
  /// certificates, opens the audit log. Fails naming the configuration entry at fault.
  /// `identity_port`: the port of the listener serving the identity role, for the 401
  /// challenge's authority when identity.public_url is unset (0: unknown).
  static Result<std::shared_ptr<VaultService>> start(
      const config::VaultConfig& config, std::shared_ptr<identity::IdentityService> identity,
      uint16_t identity_port, const config::Environment& env, const core::Clock& clock);
  ~VaultService() override;

  // http::LocalHandler: the Key Vault REST API on the configured listeners.
  bool claims(std::string_view listener, std::string_view path) const override;
  size_t max_body_bytes() const override { return 256 * 1024; }
  net::awaitable<http::LocalResponse> handle(const http::LocalRequest& request) override;
  /// Renews certificates that are due and re-imports changed certificate files.
  void maintain() override;
  void flush_logs() override;

  // core::ReferenceResolver: "secrets/NAME[/VERSION]" and "certificates/NAME[/VERSION]".
  Result<std::string> read(std::string_view reference) override;
  std::string stamp(std::string_view reference) override;

  VaultStore& store() noexcept;
  VaultAudit& audit() noexcept;
  const config::VaultConfig& config() const noexcept;

 private:
  VaultService() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh::vault
