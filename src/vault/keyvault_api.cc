#include "vault/keyvault_api.h"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/strings.h"
#include "identity/token_request.h"
#include "jose/json.h"
#include "x509/cert_loader.h"

namespace gh::vault {
namespace {

namespace json = boost::json;

// ---- operations ------------------------------------------------------------------------------

enum class Op : uint8_t {
  GetSecret,
  SetSecret,
  UpdateSecret,
  ListSecrets,
  ListSecretVersions,
  DeleteSecret,
  GetDeletedSecret,
  PurgeDeletedSecret,
  ListDeletedSecrets,
  RecoverDeletedSecret,
  CreateCertificate,
  ImportCertificate,
  GetCertificateOperation,
  GetCertificate,
  UpdateCertificate,
  ListCertificates,
  ListCertificateVersions,
  GetCertificatePolicy,
  UpdateCertificatePolicy,
  DeleteCertificate,
  GetDeletedCertificate,
  PurgeDeletedCertificate,
  ListDeletedCertificates,
  RecoverDeletedCertificate,
  Unknown,
};

struct OpInfo {
  std::string_view name;    // the audit line's "operation"
  std::string_view kind;    // "secret" | "certificate"
  Permission need;          // what the caller's roles must allow
  std::string_view action;  // Azure's RBAC data action, named in 403 messages as Key Vault does
};

constexpr std::array<OpInfo, 25> kOps{{
    {"get_secret", "secret", Permission::SecretsRead,
     "Microsoft.KeyVault/vaults/secrets/getSecret/action"},
    {"set_secret", "secret", Permission::SecretsWrite,
     "Microsoft.KeyVault/vaults/secrets/setSecret/action"},
    {"update_secret", "secret", Permission::SecretsWrite,
     "Microsoft.KeyVault/vaults/secrets/update/action"},
    {"list_secrets", "secret", Permission::SecretsRead,
     "Microsoft.KeyVault/vaults/secrets/readMetadata/action"},
    {"list_secret_versions", "secret", Permission::SecretsRead,
     "Microsoft.KeyVault/vaults/secrets/readMetadata/action"},
    {"delete_secret", "secret", Permission::SecretsWrite,
     "Microsoft.KeyVault/vaults/secrets/delete"},
    {"get_deleted_secret", "secret", Permission::SecretsRead,
     "Microsoft.KeyVault/vaults/deletedSecrets/read"},
    {"purge_deleted_secret", "secret", Permission::SecretsWrite,
     "Microsoft.KeyVault/vaults/deletedSecrets/delete"},
    {"list_deleted_secrets", "secret", Permission::SecretsRead,
     "Microsoft.KeyVault/vaults/deletedSecrets/read"},
    {"recover_deleted_secret", "secret", Permission::SecretsWrite,
     "Microsoft.KeyVault/vaults/deletedSecrets/recover/action"},
    {"create_certificate", "certificate", Permission::CertificatesWrite,
     "Microsoft.KeyVault/vaults/certificates/create/action"},
    {"import_certificate", "certificate", Permission::CertificatesWrite,
     "Microsoft.KeyVault/vaults/certificates/import/action"},
    {"get_certificate_operation", "certificate", Permission::CertificatesRead,
     "Microsoft.KeyVault/vaults/certificates/read"},
    {"get_certificate", "certificate", Permission::CertificatesRead,
     "Microsoft.KeyVault/vaults/certificates/read"},
    {"update_certificate", "certificate", Permission::CertificatesWrite,
     "Microsoft.KeyVault/vaults/certificates/update/action"},
    {"list_certificates", "certificate", Permission::CertificatesRead,
     "Microsoft.KeyVault/vaults/certificates/read"},
    {"list_certificate_versions", "certificate", Permission::CertificatesRead,
     "Microsoft.KeyVault/vaults/certificates/read"},
    {"get_certificate_policy", "certificate", Permission::CertificatesRead,
     "Microsoft.KeyVault/vaults/certificates/read"},
    {"update_certificate_policy", "certificate", Permission::CertificatesWrite,
     "Microsoft.KeyVault/vaults/certificates/update/action"},
    {"delete_certificate", "certificate", Permission::CertificatesWrite,
     "Microsoft.KeyVault/vaults/certificates/delete"},
    {"get_deleted_certificate", "certificate", Permission::CertificatesRead,
     "Microsoft.KeyVault/vaults/deletedCertificates/read"},
    {"purge_deleted_certificate", "certificate", Permission::CertificatesWrite,
     "Microsoft.KeyVault/vaults/certificates/purge/action"},
    {"list_deleted_certificates", "certificate", Permission::CertificatesRead,
     "Microsoft.KeyVault/vaults/deletedCertificates/read"},
    {"recover_deleted_certificate", "certificate", Permission::CertificatesWrite,
     "Microsoft.KeyVault/vaults/certificates/recover/action"},
    {"unknown", "", Permission::SecretsRead, ""},
}};

const OpInfo& info_of(Op op) noexcept {
  return kOps[static_cast<size_t>(op)];
}

/// A request's target: the operation, or why there is none (Unknown + method_allowed false:
/// the path exists with other methods).
struct Route {
  Op op = Op::Unknown;
  std::string_view name;
  std::string_view version;
  bool path_known = false;
};

constexpr std::array<std::string_view, 4> kCollections{"secrets", "deletedsecrets", "certificates",
                                                       "deletedcertificates"};

Route route(std::string_view method, std::string_view path) {
  Route r;
  if (path.empty() || path.front() != '/') return r;
  std::vector<std::string_view> seg;
  std::string_view rest = path.substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    seg.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  // "/secrets/NAME/" is how the SDK asks for the current version (an empty version segment).
  if (seg.size() == 3 && seg[2].empty()) seg.pop_back();
  if (seg.size() > 3) return r;
  const std::string_view collection = seg[0];
  const bool get = method == "GET", put = method == "PUT", patch = method == "PATCH",
             del = method == "DELETE", post = method == "POST";
  auto pick = [&](bool ok, Op op) {
    r.path_known = true;
    if (ok) r.op = op;
  };
  if (seg.size() >= 2) r.name = seg[1];
  if (collection == "secrets") {
    if (seg.size() == 1) {
      pick(get, Op::ListSecrets);
    } else if (seg.size() == 2) {
      r.path_known = true;
      if (get) r.op = Op::GetSecret;
      if (put) r.op = Op::SetSecret;
      if (patch) r.op = Op::UpdateSecret;
      if (del) r.op = Op::DeleteSecret;
    } else if (seg[2] == "versions") {
      pick(get, Op::ListSecretVersions);
    } else {
      r.version = seg[2];
      r.path_known = true;
      if (get) r.op = Op::GetSecret;
      if (patch) r.op = Op::UpdateSecret;
    }
  } else if (collection == "deletedsecrets") {
    if (seg.size() == 1) {
      pick(get, Op::ListDeletedSecrets);
    } else if (seg.size() == 2) {
      r.path_known = true;
      if (get) r.op = Op::GetDeletedSecret;
      if (del) r.op = Op::PurgeDeletedSecret;
    } else if (seg[2] == "recover") {
      pick(post, Op::RecoverDeletedSecret);
    }
  } else if (collection == "certificates") {
    if (seg.size() == 1) {
      pick(get, Op::ListCertificates);
    } else if (seg.size() == 2) {
      r.path_known = true;
      if (get) r.op = Op::GetCertificate;
      if (patch) r.op = Op::UpdateCertificate;
      if (del) r.op = Op::DeleteCertificate;
    } else if (seg[2] == "create") {
      pick(post, Op::CreateCertificate);
    } else if (seg[2] == "import") {
      pick(post, Op::ImportCertificate);
    } else if (seg[2] == "pending") {
      pick(get, Op::GetCertificateOperation);
    } else if (seg[2] == "versions") {
      pick(get, Op::ListCertificateVersions);
    } else if (seg[2] == "policy") {
      r.path_known = true;
      if (get) r.op = Op::GetCertificatePolicy;
      if (patch) r.op = Op::UpdateCertificatePolicy;
    } else {
      r.version = seg[2];
      r.path_known = true;
      if (get) r.op = Op::GetCertificate;
      if (patch) r.op = Op::UpdateCertificate;
    }
  } else if (collection == "deletedcertificates") {
    if (seg.size() == 1) {
      pick(get, Op::ListDeletedCertificates);
    } else if (seg.size() == 2) {
      r.path_known = true;
      if (get) r.op = Op::GetDeletedCertificate;
      if (del) r.op = Op::PurgeDeletedCertificate;
    } else if (seg[2] == "recover") {
      pick(post, Op::RecoverDeletedCertificate);
    }
  }
  return r;
}

// ---- responses -------------------------------------------------------------------------------

/// An operation's result before auditing: the response and the version it concerned.
struct Outcome {
  http::LocalResponse response;
  std::string version;
};

http::LocalResponse json_response(uint16_t status, const json::object& body) {
  http::LocalResponse r;
  r.status = status;
  r.body = json::serialize(body);
  return r;
}

Outcome error(uint16_t status, std::string_view code, std::string_view message,
              std::string_view inner_code = {}) {
  json::object e;
  e["code"] = code;
  e["message"] = message;
  if (!inner_code.empty()) {
    json::object inner;
    inner["code"] = inner_code;
    e["innererror"] = std::move(inner);
  }
  json::object body;
  body["error"] = std::move(e);
  return Outcome{json_response(status, body), {}};
}

Outcome bad_parameter(std::string_view message) {
  return error(400, "BadParameter", message);
}

std::string_view outcome_of(uint16_t status) noexcept {
  if (status < 300) return "ok";
  if (status == 401) return "unauthenticated";
  if (status == 403) return "denied";
  if (status == 404) return "not_found";
  if (status < 500) return "invalid";
  return "error";
}

const std::array<std::string_view, 8> kApiVersions{"7.0", "7.1", "7.2", "7.3",
                                                   "7.4", "7.5", "7.6", "2025-07-01"};

bool supported_api_version(std::string_view v) {
  if (v.ends_with("-preview")) v.remove_suffix(8);  // 7.5-preview.1 style is "7.5-preview.1"
  const size_t dot_preview = v.find("-preview");
  if (dot_preview != std::string_view::npos) v = v.substr(0, dot_preview);
  return std::find(kApiVersions.begin(), kApiVersions.end(), v) != kApiVersions.end();
}

/// The query parameters the API reads, percent-decoded.
struct Query {
  std::optional<std::string> api_version;
  std::optional<std::string> maxresults;
  std::optional<std::string> skiptoken;
  std::optional<std::string> out_content_type;
  bool malformed = false;
};

Query parse_query(std::string_view query) {
  Query q;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string name, value;
    if (!identity::form_url_decode(pair.substr(0, eq), name) ||
        (eq != std::string_view::npos && !identity::form_url_decode(pair.substr(eq + 1), value))) {
      q.malformed = true;
      continue;
    }
    if (name == "api-version") {
      q.api_version = std::move(value);
    } else if (name == "maxresults") {
      q.maxresults = std::move(value);
    } else if (name == "$skiptoken") {
      q.skiptoken = std::move(value);
    } else if (name == "outContentType") {
      q.out_content_type = std::move(value);
    }
  }
  return q;
}

std::string host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return std::string(host.substr(0, close == std::string_view::npos ? host.size() : close + 1));
  }
  const size_t colon = host.find(':');
  return std::string(host.substr(0, colon));
}

