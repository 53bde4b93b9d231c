#include "vault/access.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <chrono>

#include "core/strings.h"
#include "jose/jwt.h"

namespace gh::vault {
namespace {

constexpr uint8_t bit(Permission p) noexcept {
  return uint8_t(1u << static_cast<int>(p));
}

constexpr uint8_t kAllPermissions = bit(Permission::SecretsRead) | bit(Permission::SecretsWrite) |
                                    bit(Permission::CertificatesRead) |
                                    bit(Permission::CertificatesWrite);

// Azure's built-in data-plane role definitions (ids are the role definition GUIDs, the same in
// every Azure tenant, so grants read the same here as in an ARM template).
constexpr std::array<VaultRole, 4> kRoles{{
    {"Key Vault Secrets User", "KeyVault.Secrets.User", "4633458b-17de-408a-b874-0445c86b69e6",
     bit(Permission::SecretsRead)},
    {"Key Vault Secrets Officer", "KeyVault.Secrets.Officer",
     "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
     uint8_t(bit(Permission::SecretsRead) | bit(Permission::SecretsWrite))},
    {"Key Vault Certificates Officer", "KeyVault.Certificates.Officer",
     "a4417e6f-fecd-4de8-b567-7b0420556985",
     uint8_t(bit(Permission::CertificatesRead) | bit(Permission::CertificatesWrite))},
    {"Key Vault Administrator", "KeyVault.Administrator", "00482a5a-887f-4fb3-b363-3b7fe8e74483",
     kAllPermissions},
}};

// Azure's descriptions, shortened to what holds here.
constexpr std::array<std::string_view, 4> kDescriptions{
    "Read secret contents.",
    "Perform any action on the secrets of a key vault, except manage permissions.",
    "Perform any action on the certificates of a key vault, except manage permissions.",
    "Perform all data plane operations on a key vault and all objects in it, including "
    "certificates and secrets. Cannot manage role assignments.",
};

constexpr std::string_view kAppDisplayName = "Azure Key Vault";

/// A core::Clock reading a fixed instant: verify_jwt takes a clock, the caller gives `now`.
class InstantClock final : public core::Clock {
 public:
  explicit InstantClock(int64_t now) : now_(now) {}
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(now_));
  }

 private:
  int64_t now_;
};

std::string_view string_claim(const boost::json::object& claims, std::string_view name) {
  const auto* v = claims.if_contains(name);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

/// The tenant segment of an issuer "<origin>/<tid>/" (v1, the identity role's sts form) or
/// "<origin>/<tid>/v2.0"; empty when `iss` has neither shape.
std::string_view tenant_of_issuer(std::string_view iss) {
  std::string_view rest;
  if (iss.ends_with("/v2.0")) {
    rest = iss.substr(0, iss.size() - 5);
  } else if (iss.ends_with('/')) {
    rest = iss.substr(0, iss.size() - 1);
  } else {
    return {};
  }
  const size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || rest.substr(0, slash).ends_with('/')) {
    return {};  // no origin before the tenant ("https://x" leaves "https:/" + "/x")
  }
  return rest.substr(slash + 1);
}

Error unauthenticated(std::string message) {
  return Error(ErrorKind::Unauthenticated, std::move(message));
}
Error denied(std::string message) {
  return Error(ErrorKind::PermissionDenied, std::move(message));
}

}  // namespace

const std::array<VaultRole, 4>& vault_roles() noexcept {
  return kRoles;
}

const VaultRole* find_vault_role(std::string_view name_or_value) noexcept {
  for (const auto& role : kRoles) {
    if (core::iequals(role.display_name, name_or_value) || core::iequals(role.value, name_or_value))
      return &role;
  }
  return nullptr;
}

