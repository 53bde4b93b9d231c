#include "identity/directory.h"

#include <algorithm>
#include <functional>

#include "core/strings.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "identity/secret_hash.h"
#include "x509/cert_loader.h"

namespace gh::identity {
namespace {

// Schema of component "identity". Object ids are lower-case GUID text. Everything below a
// tenant or an application is removed with it (ON DELETE CASCADE), including role
// assignments naming a deleted app as client or as resource, or a deleted role.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE tenant_aliases (
  alias TEXT PRIMARY KEY COLLATE NOCASE,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  position INTEGER NOT NULL
);
CREATE INDEX tenant_aliases_tenant ON tenant_aliases(tenant_id);
CREATE TABLE applications (
  object_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  service_principal_id TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  access_token_version INTEGER NOT NULL DEFAULT 1 CHECK (access_token_version IN (1, 2)),
  assignment_required INTEGER NOT NULL DEFAULT 0,
  strict_assertion_replay INTEGER NOT NULL DEFAULT 0,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  UNIQUE (tenant_id, client_id)
);
CREATE TABLE identifier_uris (
  tenant_id TEXT NOT NULL,
  uri TEXT NOT NULL COLLATE NOCASE,
  app_object_id TEXT NOT NULL REFERENCES applications(object_id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, uri)
);
CREATE INDEX identifier_uris_app ON identifier_uris(app_object_id);
CREATE TABLE app_roles (
  app_object_id TEXT NOT NULL REFERENCES applications(object_id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  value TEXT NOT NULL COLLATE NOCASE,
  display_name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1,
  allow_applications INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (app_object_id, id),
  UNIQUE (app_object_id, value)
);
CREATE TABLE key_credentials (
  key_id TEXT PRIMARY KEY,
  app_object_id TEXT NOT NULL REFERENCES applications(object_id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  thumbprint_sha1 BLOB NOT NULL,
  thumbprint_sha256 BLOB NOT NULL,
  certificate_der BLOB NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  UNIQUE (app_object_id, thumbprint_sha1)
);
CREATE TABLE password_credentials (
  key_id TEXT PRIMARY KEY,
  app_object_id TEXT NOT NULL REFERENCES applications(object_id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  hint TEXT NOT NULL,
  hash TEXT NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL
);
CREATE INDEX password_credentials_app ON password_credentials(app_object_id);
CREATE TABLE federated_credentials (
  id TEXT PRIMARY KEY,
  app_object_id TEXT NOT NULL REFERENCES applications(object_id) ON DELETE CASCADE,
  name TEXT NOT NULL COLLATE NOCASE,
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  audience TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  UNIQUE (app_object_id, name),
  UNIQUE (app_object_id, issuer, subject)
);
CREATE TABLE role_assignments (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_object_id TEXT NOT NULL REFERENCES applications(object_id) ON DELETE CASCADE,
  resource_object_id TEXT NOT NULL REFERENCES applications(object_id) ON DELETE CASCADE,
  role_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  FOREIGN KEY (resource_object_id, role_id) REFERENCES app_roles(app_object_id, id)
    ON DELETE CASCADE,
  UNIQUE (client_object_id, resource_object_id, role_id)
);
CREATE INDEX role_assignments_resource ON role_assignments(resource_object_id, role_id);
)sql";

// Client ids are unique across tenants, as Entra's appId (the config checks the same).
constexpr std::string_view kSchemaV2 =
    "CREATE UNIQUE INDEX applications_client_id ON applications(client_id);";

constexpr store::Migration kMigrations[] = {{1, kSchemaV1}, {2, kSchemaV2}};

// Limits (Entra's where it documents one).
constexpr size_t kMaxDisplayName = 256;
constexpr size_t kMaxAlias = 253;
constexpr size_t kMaxIdentifierUri = 2048;
constexpr size_t kMaxRoleValue = 249;
constexpr size_t kMaxDescription = 1000;
constexpr size_t kMaxFederatedField = 600;
constexpr size_t kMaxFederatedPerApp = 20;
constexpr size_t kMinSecret = 16;
constexpr size_t kMaxSecret = 256;
constexpr int64_t kMaxSecretLifetime = 100LL * 365 * 86400;
constexpr std::string_view kDefaultFederatedAudience = "api://AzureADTokenExchange";
// Path segments with a meaning of their own in Entra URLs; never tenant aliases.
constexpr std::string_view kReservedSegments[] = {"common", "organizations", "consumers", "adfs"};

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool has_space_or_control(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}
std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

Error invalid(std::string message) {
  return Error(ErrorKind::InvalidArgument, std::move(message));
}
Error not_found(std::string message) {
  return Error(ErrorKind::NotFound, std::move(message));
}
Error conflict(std::string message) {
  return Error(ErrorKind::Conflict, std::move(message));
}

// A GUID from a caller, in canonical lower-case form, or "" when none was given.
Result<std::string> canonical_guid(std::string_view value, std::string_view what) {
  if (!is_guid(value)) {
    return unexpected(invalid(std::string(what) + " " + in_quotes(value) +
                              " is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"));
  }
  return core::to_lower(value);
}
Result<std::string> guid_or_new(std::string_view value, std::string_view what) {
  if (value.empty()) return crypto::random_uuid();
  return canonical_guid(value, what);
}

Status check_display_name(std::string_view name, std::string_view what) {
  if (name.empty()) return unexpected(invalid(std::string(what) + " needs a display name"));
  if (name.size() > kMaxDisplayName) {
    return unexpected(invalid(std::string(what) + " display name is longer than " +
                              std::to_string(kMaxDisplayName) + " characters"));
  }
  return {};
}

Status check_alias(std::string_view alias) {
  if (alias.empty() || alias.size() > kMaxAlias) {
    return unexpected(invalid("tenant alias " + in_quotes(alias) + " must be 1-253 characters"));
  }
  for (char c : alias) {
    if (!is_alnum(c) && c != '.' && c != '-' && c != '_') {
      return unexpected(invalid("tenant alias " + in_quotes(alias) +
                                " may contain only letters, digits, '.', '-' and '_'"));
    }
  }
  if (is_guid(alias)) {
    return unexpected(invalid("tenant alias " + in_quotes(alias) + " must not be a GUID"));
  }
  for (auto reserved : kReservedSegments) {
    if (core::iequals(alias, reserved)) {
      return unexpected(invalid("tenant alias " + in_quotes(alias) + " is reserved"));
    }
  }
  return {};
}

// An App ID URI needs a scheme ("api://x", "https://x", "urn:x"). A client id (a GUID, which
// has no ':') can therefore never equal an identifier URI, so both share one lookup index.
Status check_identifier_uri(std::string_view uri) {
  if (uri.empty() || uri.size() > kMaxIdentifierUri) {
    return unexpected(invalid("identifier URI " + in_quotes(uri) + " must be 1-2048 characters"));
  }
  if (has_space_or_control(uri) || uri.find('*') != std::string_view::npos) {
    return unexpected(
        invalid("identifier URI " + in_quotes(uri) + " must not contain spaces or wildcards"));
  }
  const size_t colon = uri.find(':');
  bool scheme_ok = colon != std::string_view::npos && colon > 0 && colon + 1 < uri.size() &&
                   is_alnum(uri[0]) && !(uri[0] >= '0' && uri[0] <= '9');
  for (size_t i = 1; scheme_ok && i < colon; ++i) {
    const char c = uri[i];
    scheme_ok = is_alnum(c) || c == '+' || c == '-' || c == '.';
  }
  if (!scheme_ok) {
    return unexpected(invalid("identifier URI " + in_quotes(uri) +
                              " needs a scheme, as in api://name or https://host/path"));
  }
  return {};
}

Status check_role(const AppRole& role) {
  if (role.value.empty() || role.value.size() > kMaxRoleValue) {
    return unexpected(invalid("role value " + in_quotes(role.value) + " must be 1-249 characters"));
  }
  for (char c : role.value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return unexpected(invalid("role value " + in_quotes(role.value) +
                                " must be printable ASCII without spaces"));
    }
  }
  if (role.value.front() == '.') {
    return unexpected(invalid("role value " + in_quotes(role.value) + " must not start with '.'"));
  }
  if (role.display_name.size() > kMaxDisplayName || role.description.size() > kMaxDescription) {
    return unexpected(
        invalid("role " + in_quotes(role.value) + ": display name or description is too long"));
  }
  return {};
}

Status check_federated(const FederatedCredential& fic) {
  const std::string label = "federated credential " + in_quotes(fic.name);
  if (fic.name.size() < 3 || fic.name.size() > 120) {
    return unexpected(invalid(label + ": name must be 3-120 characters"));
  }
  // URL-friendly: the name becomes part of the credential's path (RFC 3986 unreserved).
  if (!std::all_of(fic.name.begin(), fic.name.end(), [](char c) {
        return is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
      })) {
    return unexpected(
        invalid(label + ": name may contain only letters, digits, '-', '_', '.' and '~'"));
  }
  auto field = [&](std::string_view value, std::string_view what) -> Status {
    if (value.empty() || value.size() > kMaxFederatedField || has_space_or_control(value)) {
      return unexpected(
          invalid(label + ": " + std::string(what) + " must be 1-600 characters without spaces"));
    }
    return {};
  };
  GH_TRY_STATUS(field(fic.issuer, "issuer"));
  GH_TRY_STATUS(field(fic.subject, "subject"));
  GH_TRY_STATUS(field(fic.audience, "audience"));
  if (fic.description.size() > kMaxFederatedField) {
    return unexpected(invalid(label + ": description is longer than 600 characters"));
  }
  return {};
}

// Case-insensitive membership in a list of strings.
bool contains_ci(const std::vector<std::string>& list, std::string_view s) {
  return std::any_of(list.begin(), list.end(), [&](const auto& x) { return core::iequals(x, s); });
}

const AppRole* find_role(const Application& app, std::string_view value_or_id) {
  for (const auto& role : app.roles) {
    if (core::iequals(role.id, value_or_id) || core::iequals(role.value, value_or_id)) {
      return &role;
    }
  }
  return nullptr;
}

Result<store::Statement> prepare(store::Database& db, std::string_view sql,
                                 std::string_view purpose) {
  return db.prepare(sql, purpose);
}

}  // namespace

// ---- helpers shared with the header ----------------------------------------------------------

bool is_guid(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

size_t CaseInsensitiveHash::operator()(std::string_view s) const noexcept {
  // FNV-1a over the lower-cased bytes: no copy, so lookups stay allocation-free.
  uint64_t h = 14695981039346656037ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(ascii_lower(c));
    h *= 1099511628211ULL;
  }
  return static_cast<size_t>(h);
}

bool CaseInsensitiveEqual::operator()(std::string_view a, std::string_view b) const noexcept {
  return core::iequals(a, b);
}

// ---- DirectoryView ---------------------------------------------------------------------------

std::optional<size_t> DirectoryView::tenant_position(std::string_view id_or_alias) const noexcept {
  auto it = tenant_index_.find(id_or_alias);
  if (it == tenant_index_.end()) return std::nullopt;
  return it->second;
}

const Tenant* DirectoryView::tenant(std::string_view id_or_alias) const {
  auto pos = tenant_position(id_or_alias);
  return pos ? &tenants_[*pos] : nullptr;
}

const Application* DirectoryView::application(std::string_view tenant_id,
                                              std::string_view client_id) const {
  auto pos = tenant_position(tenant_id);
  if (!pos) return nullptr;
  const auto& apps = tenant_indexes_[*pos].apps;
  auto it = apps.find(client_id);
  return it == apps.end() ? nullptr : &apps_[it->second];
}

const Application* DirectoryView::resource(std::string_view tenant_id,
                                           std::string_view identifier) const {
  auto pos = tenant_position(tenant_id);
  if (!pos) return nullptr;
  const auto& resources = tenant_indexes_[*pos].resources;
  auto it = resources.find(identifier);
  if (it == resources.end() && identifier.size() > 1 && identifier.back() == '/') {
    it = resources.find(identifier.substr(0, identifier.size() - 1));
  }
  return it == resources.end() ? nullptr : &apps_[it->second];
}

const KeyCredential* DirectoryView::certificate_by_sha1(const Application& app,
                                                        std::span<const uint8_t> sha1) const {
  for (const auto& cert : app.certificates) {
    if (std::equal(cert.thumbprint_sha1.begin(), cert.thumbprint_sha1.end(), sha1.begin(),
                   sha1.end())) {
      return &cert;
    }
  }
  return nullptr;
}

const KeyCredential* DirectoryView::certificate_by_sha256(const Application& app,
                                                          std::span<const uint8_t> sha256) const {
  for (const auto& cert : app.certificates) {
    if (std::equal(cert.thumbprint_sha256.begin(), cert.thumbprint_sha256.end(), sha256.begin(),
                   sha256.end())) {
      return &cert;
    }
  }
  return nullptr;
}

std::optional<size_t> DirectoryView::app_position(const Application& app) const noexcept {
  // std::less gives a total order even over pointers into different arrays.
  const std::less<const Application*> before;
  const Application* first = apps_.data();
  if (!apps_.empty() && !before(&app, first) && before(&app, first + apps_.size())) {
    return static_cast<size_t>(&app - first);
  }
  // A copy, or an Application from another version of the directory: find it by its ids.
  const Application* same = application(app.tenant_id, app.client_id);
  if (!same) return std::nullopt;
  return static_cast<size_t>(same - first);
}

std::span<const std::string> DirectoryView::role_values(
    const Application& client, const Application& resource) const noexcept {
  auto c = app_position(client);
  auto r = app_position(resource);
  if (!c || !r) return {};
  auto it = granted_roles_.find((uint64_t{*c} << 32) | uint64_t{*r});
  if (it == granted_roles_.end()) return {};
  return it->second;
}

std::vector<std::string> DirectoryView::roles_for(const Application& client,
                                                  const Application& resource) const {
  auto values = role_values(client, resource);
  return {values.begin(), values.end()};
}

bool DirectoryView::has_assignment(const Application& client, const Application& resource) const {
  return !role_values(client, resource).empty();
}

// ---- loading ---------------------------------------------------------------------------------

Result<std::shared_ptr<DirectoryView>> Directory::read_view() {
  auto view = std::make_shared<DirectoryView>();
  store::Database& db = *db_;

  GH_TRY(auto tenants, prepare(db,
                               "SELECT id, display_name, created_at FROM tenants"
                               " ORDER BY created_at, rowid",
                               "read tenants"));
  while (true) {
    GH_TRY(bool row, tenants.step());
    if (!row) break;
    Tenant t;
    t.id = tenants.text(0);
    t.display_name = tenants.text(1);
    t.created_at = tenants.integer(2);
    view->tenant_index_.emplace(t.id, view->tenants_.size());
    view->tenants_.push_back(std::move(t));
  }
  view->tenant_indexes_.resize(view->tenants_.size());

  GH_TRY(auto aliases, prepare(db,
                               "SELECT tenant_id, alias FROM tenant_aliases"
                               " ORDER BY tenant_id, position",
                               "read tenant aliases"));
  while (true) {
    GH_TRY(bool row, aliases.step());
    if (!row) break;
    auto pos = view->tenant_position(aliases.text(0));
    if (!pos) continue;  // foreign keys make this impossible
    std::string alias = aliases.text(1);
    view->tenant_index_.emplace(alias, *pos);
    view->tenants_[*pos].aliases.push_back(std::move(alias));
  }

  std::unordered_map<std::string, size_t> by_object_id;
  GH_TRY(auto apps, prepare(db,
                            "SELECT object_id, tenant_id, client_id, service_principal_id,"
                            " display_name, access_token_version, assignment_required,"
                            " strict_assertion_replay, enabled, created_at FROM applications"
                            " ORDER BY created_at, rowid",
                            "read applications"));
  while (true) {
    GH_TRY(bool row, apps.step());
    if (!row) break;
    Application a;
    a.object_id = apps.text(0);
    a.tenant_id = apps.text(1);
    a.client_id = apps.text(2);
    a.service_principal_id = apps.text(3);
    a.display_name = apps.text(4);
    a.access_token_version = static_cast<int>(apps.integer(5));
    a.assignment_required = apps.integer(6) != 0;
    a.strict_assertion_replay = apps.integer(7) != 0;
    a.enabled = apps.integer(8) != 0;
    a.created_at = apps.integer(9);
    by_object_id.emplace(a.object_id, view->apps_.size());
    view->apps_.push_back(std::move(a));
  }
  auto app_of = [&](const std::string& object_id) -> Application* {
    auto it = by_object_id.find(object_id);
    return it == by_object_id.end() ? nullptr : &view->apps_[it->second];
  };

  GH_TRY(auto uris, prepare(db,
                            "SELECT app_object_id, uri FROM identifier_uris"
                            " ORDER BY app_object_id, position",
                            "read identifier URIs"));
  while (true) {
    GH_TRY(bool row, uris.step());
    if (!row) break;
    if (auto* a = app_of(uris.text(0))) a->identifier_uris.push_back(uris.text(1));
  }

  GH_TRY(auto roles, prepare(db,
                             "SELECT app_object_id, id, value, display_name, description,"
                             " enabled, allow_applications FROM app_roles ORDER BY rowid",
                             "read app roles"));
  while (true) {
    GH_TRY(bool row, roles.step());
    if (!row) break;
    if (auto* a = app_of(roles.text(0))) {
      AppRole r;
      r.id = roles.text(1);
      r.value = roles.text(2);
      r.display_name = roles.text(3);
      r.description = roles.text(4);
      r.enabled = roles.integer(5) != 0;
      r.allow_applications = roles.integer(6) != 0;
      a->roles.push_back(std::move(r));
    }
  }

  GH_TRY(auto keys, prepare(db,
                            "SELECT app_object_id, key_id, display_name, thumbprint_sha1,"
                            " thumbprint_sha256, certificate_der, start_time, end_time"
                            " FROM key_credentials ORDER BY rowid",
                            "read certificate credentials"));
  while (true) {
    GH_TRY(bool row, keys.step());
    if (!row) break;
    if (auto* a = app_of(keys.text(0))) {
      KeyCredential k;
      k.key_id = keys.text(1);
      k.display_name = keys.text(2);
      k.thumbprint_sha1 = keys.blob(3);
      k.thumbprint_sha256 = keys.blob(4);
      k.certificate_der = keys.blob(5);
      k.start = keys.integer(6);
      k.end = keys.integer(7);
      a->certificates.push_back(std::move(k));
    }
  }

  GH_TRY(auto secrets, prepare(db,
                               "SELECT app_object_id, key_id, display_name, hint, hash,"
                               " start_time, end_time FROM password_credentials ORDER BY rowid",
                               "read secret credentials"));
  while (true) {
    GH_TRY(bool row, secrets.step());
    if (!row) break;
    if (auto* a = app_of(secrets.text(0))) {
      PasswordCredential p;
      p.key_id = secrets.text(1);
      p.display_name = secrets.text(2);
      p.hint = secrets.text(3);
      p.hash = secrets.text(4);
      p.start = secrets.integer(5);
      p.end = secrets.integer(6);
      a->secrets.push_back(std::move(p));
    }
  }

  GH_TRY(auto feds, prepare(db,
                            "SELECT app_object_id, id, name, issuer, subject, audience,"
                            " description FROM federated_credentials ORDER BY rowid",
                            "read federated credentials"));
  while (true) {
    GH_TRY(bool row, feds.step());
    if (!row) break;
    if (auto* a = app_of(feds.text(0))) {
      FederatedCredential f;
      f.id = feds.text(1);
      f.name = feds.text(2);
      f.issuer = feds.text(3);
      f.subject = feds.text(4);
      f.audience = feds.text(5);
      f.description = feds.text(6);
      a->federated.push_back(std::move(f));
    }
  }

  // Per-tenant indexes, once every application is complete.
  for (size_t i = 0; i < view->apps_.size(); ++i) {
    const Application& a = view->apps_[i];
    auto pos = view->tenant_position(a.tenant_id);
    if (!pos) continue;
    auto& index = view->tenant_indexes_[*pos];
    index.apps.emplace(a.client_id, i);
    index.resources.emplace(a.client_id, i);
    for (const auto& uri : a.identifier_uris)
      index.resources.emplace(uri, i);
  }

  GH_TRY(auto assignments,
         prepare(db,
                 "SELECT a.id, a.tenant_id, c.client_id, r.client_id, a.role_id, a.created_at"
                 " FROM role_assignments a"
                 " JOIN applications c ON c.object_id = a.client_object_id"
                 " JOIN applications r ON r.object_id = a.resource_object_id"
                 " ORDER BY a.created_at, a.rowid",
                 "read role assignments"));
  while (true) {
    GH_TRY(bool row, assignments.step());
    if (!row) break;
    RoleAssignment ra;
    ra.id = assignments.text(0);
    ra.tenant_id = assignments.text(1);
    ra.client_id = assignments.text(2);
    ra.resource_id = assignments.text(3);
    ra.role_id = assignments.text(4);
    ra.created_at = assignments.integer(5);
    view->assignments_.push_back(std::move(ra));
  }
  for (const auto& ra : view->assignments_) {
    const Application* client = view->application(ra.tenant_id, ra.client_id);
    const Application* resource = view->application(ra.tenant_id, ra.resource_id);
    if (!client || !resource) continue;
    const AppRole* role = nullptr;
    for (const auto& r : resource->roles) {
      if (r.id == ra.role_id) role = &r;
    }
    // Disabled roles and roles not open to applications grant nothing.
    if (!role || !role->enabled || !role->allow_applications) continue;
    const uint64_t key =
        (uint64_t(client - view->apps_.data()) << 32) | uint64_t(resource - view->apps_.data());
    view->granted_roles_[key].push_back(role->value);
  }
  for (auto& [key, values] : view->granted_roles_) {
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
  }
  return view;
}

Result<std::unique_ptr<Directory>> Directory::open(std::shared_ptr<store::Database> db,
                                                   const core::Clock& clock) {
  GH_TRY_STATUS(db->migrate("identity", kMigrations));
  std::unique_ptr<Directory> dir(new Directory(std::move(db), clock));
  GH_TRY_STATUS(dir->load());
  return dir;
}

Status Directory::load() {
  std::lock_guard lock(write_mutex_);
  std::shared_ptr<DirectoryView> next;
  int64_t version = -1;
  GH_TRY_STATUS(db_->read_transaction([&]() -> Status {
    version = db_->data_version();
    GH_TRY(next, read_view());
    return {};
  }));
  std::atomic_store(&view_, std::shared_ptr<const DirectoryView>(std::move(next)));
  data_version_ = version;
  return {};
}

Status Directory::reload_if_changed() {
  {
    std::lock_guard lock(write_mutex_);
    if (db_->data_version() == data_version_) return {};
  }
  return load();
}

template <class F>
Status Directory::mutate(F&& change) {
  std::lock_guard lock(write_mutex_);
  std::shared_ptr<DirectoryView> next;
  int64_t version = -1;
  GH_TRY_STATUS(db_->transaction([&]() -> Status {
    // The write lock is held: nobody can commit until we do. The published view is current
    // unless another connection committed since it was built.
    version = db_->data_version();
    std::shared_ptr<const DirectoryView> current = std::atomic_load(&view_);
    if (version != data_version_ || !current) {
      GH_TRY(current, read_view());
    }
    GH_TRY(bool changed, change(*current));
    if (!changed && version == data_version_) return {};
    GH_TRY(next, read_view());
    return {};
  }));
  if (next) {
    std::atomic_store(&view_, std::shared_ptr<const DirectoryView>(std::move(next)));
    data_version_ = version;
  }
  return {};
}

// ---- lookups used by mutations ---------------------------------------------------------------

namespace {

Result<const Tenant*> need_tenant(const DirectoryView& view, std::string_view tenant_id) {
  const Tenant* t = view.tenant(tenant_id);
  if (!t) return unexpected(not_found("tenant " + in_quotes(tenant_id) + " not found"));
  return t;
}

Result<const Application*> need_app(const DirectoryView& view, std::string_view tenant_id,
                                    std::string_view client_id) {
  GH_TRY(const Tenant* t, need_tenant(view, tenant_id));
  const Application* a = view.application(t->id, client_id);
  if (!a) {
    return unexpected(not_found("application " + in_quotes(client_id) + " not found in tenant " +
                                in_quotes(tenant_id)));
  }
  return a;
}

std::string app_label(const Application& app) {
  return "application " + in_quotes(app.display_name) + " (" + app.client_id + ")";
}

// Aliases lower-cased, checked, free of duplicates and not used by another tenant.
Result<std::vector<std::string>> checked_aliases(const DirectoryView& view,
                                                 const std::vector<std::string>& aliases,
                                                 std::string_view tenant_id) {
  std::vector<std::string> out;
  for (const auto& alias : aliases) {
    GH_TRY_STATUS(check_alias(alias));
    if (contains_ci(out, alias)) {
      return unexpected(invalid("tenant alias " + in_quotes(alias) + " is listed twice"));
    }
    if (const Tenant* other = view.tenant(alias); other && other->id != tenant_id) {
      return unexpected(conflict("tenant alias " + in_quotes(alias) +
                                 " is already used by tenant " + in_quotes(other->id)));
    }
    out.push_back(core::to_lower(alias));
  }
  return out;
}

// Identifier URIs checked, free of duplicates, and not naming another app of the tenant.
Status check_identifier_uris(const DirectoryView& view, const Tenant& tenant,
                             const std::vector<std::string>& uris, std::string_view own_client_id) {
  std::vector<std::string> seen;
  for (const auto& uri : uris) {
    GH_TRY_STATUS(check_identifier_uri(uri));
    if (contains_ci(seen, uri)) {
      return unexpected(invalid("identifier URI " + in_quotes(uri) + " is listed twice"));
    }
    seen.push_back(uri);
    // Exact (case-insensitive) match only: "https://x" and "https://x/" are different names.
    for (const auto& other : view.applications()) {
      if (other.tenant_id != tenant.id || other.client_id == own_client_id) continue;
      if (contains_ci(other.identifier_uris, uri)) {
        return unexpected(conflict("identifier URI " + in_quotes(uri) + " is already used by " +
                                   app_label(other) + " in tenant " + in_quotes(tenant.id)));
      }
    }
  }
  return {};
}

Status replace_identifier_uris(store::Database& db, const Application& app,
                               const std::vector<std::string>& uris) {
  GH_TRY(auto del, prepare(db, "DELETE FROM identifier_uris WHERE app_object_id = ?1",
                           "delete identifier URIs"));
  del.bind(1, app.object_id);
  GH_TRY_STATUS(del.run());
  GH_TRY(auto ins, prepare(db,
                           "INSERT INTO identifier_uris (tenant_id, uri, app_object_id, position)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           "insert identifier URI"));
  for (size_t i = 0; i < uris.size(); ++i) {
    ins.reset();
    ins.bind(1, app.tenant_id)
        .bind(2, uris[i])
        .bind(3, app.object_id)
        .bind(4, static_cast<int64_t>(i));
    GH_TRY_STATUS(ins.run());
  }
  return {};
}

Status replace_aliases(store::Database& db, std::string_view tenant_id,
                       const std::vector<std::string>& aliases) {
  GH_TRY(auto del,
         prepare(db, "DELETE FROM tenant_aliases WHERE tenant_id = ?1", "delete tenant aliases"));
  del.bind(1, tenant_id);
  GH_TRY_STATUS(del.run());
  GH_TRY(auto ins, prepare(db,
                           "INSERT INTO tenant_aliases (alias, tenant_id, position)"
                           " VALUES (?1, ?2, ?3)",
                           "insert tenant alias"));
  for (size_t i = 0; i < aliases.size(); ++i) {
    ins.reset();
    ins.bind(1, aliases[i]).bind(2, tenant_id).bind(3, static_cast<int64_t>(i));
    GH_TRY_STATUS(ins.run());
  }
  return {};
}

}  // namespace

// ---- tenants ---------------------------------------------------------------------------------

Result<Tenant> Directory::create_tenant(std::string display_name, std::string id,
                                        std::vector<std::string> aliases) {
  GH_TRY(std::string tenant_id, guid_or_new(id, "tenant id"));
  GH_TRY_STATUS(check_display_name(display_name, "tenant " + in_quotes(tenant_id)));
  Tenant created;
  GH_TRY_STATUS(mutate([&](const DirectoryView& view) -> Result<bool> {
    if (view.tenant(tenant_id)) {
      return unexpected(conflict("tenant " + in_quotes(tenant_id) + " already exists"));
    }
    GH_TRY(auto checked, checked_aliases(view, aliases, tenant_id));
    created.id = tenant_id;
    created.display_name = display_name;
    created.aliases = std::move(checked);
    created.created_at = clock_.now_unix();
    GH_TRY(auto ins, prepare(*db_,
                             "INSERT INTO tenants (id, display_name, created_at)"
                             " VALUES (?1, ?2, ?3)",
                             "insert tenant"));
    ins.bind(1, created.id).bind(2, created.display_name).bind(3, created.created_at);
    GH_TRY_STATUS(ins.run());
    GH_TRY_STATUS(replace_aliases(*db_, created.id, created.aliases));
    return true;
  }));
  return created;
}

Status Directory::update_tenant(const TenantUpdate& update) {
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Tenant* t, need_tenant(view, update.id));
    GH_TRY_STATUS(check_display_name(update.display_name, "tenant " + in_quotes(t->id)));
    GH_TRY(auto checked, checked_aliases(view, update.aliases, t->id));
    if (t->display_name == update.display_name && t->aliases == checked) return false;
    GH_TRY(auto upd,
           prepare(*db_, "UPDATE tenants SET display_name = ?2 WHERE id = ?1", "update tenant"));
    upd.bind(1, t->id).bind(2, update.display_name);
    GH_TRY_STATUS(upd.run());
    GH_TRY_STATUS(replace_aliases(*db_, t->id, checked));
    return true;
  });
}

