#include "identity/declarative.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/strings.h"
#include "crypto/digest.h"
#include "identity/secret_hash.h"
#include "x509/cert_loader.h"

namespace gh::identity {
namespace {

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::string at_line(int line) {
  return line > 0 ? " (line " + std::to_string(line) + ")" : std::string();
}

Error with_context(const Error& e, const std::string& context) {
  return e.with_context(context);
}

Result<std::string> read_credential_file(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    return unexpected(ErrorKind::Io,
                      "certificate file " + in_quotes(path) + " cannot be read: " + ec.message());
  }
  if (size > x509::kMaxCredentialBytes) {
    return unexpected(ErrorKind::LimitExceeded,
                      "certificate file " + in_quotes(path) + " is larger than 4 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return unexpected(ErrorKind::Io, "certificate file " + in_quotes(path) + " cannot be read");
  }
  return data;
}

std::string resolve(const std::string& base_dir, const std::string& file) {
  std::filesystem::path p(file);
  if (p.is_absolute() || base_dir.empty()) return file;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

std::vector<std::string> lowered(const std::vector<std::string>& list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (const auto& s : list)
    out.push_back(core::to_lower(s));
  return out;
}

class Applier {
 public:
  Applier(Directory& dir, const std::function<std::string(std::string_view)>& env,
          const std::string& base_dir)
      : dir_(dir), env_(env), base_dir_(base_dir) {}

  Status tenant(const config::DeclaredTenant& t) {
    if (!is_guid(t.id)) {
      return unexpected(ErrorKind::InvalidArgument,
                        "tenant id " + in_quotes(t.id) + " is not a GUID" + at_line(t.line));
    }
    const std::string id = core::to_lower(t.id);
    const std::string name = t.name.empty() ? id : t.name;
    const std::string context = "tenant " + in_quotes(name) + " (" + id + ")" + at_line(t.line);
    Status s = tenant_itself(t, id, name);
    if (!s) return unexpected(with_context(s.error(), context));
    for (const auto& app : t.applications) {
      s = application(id, app);
      if (!s) return unexpected(with_context(s.error(), context));
    }
    // Assignments last: their resources may be declared after their clients.
    for (const auto& app : t.applications) {
      for (const auto& a : app.assignments) {
        auto assigned = dir_.assign_role(id, app.client_id, a.resource, a.role);
        if (!assigned) {
          return unexpected(
              with_context(assigned.error(), context + ": application " + in_quotes(app.client_id) +
                                                 ": assignment of " + in_quotes(a.role) + " on " +
                                                 in_quotes(a.resource) + at_line(a.line)));
        }
      }
    }
    return {};
  }

 private:
  Status tenant_itself(const config::DeclaredTenant& t, const std::string& id,
                       const std::string& name) {
    auto view = dir_.view();
    const Tenant* existing = view->tenant(id);
    if (!existing) {
      GH_TRY(Tenant created, dir_.create_tenant(name, id, t.aliases));
      (void)created;
      return {};
    }
    if (existing->id != id) {
      return unexpected(ErrorKind::Conflict,
                        "the id is an alias of tenant " + in_quotes(existing->id));
    }
    const std::string wanted_name = t.name.empty() ? existing->display_name : t.name;
    if (existing->display_name == wanted_name && existing->aliases == lowered(t.aliases)) {
      return {};
    }
    return dir_.update_tenant({id, wanted_name, t.aliases});
  }

  Status application(const std::string& tenant_id, const config::DeclaredApplication& declared) {
    const std::string label = declared.name.empty() ? declared.client_id : declared.name;
    const std::string context = "application " + in_quotes(label) + " (" + declared.client_id +
                                ")" + at_line(declared.line);
    Status s = application_steps(tenant_id, declared);
    if (!s) return unexpected(with_context(s.error(), context));
    return {};
  }

  Status application_steps(const std::string& tenant_id,
                           const config::DeclaredApplication& declared) {
    if (!is_guid(declared.client_id)) {
      return unexpected(ErrorKind::InvalidArgument,
                        "client id " + in_quotes(declared.client_id) + " is not a GUID");
    }
    const std::string client_id = core::to_lower(declared.client_id);
    {
      auto view = dir_.view();
      const Application* existing = view->application(tenant_id, client_id);
      if (!existing) {
        NewApplication spec;
        spec.tenant_id = tenant_id;
        spec.client_id = client_id;
        spec.display_name = declared.name.empty() ? client_id : declared.name;
        spec.identifier_uris = declared.identifier_uris;
        spec.access_token_version = declared.access_token_version;
        spec.assignment_required = declared.assignment_required;
        spec.strict_assertion_replay = declared.strict_assertion_replay;
        GH_TRY(Application created, dir_.create_application(std::move(spec)));
        (void)created;
      } else {
        Application wanted = *existing;
        if (!declared.name.empty()) wanted.display_name = declared.name;
        wanted.identifier_uris = declared.identifier_uris;
        wanted.access_token_version = declared.access_token_version;
        wanted.assignment_required = declared.assignment_required;
        wanted.strict_assertion_replay = declared.strict_assertion_replay;
        GH_TRY_STATUS(dir_.update_application(wanted));  // a no-op when nothing differs
      }
    }
    for (const auto& role : declared.roles)
      GH_TRY_STATUS(apply_role(tenant_id, client_id, role));
    for (const auto& cert : declared.certificates) {
      GH_TRY_STATUS(apply_certificate(tenant_id, client_id, cert));
    }
    for (const auto& secret : declared.secrets) {
      GH_TRY_STATUS(apply_secret(tenant_id, client_id, secret));
    }
    for (const auto& fic : declared.federated) {
      GH_TRY_STATUS(apply_federated(tenant_id, client_id, fic));
    }
    return {};
  }

  const Application& current(const std::string& tenant_id, const std::string& client_id) {
    view_ = dir_.view();  // keeps the returned reference alive until the next call
    return *view_->application(tenant_id, client_id);
  }

  Status apply_role(const std::string& tenant_id, const std::string& client_id,
                    const config::DeclaredRole& declared) {
    const Application& app = current(tenant_id, client_id);
    const std::string context = "role " + in_quotes(declared.value) + at_line(declared.line);
    const AppRole* by_value = nullptr;
    const AppRole* by_id = nullptr;
    for (const auto& r : app.roles) {
      if (core::iequals(r.value, declared.value)) by_value = &r;
      if (!declared.id.empty() && core::iequals(r.id, declared.id)) by_id = &r;
    }
    Status s;
    if (by_value) {
      if (!declared.id.empty() && !core::iequals(by_value->id, declared.id)) {
        return unexpected(ErrorKind::Conflict, context + ": exists with id " + by_value->id +
                                                   ", the configuration declares " + declared.id);
      }
      AppRole wanted = *by_value;
      wanted.value = declared.value;
      if (!declared.display_name.empty()) wanted.display_name = declared.display_name;
      s = dir_.update_role(tenant_id, client_id, wanted);
    } else if (by_id) {
      AppRole wanted = *by_id;  // renamed in the config: same id, new value
      wanted.value = declared.value;
      if (!declared.display_name.empty()) wanted.display_name = declared.display_name;
      s = dir_.update_role(tenant_id, client_id, wanted);
    } else {
      AppRole role;
      role.id = declared.id;
      role.value = declared.value;
      role.display_name = declared.display_name;
      auto added = dir_.add_role(tenant_id, client_id, std::move(role));
      if (!added) s = unexpected(added.error());
    }
    if (!s) return unexpected(with_context(s.error(), context));
    return {};
  }

  Status apply_certificate(const std::string& tenant_id, const std::string& client_id,
                           const config::DeclaredCertificate& declared) {
    const std::string path = resolve(base_dir_, declared.file);
    const std::string context = "certificate " + in_quotes(path) + at_line(declared.line);
    auto fail = [&](const Error& e) { return unexpected(with_context(e, context)); };
    auto data = read_credential_file(path);
    if (!data) return fail(data.error());
    auto certs = x509::load_certificates(*data);
    if (!certs) return fail(certs.error());
    const auto der = certs->front().der();
    const auto sha1 = crypto::sha1(der);
    const Application& app = current(tenant_id, client_id);
    if (view_->certificate_by_sha1(app, sha1)) return {};
    auto added = dir_.add_certificate(tenant_id, client_id, *data, declared.name);
    if (!added) return fail(added.error());
    return {};
  }

  Status apply_secret(const std::string& tenant_id, const std::string& client_id,
                      const config::DeclaredSecret& declared) {
    const std::string name = declared.name.empty() ? declared.value_env : declared.name;
    const std::string context = "secret " + in_quotes(name) + at_line(declared.line);
    const std::string value = env_(declared.value_env);
    if (value.empty()) {
      return unexpected(
          ErrorKind::InvalidArgument,
          context + ": environment variable " + declared.value_env + " is not set or empty");
    }
    const Application& app = current(tenant_id, client_id);
    const int64_t now = clock_now();
    std::vector<std::string> stale;
    for (const auto& s : app.secrets) {
      if (s.display_name != name) continue;
      auto ok = verify_secret(value, s.hash);
      if (ok && *ok && s.end > now) return {};  // already holds this value
      stale.push_back(s.key_id);
    }
    // Add first, then remove the old ones: there is never a moment without a valid secret.
    auto added =
        dir_.add_secret_with_value(tenant_id, client_id, name, value, kDeclaredSecretLifetime);
    if (!added) return unexpected(with_context(added.error(), context));
    for (const auto& key_id : stale) {
      Status s = dir_.remove_secret(tenant_id, client_id, key_id);
      if (!s) return unexpected(with_context(s.error(), context));
    }
    return {};
  }

  Status apply_federated(const std::string& tenant_id, const std::string& client_id,
                         const config::DeclaredFederated& declared) {
    FederatedCredential fic;
    fic.name = declared.name;
    fic.issuer = declared.issuer;
    fic.subject = declared.subject;
    fic.audience = declared.audience;
    fic.description = declared.description;
    const Application& app = current(tenant_id, client_id);
    bool exists = false;
    for (const auto& f : app.federated)
      exists = exists || core::iequals(f.name, declared.name);
    Status s;
    if (exists) {
      s = dir_.update_federated(tenant_id, client_id, fic);
    } else {
      auto added = dir_.add_federated(tenant_id, client_id, std::move(fic));
      if (!added) s = unexpected(added.error());
    }
    if (!s) {
      return unexpected(with_context(
          s.error(), "federated credential " + in_quotes(declared.name) + at_line(declared.line)));
    }
    return {};
  }

  // Secrets' validity is judged by the time the directory stamps them with.
  int64_t clock_now() const { return dir_.clock().now_unix(); }

  Directory& dir_;
  const std::function<std::string(std::string_view)>& env_;
  const std::string& base_dir_;
  std::shared_ptr<const DirectoryView> view_;
};

}  // namespace

Status apply_declared_tenants(Directory& dir, const std::vector<config::DeclaredTenant>& tenants,
                              const std::function<std::string(std::string_view)>& env_lookup,
                              const std::string& base_dir) {
  Applier applier(dir, env_lookup, base_dir);
  for (const auto& t : tenants) {
    Status s = applier.tenant(t);
    if (!s) return unexpected(s.error().with_context("identity.tenants"));
  }
  return {};
}

}  // namespace gh::identity
