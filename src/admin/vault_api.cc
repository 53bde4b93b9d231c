#include "admin/vault_api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <exception>
#include <new>
#include <optional>
#include <vector>

#include "admin/vault_requests.h"
#include "config/value_parsers.h"
#include "core/encoding.h"

namespace gh::admin {

namespace json = boost::json;

namespace {

constexpr int64_t kDay = 86400;
constexpr std::chrono::hours kMaxWindow{24 * 3650};
constexpr std::string_view kDefaultWithin = "30d";
constexpr std::string_view kPrefix = "/v1/vault/";

enum class Op : uint8_t {
  ListSecrets,
  GetSecret,
  SetSecret,
  DeleteSecret,
  SecretVersions,
  ListCertificates,
  GetCertificate,
  CreateCertificate,
  DeleteCertificate,
  ImportCertificate,
  RenewCertificate,
  CertificateVersions,
  ExportCertificate,
  Expiring,
};

// One endpoint: a path pattern under /v1/vault/ ("*" is an item name), its method, and the
// operation name and item kind of its audit record.
struct Endpoint {
  std::string_view pattern;
  std::string_view method;
  Op op;
  std::string_view operation;
  std::string_view kind;
};

constexpr Endpoint kEndpoints[] = {
    {"secrets", "GET", Op::ListSecrets, "list_secrets", "secret"},
    {"secrets/*", "GET", Op::GetSecret, "get_secret", "secret"},
    {"secrets/*", "PUT", Op::SetSecret, "set_secret", "secret"},
    {"secrets/*", "DELETE", Op::DeleteSecret, "delete_secret", "secret"},
    {"secrets/*/versions", "GET", Op::SecretVersions, "list_secret_versions", "secret"},
    {"certificates", "GET", Op::ListCertificates, "list_certificates", "certificate"},
    {"certificates/*", "GET", Op::GetCertificate, "get_certificate", "certificate"},
    {"certificates/*", "POST", Op::CreateCertificate, "create_certificate", "certificate"},
    {"certificates/*", "DELETE", Op::DeleteCertificate, "delete_certificate", "certificate"},
    {"certificates/*/import", "POST", Op::ImportCertificate, "import_certificate", "certificate"},
    {"certificates/*/renew", "POST", Op::RenewCertificate, "renew_certificate", "certificate"},
    {"certificates/*/versions", "GET", Op::CertificateVersions, "list_certificate_versions",
     "certificate"},
    {"certificates/*/export", "POST", Op::ExportCertificate, "export_certificate", "certificate"},
    {"expiring", "GET", Op::Expiring, "list_expiring", ""},
};

bool matches(std::string_view pattern, const std::vector<std::string>& segments) {
  size_t i = 0;
  while (!pattern.empty()) {
    const size_t slash = pattern.find('/');
    const std::string_view part = pattern.substr(0, slash);
    pattern = slash == std::string_view::npos ? std::string_view{} : pattern.substr(slash + 1);
    if (i >= segments.size() || (part != "*" && part != segments[i])) return false;
    ++i;
  }
  return i == segments.size();
}

// ----- resources as JSON (values and keys only where the endpoint is about them) -----

json::object tags_json(const vault::Tags& tags) {
  json::object out;
  for (const auto& [k, v] : tags)
    out[k] = v;
  return out;
}

void add_attributes(json::object& out, const vault::ItemAttributes& a) {
  out["enabled"] = a.enabled;
  out["not_before"] = time_value(a.not_before);
  out["expires"] = time_value(a.expires);
  out["created"] = time_value(a.created);
  out["updated"] = time_value(a.updated);
}

json::object secret_json(const vault::SecretInfo& s) {
  json::object out{{"name", s.name}, {"version", s.version}, {"content_type", s.content_type}};
  add_attributes(out, s.attributes);
  out["tags"] = tags_json(s.tags);
  out["managed"] = s.managed;
  return out;
}

json::object certificate_json(const vault::CertificateInfo& c) {
  json::object out{{"name", c.name},       {"version", c.version},
                   {"subject", c.subject}, {"issuer", c.issuer_name},
                   {"x5t", c.x5t},         {"thumbprint_sha256", c.thumbprint_sha256}};
  add_attributes(out, c.attributes);
  out["tags"] = tags_json(c.tags);
  return out;
}

json::object policy_json(const vault::CertificatePolicy& p) {
  json::array dns;
  for (const auto& d : p.dns_names)
    dns.emplace_back(d);
  return {{"subject", p.subject},
          {"dns_names", std::move(dns)},
          {"key_type", p.key_type},
          {"key_size", p.key_size},
          {"curve", p.curve},
          {"validity_months", p.validity_months},
          {"issuer", p.issuer},
          {"content_type", p.content_type},
          {"renew_days_before_expiry", p.renew_days_before_expiry},
          {"renew_at_lifetime_percentage", p.renew_at_lifetime_percentage},
          {"exportable", p.exportable}};
}

// How a policy renews, for lists: "30d before expiry", "at 80%", "no" (imported or turned off).
std::string renewal_text(const vault::CertificatePolicy& p) {
  if (p.issuer == "Unknown") return "no";
  if (p.renew_days_before_expiry > 0) {
    return std::to_string(p.renew_days_before_expiry) + "d before expiry";
  }
  if (p.renew_at_lifetime_percentage > 0) {
    return "at " + std::to_string(p.renew_at_lifetime_percentage) + "% of lifetime";
  }
  return "no";
}

json::object deleted_json(const vault::DeletedInfo& d, bool purged) {
  return {{"name", d.name},
          {"deleted", time_value(d.deleted)},
          {"scheduled_purge", purged ? json::value(nullptr) : time_value(d.scheduled_purge)},
          {"purged", purged}};
}

// Whole days from `now` until `end`, rounded down (negative once expired).
int64_t days_left(int64_t end, int64_t now) {
  const int64_t diff = end - now;
  return diff >= 0 ? diff / kDay : -((-diff + kDay - 1) / kDay);
}

std::string_view outcome_of(unsigned status) {
  if (status < 300) return "ok";
  if (status == 400 || status == 409 || status == 413) return "invalid";
  if (status == 401) return "unauthenticated";
  if (status == 403) return "denied";
  if (status == 404) return "not_found";
  return "error";
}

}  // namespace

// One request on its way through the API, and what its audit record says.
struct VaultApi::Call {
  std::string_view path;
  std::string_view method;
  std::string_view query;
  std::string_view body;
  std::vector<std::string> segments;
  const Endpoint* endpoint = nullptr;
  std::string operation;  // the endpoint's, or a refinement ("purge_secret")
  std::string version;    // the version read or written, once known