Status Directory::delete_tenant(std::string_view tenant_id) {
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Tenant* t, need_tenant(view, tenant_id));
    GH_TRY(auto del, prepare(*db_, "DELETE FROM tenants WHERE id = ?1", "delete tenant"));
    del.bind(1, t->id);
    GH_TRY_STATUS(del.run());
    return true;
  });
}

// ---- applications ----------------------------------------------------------------------------

Result<Application> Directory::create_application(NewApplication spec) {
  GH_TRY(std::string client_id, guid_or_new(spec.client_id, "client id"));
  GH_TRY_STATUS(check_display_name(spec.display_name, "application " + in_quotes(client_id)));
  if (spec.access_token_version != 1 && spec.access_token_version != 2) {
    return unexpected(invalid("application " + in_quotes(spec.display_name) +
                              ": access token version must be 1 or 2"));
  }
  Application created;
  GH_TRY_STATUS(mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Tenant* t, need_tenant(view, spec.tenant_id));
    for (const auto& existing : view.applications()) {
      if (existing.client_id == client_id) {
        return unexpected(conflict("client id " + in_quotes(client_id) + " is already used by " +
                                   app_label(existing) + " in tenant " +
                                   in_quotes(existing.tenant_id)));
      }
    }
    GH_TRY_STATUS(check_identifier_uris(view, *t, spec.identifier_uris, client_id));
    created.object_id = crypto::random_uuid();
    created.tenant_id = t->id;
    created.client_id = client_id;
    created.service_principal_id = crypto::random_uuid();
    created.display_name = spec.display_name;
    created.identifier_uris = spec.identifier_uris;
    created.access_token_version = spec.access_token_version;
    created.assignment_required = spec.assignment_required;
    created.strict_assertion_replay = spec.strict_assertion_replay;
    created.enabled = true;
    created.created_at = clock_.now_unix();
    GH_TRY(auto ins, prepare(*db_,
                             "INSERT INTO applications (object_id, tenant_id, client_id,"
                             " service_principal_id, display_name, access_token_version,"
                             " assignment_required, strict_assertion_replay, enabled, created_at)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9)",
                             "insert application"));
    ins.bind(1, created.object_id)
        .bind(2, created.tenant_id)
        .bind(3, created.client_id)
        .bind(4, created.service_principal_id)
        .bind(5, created.display_name)
        .bind(6, int64_t{created.access_token_version})
        .bind(7, int64_t{created.assignment_required})
        .bind(8, int64_t{created.strict_assertion_replay})
        .bind(9, created.created_at);
    GH_TRY_STATUS(ins.run());
    GH_TRY_STATUS(replace_identifier_uris(*db_, created, created.identifier_uris));
    return true;
  }));
  return created;
}