Result<std::string> ensure_vault_application(identity::Directory& directory,
                                             std::string_view tenant_id,
                                             std::string_view resource) {
  if (resource.empty()) {
    return unexpected(ErrorKind::InvalidArgument, "vault resource must not be empty");
  }
  auto view = directory.view();
  const identity::Application* app = view->application(tenant_id, kKeyVaultAppId);
  if (app == nullptr) {
    identity::NewApplication spec;
    spec.tenant_id = std::string(tenant_id);
    spec.display_name = std::string(kAppDisplayName);
    spec.client_id = std::string(kKeyVaultAppId);
    spec.identifier_uris = {std::string(resource)};
    spec.access_token_version = 1;  // Key Vault accepts v1 tokens, as Azure's own app
    GH_TRY(auto created, directory.create_application(std::move(spec)));
    (void)created;
  } else {
    const bool has_uri = std::any_of(app->identifier_uris.begin(), app->identifier_uris.end(),
                                     [&](const std::string& u) { return u == resource; });
    if (!has_uri) {
      // The resource moved (configuration changed): tokens for the new audience must name
      // this app. Older URIs stay, so tokens already issued for them keep their meaning.
      identity::Application changed = *app;
      changed.identifier_uris.emplace_back(resource);
      GH_TRY_STATUS(directory.update_application(changed));
    }
  }
  view = directory.view();
  app = view->application(tenant_id, kKeyVaultAppId);
  if (app == nullptr) {
    return unexpected(ErrorKind::Internal, "the Key Vault application vanished after creation");
  }
  for (size_t i = 0; i < kRoles.size(); ++i) {
    const VaultRole& want = kRoles[i];
    identity::AppRole role;
    role.id = std::string(want.id);
    role.value = std::string(want.value);
    role.display_name = std::string(want.display_name);
    role.description = std::string(kDescriptions[i]);
    role.enabled = true;
    role.allow_applications = true;
    const auto it = std::find_if(app->roles.begin(), app->roles.end(),
                                 [&](const identity::AppRole& r) { return r.id == want.id; });
    if (it == app->roles.end()) {
      GH_TRY(auto added, directory.add_role(app->tenant_id, app->client_id, std::move(role)));
      (void)added;
    } else if (it->value != role.value || it->display_name != role.display_name ||
               it->description != role.description || !it->enabled || !it->allow_applications) {
      GH_TRY_STATUS(directory.update_role(app->tenant_id, app->client_id, role));
    }
  }
  return std::string(kKeyVaultAppId);
}

Result<VaultCaller> authenticate_caller(const http::LocalRequest& request,
                                        const identity::KeySet& keys,
                                        const identity::DirectoryView& directory,
                                        const VaultAuthOptions& options, int64_t now) {
  std::string_view authorization = core::trim_ows(request.header("Authorization"));
  const size_t space = authorization.find(' ');
  if (authorization.empty() || space == std::string_view::npos ||
      !core::iequals(authorization.substr(0, space), "Bearer")) {
    return unexpected(unauthenticated("AKV10000: Request is missing a Bearer or PoP token."));
  }
  const std::string_view token = core::trim_ows(authorization.substr(space + 1));
  if (token.empty()) {
    return unexpected(unauthenticated("AKV10000: Request is missing a Bearer or PoP token."));
  }

  jose::JwtVerifyOptions verify;
  verify.claims.require_exp = true;
  verify.claims.clock_skew = std::chrono::seconds(options.clock_skew_seconds);
  std::string resource = options.resource;
  while (resource.size() > 1 && resource.back() == '/')
    resource.pop_back();
  verify.claims.audiences = {resource, resource + "/", std::string(kKeyVaultAppId)};
  const InstantClock clock(now);
  auto verified = jose::verify_jwt(token, keys.public_keys(), verify, clock);
  if (!verified) {
    // jose messages name the failed check (signature, expiry, audience), never the token.
    return unexpected(unauthenticated("AKV10032: Invalid token: " + verified.error().message));
  }
  const boost::json::object& claims = verified->claims;

  const std::string_view issuer_tenant = tenant_of_issuer(string_claim(claims, "iss"));
  if (issuer_tenant.empty()) {
    return unexpected(unauthenticated("AKV10032: Invalid issuer."));
  }
  const std::string_view tid = string_claim(claims, "tid");
  if (!core::iequals(tid, issuer_tenant)) {
    return unexpected(unauthenticated("AKV10032: Invalid issuer: tid does not match iss."));
  }
  const identity::Tenant* vault_tenant = directory.tenant(options.tenant_id);
  if (vault_tenant == nullptr) {
    return unexpected(denied("The vault's tenant is not in the directory."));
  }
  if (!core::iequals(tid, vault_tenant->id)) {
    return unexpected(
        denied("AKV10032: The token was issued for another tenant than the vault's."));
  }

  VaultCaller caller;
  caller.tenant_id = vault_tenant->id;
  caller.client_id = std::string(string_claim(claims, "appid"));
  if (caller.client_id.empty()) caller.client_id = std::string(string_claim(claims, "azp"));
  caller.object_id = std::string(string_claim(claims, "oid"));
  if (caller.client_id.empty()) {
    return unexpected(unauthenticated("AKV10032: The token names no client (appid or azp)."));
  }
  const identity::Application* client = directory.application(vault_tenant->id, caller.client_id);
  if (client == nullptr) {
    return unexpected(denied("The calling application is not registered in the vault's tenant."));
  }
  if (!client->enabled) {
    return unexpected(denied("The calling application is disabled."));
  }
  const identity::Application* vault_app = directory.application(vault_tenant->id, kKeyVaultAppId);
  if (vault_app == nullptr) vault_app = directory.resource(vault_tenant->id, options.resource);
  if (vault_app != nullptr) {
    for (const std::string& value : directory.role_values(*client, *vault_app)) {
      if (const VaultRole* role = find_vault_role(value)) caller.permissions |= role->permissions;
    }
  }
  return caller;
}

}  // namespace gh::vault
