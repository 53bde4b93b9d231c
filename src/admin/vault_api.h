#pragma once

// The vault role's admin REST API under /v1/vault/ on the admin listener (docs/vault.md, "Admin
// API and CLI"): secrets (set, get with the value, list, versions, delete and purge),
// certificates (create from a policy, import PEM/PKCS#12, renew, list, versions, export, delete)
// and everything expiring. The `gatehouse vault` commands are its clients.
//
// Authentication is the identity admin API's (IdentityApi::authenticate), done by the admin
// server before handle(). Every operation writes one vault audit record with via "admin" (never
// a value). A secret's value appears in one response only: GET /v1/vault/secrets/{name}; a
// private key only in an export.

#include <optional>
#include <string>
#include <string_view>

#include "admin/api_support.h"
#include "core/clock.h"
#include "vault/audit.h"
#include "vault/vault_store.h"

namespace gh::admin {

class VaultApi {
 public:
  /// `store` and `audit` must outlive the API.
  VaultApi(vault::VaultStore& store, vault::VaultAudit& audit, const core::Clock& clock)
      : store_(store), audit_(audit), clock_(clock) {}

  /// True for /v1/vault and everything under /v1/vault/.
  static bool serves(std::string_view path) noexcept;

  /// Answers one request whose credential was already accepted; `caller` is who it was
  /// ("bootstrap" or a token's client id). Never throws: every failure is a response (400, 404,
  /// 405, 409 naming the field or item, 500 otherwise). Blocks on SQLite and, for certificates,
  /// on key generation.
  AdminResponse handle(const AdminRequest& request, std::string_view caller) noexcept;

  /// The answer to every /v1/vault request on a server without a vault role: 404
  /// {"error":"vault_not_enabled", ...}.
  static AdminResponse not_enabled();

  /// Writes the audit record of a request refused before handle() (401/403 from the admin
  /// credential check), when it names a vault operation. Never throws.
  void audit_refusal(const AdminRequest& request, unsigned status) noexcept;

  struct Call;  // one request being answered (vault_api.cc)

 private:
  static Call start_call(const AdminRequest& request);
  /// Finds the endpoint and checks the item name; the error answer, or nullopt to run it.
  static std::optional<AdminResponse> route(Call& call);
  AdminResponse run(Call& call);
  void write_audit(const Call& call, const AdminRequest& request, unsigned status,
                   std::string_view caller);

  vault::VaultStore& store_;
  vault::VaultAudit& audit_;
  const core::Clock& clock_;
};

}  // namespace gh::admin