Status Directory::update_application(const Application& app) {
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* current, need_app(view, app.tenant_id, app.client_id));
    GH_TRY_STATUS(check_display_name(app.display_name, "application " + in_quotes(app.client_id)));
    if (app.access_token_version != 1 && app.access_token_version != 2) {
      return unexpected(invalid(app_label(*current) + ": access token version must be 1 or 2"));
    }
    const Tenant* t = view.tenant(current->tenant_id);
    GH_TRY_STATUS(check_identifier_uris(view, *t, app.identifier_uris, current->client_id));
    const bool same = current->display_name == app.display_name &&
                      current->identifier_uris == app.identifier_uris &&
                      current->access_token_version == app.access_token_version &&
                      current->assignment_required == app.assignment_required &&
                      current->strict_assertion_replay == app.strict_assertion_replay &&
                      current->enabled == app.enabled;
    if (same) return false;
    GH_TRY(auto upd, prepare(*db_,
                             "UPDATE applications SET display_name = ?2, access_token_version = ?3,"
                             " assignment_required = ?4, strict_assertion_replay = ?5,"
                             " enabled = ?6 WHERE object_id = ?1",
                             "update application"));
    upd.bind(1, current->object_id)
        .bind(2, app.display_name)
        .bind(3, int64_t{app.access_token_version})
        .bind(4, int64_t{app.assignment_required})
        .bind(5, int64_t{app.strict_assertion_replay})
        .bind(6, int64_t{app.enabled});
    GH_TRY_STATUS(upd.run());
    if (current->identifier_uris != app.identifier_uris) {
      GH_TRY_STATUS(replace_identifier_uris(*db_, *current, app.identifier_uris));
    }
    return true;
  });
}

