#pragma once

// The directory: tenants, applications (with roles and credentials) and role assignments,
// persisted in the store, and served to the request path as immutable snapshots.
//
// Writes (admin API, CLI, declarative config) go through Directory, which commits to SQLite and
// then publishes a new DirectoryView (atomic shared_ptr swap). The token endpoint only reads the
// current view: no lock and no SQL per request. reload() picks up commits made by another
// process on the same database file (polled through Database::data_version()).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "identity/model.h"
#include "store/database.h"

namespace gh::identity {

/// True when `s` is a GUID in 8-4-4-4-12 hex form (either case).
bool is_guid(std::string_view s) noexcept;

/// ASCII case-insensitive hashing and equality for string-keyed indexes; transparent, so
/// lookups take a string_view and allocate nothing.
struct CaseInsensitiveHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept;
};
struct CaseInsensitiveEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};
using CaseInsensitiveIndex =
    std::unordered_map<std::string, size_t, CaseInsensitiveHash, CaseInsensitiveEqual>;

/// A read-only index over one version of the directory. Lookups allocate nothing.
class DirectoryView {
 public:
  /// By GUID or alias (case-insensitive).
  const Tenant* tenant(std::string_view id_or_alias) const;
  /// By client id (GUID, case-insensitive) within the tenant (`tenant_id`: GUID or alias).
  const Application* application(std::string_view tenant_id, std::string_view client_id) const;
  /// The resource named by a v2 scope's resource part or a v1 `resource`: an app's client id or
  /// one of its identifier URIs, compared case-insensitively. A trailing '/' is significant
  /// only in that "https://x/" matches an identifier "https://x/" and also "https://x".
  const Application* resource(std::string_view tenant_id, std::string_view identifier) const;
  /// The certificate credential of `app` with this SHA-1 or SHA-256 thumbprint, or null.
  const KeyCredential* certificate_by_sha1(const Application& app,
                                           std::span<const uint8_t> sha1) const;
  const KeyCredential* certificate_by_sha256(const Application& app,
                                             std::span<const uint8_t> sha256) const;
  /// Values of the enabled, application-allowed roles of `resource` assigned to `client`
  /// (sorted, unique). Empty when none.
  std::vector<std::string> roles_for(const Application& client, const Application& resource) const;
  /// The same values without copying: a view of a vector owned by this DirectoryView (empty
  /// when none). For the token endpoint.
  std::span<const std::string> role_values(const Application& client,
                                           const Application& resource) const noexcept;
  /// True when `client` holds at least one usable (enabled, application-allowed) role of
  /// `resource`: what appRoleAssignmentRequired asks for.
  bool has_assignment(const Application& client, const Application& resource) const;

  const std::vector<Tenant>& tenants() const noexcept { return tenants_; }
  const std::vector<Application>& applications() const noexcept { return apps_; }
  const std::vector<RoleAssignment>& assignments() const noexcept { return assignments_; }

 private:
  friend class Directory;
  std::vector<Tenant> tenants_;
  std::vector<Application> apps_;
  std::vector<RoleAssignment> assignments_;
  // Indexes (case-insensitive keys) into the vectors above, built once per version.
  struct TenantIndex {
    CaseInsensitiveIndex apps;       // client_id -> apps_ position
    CaseInsensitiveIndex resources;  // client_id and identifier URIs -> apps_ position
  };
  std::optional<size_t> tenant_position(std::string_view id_or_alias) const noexcept;
  std::optional<size_t> app_position(const Application& app) const noexcept;
  CaseInsensitiveIndex tenant_index_;        // id and aliases -> tenants_ position
  std::vector<TenantIndex> tenant_indexes_;  // parallel to tenants_
  // (client position << 32 | resource position) -> sorted usable role values.
  std::unordered_map<uint64_t, std::vector<std::string>> granted_roles_;
};

/// What `create_application` takes; omitted GUIDs are generated.
struct NewApplication {
  std::string tenant_id;
  std::string display_name;
  std::string client_id;  // optional: fixed id (declarative config, dev)
  std::vector<std::string> identifier_uris;
  int access_token_version = 1;
  bool assignment_required = false;
  bool strict_assertion_replay = false;
};

/// What `update_tenant` changes: display name and the full alias list.
struct TenantUpdate {
  std::string id;
  std::string display_name;
  std::vector<std::string> aliases;
};

/// A secret as created: the only time its value exists outside the caller.
struct CreatedSecret {
  PasswordCredential credential;  // hash set, never the value
  std::string value;              // 40 random URL-safe characters; show once, never log
};

class Directory {
 public:
  /// Migrates the `identity` schema on `db` and loads the first view.
  static Result<std::unique_ptr<Directory>> open(std::shared_ptr<store::Database> db,
                                                 const core::Clock& clock);

  std::shared_ptr<const DirectoryView> view() const { return std::atomic_load(&view_); }
  /// The clock mutations stamp times with.
  const core::Clock& clock() const noexcept { return clock_; }
  /// Rebuilds the view when the database changed since the last load (a commit by another
  /// connection: another process, or another Database opened on the same file). Cheap when
  /// nothing changed: one PRAGMA.
  Status reload_if_changed();

