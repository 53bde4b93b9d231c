#include "vault/vault_service.h"

#include <chrono>
#include <map>
#include <mutex>

#include "core/event_log.h"
#include "core/files.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "vault/access.h"
#include "vault/cert_issue.h"
#include "vault/keyvault_api.h"
#include "x509/cert_loader.h"

namespace gh::vault {
namespace {

bool same_policy(const CertificatePolicy& a, const CertificatePolicy& b) {
  return a.subject == b.subject && a.dns_names == b.dns_names && a.key_type == b.key_type &&
         a.key_size == b.key_size && a.curve == b.curve && a.validity_months == b.validity_months &&
         a.issuer == b.issuer && a.content_type == b.content_type &&
         a.renew_days_before_expiry == b.renew_days_before_expiry &&
         a.renew_at_lifetime_percentage == b.renew_at_lifetime_percentage;
}

std::string at_line(int line) {
  return line > 0 ? " (line " + std::to_string(line) + ")" : std::string{};
}

Result<CertificateIssuer> load_issuer(const config::VaultIssuerConfig& c) {
  GH_TRY(std::string pem, crypto::read_file(c.cert));
  GH_TRY(auto certs, x509::load_certificates(pem));
  if (certs.empty()) return unexpected(ErrorKind::InvalidArgument, "no certificate in " + c.cert);
  GH_TRY(std::string key_pem, crypto::read_file(c.key));
  auto key = crypto::load_private_key(key_pem);
  if (!key)
    return unexpected(ErrorKind::InvalidArgument, "cannot read the private key in " + c.key);
  CertificateIssuer issuer{c.name, certs.front(), std::move(*key), {}};
  issuer.chain.assign(certs.begin() + 1, certs.end());
  return issuer;
}

// "secrets/NAME[/VERSION]" or "certificates/NAME[/VERSION]".
struct ParsedReference {
  std::string_view kind;
  std::string_view name;
  std::string_view version;
};

Result<ParsedReference> parse_reference(std::string_view ref) {
  ParsedReference out;
  const size_t slash = ref.find('/');
  if (slash != std::string_view::npos) {
    out.kind = ref.substr(0, slash);
    std::string_view rest = ref.substr(slash + 1);
    const size_t second = rest.find('/');
    out.name = rest.substr(0, second);
    if (second != std::string_view::npos) out.version = rest.substr(second + 1);
  }
  if ((out.kind != "secrets" && out.kind != "certificates") || !valid_item_name(out.name) ||
      out.version.find('/') != std::string_view::npos) {
    return unexpected(ErrorKind::InvalidArgument,
                      "a vault reference is vault:secrets/NAME or vault:certificates/NAME, "
                      "optionally followed by /VERSION");
  }
  return out;
}

}  // namespace

CertificatePolicy certificate_policy_from_config(const config::VaultCertificatePolicyConfig& c) {
  CertificatePolicy p;
  p.subject = c.subject;
  p.dns_names = c.dns_names;
  p.key_type = c.key_type;
  p.key_size = c.key_size;
  p.curve = c.curve;
  p.validity_months = c.validity_months;
  p.issuer = c.issuer;
  p.content_type = c.content_type;
  p.renew_days_before_expiry = c.renew_days_before_expiry;
  p.renew_at_lifetime_percentage = c.renew_at_lifetime_percentage;
  return p;
}

struct VaultService::Impl {
  config::VaultConfig config;
  config::Environment env;
  const core::Clock& clock;
  std::shared_ptr<identity::IdentityService> identity;
  std::unique_ptr<VaultStore> store;
  std::unique_ptr<VaultAudit> audit;
  std::unique_ptr<KeyVaultApi> api;
  std::string tenant_id;

  // File-backed certificates: the file's stamp when last imported; checked at most once a
  // second (the gateway asks for stamps every second; the REST API relies on maintain()).
  std::mutex files_mutex;
  std::map<std::string, core::FileStamp, std::less<>> file_stamps;  // by certificate name
  std::chrono::steady_clock::time_point files_checked{};