Status Directory::delete_application(std::string_view tenant_id, std::string_view client_id) {
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    // Cascades to credentials, roles and every assignment naming the app as client or resource.
    GH_TRY(auto del,
           prepare(*db_, "DELETE FROM applications WHERE object_id = ?1", "delete application"));
    del.bind(1, app->object_id);
    GH_TRY_STATUS(del.run());
    return true;
  });
}

// ---- roles -----------------------------------------------------------------------------------

Result<AppRole> Directory::add_role(std::string_view tenant_id, std::string_view client_id,
                                    std::string value, std::string display_name,
                                    std::string description) {
  AppRole role;
  role.value = std::move(value);
  role.display_name = std::move(display_name);
  role.description = std::move(description);
  return add_role(tenant_id, client_id, std::move(role));
}

Result<AppRole> Directory::add_role(std::string_view tenant_id, std::string_view client_id,
                                    AppRole role) {
  GH_TRY(role.id, guid_or_new(role.id, "role id"));
  if (role.display_name.empty()) role.display_name = role.value;
  GH_TRY_STATUS(check_role(role));
  GH_TRY_STATUS(mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    for (const auto& existing : app->roles) {
      if (core::iequals(existing.value, role.value)) {
        return unexpected(
            conflict("role " + in_quotes(role.value) + " already exists on " + app_label(*app)));
      }
      if (existing.id == role.id) {
        return unexpected(conflict("role id " + in_quotes(role.id) + " is already used by role " +
                                   in_quotes(existing.value) + " on " + app_label(*app)));
      }
    }
    GH_TRY(auto ins, prepare(*db_,
                             "INSERT INTO app_roles (app_object_id, id, value, display_name,"
                             " description, enabled, allow_applications)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                             "insert app role"));
    ins.bind(1, app->object_id)
        .bind(2, role.id)
        .bind(3, role.value)
        .bind(4, role.display_name)
        .bind(5, role.description)
        .bind(6, int64_t{role.enabled})
        .bind(7, int64_t{role.allow_applications});
    GH_TRY_STATUS(ins.run());
    return true;
  }));
  return role;
}

