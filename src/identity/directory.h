#pragma once

// The directory: tenants, applications (with roles and credentials) and role assignments,
// persisted in the store, and served to the request path as immutable snapshots.
//
// Writes (admin API, CLI, declarative config) go through Directory, which commits to SQLite and
// then publishes a new DirectoryView (atomic shared_ptr swap). The token endpoint only reads the
// current view: no lock and no SQL per request. reload() picks up commits made by another
// process on the same database file (polled through Database::data_version()).

#include <atomic>
#include <memory>
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

/// A read-only index over one version of the directory. Lookups allocate nothing.
class DirectoryView {
 public:
  /// By GUID or alias (case-insensitive).
  const Tenant* tenant(std::string_view id_or_alias) const;
  /// By client id (GUID, case-insensitive) within the tenant.
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
  std::vector<std::string> roles_for(const Application& client,
                                     const Application& resource) const;
  bool has_assignment(const Application& client, const Application& resource) const;

  const std::vector<Tenant>& tenants() const noexcept { return tenants_; }
  const std::vector<Application>& applications() const noexcept { return apps_; }
  const std::vector<RoleAssignment>& assignments() const noexcept { return assignments_; }

 private:
  friend class Directory;
  std::vector<Tenant> tenants_;
  std::vector<Application> apps_;
  std::vector<RoleAssignment> assignments_;
  // Indexes (lower-cased keys) into the vectors above, built once per version.
  std::unordered_map<std::string, size_t> tenant_index_;
  std::unordered_map<std::string, size_t> app_index_;       // tenant_id + '/' + client_id
  std::unordered_map<std::string, size_t> resource_index_;  // tenant_id + '/' + identifier
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
  /// Rebuilds the view when the database changed since the last load (another process).
  Status reload_if_changed();

  // Mutations: each is one transaction, then a new view. Errors: NotFound / Conflict /
  // InvalidArgument with a message naming the object ("application 'x' not found").
  Result<Tenant> create_tenant(std::string display_name, std::string id = {},
                               std::vector<std::string> aliases = {});
  Result<Application> create_application(NewApplication spec);
  Status update_application(const Application& app);  // display name, URIs, flags, version
  Status delete_application(std::string_view tenant_id, std::string_view client_id);
  Result<AppRole> add_role(std::string_view tenant_id, std::string_view client_id,
                           std::string value, std::string display_name = {},
                           std::string description = {});
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
  Status remove_secret(std::string_view tenant_id, std::string_view client_id,
                       std::string_view key_id);
  Result<FederatedCredential> add_federated(std::string_view tenant_id,
                                            std::string_view client_id, FederatedCredential fic);
  Status remove_federated(std::string_view tenant_id, std::string_view client_id,
                          std::string_view name);
  /// Assigns role `role_value_or_id` of resource app `resource` (client id or identifier URI) to
  /// `client`. Idempotent.
  Result<RoleAssignment> assign_role(std::string_view tenant_id, std::string_view client_id,
                                     std::string_view resource,
                                     std::string_view role_value_or_id);
  Status unassign_role(std::string_view tenant_id, std::string_view assignment_id);

 private:
  Directory(std::shared_ptr<store::Database> db, const core::Clock& clock)
      : db_(std::move(db)), clock_(clock) {}
  Status load();
  std::shared_ptr<store::Database> db_;
  const core::Clock& clock_;
  std::shared_ptr<const DirectoryView> view_;
  int64_t data_version_ = -1;
};

}  // namespace gh::identity