/// An authority as a client may send it: a DNS name, IPv4 or bracketed IPv6, optional port.
bool valid_host(std::string_view host) noexcept {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
  });
}

/// Empty (the current version) or letters and digits: what a version id can be, so that one
/// from the path can be quoted in a message and an id.
bool valid_version(std::string_view version) noexcept {
  return version.size() <= 64 && std::all_of(version.begin(), version.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
         });
}

// ---- JSON shapes -----------------------------------------------------------------------------

constexpr std::string_view kPemContentType = "application/x-pem-file";
constexpr std::string_view kPkcs12ContentType = "application/x-pkcs12";

struct Shapes {
  std::string origin;  // the vault's own origin, for ids
  int64_t recoverable_days = 90;

  std::string id(std::string_view collection, std::string_view name,
                 std::string_view version = {}) const {
    std::string out = origin;
    out += '/';
    out += collection;
    out += '/';
    out += name;
    if (!version.empty()) {
      out += '/';
      out += version;
    }
    return out;
  }

  json::object attributes(const ItemAttributes& a) const {
    json::object o;
    o["enabled"] = a.enabled;
    if (a.not_before != 0) o["nbf"] = a.not_before;
    if (a.expires != 0) o["exp"] = a.expires;
    o["created"] = a.created;
    o["updated"] = a.updated;
    o["recoverableDays"] = recoverable_days;
    o["recoveryLevel"] = "Recoverable+Purgeable";
    return o;
  }

  static void put_tags(json::object& o, const Tags& tags) {
    if (tags.empty()) return;
    json::object t;
    for (const auto& [k, v] : tags)
      t[k] = v;
    o["tags"] = std::move(t);
  }