Status Directory::update_role(std::string_view tenant_id, std::string_view client_id,
                              const AppRole& role) {
  GH_TRY(std::string role_id, canonical_guid(role.id, "role id"));
  AppRole wanted = role;
  wanted.id = role_id;
  if (wanted.display_name.empty()) wanted.display_name = wanted.value;
  GH_TRY_STATUS(check_role(wanted));
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    const AppRole* current = nullptr;
    for (const auto& r : app->roles) {
      if (r.id == role_id) current = &r;
    }
    if (!current) {
      return unexpected(
          not_found("role " + in_quotes(role_id) + " not found on " + app_label(*app)));
    }
    for (const auto& r : app->roles) {
      if (&r != current && core::iequals(r.value, wanted.value)) {
        return unexpected(
            conflict("role " + in_quotes(wanted.value) + " already exists on " + app_label(*app)));
      }
    }
    if (current->value == wanted.value && current->display_name == wanted.display_name &&
        current->description == wanted.description && current->enabled == wanted.enabled &&
        current->allow_applications == wanted.allow_applications) {
      return false;
    }
    GH_TRY(auto upd, prepare(*db_,
                             "UPDATE app_roles SET value = ?3, display_name = ?4,"
                             " description = ?5, enabled = ?6, allow_applications = ?7"
                             " WHERE app_object_id = ?1 AND id = ?2",
                             "update app role"));
    upd.bind(1, app->object_id)
        .bind(2, role_id)
        .bind(3, wanted.value)
        .bind(4, wanted.display_name)
        .bind(5, wanted.description)
        .bind(6, int64_t{wanted.enabled})
        .bind(7, int64_t{wanted.allow_applications});
    GH_TRY_STATUS(upd.run());
    return true;
  });
}

