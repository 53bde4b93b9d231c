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
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admin/admin_auth.h"
#include "core/clock.h"
#include "identity/directory.h"
#include "identity/key_ring.h"

namespace gh::admin {

/// Largest accepted request body (a PEM certificate chain fits comfortably).
inline constexpr size_t kMaxAdminBodyBytes = 64 * 1024;

struct AdminRequest {
  std::string_view method;         // "GET", "POST", "PATCH", "DELETE", ...
  std::string_view target;         // origin-form: path and query
  std::string_view authorization;  // the Authorization header, "" when absent
  std::string_view body;
};

struct AdminResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields
  std::string body;
  std::string caller;  // who was authenticated ("" when nobody), for the admin server's log
};

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
