#pragma once

// Who may call the admin REST API (docs/admin-api.md, "Authentication"). Every /v1 request
// carries `Authorization: Bearer <token>`, where the token is either
//   - the bootstrap admin credential: 32 random bytes, base64url, kept in identity.admin_token_file
//     (created 0600 when missing) and optionally also given in GATEHOUSE_ADMIN_TOKEN; compared
//     by SHA-256 in constant time, so the token itself is never kept in memory; or
//   - an access token this Gatehouse issued (signed by a published key of the key ring, within
//     exp/nbf, issued for one of our tenants) whose `roles` contain "Gatehouse.Admin".

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "identity/directory.h"
#include "identity/key_ring.h"

namespace gh::admin {

/// The app role that grants the admin API to an access token.
inline constexpr std::string_view kAdminRole = "Gatehouse.Admin";

/// The bootstrap admin credential: SHA-256 digests of the accepted tokens.
class AdminCredential {
 public:
  /// Reads the token in `file`, creating the file (mode 0600, and its directory 0700) with a new
  /// random token when it does not exist. `env_token`, when given, is accepted as well (at least
  /// 32 characters). Errors name the file, never a token: Io when it cannot be read or written,
  /// InvalidArgument when it is empty, readable by group or others, or the env token is short.
  static Result<AdminCredential> load_or_create(const std::string& file,
                                                std::optional<std::string> env_token);
  /// A credential accepting exactly these tokens (tests, embedding).
  static AdminCredential from_tokens(const std::vector<std::string>& tokens);

  /// True when `token` is one of the accepted tokens. Constant time in the token's content.
  bool matches(std::string_view token) const noexcept;

 private:
  std::vector<std::array<uint8_t, 32>> digests_;
};

/// A new bootstrap token: 32 random bytes, base64url without padding (43 characters).
std::string new_admin_token();

enum class AuthOutcome : uint8_t {
  Allowed,      // bootstrap credential, or a valid token with the admin role
  Missing,      // no Authorization header, or not a Bearer one -> 401
  Invalid,      // neither the bootstrap token nor a valid access token of ours -> 401
  MissingRole,  // a valid access token without the admin role -> 403
};

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::Missing;
  std::string caller;  // "bootstrap" or the token's appid/azp, for logs
  std::string reason;  // why a token was refused (never the token)
};

/// Decides whether the request's Authorization header value grants the admin API.
/// Thread-safe; reads the current directory view and key set.
AuthResult authorize_admin(std::string_view authorization, const AdminCredential& credential,
                           const identity::Directory& directory, const identity::KeyRing& keys,
                           const core::Clock& clock);

}  // namespace gh::admin