Status Directory::remove_role(std::string_view tenant_id, std::string_view client_id,
                              std::string_view role_value_or_id) {
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    const AppRole* role = find_role(*app, role_value_or_id);
    if (!role) {
      return unexpected(
          not_found("role " + in_quotes(role_value_or_id) + " not found on " + app_label(*app)));
    }
    if (role->enabled) {
      return unexpected(conflict("role " + in_quotes(role->value) + " on " + app_label(*app) +
                                 " is enabled: disable it before removing it"));
    }
    GH_TRY(auto del, prepare(*db_, "DELETE FROM app_roles WHERE app_object_id = ?1 AND id = ?2",
                             "delete app role"));
    del.bind(1, app->object_id).bind(2, role->id);
    GH_TRY_STATUS(del.run());
    return true;
  });
}

// ---- certificates ----------------------------------------------------------------------------

Result<KeyCredential> Directory::add_certificate(
    std::string_view tenant_id, std::string_view client_id, std::string_view pem_or_der,
    std::string display_name, std::optional<int64_t> start, std::optional<int64_t> end) {
  auto certs = x509::load_certificates(pem_or_der);
  if (!certs) {
    return unexpected(invalid("certificate for application " + in_quotes(client_id) +
                              " cannot be parsed: " + certs.error().message));
  }
  const x509::Certificate& cert = certs->front();  // a chain file's leaf comes first
  KeyCredential key;
  key.key_id = crypto::random_uuid();
  key.certificate_der = cert.der();
  const auto sha1 = crypto::sha1(key.certificate_der);
  const auto sha256 = crypto::sha256(key.certificate_der);
  key.thumbprint_sha1.assign(sha1.begin(), sha1.end());
  key.thumbprint_sha256.assign(sha256.begin(), sha256.end());
  const int64_t not_before = cert.not_before();
  const int64_t not_after = cert.not_after();
  key.start = start.value_or(not_before);
  key.end = end.value_or(not_after);
  if (key.start < not_before || key.end > not_after || key.start >= key.end) {
    return unexpected(invalid(
        "certificate " + core::hex_encode_upper(key.thumbprint_sha1) +
        ": the credential's start and end must lie within the certificate's validity (" +
        std::to_string(not_before) + ".." + std::to_string(not_after) + ") with start < end"));
  }
  key.display_name = display_name.empty() ? cert.subject() : std::move(display_name);
  if (key.display_name.empty()) key.display_name = core::hex_encode_upper(key.thumbprint_sha1);
  if (key.display_name.size() > kMaxDisplayName) {
    return unexpected(invalid("certificate credential display name is longer than 256 characters"));
  }
  GH_TRY_STATUS(mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    if (view.certificate_by_sha1(*app, key.thumbprint_sha1)) {
      return unexpected(conflict("certificate " + core::hex_encode_upper(key.thumbprint_sha1) +
                                 " is already registered on " + app_label(*app)));
    }
    GH_TRY(auto ins, prepare(*db_,
                             "INSERT INTO key_credentials (key_id, app_object_id, display_name,"
                             " thumbprint_sha1, thumbprint_sha256, certificate_der, start_time,"
                             " end_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                             "insert certificate credential"));
    ins.bind(1, key.key_id)
        .bind(2, app->object_id)
        .bind(3, key.display_name)
        .bind_blob(4, key.thumbprint_sha1)
        .bind_blob(5, key.thumbprint_sha256)
        .bind_blob(6, key.certificate_der)
        .bind(7, key.start)
        .bind(8, key.end);
    GH_TRY_STATUS(ins.run());
    return true;
  }));
  return key;
}