  Impl(const config::VaultConfig& c, config::Environment e, const core::Clock& k)
      : config(c), env(std::move(e)), clock(k) {}

  std::string env_value(const std::string& name) const {
    return env ? env(name).value_or(std::string{}) : std::string{};
  }

  Status apply_access() {
    auto app = ensure_vault_application(identity->directory(), tenant_id, config.resource);
    if (!app) return unexpected(app.error().with_context("the Key Vault resource application"));
    for (const auto& grant : config.access) {
      const VaultRole* role = find_vault_role(grant.role);
      if (!role) {
        return unexpected(ErrorKind::InvalidArgument,
                          "vault.access" + at_line(grant.line) + ": unknown role '" + grant.role +
                              "' (expected Key Vault Secrets User, Key Vault Secrets Officer, "
                              "Key Vault Certificates Officer or Key Vault Administrator)");
      }
      auto assigned =
          identity->directory().assign_role(tenant_id, grant.client_id, *app, role->value);
      if (!assigned) {
        return unexpected(assigned.error().with_context("vault.access" + at_line(grant.line) +
                                                        " (client " + grant.client_id + ")"));
      }
    }
    return {};
  }

  Status apply_secrets() {
    for (const auto& s : config.secrets) {
      const std::string where = "vault.secrets " + s.name + at_line(s.line);
      NewSecret secret;
      secret.name = s.name;
      secret.content_type = s.content_type;
      if (!s.file.empty()) {
        auto text = crypto::read_file(s.file);
        if (!text) return unexpected(text.error().with_context(where));
        secret.value = std::move(*text);
      } else {
        secret.value = env_value(s.value_env);
        if (secret.value.empty()) {
          return unexpected(ErrorKind::InvalidArgument,
                            where + ": the environment variable " + s.value_env + " is not set");
        }
      }
      auto current = store->get_secret(s.name);
      if (current && current->value == secret.value &&
          current->info.content_type == secret.content_type && current->info.attributes.enabled)
        continue;
      if (!current && current.error().kind != ErrorKind::NotFound)
        return unexpected(current.error().with_context(where));
      auto set = store->set_secret(secret);
      if (!set) return unexpected(set.error().with_context(where));
      core::log_event("info", "vault: declared secret set",
                      {{"name", s.name}, {"version", set->version}});
    }
    return {};
  }

  Status apply_certificates() {
    for (const auto& c : config.certificates) {
      const std::string where = "vault.certificates " + c.name + at_line(c.line);
      if (c.policy) {
        const CertificatePolicy policy = certificate_policy_from_config(*c.policy);
        auto existing = store->get_certificate_policy(c.name);
        if (!existing) {
          if (existing.error().kind != ErrorKind::NotFound)
            return unexpected(existing.error().with_context(where));
          auto created = store->create_certificate(c.name, policy);
          if (!created) return unexpected(created.error().with_context(where));
          core::log_event("info", "vault: declared certificate issued",
                          {{"name", c.name}, {"version", created->version}});
        } else if (!same_policy(*existing, policy)) {
          auto updated = store->update_certificate_policy(c.name, policy);
          if (!updated) return unexpected(updated.error().with_context(where));
        }
      } else {
        GH_TRY_STATUS(import_file(c, /*force=*/true));
      }
    }
    return {};
  }