  /// SecretBundle; `value` only where Key Vault returns it (get, set).
  json::object secret_bundle(const SecretInfo& s, const std::string* value) const {
    json::object o;
    if (value != nullptr) o["value"] = *value;
    if (!s.content_type.empty()) o["contentType"] = s.content_type;
    o["id"] = id("secrets", s.name, s.version);
    o["attributes"] = attributes(s.attributes);
    put_tags(o, s.tags);
    if (s.managed) {
      o["kid"] = id("keys", s.name, s.version);
      o["managed"] = true;
    }
    return o;
  }

  /// SecretItem: list entries name the secret (list) or the version (versions).
  json::object secret_item(const SecretInfo& s, bool with_version) const {
    json::object o;
    o["id"] = id("secrets", s.name, with_version ? std::string_view(s.version) : "");
    o["attributes"] = attributes(s.attributes);
    put_tags(o, s.tags);
    if (!s.content_type.empty()) o["contentType"] = s.content_type;
    if (s.managed) o["managed"] = true;
    return o;
  }

  void put_deletion(json::object& o, std::string_view collection, const DeletedInfo& d) const {
    o["recoveryId"] = id(collection, d.name);
    o["deletedDate"] = d.deleted;
    o["scheduledPurgeDate"] = d.scheduled_purge;
  }

  json::object deleted_secret(const DeletedSecret& d, bool item) const {
    json::object o;
    put_deletion(o, "deletedsecrets", d.deletion);
    if (item) {
      json::object entry = secret_item(d.current, false);
      for (auto& m : entry)
        o[m.key()] = std::move(m.value());
    } else {
      json::object bundle = secret_bundle(d.current, nullptr);
      for (auto& m : bundle)
        o[m.key()] = std::move(m.value());
    }
    return o;
  }

  json::object policy(std::string_view name, const CertificatePolicy& p) const {
    json::object key;
    key["exportable"] = p.exportable;
    key["kty"] = p.key_type;
    if (p.key_type == "EC") {
      key["crv"] = p.curve;
    } else {
      key["key_size"] = p.key_size;
    }
    key["reuse_key"] = false;
    json::object secret;
    secret["contentType"] = p.content_type;
    json::object x509;
    x509["subject"] = p.subject;
    if (!p.dns_names.empty()) {
      json::array dns;
      for (const auto& d : p.dns_names)
        dns.emplace_back(d);
      json::object sans;
      sans["dns_names"] = std::move(dns);
      x509["sans"] = std::move(sans);
    }
    x509["validity_months"] = p.validity_months;
    json::array actions;
    if (p.renew_days_before_expiry > 0 || p.renew_at_lifetime_percentage > 0) {
      json::object trigger;
      if (p.renew_days_before_expiry > 0) {
        trigger["days_before_expiry"] = p.renew_days_before_expiry;
      } else {
        trigger["lifetime_percentage"] = p.renew_at_lifetime_percentage;
      }
      json::object action;
      action["action_type"] = "AutoRenew";
      json::object entry;
      entry["trigger"] = std::move(trigger);
      entry["action"] = std::move(action);
      actions.emplace_back(std::move(entry));
    }
    json::object issuer;
    issuer["name"] = p.issuer;
    json::object attrs;
    attrs["enabled"] = true;
    json::object o;
    o["id"] = id("certificates", name) + "/policy";
    o["key_props"] = std::move(key);
    o["secret_props"] = std::move(secret);
    o["x509_props"] = std::move(x509);
    o["lifetime_actions"] = std::move(actions);
    o["issuer"] = std::move(issuer);
    o["attributes"] = std::move(attrs);
    return o;
  }

  json::object certificate_bundle(const CertificateInfo& c,
                                  const std::optional<CertificatePolicy>& p) const {
    json::object o;
    o["id"] = id("certificates", c.name, c.version);
    o["kid"] = id("keys", c.name, c.version);
    o["sid"] = id("secrets", c.name, c.version);
    o["x5t"] = c.x5t;
    o["cer"] = core::base64_encode(c.cer);
    o["attributes"] = attributes(c.attributes);
    put_tags(o, c.tags);
    if (p) {
      o["policy"] = policy(c.name, *p);
      o["contentType"] = p->content_type;
    }
    return o;
  }

  json::object certificate_item(const CertificateInfo& c, bool with_version) const {
    json::object o;
    o["id"] = id("certificates", c.name, with_version ? std::string_view(c.version) : "");
    o["x5t"] = c.x5t;
    o["attributes"] = attributes(c.attributes);
    put_tags(o, c.tags);
    o["subject"] = c.subject;
    return o;
  }

  json::object deleted_certificate(const DeletedCertificate& d, bool item) const {
    json::object o;
    put_deletion(o, "deletedcertificates", d.deletion);
    json::object rest =
        item ? certificate_item(d.current, false) : certificate_bundle(d.current, std::nullopt);
    for (auto& m : rest)
      o[m.key()] = std::move(m.value());
    return o;
  }

  /// CertificateOperation: issuance here is synchronous, so it is always complete.
  json::object operation(const CertificateInfo& c) const {
    json::object issuer;
    issuer["name"] = c.issuer_name;
    json::object o;
    o["id"] = id("certificates", c.name) + "/pending";
    o["issuer"] = std::move(issuer);
    o["cancellation_requested"] = false;
    o["status"] = "completed";
    o["target"] = id("certificates", c.name);
    o["request_id"] = c.version;
    return o;
  }
};

// ---- request bodies --------------------------------------------------------------------------

Result<json::object> parse_body(std::string_view body) {
  if (core::trim_ows(body).empty()) {
    return unexpected(ErrorKind::InvalidArgument, "The request body is missing.");
  }
  jose::JsonLimits limits;
  limits.max_bytes = 256 * 1024;
  limits.max_depth = 16;
  auto parsed = jose::parse_strict_json_object(body, limits);
  if (!parsed) {
    // The parser's message names the position, never the text.
    return unexpected(ErrorKind::InvalidArgument, "The request body is not a valid JSON object.");
  }
  return std::move(*parsed);
}

Error invalid(std::string message) {
  return Error(ErrorKind::InvalidArgument, std::move(message));
}

const json::value* member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Result<std::optional<std::string>> opt_string(const json::object& o, std::string_view name) {
  const json::value* v = member(o, name);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string())
    return unexpected(invalid("Property '" + std::string(name) + "' must be a string."));
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::optional<bool>> opt_bool(const json::object& o, std::string_view name) {
  const json::value* v = member(o, name);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool())
    return unexpected(invalid("Property '" + std::string(name) + "' must be a boolean."));
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<int64_t>> opt_int(const json::object& o, std::string_view name) {
  const json::value* v = member(o, name);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= uint64_t(INT64_MAX))
    return std::optional<int64_t>(int64_t(v->get_uint64()));
  if (v->is_double()) {
    const double d = v->get_double();
    if (d >= -9.2e18 && d <= 9.2e18 && d == double(int64_t(d)))
      return std::optional<int64_t>(int64_t(d));
  }
  return unexpected(invalid("Property '" + std::string(name) + "' must be an integer."));
}