  const std::string& name() const { return segments[1]; }
};

namespace {

using Call = VaultApi::Call;

Result<bool> purge_requested(std::string_view query) {
  GH_TRY(auto purge, query_param(query, "purge"));
  if (!purge || *purge == "false" || purge->empty()) return false;
  if (*purge == "true") return true;
  return bad_request("query parameter 'purge' must be true or false");
}

Result<std::string> version_param(std::string_view query) {
  GH_TRY(auto version, query_param(query, "version"));
  return version.value_or("");
}

// ----- secrets -----

Result<AdminResponse> list_secrets(vault::VaultStore& store) {
  GH_TRY(auto secrets, store.list_secrets());
  json::array out;
  for (const auto& s : secrets)
    out.emplace_back(secret_json(s));
  return json_response(200, json::object{{"secrets", std::move(out)}});
}

Result<AdminResponse> get_secret(vault::VaultStore& store, Call& c) {
  GH_TRY(std::string version, version_param(c.query));
  GH_TRY(vault::Secret secret, store.get_secret(c.name(), version));
  c.version = secret.info.version;
  json::object out = secret_json(secret.info);
  out["value"] = secret.value;
  return json_response(200, out);
}

Result<AdminResponse> set_secret(vault::VaultStore& store, Call& c) {
  GH_TRY(vault::NewSecret spec, parse_secret_request(c.name(), c.body));
  GH_TRY(vault::SecretInfo info, store.set_secret(spec));
  c.version = info.version;
  return json_response(201, secret_json(info));
}

Result<AdminResponse> secret_versions(vault::VaultStore& store, Call& c) {
  GH_TRY(auto versions, store.list_secret_versions(c.name()));
  GH_TRY(vault::SecretInfo current, store.get_secret_info(c.name()));
  json::array out;
  for (const auto& v : versions) {
    json::object item = secret_json(v);
    item["current"] = v.version == current.version;
    out.emplace_back(std::move(item));
  }
  return json_response(200, json::object{{"name", c.name()}, {"versions", std::move(out)}});
}

// Soft delete; with ?purge=true also purged (a name that is already soft-deleted is purged).
Result<AdminResponse> delete_secret(vault::VaultStore& store, Call& c) {
  GH_TRY(const bool purge, purge_requested(c.query));
  if (purge) c.operation = "purge_secret";
  auto deleted = store.delete_secret(c.name());
  if (!deleted) {
    if (!purge || deleted.error().kind != ErrorKind::NotFound) {
      return unexpected(std::move(deleted).error());
    }
    deleted = store.get_deleted_secret(c.name());
    if (!deleted) return unexpected(std::move(deleted).error());
  }
  c.version = deleted->current.version;
  if (purge) GH_TRY_STATUS(store.purge_deleted_secret(c.name()));
  return json_response(200, deleted_json(deleted->deletion, purge));
}

// ----- certificates -----

Result<AdminResponse> list_certificates(vault::VaultStore& store) {
  GH_TRY(auto certificates, store.list_certificates());
  json::array out;
  for (const auto& cert : certificates) {
    json::object item = certificate_json(cert);
    auto policy = store.get_certificate_policy(cert.name);
    item["renewal"] = policy ? renewal_text(*policy) : std::string("no");
    out.emplace_back(std::move(item));
  }
  return json_response(200, json::object{{"certificates", std::move(out)}});
}

Result<AdminResponse> get_certificate(vault::VaultStore& store, Call& c) {
  GH_TRY(std::string version, version_param(c.query));
  GH_TRY(vault::CertificateInfo info, store.get_certificate(c.name(), version));
  GH_TRY(vault::CertificatePolicy policy, store.get_certificate_policy(c.name()));
  c.version = info.version;
  json::object out = certificate_json(info);
  out["renewal"] = renewal_text(policy);
  out["policy"] = policy_json(policy);
  return json_response(200, out);
}

Result<AdminResponse> create_certificate(vault::VaultStore& store, Call& c) {
  GH_TRY(CertificateRequest spec, parse_certificate_request(c.body));
  GH_TRY(vault::CertificateInfo info, store.create_certificate(c.name(), spec.policy, spec.tags));
  c.version = info.version;
  json::object out = certificate_json(info);
  out["renewal"] = renewal_text(spec.policy);
  return json_response(201, out);
}

Result<AdminResponse> import_certificate(vault::VaultStore& store, Call& c) {
  GH_TRY(ImportRequest spec, parse_import_request(c.body));
  GH_TRY(vault::CertificateInfo info,
         store.import_certificate(c.name(), spec.data, spec.password, std::nullopt, spec.tags));
  c.version = info.version;
  return json_response(201, certificate_json(info));
}

Result<AdminResponse> renew_certificate(vault::VaultStore& store, Call& c) {
  GH_TRY(Body body, Body::parse(c.body, {}));  // no fields; an unknown one is a mistake
  (void)body;
  GH_TRY(vault::CertificateInfo info, store.renew_certificate(c.name()));
  c.version = info.version;
  return json_response(201, certificate_json(info));
}

Result<AdminResponse> certificate_versions(vault::VaultStore& store, Call& c) {
  GH_TRY(auto versions, store.list_certificate_versions(c.name()));
  GH_TRY(vault::CertificateInfo current, store.get_certificate(c.name()));
  json::array out;
  for (const auto& v : versions) {
    json::object item = certificate_json(v);
    item["current"] = v.version == current.version;
    out.emplace_back(std::move(item));
  }
  return json_response(200, json::object{{"name", c.name()}, {"versions", std::move(out)}});
}

// PEM (key, then the chain leaf first) or base64 PKCS#12, in the body of a POST so that a
// PKCS#12 password never sits in a URL or an access log.
Result<AdminResponse> export_certificate(vault::VaultStore& store, Call& c) {
  GH_TRY(ExportRequest spec, parse_export_request(c.body));
  GH_TRY(vault::CertificateInfo info, store.get_certificate(c.name(), spec.version));
  c.version = info.version;
  GH_TRY(vault::CertificatePolicy policy, store.get_certificate_policy(c.name()));
  if (!policy.exportable) {
    return unexpected(ErrorKind::Conflict, "certificate '" + c.name() +
                                               "' has a non-exportable key (policy exportable: "
                                               "false); its public part is in `vault cert list`");
  }
  json::object out{{"name", info.name}, {"version", info.version}, {"format", spec.format}};
  if (spec.format == "pem") {
    GH_TRY(vault::CertificateWithKey pem, store.get_certificate_with_key(c.name(), info.version));
    out["content_type"] = "application/x-pem-file";
    out["value"] = pem.pem;
  } else {
    GH_TRY(core::Bytes pfx, store.export_pkcs12(c.name(), info.version, spec.password));
    out["content_type"] = "application/x-pkcs12";
    out["value"] = core::base64_encode(pfx);
  }
  AdminResponse r = json_response(200, out);
  return r;
}

Result<AdminResponse> delete_certificate(vault::VaultStore& store, Call& c) {
  GH_TRY(const bool purge, purge_requested(c.query));
  if (purge) c.operation = "purge_certificate";
  auto deleted = store.delete_certificate(c.name());
  if (!deleted) {
    if (!purge || deleted.error().kind != ErrorKind::NotFound) {
      return unexpected(std::move(deleted).error());
    }
    deleted = store.get_deleted_certificate(c.name());
    if (!deleted) return unexpected(std::move(deleted).error());
  }
  c.version = deleted->current.version;
  if (purge) GH_TRY_STATUS(store.purge_deleted_certificate(c.name()));
  return json_response(200, deleted_json(deleted->deletion, purge));
}

// ----- expiry -----

Result<AdminResponse> expiring(vault::VaultStore& store, const core::Clock& clock, Call& c) {
  GH_TRY(auto within_text, query_param(c.query, "within"));
  const std::string within = within_text.value_or(std::string(kDefaultWithin));
  auto window = config::parse_duration(within, kMaxWindow);
  if (!window) return bad_request("query parameter 'within': " + window.error().message);
  const int64_t horizon = std::chrono::duration_cast<std::chrono::seconds>(*window).count();
  const int64_t now = clock.now_unix();
  GH_TRY(auto items, store.expiring(horizon));
  json::array out;
  for (const auto& item : items) {
    out.emplace_back(json::object{{"kind", item.kind},
                                  {"name", item.name},
                                  {"version", item.version},
                                  {"expires", time_value(item.expires)},
                                  {"days_left", days_left(item.expires, now)},
                                  {"expired", item.expires <= now},
                                  {"auto_renew", item.auto_renew}});
  }
  return json_response(
      200, json::object{{"within", within}, {"now", time_value(now)}, {"items", std::move(out)}});
}

}  // namespace

bool VaultApi::serves(std::string_view path) noexcept {
  return path == "/v1/vault" || path.starts_with(kPrefix);
}

AdminResponse VaultApi::not_enabled() {
  return error_response(404, "vault_not_enabled",
                        "this server has no vault role: add a `vault:` section (and an "
                        "`identity:` section) to its configuration, see docs/vault.md");
}

VaultApi::Call VaultApi::start_call(const AdminRequest& request) {
  const size_t q = request.target.find('?');
  Call call;
  call.path = request.target.substr(0, q);
  call.method = request.method;
  call.query = q == std::string_view::npos ? std::string_view{} : request.target.substr(q + 1);
  call.body = request.body;
  return call;
}

void VaultApi::write_audit(const Call& call, const AdminRequest& request, unsigned status,
                           std::string_view caller) {
  if (call.endpoint == nullptr) return;  // no vault operation was asked for
  vault::VaultAuditRecord record;
  record.operation =
      call.operation.empty() ? call.endpoint->operation : std::string_view(call.operation);
  record.outcome = outcome_of(status);
  record.kind = call.endpoint->kind;
  if (call.segments.size() > 1) record.name = call.segments[1];
  record.version = call.version;
  // The bootstrap credential is "admin"; an access token with the admin role, its app.
  record.client_id = caller == "bootstrap" ? "admin" : caller;
  record.via = "admin";
  record.status = static_cast<int>(status);
  record.source_ip = request.source_ip;
  record.now = clock_.now_unix();
  audit_.write(record);
}

AdminResponse VaultApi::handle(const AdminRequest& request, std::string_view caller) noexcept {
  try {
    Call call = start_call(request);
    std::optional<AdminResponse> refused = route(call);
    AdminResponse response = refused ? std::move(*refused) : run(call);
    write_audit(call, request, response.status, caller);
    response.caller = std::string(caller);
    return response;
  } catch (const std::bad_alloc&) {
    std::terminate();  // out of memory is fatal (style rule 4)
  } catch (const std::exception& e) {
    return error_response(500, "internal", std::string("unexpected error: ") + e.what());
  }
}

void VaultApi::audit_refusal(const AdminRequest& request, unsigned status) noexcept {
  try {
    Call call = start_call(request);
    if (route(call)) return;  // not an operation: nothing to record
    write_audit(call, request, status, "");
  } catch (const std::bad_alloc&) {
    std::terminate();
  } catch (const std::exception&) {
    // An audit line lost to an unexpected error must not turn a 401 into a 500.
  }
}

std::optional<AdminResponse> VaultApi::route(Call& call) {
  auto segments = path_segments(call.path, kPrefix);
  if (!segments) return from_error(segments.error());
  call.segments = std::move(*segments);
  std::string allow;
  for (const Endpoint& e : kEndpoints) {
    if (!matches(e.pattern, call.segments)) continue;
    if (e.method == call.method) {
      call.endpoint = &e;
      break;
    }
    if (!allow.empty()) allow += ", ";
    allow += e.method;
  }
  if (call.endpoint == nullptr) {
    if (!allow.empty()) return method_not_allowed(allow);
    return error_response(404, "not_found", "no admin resource at " + std::string(call.path));
  }
  call.operation = std::string(call.endpoint->operation);
  // Names are checked here so that a bad one is a 400 naming the rule, whatever the store says.
  if (call.segments.size() > 1 && !vault::valid_item_name(call.name())) {
    return error_response(400, "invalid_request",
                          "invalid name '" + call.name() +
                              "': 1-127 characters of letters, digits and '-' (Key Vault's rule)");
  }
  return std::nullopt;
}

AdminResponse VaultApi::run(Call& call) {
  const auto answer = [](Result<AdminResponse> r) {
    return r ? std::move(*r) : from_error(r.error());
  };
  switch (call.endpoint->op) {
    case Op::ListSecrets:
      return answer(list_secrets(store_));
    case Op::GetSecret:
      return answer(get_secret(store_, call));
    case Op::SetSecret:
      return answer(set_secret(store_, call));
    case Op::DeleteSecret:
      return answer(delete_secret(store_, call));
    case Op::SecretVersions:
      return answer(secret_versions(store_, call));
    case Op::ListCertificates:
      return answer(list_certificates(store_));
    case Op::GetCertificate:
      return answer(get_certificate(store_, call));
    case Op::CreateCertificate:
      return answer(create_certificate(store_, call));
    case Op::DeleteCertificate:
      return answer(delete_certificate(store_, call));
    case Op::ImportCertificate:
      return answer(import_certificate(store_, call));
    case Op::RenewCertificate:
      return answer(renew_certificate(store_, call));
    case Op::CertificateVersions:
      return answer(certificate_versions(store_, call));
    case Op::ExportCertificate:
      return answer(export_certificate(store_, call));
    case Op::Expiring:
      return answer(expiring(store_, clock_, call));
  }
  return error_response(500, "internal", "unhandled vault endpoint");
}

}  // namespace gh::admin
