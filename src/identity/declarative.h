#pragma once

// The declarative directory (`identity.tenants` in the configuration): what GitOps declares is
// made true in the directory, idempotently, at start and on reload.
//
//   - Tenants (by id): display name and aliases are set as declared.
//   - Applications (by client id): display name, identifier URIs, token version and flags are
//     set as declared (a declared app's fields are the config's; `enabled` is left alone).
//   - Roles (by value): added when missing, keeping a declared id; the display name follows
//     the config. A role found by its declared id under another value is renamed.
//   - Certificates (by SHA-1 thumbprint of the file's first certificate): added when missing.
//   - Secrets (by display name, default the variable's name): the value comes from the
//     environment variable `value_env` and only its hash is stored. A secret of that name
//     whose hash verifies the value (and has not expired) is kept; otherwise the secrets of
//     that name are replaced by one with the current value.
//   - Federated credentials (by name): added or updated.
//   - Assignments (resource by identifier URI or client id, role by value): added.
// Objects the config does not name (made through the admin API or CLI) are left alone, and
// nothing is ever deleted. Each change is its own transaction; applying the same config twice
// changes nothing (and publishes no new view).

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/identity_config.h"
#include "core/result.h"
#include "identity/directory.h"

namespace gh::identity {

/// Lifetime of secrets created from the configuration (their rotation is changing the value).
inline constexpr int64_t kDeclaredSecretLifetime = 10LL * 365 * 86400;

/// Applies `tenants` to `dir`. `env_lookup(name)` returns a variable's value, "" when unset.
/// Relative certificate paths are resolved against `base_dir`. Errors name the tenant, the
/// application, the config line and what is wrong (a missing variable by its name; a value
/// never appears). Stops at the first error; what was applied before it stays applied.
Status apply_declared_tenants(Directory& dir, const std::vector<config::DeclaredTenant>& tenants,
                              const std::function<std::string(std::string_view)>& env_lookup,
                              const std::string& base_dir);

}  // namespace gh::identity