Result<const json::object*> opt_object(const json::object& o, std::string_view name) {
  const json::value* v = member(o, name);
  if (v == nullptr) return static_cast<const json::object*>(nullptr);
  if (!v->is_object())
    return unexpected(invalid("Property '" + std::string(name) + "' must be an object."));
  return &v->get_object();
}

Result<std::optional<Tags>> parse_tags(const json::object& body) {
  GH_TRY(const json::object* t, opt_object(body, "tags"));
  if (t == nullptr) return std::optional<Tags>();
  if (t->size() > 15) return unexpected(invalid("Property 'tags' has more than 15 entries."));
  Tags tags;
  for (const auto& m : *t) {
    if (!m.value().is_string())
      return unexpected(invalid("Property 'tags' must map names to strings."));
    tags.emplace_back(std::string(m.key()), std::string(m.value().get_string()));
  }
  return std::optional<Tags>(std::move(tags));
}

/// Key Vault's "attributes" in a request: enabled, nbf, exp.
struct RequestAttributes {
  std::optional<bool> enabled;
  std::optional<int64_t> not_before;
  std::optional<int64_t> expires;
};

Result<RequestAttributes> parse_attributes(const json::object& body) {
  RequestAttributes a;
  GH_TRY(const json::object* o, opt_object(body, "attributes"));
  if (o == nullptr) return a;
  GH_TRY(a.enabled, opt_bool(*o, "enabled"));
  GH_TRY(a.not_before, opt_int(*o, "nbf"));
  GH_TRY(a.expires, opt_int(*o, "exp"));
  return a;
}

/// A policy from Key Vault's JSON laid over `base` (the defaults, or the stored policy for a
/// PATCH). Parts Gatehouse cannot honour are refused rather than ignored.
Result<CertificatePolicy> parse_policy(const json::object& p, CertificatePolicy base,
                                       bool default_lifetime_action) {
  GH_TRY(const json::object* key, opt_object(p, "key_props"));
  if (key != nullptr) {
    GH_TRY(auto kty, opt_string(*key, "kty"));
    if (kty) {
      if (*kty != "RSA" && *kty != "EC") {
        return unexpected(invalid(
            "Property 'key_props.kty' must be RSA or EC (HSM-protected keys are not available)."));
      }
      base.key_type = *kty;
    }
    GH_TRY(auto size, opt_int(*key, "key_size"));
    if (size) {
      if (*size < 0 || *size > 16384)
        return unexpected(invalid("Property 'key_props.key_size' is out of range."));
      base.key_size = int(*size);
    }
    GH_TRY(auto crv, opt_string(*key, "crv"));
    if (crv) base.curve = *crv;
    GH_TRY(auto exportable, opt_bool(*key, "exportable"));
    if (exportable) base.exportable = *exportable;
    GH_TRY(auto reuse, opt_bool(*key, "reuse_key"));
    if (reuse && *reuse) {
      return unexpected(
          invalid("Property 'key_props.reuse_key' must be false: every version gets a new key."));
    }
  }
  GH_TRY(const json::object* secret, opt_object(p, "secret_props"));
  if (secret != nullptr) {
    GH_TRY(auto ct, opt_string(*secret, "contentType"));
    if (ct) base.content_type = *ct;
  }
  GH_TRY(const json::object* x509, opt_object(p, "x509_props"));
  if (x509 != nullptr) {
    GH_TRY(auto subject, opt_string(*x509, "subject"));
    if (subject) base.subject = *subject;
    GH_TRY(auto months, opt_int(*x509, "validity_months"));
    if (months) {
      if (*months < 0 || *months > 1200)
        return unexpected(invalid("Property 'x509_props.validity_months' is out of range."));
      base.validity_months = int(*months);
    }
    GH_TRY(const json::object* sans, opt_object(*x509, "sans"));
    if (sans != nullptr) {
      for (std::string_view other : {"emails", "upns", "uris", "ipAddresses"}) {
        const json::value* v = member(*sans, other);
        if (v != nullptr && (!v->is_array() || !v->get_array().empty())) {
          return unexpected(invalid("Property 'x509_props.sans." + std::string(other) +
                                    "' is not supported: only dns_names."));
        }
      }
      if (const json::value* dns = member(*sans, "dns_names")) {
        if (!dns->is_array())
          return unexpected(invalid("Property 'x509_props.sans.dns_names' must be an array."));
        base.dns_names.clear();
        for (const auto& d : dns->get_array()) {
          if (!d.is_string())
            return unexpected(invalid("Property 'x509_props.sans.dns_names' must hold strings."));
          base.dns_names.emplace_back(d.get_string());
        }
      }
    }
  }
  GH_TRY(const json::object* issuer, opt_object(p, "issuer"));
  if (issuer != nullptr) {
    GH_TRY(auto name, opt_string(*issuer, "name"));
    if (name) base.issuer = *name;
  }
  if (const json::value* actions = member(p, "lifetime_actions")) {
    if (!actions->is_array())
      return unexpected(invalid("Property 'lifetime_actions' must be an array."));
    base.renew_days_before_expiry = 0;
    base.renew_at_lifetime_percentage = 0;
    for (const auto& a : actions->get_array()) {
      if (!a.is_object())
        return unexpected(invalid("Property 'lifetime_actions' must hold objects."));
      GH_TRY(const json::object* action, opt_object(a.get_object(), "action"));
      GH_TRY(const json::object* trigger, opt_object(a.get_object(), "trigger"));
      std::optional<std::string> type;
      if (action != nullptr) {
        GH_TRY(type, opt_string(*action, "action_type"));
      }
      // EmailContacts has no one to mail here; only AutoRenew changes what the vault does.
      if (!type || !core::iequals(*type, "AutoRenew") || trigger == nullptr) continue;
      GH_TRY(auto days, opt_int(*trigger, "days_before_expiry"));
      GH_TRY(auto pct, opt_int(*trigger, "lifetime_percentage"));
      if (days) {
        if (*days < 1 || *days > 3650)
          return unexpected(
              invalid("Property 'lifetime_actions.trigger.days_before_expiry' is out of range."));
        base.renew_days_before_expiry = int(*days);
      } else if (pct) {
        if (*pct < 1 || *pct > 99)
          return unexpected(
              invalid("Property 'lifetime_actions.trigger.lifetime_percentage' must be 1-99."));
        base.renew_at_lifetime_percentage = int(*pct);
      }
    }
  } else if (default_lifetime_action) {
    // Key Vault's default for a new policy: renew at 80 % of the lifetime.
    base.renew_days_before_expiry = 0;
    base.renew_at_lifetime_percentage = 80;
  }
  return base;
}