  // Mutations: each is one transaction, then a new view (none when nothing changed, e.g. an
  // existing assignment). Errors: NotFound / Conflict / InvalidArgument / LimitExceeded with a
  // message naming the object ("application 'x' not found in tenant 'y'").
  //
  // Identifiers: tenant ids and client ids are GUIDs in any case (stored lower-case); a tenant
  // may be named by an alias wherever `tenant_id` is taken. Aliases are DNS-like names
  // (letters, digits, '.', '-', '_'), unique across tenants, not GUIDs and not the reserved
  // segments common/organizations/consumers/adfs.
  Result<Tenant> create_tenant(std::string display_name, std::string id = {},
                               std::vector<std::string> aliases = {});
  /// Replaces display name and aliases.
  Status update_tenant(const TenantUpdate& update);
  /// Removes a tenant with everything in it.
  Status delete_tenant(std::string_view tenant_id);
  Result<Application> create_application(NewApplication spec);
  /// Finds the app by tenant_id + client_id and sets display name, identifier URIs, token
  /// version, enabled, assignment_required and strict_assertion_replay from `app`.
  Status update_application(const Application& app);
  Status delete_application(std::string_view tenant_id, std::string_view client_id);
  Result<AppRole> add_role(std::string_view tenant_id, std::string_view client_id,
                           std::string value, std::string display_name = {},
                           std::string description = {});
  /// Adds `role` as given (its id is generated when empty; display name defaults to value).
  Result<AppRole> add_role(std::string_view tenant_id, std::string_view client_id, AppRole role);
  /// Finds the role by `role.id` and sets value, display name, description, enabled and
  /// allow_applications.
  Status update_role(std::string_view tenant_id, std::string_view client_id, const AppRole& role);
  /// Removes a role (by value or id) and its assignments. As in Entra, an enabled role must be
  /// disabled first (Conflict otherwise), so that removing one is never a single slip.
  Status remove_role(std::string_view tenant_id, std::string_view client_id,
                     std::string_view role_value_or_id);
  /// Parses the certificate (PEM or DER), stores its thumbprints and validity. `start`/`end`
  /// default to the certificate's validity and must lie within it.
  Result<KeyCredential> add_certificate(std::string_view tenant_id, std::string_view client_id,
                                        std::string_view pem_or_der, std::string display_name = {},
                                        std::optional<int64_t> start = {},
                                        std::optional<int64_t> end = {});
  /// Removes by key id or by thumbprint (SHA-1 hex, case-insensitive).
  Status remove_certificate(std::string_view tenant_id, std::string_view client_id,
                            std::string_view key_id_or_thumbprint);
  /// Generates a secret valid from now for `lifetime_seconds` (default 180 days).
  Result<CreatedSecret> add_secret(std::string_view tenant_id, std::string_view client_id,
                                   std::string display_name = {},
                                   int64_t lifetime_seconds = 180 * 86400);
  /// Stores a secret whose value the caller chose (declarative config: the value comes from
  /// the environment). 16-256 characters; only its hash is kept.
  Result<PasswordCredential> add_secret_with_value(std::string_view tenant_id,
                                                   std::string_view client_id,
                                                   std::string display_name, std::string_view value,
                                                   int64_t lifetime_seconds = 180 * 86400);
  Status remove_secret(std::string_view tenant_id, std::string_view client_id,
                       std::string_view key_id);
  Result<FederatedCredential> add_federated(std::string_view tenant_id, std::string_view client_id,
                                            FederatedCredential fic);
  /// Finds the credential by `fic.name` and sets issuer, subject, audience and description.
  Status update_federated(std::string_view tenant_id, std::string_view client_id,
                          const FederatedCredential& fic);
  Status remove_federated(std::string_view tenant_id, std::string_view client_id,
                          std::string_view name);
  /// Assigns role `role_value_or_id` of resource app `resource` (client id or identifier URI) to
  /// `client`. Idempotent.
  Result<RoleAssignment> assign_role(std::string_view tenant_id, std::string_view client_id,
                                     std::string_view resource, std::string_view role_value_or_id);
  Status unassign_role(std::string_view tenant_id, std::string_view assignment_id);

 private:
  Directory(std::shared_ptr<store::Database> db, const core::Clock& clock)
      : db_(std::move(db)), clock_(clock) {}
  Status load();
  // Runs `change` in one write transaction against a fresh view of the committed state, then
  // rebuilds the view inside the same transaction and publishes it after COMMIT.
  template <class F>
  Status mutate(F&& change);
  Result<std::shared_ptr<DirectoryView>> read_view();
  std::shared_ptr<store::Database> db_;
  const core::Clock& clock_;
  std::shared_ptr<const DirectoryView> view_;
  // Serialises writers and reloads so that an older view is never published over a newer one.
  std::mutex write_mutex_;
  int64_t data_version_ = -1;  // guarded by write_mutex_
};

}  // namespace gh::identity