  // Imports a file-backed certificate when its file changed (or `force`) and its leaf differs
  // from the current version's. Locked by the caller (files_mutex) or single-threaded start.
  Status import_file(const config::VaultCertificateConfig& c, bool force) {
    const std::string where = "vault.certificates " + c.name + at_line(c.line);
    const core::FileStamp now = core::file_stamp(c.file);
    auto& known = file_stamps[c.name];
    if (!force && now == known) return {};
    if (now.size < 0) {
      // A file being replaced (or gone): keep serving the current version.
      return unexpected(ErrorKind::Io, where + ": cannot read " + c.file);
    }
    auto data = crypto::read_file(c.file);
    if (!data) return unexpected(data.error().with_context(where));
    const std::string password = c.password_env.empty() ? std::string{} : env_value(c.password_env);
    auto certs = x509::load_any_certificates(*data, password);
    if (certs && !certs->empty()) {
      auto current = store->get_certificate(c.name);
      if (current && current->cer == certs->front().der()) {
        known = now;
        return {};
      }
    }
    auto imported = store->import_certificate(c.name, *data, password);
    if (!imported) return unexpected(imported.error().with_context(where));
    known = now;
    core::log_event("info", "vault: certificate imported from its file",
                    {{"name", c.name}, {"version", imported->version}, {"file", c.file}});
    return {};
  }

  void check_files(bool force_now) {
    std::lock_guard lock(files_mutex);
    const auto now = std::chrono::steady_clock::now();
    if (!force_now && now - files_checked < std::chrono::seconds(1)) return;
    files_checked = now;
    for (const auto& c : config.certificates) {
      if (c.file.empty()) continue;
      if (auto s = import_file(c, false); !s)
        core::log_event("warn", "vault: certificate file not imported",
                        {{"name", c.name}, {"error", s.error().message}});
    }
  }