// ---- messages --------------------------------------------------------------------------------

std::string not_found_message(std::string_view what, std::string_view name,
                              std::string_view version) {
  std::string id(name);
  if (!version.empty()) {
    id += '/';
    id += version;
  }
  return "A " + std::string(what) + " with (name/id) " + id +
         " was not found in this key vault. If you recently deleted this " + std::string(what) +
         " you may be able to recover it using the correct recovery command. For help resolving "
         "this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";
}

}  // namespace

// ---- the handler -----------------------------------------------------------------------------

KeyVaultApi::KeyVaultApi(VaultStore& store, identity::Directory& directory, identity::KeyRing& keys,
                         VaultAudit& audit, KeyVaultApiOptions options, const core::Clock& clock)
    : store_(store),
      directory_(directory),
      keys_(keys),
      audit_(audit),
      options_(std::move(options)),
      clock_(clock) {}

bool KeyVaultApi::is_api_path(std::string_view path) noexcept {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  for (std::string_view c : kCollections) {
    if (path.starts_with(c) && (path.size() == c.size() || path[c.size()] == '/')) return true;
  }
  return false;
}

namespace {

/// One request in flight: what every operation reads.
struct Call {
  const http::LocalRequest& request;
  const Route& route;
  const Query& query;
  const Shapes& shapes;
  VaultStore& store;
  std::string api_version;
};

/// Maps a store failure to Key Vault's error for `kind` (secret / certificate).
Outcome store_error(const Error& e, std::string_view kind, std::string_view name,
                    std::string_view version) {
  const bool secret = kind == "secret";
  switch (e.kind) {
    case ErrorKind::NotFound:
      return error(404, secret ? "SecretNotFound" : "CertificateNotFound",
                   not_found_message(kind, name, version));
    case ErrorKind::Conflict:
      return error(409, "Conflict", e.message);  // names the item and its state, never a value
    case ErrorKind::InvalidArgument:
    case ErrorKind::LimitExceeded:
      return bad_parameter(e.message);
    default:
      return error(500, "InternalServerError",
                   "The vault could not complete the operation; see the server log.");
  }
}

/// Page `items` (already in order) per maxresults / $skiptoken, adding nextLink.
template <class T, class F>
Outcome page(const Call& call, const std::vector<T>& items, F&& to_json) {
  size_t page_size = 25;
  if (call.query.maxresults) {
    const auto n = core::parse_uint(*call.query.maxresults);
    if (!n || *n < 1 || *n > 25) {
      return bad_parameter("The parameter 'maxresults' must be an integer from 1 to 25.");
    }
    page_size = size_t(*n);
  }
  size_t start = 0;
  if (call.query.skiptoken) {
    const auto n = core::parse_uint(*call.query.skiptoken);
    if (!n) return bad_parameter("The parameter '$skiptoken' is not valid.");
    start = std::min(size_t(*n), items.size());
  }
  const size_t end = std::min(items.size(), start + page_size);
  json::array values;
  for (size_t i = start; i < end; ++i)
    values.emplace_back(to_json(items[i]));
  json::object body;
  body["value"] = std::move(values);
  if (end < items.size()) {
    std::string next = call.shapes.origin;
    next += call.request.path;
    next += "?api-version=";
    next += call.api_version;
    next += "&$skiptoken=";
    next += std::to_string(end);
    if (call.query.maxresults) {
      next += "&maxresults=";
      next += std::to_string(page_size);
    }
    body["nextLink"] = std::move(next);
  } else {
    body["nextLink"] = nullptr;
  }
  return Outcome{json_response(200, body), {}};
}

Outcome ok(const json::object& body, std::string version, uint16_t status = 200) {
  return Outcome{json_response(status, body), std::move(version)};
}

// ---- secrets ---------------------------------------------------------------------------------

Outcome get_secret(const Call& c) {
  auto secret = c.store.get_secret(c.route.name, c.route.version);
  if (!secret) return store_error(secret.error(), "secret", c.route.name, c.route.version);
  const SecretInfo& info = secret->info;
  if (!info.attributes.enabled) {
    Outcome o = error(403, "Forbidden", "Operation get is not allowed on a disabled secret.",
                      "SecretDisabled");
    o.version = info.version;
    return o;
  }
  if (c.query.out_content_type && *c.query.out_content_type != info.content_type) {
    // Key Vault 7.6's outContentType: a certificate's secret converted between PEM and PKCS#12.
    if (!info.managed) {
      return bad_parameter("The parameter 'outContentType' applies only to certificate secrets.");
    }
    SecretInfo converted = info;
    std::string value;
    if (*c.query.out_content_type == kPemContentType) {
      auto pem = c.store.get_certificate_with_key(info.name, info.version);
      if (!pem) return store_error(pem.error(), "secret", info.name, info.version);
      value = std::move(pem->pem);
    } else if (*c.query.out_content_type == kPkcs12ContentType) {
      auto pfx = c.store.export_pkcs12(info.name, info.version, "");
      if (!pfx) return store_error(pfx.error(), "secret", info.name, info.version);
      value = core::base64_encode(*pfx);
    } else {
      return bad_parameter(
          "The parameter 'outContentType' must be application/x-pem-file or application/x-pkcs12.");
    }
    converted.content_type = *c.query.out_content_type;
    return ok(c.shapes.secret_bundle(converted, &value), info.version);
  }
  return ok(c.shapes.secret_bundle(info, &secret->value), info.version);
}

Outcome set_secret(const Call& c) {
  auto parsed_body = parse_body(c.request.body);
  if (!parsed_body) return bad_parameter(parsed_body.error().message);
  const json::object& body = *parsed_body;
  NewSecret s;
  s.name = std::string(c.route.name);
  const json::value* value = member(body, "value");
  if (value == nullptr || !value->is_string()) {
    return bad_parameter("Property 'value' is required and must be a string.");
  }
  s.value = std::string(value->get_string());
  auto ct = opt_string(body, "contentType");
  if (!ct) return bad_parameter(ct.error().message);
  if (*ct) s.content_type = **ct;
  auto attrs = parse_attributes(body);
  if (!attrs) return bad_parameter(attrs.error().message);
  s.enabled = attrs->enabled.value_or(true);
  s.not_before = attrs->not_before.value_or(0);
  s.expires = attrs->expires.value_or(0);
  auto tags = parse_tags(body);
  if (!tags) return bad_parameter(tags.error().message);
  if (*tags) s.tags = std::move(**tags);
  auto info = c.store.set_secret(s);
  if (!info) return store_error(info.error(), "secret", c.route.name, {});
  // Key Vault answers a set with the bundle, value included: the writer sent it.
  return ok(c.shapes.secret_bundle(*info, &s.value), info->version);
}

Outcome update_secret(const Call& c) {
  auto parsed_body = parse_body(c.request.body);
  if (!parsed_body) return bad_parameter(parsed_body.error().message);
  const json::object& body = *parsed_body;
  SecretUpdate u;
  auto ct = opt_string(body, "contentType");
  if (!ct) return bad_parameter(ct.error().message);
  u.content_type = *ct;
  auto attrs = parse_attributes(body);
  if (!attrs) return bad_parameter(attrs.error().message);
  u.enabled = attrs->enabled;
  u.not_before = attrs->not_before;
  u.expires = attrs->expires;
  auto tags = parse_tags(body);
  if (!tags) return bad_parameter(tags.error().message);
  u.tags = std::move(*tags);
  auto info = c.store.update_secret(c.route.name, c.route.version, u);
  if (!info) return store_error(info.error(), "secret", c.route.name, c.route.version);
  return ok(c.shapes.secret_bundle(*info, nullptr), info->version);
}

Outcome list_secrets(const Call& c) {
  auto items = c.store.list_secrets();
  if (!items) return store_error(items.error(), "secret", {}, {});
  return page(c, *items, [&](const SecretInfo& s) { return c.shapes.secret_item(s, false); });
}

Outcome list_secret_versions(const Call& c) {
  auto items = c.store.list_secret_versions(c.route.name);
  if (!items) return store_error(items.error(), "secret", c.route.name, {});
  return page(c, *items, [&](const SecretInfo& s) { return c.shapes.secret_item(s, true); });
}

Outcome delete_secret(const Call& c) {
  auto d = c.store.delete_secret(c.route.name);
  if (!d) return store_error(d.error(), "secret", c.route.name, {});
  return ok(c.shapes.deleted_secret(*d, false), d->current.version);
}

Outcome get_deleted_secret(const Call& c) {
  auto d = c.store.get_deleted_secret(c.route.name);
  if (!d) return store_error(d.error(), "secret", c.route.name, {});
  return ok(c.shapes.deleted_secret(*d, false), d->current.version);
}

Outcome list_deleted_secrets(const Call& c) {
  auto items = c.store.list_deleted_secrets();
  if (!items) return store_error(items.error(), "secret", {}, {});
  return page(c, *items, [&](const DeletedSecret& d) { return c.shapes.deleted_secret(d, true); });
}

Outcome purge_deleted_secret(const Call& c) {
  auto st = c.store.purge_deleted_secret(c.route.name);
  if (!st) return store_error(st.error(), "secret", c.route.name, {});
  http::LocalResponse r;
  r.status = 204;
  r.content_type.clear();
  return Outcome{std::move(r), {}};
}

Outcome recover_deleted_secret(const Call& c) {
  auto info = c.store.recover_deleted_secret(c.route.name);
  if (!info) return store_error(info.error(), "secret", c.route.name, {});
  return ok(c.shapes.secret_bundle(*info, nullptr), info->version);
}

// ---- certificates ----------------------------------------------------------------------------

Outcome certificate_with_policy(const Call& c, const CertificateInfo& info, uint16_t status = 200) {
  auto policy = c.store.get_certificate_policy(info.name);
  std::optional<CertificatePolicy> p;
  if (policy) p = std::move(*policy);
  return ok(c.shapes.certificate_bundle(info, p), info.version, status);
}

Outcome create_certificate(const Call& c) {
  auto parsed_body = parse_body(c.request.body);
  if (!parsed_body) return bad_parameter(parsed_body.error().message);
  const json::object& body = *parsed_body;
  auto policy_json = opt_object(body, "policy");
  if (!policy_json) return bad_parameter(policy_json.error().message);
  CertificatePolicy policy;
  if (*policy_json != nullptr) {
    auto parsed = parse_policy(**policy_json, CertificatePolicy{}, true);
    if (!parsed) return bad_parameter(parsed.error().message);
    policy = std::move(*parsed);
  } else {
    // A new version of an existing certificate may omit the policy (the stored one applies).
    auto stored = c.store.get_certificate_policy(c.route.name);
    if (!stored) return bad_parameter("Property 'policy' is required to create a certificate.");
    policy = std::move(*stored);
  }
  auto attrs = parse_attributes(body);
  if (!attrs) return bad_parameter(attrs.error().message);
  auto tags = parse_tags(body);
  if (!tags) return bad_parameter(tags.error().message);
  auto info = c.store.create_certificate(c.route.name, policy, tags->value_or(Tags{}));
  if (!info) return store_error(info.error(), "certificate", c.route.name, {});
  if (attrs->enabled && !*attrs->enabled) {
    auto updated = c.store.update_certificate(c.route.name, info->version, false, std::nullopt);
    if (!updated) return store_error(updated.error(), "certificate", c.route.name, info->version);
    *info = std::move(*updated);
  }
  Outcome o = ok(c.shapes.operation(*info), info->version, 202);
  o.response.headers.emplace_back("Location", c.shapes.id("certificates", c.route.name) +
                                                  "/pending?api-version=" + c.api_version);
  return o;
}

Outcome import_certificate(const Call& c) {
  auto parsed_body = parse_body(c.request.body);
  if (!parsed_body) return bad_parameter(parsed_body.error().message);
  const json::object& body = *parsed_body;
  const json::value* value = member(body, "value");
  if (value == nullptr || !value->is_string() || value->get_string().empty()) {
    return bad_parameter("Property 'value' is required: the certificate as PEM or base64 PKCS#12.");
  }
  auto pwd = opt_string(body, "pwd");
  if (!pwd) return bad_parameter(pwd.error().message);
  auto policy_json = opt_object(body, "policy");
  if (!policy_json) return bad_parameter(policy_json.error().message);
  std::optional<CertificatePolicy> policy;
  if (*policy_json != nullptr) {
    // Imported: no issuer to renew from unless the policy names one.
    CertificatePolicy base;
    base.issuer = "Unknown";
    auto parsed = parse_policy(**policy_json, base, false);
    if (!parsed) return bad_parameter(parsed.error().message);
    policy = std::move(*parsed);
  }
  auto tags = parse_tags(body);
  if (!tags) return bad_parameter(tags.error().message);
  auto attrs = parse_attributes(body);
  if (!attrs) return bad_parameter(attrs.error().message);
  const std::string_view text = value->get_string();
  std::string data;
  if (text.find("-----BEGIN") != std::string_view::npos) {
    data = std::string(text);
  } else {
    auto der = core::base64_decode(core::trim_ows(text), true);
    if (!der) return bad_parameter("Property 'value' is neither PEM nor base64 PKCS#12.");
    data.assign(der->begin(), der->end());
  }
  if (policy && policy->subject.empty() && policy->dns_names.empty()) {
    // Key Vault takes the subject and names of an imported certificate from the certificate
    // itself when the policy leaves them out (the SDK sends only the content type).
    auto certs = x509::load_any_certificates(data, pwd->value_or(""));
    if (!certs || certs->empty()) {
      return bad_parameter(
          "Property 'value' is not a certificate with its private key in PEM or PKCS#12 (with "
          "the right 'pwd').");
    }
    policy->subject = certs->front().subject();
    policy->dns_names = certs->front().subject_alt_names().dns;
  }
  auto info = c.store.import_certificate(c.route.name, data, pwd->value_or(""), policy,
                                         tags->value_or(Tags{}));
  if (!info) return store_error(info.error(), "certificate", c.route.name, {});
  if (attrs->enabled && !*attrs->enabled) {
    auto updated = c.store.update_certificate(c.route.name, info->version, false, std::nullopt);
    if (!updated) return store_error(updated.error(), "certificate", c.route.name, info->version);
    *info = std::move(*updated);
  }
  return certificate_with_policy(c, *info);
}

Outcome get_certificate_operation(const Call& c) {
  auto info = c.store.get_certificate(c.route.name);
  if (!info) return store_error(info.error(), "certificate", c.route.name, {});
  return ok(c.shapes.operation(*info), info->version);
}

Outcome get_certificate(const Call& c) {
  auto info = c.store.get_certificate(c.route.name, c.route.version);
  if (!info) return store_error(info.error(), "certificate", c.route.name, c.route.version);
  return certificate_with_policy(c, *info);
}

Outcome update_certificate(const Call& c) {
  auto parsed_body = parse_body(c.request.body);
  if (!parsed_body) return bad_parameter(parsed_body.error().message);
  const json::object& body = *parsed_body;
  auto attrs = parse_attributes(body);
  if (!attrs) return bad_parameter(attrs.error().message);
  auto tags = parse_tags(body);
  if (!tags) return bad_parameter(tags.error().message);
  auto policy_json = opt_object(body, "policy");
  if (!policy_json) return bad_parameter(policy_json.error().message);
  if (*policy_json != nullptr) {
    auto stored = c.store.get_certificate_policy(c.route.name);
    if (!stored) return store_error(stored.error(), "certificate", c.route.name, {});
    auto merged = parse_policy(**policy_json, std::move(*stored), false);
    if (!merged) return bad_parameter(merged.error().message);
    auto updated = c.store.update_certificate_policy(c.route.name, *merged);
    if (!updated) return store_error(updated.error(), "certificate", c.route.name, {});
  }
  auto info =
      c.store.update_certificate(c.route.name, c.route.version, attrs->enabled, std::move(*tags));
  if (!info) return store_error(info.error(), "certificate", c.route.name, c.route.version);
  return certificate_with_policy(c, *info);
}

Outcome list_certificates(const Call& c) {
  auto items = c.store.list_certificates();
  if (!items) return store_error(items.error(), "certificate", {}, {});
  return page(c, *items,
              [&](const CertificateInfo& i) { return c.shapes.certificate_item(i, false); });
}

Outcome list_certificate_versions(const Call& c) {
  auto items = c.store.list_certificate_versions(c.route.name);
  if (!items) return store_error(items.error(), "certificate", c.route.name, {});
  return page(c, *items,
              [&](const CertificateInfo& i) { return c.shapes.certificate_item(i, true); });
}

Outcome get_certificate_policy(const Call& c) {
  auto p = c.store.get_certificate_policy(c.route.name);
  if (!p) return store_error(p.error(), "certificate", c.route.name, {});
  return ok(c.shapes.policy(c.route.name, *p), {});
}

Outcome update_certificate_policy(const Call& c) {
  auto parsed_body = parse_body(c.request.body);
  if (!parsed_body) return bad_parameter(parsed_body.error().message);
  const json::object& body = *parsed_body;
  auto stored = c.store.get_certificate_policy(c.route.name);
  if (!stored) return store_error(stored.error(), "certificate", c.route.name, {});
  auto merged = parse_policy(body, std::move(*stored), false);
  if (!merged) return bad_parameter(merged.error().message);
  auto updated = c.store.update_certificate_policy(c.route.name, *merged);
  if (!updated) return store_error(updated.error(), "certificate", c.route.name, {});
  return ok(c.shapes.policy(c.route.name, *updated), {});
}

Outcome delete_certificate(const Call& c) {
  auto d = c.store.delete_certificate(c.route.name);
  if (!d) return store_error(d.error(), "certificate", c.route.name, {});
  return ok(c.shapes.deleted_certificate(*d, false), d->current.version);
}

Outcome get_deleted_certificate(const Call& c) {
  auto d = c.store.get_deleted_certificate(c.route.name);
  if (!d) return store_error(d.error(), "certificate", c.route.name, {});
  return ok(c.shapes.deleted_certificate(*d, false), d->current.version);
}

Outcome list_deleted_certificates(const Call& c) {
  auto items = c.store.list_deleted_certificates();
  if (!items) return store_error(items.error(), "certificate", {}, {});
  return page(c, *items,
              [&](const DeletedCertificate& d) { return c.shapes.deleted_certificate(d, true); });
}

Outcome purge_deleted_certificate(const Call& c) {
  auto st = c.store.purge_deleted_certificate(c.route.name);
  if (!st) return store_error(st.error(), "certificate", c.route.name, {});
  http::LocalResponse r;
  r.status = 204;
  r.content_type.clear();
  return Outcome{std::move(r), {}};
}

Outcome recover_deleted_certificate(const Call& c) {
  auto info = c.store.recover_deleted_certificate(c.route.name);
  if (!info) return store_error(info.error(), "certificate", c.route.name, {});
  return certificate_with_policy(c, *info);
}

Outcome dispatch(const Call& c) {
  switch (c.route.op) {
    case Op::GetSecret:
      return get_secret(c);
    case Op::SetSecret:
      return set_secret(c);
    case Op::UpdateSecret:
      return update_secret(c);
    case Op::ListSecrets:
      return list_secrets(c);
    case Op::ListSecretVersions:
      return list_secret_versions(c);
    case Op::DeleteSecret:
      return delete_secret(c);
    case Op::GetDeletedSecret:
      return get_deleted_secret(c);
    case Op::PurgeDeletedSecret:
      return purge_deleted_secret(c);
    case Op::ListDeletedSecrets:
      return list_deleted_secrets(c);
    case Op::RecoverDeletedSecret:
      return recover_deleted_secret(c);
    case Op::CreateCertificate:
      return create_certificate(c);
    case Op::ImportCertificate:
      return import_certificate(c);
    case Op::GetCertificateOperation:
      return get_certificate_operation(c);
    case Op::GetCertificate:
      return get_certificate(c);
    case Op::UpdateCertificate:
      return update_certificate(c);
    case Op::ListCertificates:
      return list_certificates(c);
    case Op::ListCertificateVersions:
      return list_certificate_versions(c);
    case Op::GetCertificatePolicy:
      return get_certificate_policy(c);
    case Op::UpdateCertificatePolicy:
      return update_certificate_policy(c);
    case Op::DeleteCertificate:
      return delete_certificate(c);
    case Op::GetDeletedCertificate:
      return get_deleted_certificate(c);
    case Op::PurgeDeletedCertificate:
      return purge_deleted_certificate(c);
    case Op::ListDeletedCertificates:
      return list_deleted_certificates(c);
    case Op::RecoverDeletedCertificate:
      return recover_deleted_certificate(c);
    case Op::Unknown:
      break;
  }
  return error(404, "NotFound", "The requested resource does not exist.");
}

bool names_an_item(Op op) noexcept {
  switch (op) {
    case Op::ListSecrets:
    case Op::ListDeletedSecrets:
    case Op::ListCertificates:
    case Op::ListDeletedCertificates:
    case Op::Unknown:
      return false;
    default:
      return true;
  }
}

}  // namespace

