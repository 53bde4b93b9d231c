#pragma once

// The identity role's admin REST API under /v1/ on the admin listener (docs/admin-api.md):
// tenants, applications and their certificates, secrets, roles, assignments and federated
// credentials; the signing keys; and credentials about to expire. A plain function from a parsed
// request to a response, so that it is tested without sockets; admin_server.cc feeds it.
//
// Changes go through identity::Directory and identity::KeyRing (each one transaction, then a new
// immutable view), reads come from their current views. Secrets never appear in a response except
// the one-time value of a newly created client secret.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/admin_auth.h"
#include "admin/api_support.h"
#include "core/clock.h"
#include "identity/directory.h"
#include "identity/key_ring.h"

namespace gh::admin {

class IdentityApi {
 public:
  /// `directory` and `keys` must outlive the API.
  IdentityApi(identity::Directory& directory, identity::KeyRing& keys, AdminCredential credential,
              const core::Clock& clock)
      : directory_(directory), keys_(keys), credential_(std::move(credential)), clock_(clock) {}

  /// True for the paths this API answers: /v1 and everything under /v1/.
  static bool serves(std::string_view path) noexcept;

  /// Authenticates and answers one request. Never throws: every failure is a response
  /// (401/403 for credentials, 400/404/405/409/413 naming the field or object, 500 otherwise).
  /// Writes block on SQLite and, for secrets and keys, on hashing and key generation.
  AdminResponse handle(const AdminRequest& request) noexcept;

  /// The credential check handle() makes, for the other admin APIs (vault_api.h): nullopt when
  /// `authorization` grants the admin API, else the 401/403 answer. `caller` is set to who was
  /// authenticated ("bootstrap" or a token's client id; "" when nobody). Thread-safe.
  std::optional<AdminResponse> authenticate(std::string_view authorization,
                                            std::string& caller) const;

 private:
  struct Route;
  AdminResponse dispatch(const AdminRequest& request, std::string_view path,
                         std::string_view query);

  identity::Directory& directory_;
  identity::KeyRing& keys_;
  AdminCredential credential_;
  const core::Clock& clock_;
};

}  // namespace gh::admin