  void audit_gateway_read(const ParsedReference& ref, std::string_view version,
                          std::string_view outcome) {
    VaultAuditRecord r;
    r.operation = ref.kind == "secrets" ? "get_secret" : "get_certificate_with_key";
    r.outcome = outcome;
    r.kind = ref.kind == "secrets" ? "secret" : "certificate";
    r.name = ref.name;
    r.version = version;
    r.tenant = tenant_id;
    r.client_id = "gateway";
    r.via = "gateway";
    r.now = clock.now_unix();
    audit->write(r);
  }
};

Status check_declared_certificates(const config::VaultConfig& config) {
  for (const auto& c : config.certificates) {
    if (!c.policy) continue;
    if (auto ok = validate_policy(certificate_policy_from_config(*c.policy)); !ok)
      return unexpected(ok.error().with_context("vault.certificates " + c.name + at_line(c.line)));
  }
  return {};
}

Result<std::shared_ptr<VaultService>> VaultService::start(
    const config::VaultConfig& config, std::shared_ptr<identity::IdentityService> identity,
    uint16_t identity_port, const config::Environment& env, const core::Clock& clock) {
  if (!identity)
    return unexpected(ErrorKind::InvalidArgument,
                      "vault: needs the identity role (an identity section)");
  auto impl = std::make_unique<Impl>(config, env, clock);
  impl->identity = identity;

  {
    auto view = identity->directory().view();
    const identity::Tenant* tenant = view->tenant(config.tenant);
    if (!tenant) {
      return unexpected(ErrorKind::InvalidArgument, "vault.tenant" + at_line(config.line) +
                                                        ": no tenant '" + config.tenant +
                                                        "' in the identity directory");
    }
    impl->tenant_id = tenant->id;
  }

  std::vector<CertificateIssuer> issuers;
  for (const auto& c : config.issuers) {
    auto issuer = load_issuer(c);
    if (!issuer)
      return unexpected(issuer.error().with_context("vault.issuers " + c.name + at_line(c.line)));
    issuers.push_back(std::move(*issuer));
  }
  GH_TRY_STATUS(check_declared_certificates(config));
  GH_TRY(auto master, identity::load_master_key(identity->config(), env));
  VaultLimits limits;
  limits.soft_delete_retention_days = config.soft_delete_retention_days;
  GH_TRY(impl->store, VaultStore::open(identity->database(), std::move(master), std::move(issuers),
                                       clock, limits));
  GH_TRY(impl->audit, VaultAudit::open(config.audit_log));
  GH_TRY_STATUS(impl->apply_access());
  GH_TRY_STATUS(impl->apply_secrets());
  GH_TRY_STATUS(impl->apply_certificates());

  KeyVaultApiOptions options;
  options.auth.tenant_id = impl->tenant_id;
  options.auth.resource = config.resource;
  options.auth.clock_skew_seconds = identity->config().tokens.clock_skew.count();
  options.authority_origin = identity->config().public_url;
  options.authority_port = identity_port;
  options.soft_delete_retention_days = config.soft_delete_retention_days;
  impl->api =
      std::make_unique<KeyVaultApi>(*impl->store, identity->directory(), identity->key_ring(),
                                    *impl->audit, std::move(options), clock);

  std::shared_ptr<VaultService> service(new VaultService());
  service->impl_ = std::move(impl);
  return service;
}

VaultService::~VaultService() {
  if (impl_ && impl_->audit) impl_->audit->flush();
}

bool VaultService::claims(std::string_view listener, std::string_view path) const {
  bool ours = false;
  for (const auto& l : impl_->config.listeners)
    ours = ours || l == listener;
  return ours && KeyVaultApi::is_api_path(path);
}

net::awaitable<http::LocalResponse> VaultService::handle(const http::LocalRequest& request) {
  co_return impl_->api->handle(request);
}

void VaultService::maintain() {
  impl_->check_files(/*force_now=*/true);
  auto renewed = impl_->store->renew_due();
  if (!renewed) {
    core::log_event("warn", "vault: certificate renewal failed",
                    {{"error", renewed.error().message}});
    return;
  }
  for (const auto& c : *renewed)
    core::log_event("info", "vault: certificate renewed before expiry",
                    {{"name", c.name}, {"version", c.version}});
}

void VaultService::flush_logs() {
  impl_->audit->flush();
}

Result<std::string> VaultService::read(std::string_view reference) {
  GH_TRY(ParsedReference ref, parse_reference(reference));
  if (ref.kind == "secrets") {
    auto secret = impl_->store->get_secret(ref.name, ref.version);
    if (!secret) {
      impl_->audit_gateway_read(ref, ref.version, "not_found");
      return unexpected(secret.error());
    }
    if (!secret->info.attributes.enabled) {
      impl_->audit_gateway_read(ref, secret->info.version, "denied");
      return unexpected(
          ErrorKind::PermissionDenied,
          "secret " + std::string(ref.name) + " version " + secret->info.version + " is disabled");
    }
    impl_->audit_gateway_read(ref, secret->info.version, "ok");
    return std::move(secret->value);
  }
  auto cert = impl_->store->get_certificate_with_key(ref.name, ref.version);
  if (!cert) {
    impl_->audit_gateway_read(ref, ref.version, "not_found");
    return unexpected(cert.error());
  }
  if (!cert->info.attributes.enabled) {
    impl_->audit_gateway_read(ref, cert->info.version, "denied");
    return unexpected(
        ErrorKind::PermissionDenied,
        "certificate " + std::string(ref.name) + " version " + cert->info.version + " is disabled");
  }
  impl_->audit_gateway_read(ref, cert->info.version, "ok");
  return std::move(cert->pem);
}

std::string VaultService::stamp(std::string_view reference) {
  auto ref = parse_reference(reference);
  if (!ref) return {};
  if (ref->kind == "certificates") impl_->check_files(/*force_now=*/false);
  if (!ref->version.empty()) {
    // A pinned version never changes, except by being disabled or removed.
    if (ref->kind == "secrets") {
      auto info = impl_->store->get_secret_info(ref->name, ref->version);
      return info ? info->version + (info->attributes.enabled ? ":1" : ":0") : std::string{};
    }
    auto info = impl_->store->get_certificate(ref->name, ref->version);
    return info ? info->version + (info->attributes.enabled ? ":1" : ":0") : std::string{};
  }
  auto s = impl_->store->current_stamp(ref->kind, ref->name);
  return s ? std::move(*s) : std::string{};
}

VaultStore& VaultService::store() noexcept {
  return *impl_->store;
}
VaultAudit& VaultService::audit() noexcept {
  return *impl_->audit;
}
const config::VaultConfig& VaultService::config() const noexcept {
  return impl_->config;
}

}  // namespace gh::vault