http::LocalResponse KeyVaultApi::handle(const http::LocalRequest& request) {
  const Route r = route(request.method, request.path);
  const OpInfo& op = info_of(r.op);
  const int64_t now = clock_.now_unix();
  VaultCaller caller;
  Outcome out;
  try {
    out = [&]() -> Outcome {
      // The Host header becomes part of every id and of the challenge.
      if (!valid_host(request.host)) return bad_parameter("The Host header is missing or invalid.");
      // Authentication comes first: the SDK's first request carries neither token nor body and
      // must get the challenge that tells it where to get a token.
      const auto key_set = keys_.current();
      const auto view = directory_.view();
      auto authenticated = authenticate_caller(request, *key_set, *view, options_.auth, now);
      if (!authenticated) {
        if (authenticated.error().kind == ErrorKind::PermissionDenied) {
          return error(403, "Forbidden", authenticated.error().message);
        }
        std::string authority;
        if (!options_.authority_origin.empty()) {
          authority = options_.authority_origin;
        } else if (options_.authority_port != 0) {
          authority = "https://" + host_without_port(request.host) + ":" +
                      std::to_string(options_.authority_port);
        } else {
          authority = std::string(request.tls ? "https://" : "http://") + std::string(request.host);
        }
        while (!authority.empty() && authority.back() == '/')
          authority.pop_back();
        Outcome o = error(401, "Unauthorized", authenticated.error().message);
        o.response.headers.emplace_back("WWW-Authenticate", "Bearer authorization=\"" + authority +
                                                                "/" + options_.auth.tenant_id +
                                                                "\", resource=\"" +
                                                                options_.auth.resource + "\"");
        return o;
      }
      caller = std::move(*authenticated);

      const Query query = parse_query(request.query);
      if (!query.api_version || query.api_version->empty()) {
        return bad_parameter("The api-version query parameter is missing");
      }
      if (!supported_api_version(*query.api_version)) {
        return bad_parameter(
            "The specified api-version is not supported. Supported versions: 7.0 to 7.6 and "
            "2025-07-01.");
      }
      if (r.op == Op::Unknown) {
        if (r.path_known) {
          return error(405, "MethodNotAllowed",
                       "The requested method is not allowed on this resource.");
        }
        return error(404, "NotFound", "The requested resource does not exist.");
      }
      if (!caller.allows(op.need)) {
        std::string message =
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny "
            "assignments or role definitions were changed recently, please observe propagation "
            "time.\r\nCaller: appid=" +
            caller.client_id + ";oid=" + caller.object_id + "\r\nAction: '" +
            std::string(op.action) + "'\r\nResource: '" + std::string(op.kind) + "s";
        if (names_an_item(r.op) && valid_item_name(r.name)) message += "/" + std::string(r.name);
        message += "'\r\nAssignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC'\r\n";
        return error(403, "Forbidden", message, "ForbiddenByRbac");
      }
      if (names_an_item(r.op) && !valid_item_name(r.name)) {
        return bad_parameter(std::string("The ") + std::string(op.kind) +
                             " name is invalid: names are 1-127 characters of 0-9, a-z, A-Z "
                             "and '-'.");
      }
      if (!valid_version(r.version)) {
        return bad_parameter("The version is invalid: versions are 32 hexadecimal characters.");
      }
      Shapes shapes;
      shapes.origin = std::string(request.tls ? "https://" : "http://") + std::string(request.host);
      shapes.recoverable_days = options_.soft_delete_retention_days;
      Call call{request, r, query, shapes, store_, *query.api_version};
      return dispatch(call);
    }();
  } catch (const std::exception&) {
    out = error(500, "InternalServerError",
                "The vault could not complete the operation; see the server log.");
  }

  if (!request.request_id.empty()) {
    out.response.headers.emplace_back("x-ms-request-id", std::string(request.request_id));
  }
  VaultAuditRecord rec;
  rec.operation = op.name;
  rec.outcome = outcome_of(out.response.status);
  rec.kind = op.kind;
  // Only a valid name is logged as given: anything else came from an arbitrary path.
  rec.name = valid_item_name(r.name) ? r.name : std::string_view();
  rec.version = !out.version.empty() ? std::string_view(out.version) : r.version;
  if (!valid_version(rec.version)) rec.version = {};
  rec.tenant = caller.tenant_id;
  rec.client_id = caller.client_id;
  rec.object_id = caller.object_id;
  rec.via = "rest";
  rec.status = out.response.status;
  rec.source_ip = request.client_ip;
  rec.trace_id = request.request_id;
  rec.now = now;
  audit_.write(rec);
  return std::move(out.response);
}

}  // namespace gh::vault
