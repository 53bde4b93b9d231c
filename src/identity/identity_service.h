#pragma once

// The identity role as one local handler on the gateway's listeners:
//   POST /{tenant}/oauth2/v2.0/token          POST /{tenant}/oauth2/token
//   GET  /{tenant}/v2.0/.well-known/openid-configuration
//   GET  /{tenant}/.well-known/openid-configuration
//   GET  /{tenant}/discovery/v2.0/keys        GET /{tenant}/discovery/keys
//   GET  /common/discovery/keys, /common/discovery/v2.0/keys, /common/discovery/instance
//   GET  /error?code=N
//   GET  /metadata/identity/oauth2/token, /msi/token  (managed identity listeners only)
// {tenant} is the tenant GUID or one of its aliases. Owns the directory, key ring, client
// authenticator, minter and audit log; built from the `identity:` configuration.

#include <memory>
#include <string>
#include <string_view>

#include "config/environment.h"
#include "config/identity_config.h"
#include "core/clock.h"
#include "core/result.h"
#include "http/local_handler.h"
#include "identity/audit_log.h"
#include "identity/client_auth.h"
#include "identity/directory.h"
#include "identity/key_ring.h"
#include "identity/managed_identity.h"
#include "identity/token_minter.h"
#include "store/database.h"

namespace gh::identity {

/// Listener names: which serve the identity endpoints and which the managed-identity ones.
struct IdentityListeners {
  std::vector<std::string> identity;          // empty: all
  std::vector<std::string> managed_identity;  // empty: none
};

/// The master key as start() finds it: identity.master_key_file, else the environment variable
/// identity.master_key_env names, else <data_dir>/master.key (created by the first start).
/// NotFound when none exists yet.
Result<MasterKey> load_master_key(const config::IdentityConfig& config,
                                  const config::Environment& env);

class IdentityService : public http::LocalHandler {
 public:
  /// Opens the database in config.data_dir (creating it), loads the master key, opens the
  /// directory and key ring, applies the declarative tenants, opens the audit log.
  static Result<std::shared_ptr<IdentityService>> start(const config::IdentityConfig& config,
                                                        IdentityListeners listeners,
                                                        const config::Environment& env,
                                                        const core::Clock& clock);
  ~IdentityService() override;

  bool claims(std::string_view listener, std::string_view path) const override;
  net::awaitable<http::LocalResponse> handle(const http::LocalRequest& request) override;

  Directory& directory() noexcept;
  /// The database the directory and key ring live in (the vault role keeps its items there).
  std::shared_ptr<store::Database> database() const noexcept;
  KeyRing& key_ring() noexcept;
  /// The configuration the service started with (the admin API reads admin_token_file).
  const config::IdentityConfig& config() const noexcept;
  /// Runs the key schedule and picks up directory changes from other processes: call about
  /// once a minute (and it is cheap to call more often).
  void maintain() override;
  void flush_logs() override;

 private:
  IdentityService() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gh::identity