Status Directory::remove_certificate(std::string_view tenant_id, std::string_view client_id,
                                     std::string_view key_id_or_thumbprint) {
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    const KeyCredential* found = nullptr;
    for (const auto& cert : app->certificates) {
      if (core::iequals(cert.key_id, key_id_or_thumbprint) ||
          core::iequals(core::hex_encode(cert.thumbprint_sha1), key_id_or_thumbprint) ||
          core::iequals(core::hex_encode(cert.thumbprint_sha256), key_id_or_thumbprint)) {
        found = &cert;
        break;
      }
    }
    if (!found) {
      return unexpected(not_found("certificate " + in_quotes(key_id_or_thumbprint) +
                                  " not found on " + app_label(*app)));
    }
    GH_TRY(auto del, prepare(*db_, "DELETE FROM key_credentials WHERE key_id = ?1",
                             "delete certificate credential"));
    del.bind(1, found->key_id);
    GH_TRY_STATUS(del.run());
    return true;
  });
}

// ---- secrets ---------------------------------------------------------------------------------

Result<CreatedSecret> Directory::add_secret(std::string_view tenant_id, std::string_view client_id,
                                            std::string display_name, int64_t lifetime_seconds) {
  CreatedSecret created;
  created.value = generate_secret();
  GH_TRY(created.credential, add_secret_with_value(tenant_id, client_id, std::move(display_name),
                                                   created.value, lifetime_seconds));
  return created;
}

Result<PasswordCredential> Directory::add_secret_with_value(std::string_view tenant_id,
                                                            std::string_view client_id,
                                                            std::string display_name,
                                                            std::string_view value,
                                                            int64_t lifetime_seconds) {
  if (value.size() < kMinSecret || value.size() > kMaxSecret) {
    return unexpected(invalid("secret for application " + in_quotes(client_id) +
                              " must be 16-256 characters long"));
  }
  if (lifetime_seconds <= 0 || lifetime_seconds > kMaxSecretLifetime) {
    return unexpected(invalid("secret lifetime must be between 1 second and 100 years"));
  }
  if (display_name.size() > kMaxDisplayName) {
    return unexpected(invalid("secret display name is longer than 256 characters"));
  }
  {
    // Fail fast on a wrong app before spending ~50 ms on the hash.
    auto current = view();
    GH_TRY(const Application* app, need_app(*current, tenant_id, client_id));
    (void)app;
  }
  PasswordCredential cred;
  cred.key_id = crypto::random_uuid();
  cred.display_name = std::move(display_name);
  cred.hint = std::string(value.substr(0, 3));
  GH_TRY(cred.hash, hash_secret(value));
  cred.start = clock_.now_unix();
  cred.end = cred.start + lifetime_seconds;
  GH_TRY_STATUS(mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    GH_TRY(auto ins, prepare(*db_,
                             "INSERT INTO password_credentials (key_id, app_object_id,"
                             " display_name, hint, hash, start_time, end_time)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                             "insert secret credential"));
    ins.bind(1, cred.key_id)
        .bind(2, app->object_id)
        .bind(3, cred.display_name)
        .bind(4, cred.hint)
        .bind(5, cred.hash)
        .bind(6, cred.start)
        .bind(7, cred.end);
    GH_TRY_STATUS(ins.run());
    return true;
  }));
  return cred;
}

Status Directory::remove_secret(std::string_view tenant_id, std::string_view client_id,
                                std::string_view key_id) {
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    const PasswordCredential* found = nullptr;
    for (const auto& s : app->secrets) {
      if (core::iequals(s.key_id, key_id)) found = &s;
    }
    if (!found) {
      return unexpected(
          not_found("secret " + in_quotes(key_id) + " not found on " + app_label(*app)));
    }
    GH_TRY(auto del, prepare(*db_, "DELETE FROM password_credentials WHERE key_id = ?1",
                             "delete secret credential"));
    del.bind(1, found->key_id);
    GH_TRY_STATUS(del.run());
    return true;
  });
}

// ---- federated credentials -------------------------------------------------------------------

namespace {
Status check_federated_on(const Application& app, const FederatedCredential& fic) {
  for (const auto& other : app.federated) {
    if (core::iequals(other.name, fic.name)) continue;  // the credential itself
    if (other.issuer == fic.issuer && other.subject == fic.subject) {
      return unexpected(conflict("federated credential " + in_quotes(other.name) + " on " +
                                 app_label(app) + " already has issuer " + in_quotes(fic.issuer) +
                                 " and subject " + in_quotes(fic.subject)));
    }
  }
  return {};
}
}  // namespace

Result<FederatedCredential> Directory::add_federated(std::string_view tenant_id,
                                                     std::string_view client_id,
                                                     FederatedCredential fic) {
  GH_TRY(fic.id, guid_or_new(fic.id, "federated credential id"));
  if (fic.audience.empty()) fic.audience = std::string(kDefaultFederatedAudience);
  GH_TRY_STATUS(check_federated(fic));
  GH_TRY_STATUS(mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    for (const auto& other : app->federated) {
      if (core::iequals(other.name, fic.name)) {
        return unexpected(conflict("federated credential " + in_quotes(fic.name) +
                                   " already exists on " + app_label(*app)));
      }
    }
    GH_TRY_STATUS(check_federated_on(*app, fic));
    if (app->federated.size() >= kMaxFederatedPerApp) {
      return unexpected(Error(ErrorKind::LimitExceeded,
                              app_label(*app) + " already has the maximum of 20 federated "
                                                "credentials"));
    }
    GH_TRY(auto ins, prepare(*db_,
                             "INSERT INTO federated_credentials (id, app_object_id, name, issuer,"
                             " subject, audience, description) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                             "insert federated credential"));
    ins.bind(1, fic.id)
        .bind(2, app->object_id)
        .bind(3, fic.name)
        .bind(4, fic.issuer)
        .bind(5, fic.subject)
        .bind(6, fic.audience)
        .bind(7, fic.description);
    GH_TRY_STATUS(ins.run());
    return true;
  }));
  return fic;
}

Status Directory::update_federated(std::string_view tenant_id, std::string_view client_id,
                                   const FederatedCredential& fic) {
  FederatedCredential wanted = fic;
  if (wanted.audience.empty()) wanted.audience = std::string(kDefaultFederatedAudience);
  GH_TRY_STATUS(check_federated(wanted));
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    const FederatedCredential* current = nullptr;
    for (const auto& f : app->federated) {
      if (core::iequals(f.name, wanted.name)) current = &f;
    }
    if (!current) {
      return unexpected(not_found("federated credential " + in_quotes(wanted.name) +
                                  " not found on " + app_label(*app)));
    }
    GH_TRY_STATUS(check_federated_on(*app, wanted));
    if (current->issuer == wanted.issuer && current->subject == wanted.subject &&
        current->audience == wanted.audience && current->description == wanted.description) {
      return false;
    }
    GH_TRY(auto upd, prepare(*db_,
                             "UPDATE federated_credentials SET issuer = ?2, subject = ?3,"
                             " audience = ?4, description = ?5 WHERE id = ?1",
                             "update federated credential"));
    upd.bind(1, current->id)
        .bind(2, wanted.issuer)
        .bind(3, wanted.subject)
        .bind(4, wanted.audience)
        .bind(5, wanted.description);
    GH_TRY_STATUS(upd.run());
    return true;
  });
}

Status Directory::remove_federated(std::string_view tenant_id, std::string_view client_id,
                                   std::string_view name) {
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* app, need_app(view, tenant_id, client_id));
    const FederatedCredential* found = nullptr;
    for (const auto& f : app->federated) {
      if (core::iequals(f.name, name)) found = &f;
    }
    if (!found) {
      return unexpected(not_found("federated credential " + in_quotes(name) + " not found on " +
                                  app_label(*app)));
    }
    GH_TRY(auto del, prepare(*db_, "DELETE FROM federated_credentials WHERE id = ?1",
                             "delete federated credential"));
    del.bind(1, found->id);
    GH_TRY_STATUS(del.run());
    return true;
  });
}

// ---- role assignments ------------------------------------------------------------------------

Result<RoleAssignment> Directory::assign_role(std::string_view tenant_id,
                                              std::string_view client_id, std::string_view resource,
                                              std::string_view role_value_or_id) {
  RoleAssignment result;
  GH_TRY_STATUS(mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Application* client, need_app(view, tenant_id, client_id));
    const Application* target = view.resource(client->tenant_id, resource);
    if (!target) {
      return unexpected(not_found("resource " + in_quotes(resource) + " not found in tenant " +
                                  in_quotes(tenant_id)));
    }
    const AppRole* role = find_role(*target, role_value_or_id);
    if (!role) {
      return unexpected(
          not_found("role " + in_quotes(role_value_or_id) + " not found on " + app_label(*target)));
    }
    if (!role->enabled) {
      return unexpected(
          invalid("role " + in_quotes(role->value) + " on " + app_label(*target) + " is disabled"));
    }
    if (!role->allow_applications) {
      return unexpected(invalid("role " + in_quotes(role->value) + " on " + app_label(*target) +
                                " cannot be assigned to applications"));
    }
    for (const auto& existing : view.assignments()) {
      if (existing.tenant_id == client->tenant_id && existing.client_id == client->client_id &&
          existing.resource_id == target->client_id && existing.role_id == role->id) {
        result = existing;
        return false;  // already assigned: idempotent
      }
    }
    result.id = crypto::random_uuid();
    result.tenant_id = client->tenant_id;
    result.client_id = client->client_id;
    result.resource_id = target->client_id;
    result.role_id = role->id;
    result.created_at = clock_.now_unix();
    GH_TRY(auto ins, prepare(*db_,
                             "INSERT INTO role_assignments (id, tenant_id, client_object_id,"
                             " resource_object_id, role_id, created_at)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                             "insert role assignment"));
    ins.bind(1, result.id)
        .bind(2, result.tenant_id)
        .bind(3, client->object_id)
        .bind(4, target->object_id)
        .bind(5, result.role_id)
        .bind(6, result.created_at);
    GH_TRY_STATUS(ins.run());
    return true;
  }));
  return result;
}

Status Directory::unassign_role(std::string_view tenant_id, std::string_view assignment_id) {
  return mutate([&](const DirectoryView& view) -> Result<bool> {
    GH_TRY(const Tenant* t, need_tenant(view, tenant_id));
    const RoleAssignment* found = nullptr;
    for (const auto& a : view.assignments()) {
      if (a.tenant_id == t->id && core::iequals(a.id, assignment_id)) found = &a;
    }
    if (!found) {
      return unexpected(not_found("role assignment " + in_quotes(assignment_id) +
                                  " not found in tenant " + in_quotes(tenant_id)));
    }
    GH_TRY(auto del,
           prepare(*db_, "DELETE FROM role_assignments WHERE id = ?1", "delete role assignment"));
    del.bind(1, found->id);
    GH_TRY_STATUS(del.run());
    return true;
  });
}

}  // namespace gh::identity
