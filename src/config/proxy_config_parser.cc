// Turns the YAML tree of a proxy configuration file into a ProxyConfig, collecting every
// independent mistake with its line. Runs after env substitution (env_substitution.h) and the
// yaml-cpp adapter (yaml_document.h); proxy_config_loader.h is the public entry point.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/env_substitution.h"
#include "config/proxy_config_loader.h"
#include "config/value_parsers.h"
#include "config/yaml_document.h"
#include "core/references.h"
#include "core/strings.h"

namespace gh::config {
namespace {

using Keys = std::span<const std::string_view>;

constexpr std::array<std::string_view, 17> kTopKeys{"workers",
                                                    "listeners",
                                                    "admin",
                                                    "limits",
                                                    "timeouts",
                                                    "backends",
                                                    "apis",
                                                    "access_log",
                                                    "trusted_proxies",
                                                    "identity",
                                                    "policies",
                                                    "named_values",
                                                    "certificates",
                                                    "client_certificates",
                                                    "products",
                                                    "subscriptions",
                                                    "vault"};
constexpr std::array<std::string_view, 3> kListenerKeys{"name", "address", "tls"};
constexpr std::array<std::string_view, 4> kListenerTlsKeys{"certificates", "client_certificate",
                                                           "client_ca", "min_version"};
constexpr std::array<std::string_view, 2> kCertificateKeys{"cert", "key"};
constexpr std::array<std::string_view, 1> kAdminKeys{"address"};
constexpr std::array<std::string_view, 4> kLimitsKeys{"max_header_bytes", "max_header_count",
                                                      "max_uri_length", "max_body_bytes"};
constexpr std::array<std::string_view, 5> kTimeoutsKeys{"header_read", "idle", "backend_connect",
                                                        "backend_response", "drain"};
constexpr std::array<std::string_view, 4> kBackendKeys{"id", "url", "tls", "max_idle_connections"};
constexpr std::array<std::string_view, 6> kBackendTlsKeys{
    "ca", "verify", "server_name", "pinned_sha256", "client_cert", "client_key"};
constexpr std::array<std::string_view, 11> kApiKeys{"name",
                                                    "path",
                                                    "host",
                                                    "backend",
                                                    "backend_url",
                                                    "strip_path",
                                                    "operations",
                                                    "policy",
                                                    "policy_xml",
                                                    "subscription_required",
                                                    "subscription_key"};
constexpr std::array<std::string_view, 5> kOperationKeys{"name", "method", "url_template", "policy",
                                                         "policy_xml"};
constexpr std::array<std::string_view, 2> kSubscriptionKeyKeys{"header", "query"};
constexpr std::array<std::string_view, 6> kPoliciesKeys{
    "global", "global_xml", "fragments", "fetch_ca", "managed_identity_endpoint", "openid"};
constexpr std::array<std::string_view, 3> kOpenIdKeys{"refresh_interval", "min_refetch_interval",
                                                      "max_staleness"};
constexpr std::array<std::string_view, 4> kNamedValueKeys{"name", "value", "file", "secret"};
constexpr std::array<std::string_view, 3> kCertificateEntityKeys{"id", "cert", "key"};
constexpr std::array<std::string_view, 4> kClientCertificatesKeys{"ca", "crls", "revocation",
                                                                  "forwarded"};
constexpr std::array<std::string_view, 3> kForwardedKeys{"header", "format", "from"};
constexpr std::array<std::string_view, 6> kProductKeys{"id",   "name",   "subscription_required",
                                                       "apis", "policy", "policy_xml"};
constexpr std::array<std::string_view, 9> kSubscriptionKeys{"id",
                                                            "name",
                                                            "scope",
                                                            "primary_key",
                                                            "secondary_key",
                                                            "primary_key_file",
                                                            "secondary_key_file",
                                                            "state",
                                                            "start_date"};

constexpr std::array<std::string_view, 12> kIdentityKeys{"data_dir",
                                                         "public_url",
                                                         "listeners",
                                                         "master_key_file",
                                                         "master_key_env",
                                                         "admin_token_file",
                                                         "audit_log",
                                                         "tokens",
                                                         "signing",
                                                         "managed_identities",
                                                         "managed_identity_listeners",
                                                         "tenants"};
constexpr std::array<std::string_view, 5> kIdentityTokensKeys{
    "lifetime", "managed_identity_lifetime", "clock_skew", "max_assertion_lifetime",
    "max_federated_lifetime"};
constexpr std::array<std::string_view, 4> kIdentitySigningKeys{"algorithm", "rotate_every",
                                                               "publish_ahead", "retire_after"};
constexpr std::array<std::string_view, 7> kManagedIdentityKeys{
    "name",         "tenant",     "client_id",          "resource_id",
    "source_cidrs", "local_uids", "identity_header_env"};
constexpr std::array<std::string_view, 4> kTenantKeys{"id", "name", "aliases", "applications"};
constexpr std::array<std::string_view, 11> kApplicationKeys{"client_id",
                                                            "name",
                                                            "identifier_uris",
                                                            "access_token_version",
                                                            "assignment_required",
                                                            "strict_assertion_replay",
                                                            "roles",
                                                            "certificates",
                                                            "secrets",
                                                            "federated",
                                                            "assignments"};
constexpr std::array<std::string_view, 3> kRoleKeys{"value", "id", "display_name"};
constexpr std::array<std::string_view, 2> kDeclaredCertificateKeys{"file", "name"};
constexpr std::array<std::string_view, 2> kDeclaredSecretKeys{"name", "value_env"};
constexpr std::array<std::string_view, 9> kVaultKeys{
    "tenant",  "listeners", "resource", "audit_log",   "soft_delete_retention_days",
    "issuers", "access",    "secrets",  "certificates"};
constexpr std::array<std::string_view, 3> kVaultIssuerKeys{"name", "cert", "key"};
constexpr std::array<std::string_view, 2> kVaultAccessKeys{"client_id", "role"};
constexpr std::array<std::string_view, 4> kVaultSecretKeys{"name", "value_env", "file",
                                                           "content_type"};
constexpr std::array<std::string_view, 4> kVaultCertificateKeys{"name", "policy", "file",
                                                                "password_env"};
constexpr std::array<std::string_view, 10> kVaultPolicyKeys{"subject",
                                                            "dns_names",
                                                            "key_type",
                                                            "key_size",
                                                            "curve",
                                                            "validity_months",
                                                            "issuer",
                                                            "content_type",
                                                            "renew_days_before_expiry",
                                                            "renew_at_lifetime_percentage"};
constexpr std::array<std::string_view, 5> kFederatedKeys{"name", "issuer", "subject", "audience",
                                                         "description"};
constexpr std::array<std::string_view, 2> kAssignmentKeys{"resource", "role"};

constexpr uint64_t kMaxWorkers = 1024;
constexpr uint64_t kMaxIdleConnections = 100'000;

std::string_view type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a single value";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "an undefined value";
}

std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

std::string indexed(std::string_view path, size_t index) {
  return fmt::format("{}[{}]", path, index);
}

// A map whose keys have been checked against the schema; lookups by key.
struct Fields {
  std::string path;  // "" at the top level
  int line = 0;
  bool ok = false;
  std::vector<std::pair<std::string, YAML::Node>> entries;
  std::vector<YAML::Node> key_nodes;  // parallel to entries

  // The value of `key`; nullopt when absent or explicitly null (`key:` or `key: ~`).
  std::optional<YAML::Node> get(std::string_view key) const {
    for (const auto& [k, v] : entries) {
      if (k == key) return v.IsNull() ? std::nullopt : std::optional<YAML::Node>(v);
    }
    return std::nullopt;
  }

  // The key node of `key` (for errors about the whole entry); `fallback` when absent.
  YAML::Node key_node(std::string_view key, const YAML::Node& fallback) const {
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].first == key) return key_nodes[i];
    }
    return fallback;
  }
};

// Where a backend reference of an api points, resolved once all backends are known.
struct BackendReference {
  size_t api_index;
  std::string path;
  YAML::Node node;
};

class Parser {
 public:
  Parser(Diagnostics& diagnostics, std::string file_name, std::string base_dir)
      : d_(diagnostics), file_(std::move(file_name)), base_dir_(std::move(base_dir)) {}

  ProxyConfig parse(const YAML::Node& root) {
    ProxyConfig config;
    if (!root.IsMap()) {
      d_.error(root,
               fmt::format("expected a map with at least 'listeners' and 'apis', found {}{}",
                           type_name(root), root.IsNull() ? " (is the file empty?)" : ""),
               1);
      return config;
    }
    const Fields top = open_map(root, "", kTopKeys, 1);
    if (auto n = top.get("workers")) {
      config.workers = static_cast<uint32_t>(integer(*n, "workers", 0, kMaxWorkers).value_or(0));
    }
    parse_listeners(top, config);
    if (auto n = top.get("admin")) config.admin = parse_admin(*n);
    if (auto n = top.get("limits")) parse_limits(*n, config.limits);
    if (auto n = top.get("timeouts")) parse_timeouts(*n, config.timeouts);
    if (auto n = list(top, "backends", false)) {
      for (size_t i = 0; i < n->size(); ++i) {
        if (auto b = parse_backend(std::as_const(*n)[i], indexed("backends", i))) {
          config.backends.push_back(std::move(*b));
        }
      }
    }
    parse_apis(top, config);
    if (auto n = top.get("access_log")) {
      if (auto s = text(*n, "access_log")) {
        if (*s == "stdout" || *s == "stderr" || *s == "off") {
          config.access_log = *s;
        } else if (auto p = file_path(*n, "access_log")) {
          config.access_log = *p;
        }
      }
    }
    if (auto n = list(top, "trusted_proxies", false)) {
      for (size_t i = 0; i < n->size(); ++i) {
        const YAML::Node item = std::as_const(*n)[i];
        auto s = text(item, indexed("trusted_proxies", i));
        if (s && s->empty()) d_.error(item, fmt::format("trusted_proxies[{}]: empty entry", i));
        if (s && !s->empty()) config.trusted_proxies.push_back(*s);
      }
    }
    if (auto n = top.get("identity")) parse_identity(*n, config);
    if (auto n = top.get("vault")) parse_vault(*n, config);
    parse_policy_settings(top, config);
    check_unique_names(config);
    check_unique_addresses(config);
    resolve_backend_references(config);
    check_unique_routes(config);
    // Inline backend_url backends go after the declared ones, so that declared ids keep order.
    for (auto& b : synthetic_)
      config.backends.push_back(std::move(b));
    return config;
  }

 private:
  // ----- structure -----

  Fields open_map(const YAML::Node& node, std::string path, Keys known, int fallback_line) {
    Fields fields;
    fields.path = std::move(path);
    fields.line = d_.line_of(node, fallback_line);
    if (!node.IsMap()) {
      d_.error(node,
               fmt::format("{}: expected a map, found {}", display(fields.path), type_name(node)),
               fallback_line);
      return fields;
    }
    fields.ok = true;
    const std::string where =
        fields.path.empty() ? std::string("at the top level") : "in " + fields.path;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        d_.error(key, fmt::format("keys must be plain names, found {} {}", type_name(key), where),
                 fields.line);
        continue;
      }
      const std::string& name = key.Scalar();
      bool known_key = false;
      for (const std::string_view k : known)
        known_key = known_key || k == name;
      if (!known_key) {
        std::string message = fmt::format("unknown key{} {}", quoted_key(key), where);
        if (auto s = suggest(name, known)) message += fmt::format(" (did you mean '{}'?)", *s);
        d_.error(key, message, fields.line);
        continue;
      }
      bool duplicate = false;
      for (const auto& [k, v] : fields.entries)
        duplicate = duplicate || k == name;
      if (duplicate) {
        d_.error(key, fmt::format("duplicate key '{}' {}", name, where), fields.line);
        continue;
      }
      fields.entries.emplace_back(name, it->second);
      fields.key_nodes.push_back(key);
    }
    return fields;
  }

  // Keys are shown unless they came from the environment (a key is never a secret in this schema,
  // but the rule is simpler without exceptions).
  std::string quoted_key(const YAML::Node& key) const {
    const std::string shown = d_.shown(key);
    return shown.empty() ? std::string() : shown;
  }

  static std::string display(std::string_view path) {
    return path.empty() ? std::string("the file") : std::string(path);
  }

  std::optional<YAML::Node> required(const Fields& fields, std::string_view key) {
    if (!fields.ok) return std::nullopt;
    auto node = fields.get(key);
    if (!node) {
      d_.error_at_line(fields.line,
                       fields.path.empty()
                           ? fmt::format("missing required key '{}'", key)
                           : fmt::format("{}: missing required key '{}'", fields.path, key));
    }
    return node;
  }

  // Elements are then read through std::as_const: yaml-cpp's non-const operator[] may insert.
  std::optional<YAML::Node> list(const Fields& fields, std::string_view key, bool is_required) {
    auto node = is_required ? required(fields, key) : fields.get(key);
    if (!node) return std::nullopt;
    if (!node->IsSequence()) {
      d_.error(
          *node,
          fmt::format("{}: expected a list, found {}", join(fields.path, key), type_name(*node)),
          fields.line);
      return std::nullopt;
    }
    return node;
  }

  // ----- scalars -----

  void invalid(const YAML::Node& node, std::string_view path, std::string_view message) {
    d_.error(node, fmt::format("{}{}: {}", path, d_.shown(node), message));
  }

  std::optional<std::string> text(const YAML::Node& node, std::string_view path) {
    if (!node.IsScalar()) {
      d_.error(node, fmt::format("{}: expected a single value, found {}", path, type_name(node)));
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<bool> boolean(const YAML::Node& node, std::string_view path) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    if (*s == "true" || *s == "True" || *s == "TRUE") return true;
    if (*s == "false" || *s == "False" || *s == "FALSE") return false;
    invalid(node, path, "expected true or false");
    return std::nullopt;
  }

  std::optional<uint64_t> integer(const YAML::Node& node, std::string_view path, uint64_t min,
                                  uint64_t max) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    const auto value = core::parse_uint(*s);
    if (!value || *value < min || *value > max) {
      invalid(node, path, fmt::format("expected an integer from {} to {}", min, max));
      return std::nullopt;
    }
    return value;
  }

  std::optional<uint64_t> size(const YAML::Node& node, std::string_view path, uint64_t min,
                               uint64_t max) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    auto value = parse_size(*s);
    if (!value) {
      invalid(node, path, value.error().message);
      return std::nullopt;
    }
    if (*value < min || *value > max) {
      invalid(node, path, fmt::format("must be from {} to {} bytes", min, max));
      return std::nullopt;
    }
    return *value;
  }

  std::optional<std::chrono::milliseconds> duration(const YAML::Node& node, std::string_view path,
                                                    bool allow_zero) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    auto value = parse_duration(*s);
    if (!value) {
      invalid(node, path, value.error().message);
      return std::nullopt;
    }
    if (!allow_zero && value->count() == 0) {
      invalid(node, path, "must be greater than zero");
      return std::nullopt;
    }
    return *value;
  }

  std::optional<std::string> name(const YAML::Node& node, std::string_view path) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    if (auto ok = check_name(*s); !ok) {
      invalid(node, path, ok.error().message);
      return std::nullopt;
    }
    return s;
  }

  // A file name, resolved against the configuration file's directory.
  std::optional<std::string> file_path(const YAML::Node& node, std::string_view path) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    if (s->empty()) {
      invalid(node, path, "file name must not be empty");
      return std::nullopt;
    }
    if (s->find('\0') != std::string::npos) {
      invalid(node, path, "file name must not contain NUL");
      return std::nullopt;
    }
    const std::filesystem::path p(*s);
    if (p.is_absolute() || base_dir_.empty() || core::is_reference(*s)) return s;
    return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
  }

  std::optional<HostPort> address(const YAML::Node& node, std::string_view path) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    auto parsed = parse_address(*s);
    if (!parsed) {
      invalid(node, path, parsed.error().message);
      return std::nullopt;
    }
    return std::move(*parsed);
  }

  // ----- sections -----

  void parse_listeners(const Fields& top, ProxyConfig& config) {
    auto n = list(top, "listeners", true);
    if (!n) return;
    if (n->size() == 0) d_.error(*n, "listeners: at least one listener is required");
    for (size_t i = 0; i < n->size(); ++i) {
      const YAML::Node item = std::as_const(*n)[i];
      const std::string path = indexed("listeners", i);
      const Fields f = open_map(item, path, kListenerKeys, d_.line_of(*n));
      if (!f.ok) continue;
      Listener listener;
      listener.where = {file_, f.line};
      listener.name = fmt::format("listener-{}", i);
      if (auto v = f.get("name")) listener.name = name(*v, join(path, "name")).value_or("");
      if (auto v = required(f, "address")) {
        if (auto a = address(*v, join(path, "address"))) {
          listener.host = std::move(a->host);
          listener.port = a->port;
        }
      }
      if (auto v = f.get("tls")) listener.tls = parse_listener_tls(*v, join(path, "tls"), f.line);
      config.listeners.push_back(std::move(listener));
    }
  }

  std::optional<ListenerTls> parse_listener_tls(const YAML::Node& node, const std::string& path,
                                                int line) {
    const Fields f = open_map(node, path, kListenerTlsKeys, line);
    if (!f.ok) return std::nullopt;
    ListenerTls tls;
    if (auto certs = list(f, "certificates", true)) {
      if (certs->size() == 0) {
        d_.error(*certs, fmt::format("{}.certificates: at least one certificate is required", path),
                 f.line);
      }
      for (size_t i = 0; i < certs->size(); ++i) {
        const std::string item_path = indexed(join(path, "certificates"), i);
        const Fields c = open_map(std::as_const(*certs)[i], item_path, kCertificateKeys, f.line);
        CertificateFiles files;
        if (auto v = required(c, "cert"))
          files.cert = file_path(*v, join(item_path, "cert")).value_or("");
        if (auto v = required(c, "key"))
          files.key = file_path(*v, join(item_path, "key")).value_or("");
        tls.certificates.push_back(std::move(files));
      }
    }
    if (auto v = f.get("client_certificate")) {
      const std::string key = join(path, "client_certificate");
      if (auto s = text(*v, key)) {
        if (*s == "none") {
          tls.client_certificate = ClientCertMode::None;
        } else if (*s == "optional") {
          tls.client_certificate = ClientCertMode::Optional;
        } else if (*s == "require") {
          tls.client_certificate = ClientCertMode::Require;
        } else {
          invalid(*v, key, "expected none, optional or require");
        }
      }
    }
    const auto ca = f.get("client_ca");
    if (ca) tls.client_ca = file_path(*ca, join(path, "client_ca")).value_or("");
    if (tls.client_certificate != ClientCertMode::None && !ca) {
      d_.error_at_line(f.line, fmt::format("{}: client_ca is required when client_certificate is "
                                           "optional or require",
                                           path));
    }
    if (tls.client_certificate == ClientCertMode::None && ca) {
      d_.error(*ca, fmt::format("{}.client_ca: has no effect unless client_certificate is "
                                "optional or require",
                                path));
    }
    if (auto v = f.get("min_version")) {
      const std::string key = join(path, "min_version");
      if (auto s = text(*v, key)) {
        if (*s == "1.2") {
          tls.min_version = TlsVersion::V1_2;
        } else if (*s == "1.3") {
          tls.min_version = TlsVersion::V1_3;
        } else {
          invalid(*v, key, "expected \"1.2\" or \"1.3\"");
        }
      }
    }
    return tls;
  }

  std::optional<Listener> parse_admin(const YAML::Node& node) {
    const Fields f = open_map(node, "admin", kAdminKeys, 1);
    if (!f.ok) return std::nullopt;
    Listener admin;
    admin.name = "admin";
    admin.where = {file_, f.line};
    auto v = required(f, "address");
    if (!v) return std::nullopt;
    auto a = address(*v, "admin.address");
    if (!a) return std::nullopt;
    admin.host = std::move(a->host);
    admin.port = a->port;
    return admin;
  }

  void parse_limits(const YAML::Node& node, Limits& limits) {
    const Fields f = open_map(node, "limits", kLimitsKeys, 1);
    constexpr uint64_t kU32 = UINT32_MAX;
    if (auto v = f.get("max_header_bytes")) {
      if (auto s = size(*v, "limits.max_header_bytes", 1, kU32)) {
        limits.max_header_bytes = static_cast<uint32_t>(*s);
      }
    }
    if (auto v = f.get("max_header_count")) {
      if (auto s = integer(*v, "limits.max_header_count", 1, kU32)) {
        limits.max_header_count = static_cast<uint32_t>(*s);
      }
    }
    if (auto v = f.get("max_uri_length")) {
      if (auto s = size(*v, "limits.max_uri_length", 1, kU32)) {
        limits.max_uri_length = static_cast<uint32_t>(*s);
      }
    }
    if (auto v = f.get("max_body_bytes")) {
      if (auto s = size(*v, "limits.max_body_bytes", 0, UINT64_MAX)) limits.max_body_bytes = *s;
    }
  }

  void parse_timeouts(const YAML::Node& node, Timeouts& t) {
    const Fields f = open_map(node, "timeouts", kTimeoutsKeys, 1);
    const auto set = [&](std::string_view key, std::chrono::milliseconds& out, bool allow_zero) {
      if (auto v = f.get(key)) {
        if (auto d = duration(*v, join("timeouts", key), allow_zero)) out = *d;
      }
    };
    set("header_read", t.header_read, false);
    set("idle", t.idle, false);
    set("backend_connect", t.backend_connect, false);
    set("backend_response", t.backend_response, false);
    set("drain", t.drain, true);
  }

  std::optional<Backend> parse_backend(const YAML::Node& node, const std::string& path) {
    const Fields f = open_map(node, path, kBackendKeys, 1);
    if (!f.ok) return std::nullopt;
    Backend backend;
    backend.where = {file_, f.line};
    if (auto v = required(f, "id")) {
      backend.id = name(*v, join(path, "id")).value_or("");
      id_nodes_.push_back(*v);
    } else {
      id_nodes_.push_back(node);
    }
    bool https = false;
    if (auto v = required(f, "url")) {
      if (auto url = backend_url(*v, join(path, "url"))) {
        https = url->scheme == "https";
        backend.scheme = std::move(url->scheme);
        backend.host = std::move(url->host);
        backend.port = url->port;
        backend.base_path = std::move(url->base_path);
      }
    }
    if (auto v = f.get("tls")) {
      if (!https && !backend.scheme.empty()) {
        d_.error(f.key_node("tls", *v),
                 fmt::format("{}.tls: TLS settings need an https url", path));
      }
      parse_backend_tls(*v, join(path, "tls"), f.line, backend.tls);
    }
    if (auto v = f.get("max_idle_connections")) {
      backend.max_idle_connections = static_cast<uint32_t>(
          integer(*v, join(path, "max_idle_connections"), 0, kMaxIdleConnections).value_or(64));
    }
    return backend;
  }

  std::optional<ParsedUrl> backend_url(const YAML::Node& node, std::string_view path) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    auto url = parse_backend_url(*s);
    if (!url) {
      invalid(node, path, url.error().message);
      return std::nullopt;
    }
    return std::move(*url);
  }

  void parse_backend_tls(const YAML::Node& node, const std::string& path, int line,
                         BackendTls& tls) {
    const Fields f = open_map(node, path, kBackendTlsKeys, line);
    if (!f.ok) return;
    if (auto v = f.get("ca")) tls.ca = file_path(*v, join(path, "ca")).value_or("");
    if (auto v = f.get("verify")) tls.verify = boolean(*v, join(path, "verify")).value_or(true);
    if (auto v = f.get("server_name")) {
      const std::string key = join(path, "server_name");
      if (auto s = text(*v, key)) {
        auto host = normalize_host_name(*s);
        if (host) {
          tls.server_name = std::move(*host);
        } else {
          invalid(*v, key, host.error().message);
        }
      }
    }
    if (auto v = f.get("pinned_sha256")) {
      const std::string key = join(path, "pinned_sha256");
      if (auto s = text(*v, key)) {
        auto pin = normalize_sha256_pin(*s);
        if (pin) {
          tls.pinned_sha256 = std::move(*pin);
        } else {
          // A pin is not secret, but the rule stays simple: never echo it.
          d_.error(*v, fmt::format("{}: {}", key, pin.error().message));
        }
      }
    }
    const auto cert = f.get("client_cert");
    const auto key = f.get("client_key");
    if (cert) tls.client_cert = file_path(*cert, join(path, "client_cert")).value_or("");
    if (key) tls.client_key = file_path(*key, join(path, "client_key")).value_or("");
    if (cert.has_value() != key.has_value()) {
      d_.error(cert ? *cert : *key,
               fmt::format("{}: client_cert and client_key must be given together", path));
    }
  }

  void parse_apis(const Fields& top, ProxyConfig& config) {
    auto n = list(top, "apis", true);
    if (!n) return;
    if (n->size() == 0) d_.error(*n, "apis: at least one api is required");
    for (size_t i = 0; i < n->size(); ++i) {
      const YAML::Node item = std::as_const(*n)[i];
      const std::string path = indexed("apis", i);
      const Fields f = open_map(item, path, kApiKeys, d_.line_of(*n));
      if (!f.ok) continue;
      Api api;
      api.where = {file_, f.line};
      if (auto v = required(f, "name")) api.name = name(*v, join(path, "name")).value_or("");
      if (auto v = f.get("path")) {
        const std::string key = join(path, "path");
        if (auto s = text(*v, key)) {
          auto normalized = normalize_api_path(*s);
          if (normalized) {
            api.path = std::move(*normalized);
          } else {
            invalid(*v, key, normalized.error().message);
          }
        }
      }
      if (auto v = f.get("host")) {
        const std::string key = join(path, "host");
        if (auto s = text(*v, key)) {
          auto host = normalize_host_name(*s);
          if (host) {
            // Stored as it appears in a Host header: IPv6 in brackets (RFC 9110 §7.2).
            const bool ipv6 = host->find(':') != std::string::npos;
            api.host = ipv6 ? "[" + *host + "]" : std::move(*host);
          } else {
            invalid(*v, key, host.error().message);
          }
        }
      }
      const auto backend = f.get("backend");
      const auto inline_url = f.get("backend_url");
      if (backend && inline_url) {
        d_.error(*inline_url,
                 fmt::format("{}: give either 'backend' or 'backend_url', not both", path));
      } else if (!backend && !inline_url) {
        d_.error_at_line(f.line, fmt::format("{}: missing 'backend' (an id from backends) or "
                                             "'backend_url'",
                                             path));
      } else if (backend) {
        if (auto id = text(*backend, join(path, "backend"))) {
          api.backend_id = *id;
          references_.push_back({config.apis.size(), join(path, "backend"), *backend});
        }
      } else if (auto url = backend_url(*inline_url, join(path, "backend_url"))) {
        if (!api.name.empty()) {
          Backend b;
          b.id = "api:" + api.name;
          b.scheme = std::move(url->scheme);
          b.host = std::move(url->host);
          b.port = url->port;
          b.base_path = std::move(url->base_path);
          b.where = api.where;
          api.backend_id = b.id;
          synthetic_.push_back(std::move(b));
        }
      }
      if (auto v = f.get("strip_path")) {
        api.strip_path = boolean(*v, join(path, "strip_path")).value_or(false);
      }
      if (auto ops = list(f, "operations", false)) parse_operations(*ops, path, f.line, api);
      api.policy = policy_source(f, "policy", "policy_xml");
      if (auto v = f.get("subscription_required")) {
        api.subscription_required =
            boolean(*v, join(path, "subscription_required")).value_or(false);
      }
      if (auto v = f.get("subscription_key")) {
        const Fields k = open_map(*v, join(path, "subscription_key"), kSubscriptionKeyKeys, f.line);
        if (auto h = k.get("header")) {
          if (auto t = token(*h, join(k.path, "header"))) api.key_header = *t;
        }
        if (auto q = k.get("query")) {
          if (auto t = token(*q, join(k.path, "query"))) api.key_query = *t;
        }
      }
      config.apis.push_back(std::move(api));
    }
  }

  void parse_operations(const YAML::Node& ops, const std::string& api_path, int line, Api& api) {
    const std::string path = join(api_path, "operations");
    if (ops.size() == 0) {
      d_.error(ops,
               fmt::format("{}: must not be empty (leave it out to allow every operation)", path),
               line);
    }
    for (size_t i = 0; i < ops.size(); ++i) {
      const std::string op_path = indexed(path, i);
      const Fields f = open_map(ops[i], op_path, kOperationKeys, line);
      if (!f.ok) continue;
      Operation op;
      op.where = {file_, f.line};
      if (auto v = required(f, "name")) op.name = name(*v, join(op_path, "name")).value_or("");
      if (auto v = required(f, "method")) {
        const std::string key = join(op_path, "method");
        if (auto s = text(*v, key)) {
          auto method = normalize_method(*s);
          if (method) {
            op.method = std::move(*method);
          } else {
            invalid(*v, key, method.error().message);
          }
        }
      }
      if (auto v = required(f, "url_template")) {
        const std::string key = join(op_path, "url_template");
        if (auto s = text(*v, key)) {
          if (auto ok = check_url_template(*s)) {
            op.url_template = *s;
          } else {
            invalid(*v, key, ok.error().message);
          }
        }
      }
      op.policy = policy_source(f, "policy", "policy_xml");
      for (size_t j = 0; j < api.operations.size(); ++j) {
        const Operation& other = api.operations[j];
        if (!op.name.empty() && other.name == op.name) {
          d_.error_at_line(f.line, fmt::format("{}: duplicate operation name (also used by {}[{}])",
                                               op_path, path, j));
        } else if (!op.method.empty() && !op.url_template.empty() && other.method == op.method &&
                   other.url_template == op.url_template) {
          d_.error_at_line(
              f.line, fmt::format("{}: same method and url_template as {}[{}]", op_path, path, j));
        }
      }
      api.operations.push_back(std::move(op));
    }
  }

  // ----- policies, products, subscriptions (policy/, docs/policies/) -----

  // An HTTP token (header or query parameter name).
  std::optional<std::string> token(const YAML::Node& node, std::string_view path) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    const bool ok =
        !s->empty() && s->size() <= 256 && std::all_of(s->begin(), s->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) ||
                 std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        });
    if (!ok) {
      invalid(node, path, "expected a header or parameter name (letters, digits, -_.)");
      return std::nullopt;
    }
    return s;
  }

  // `file_key: path` or `xml_key: inline XML`, at most one of them.
  PolicySource policy_source(const Fields& f, std::string_view file_key, std::string_view xml_key) {
    PolicySource src;
    src.where = {file_, f.line};
    auto file = f.get(file_key);
    auto xml = f.get(xml_key);
    if (file && xml) {
      d_.error(*xml, fmt::format("{}: give either '{}' or '{}', not both", display(f.path),
                                 file_key, xml_key));
      return src;
    }
    if (file) {
      if (auto p = file_path(*file, join(f.path, file_key))) src.file = *p;
      src.where.line = d_.line_of(*file, f.line);
    } else if (xml) {
      if (auto t = text(*xml, join(f.path, xml_key))) src.xml = *t;
      src.where.line = d_.line_of(*xml, f.line);
      if (src.xml.empty()) invalid(*xml, join(f.path, xml_key), "must not be empty");
    }
    return src;
  }

  void parse_policy_settings(const Fields& top, ProxyConfig& config) {
    if (auto n = top.get("policies")) {
      const Fields f = open_map(*n, "policies", kPoliciesKeys, top.line);
      config.policies.global = policy_source(f, "global", "global_xml");
      if (auto v = f.get("managed_identity_endpoint")) {
        const std::string key = "policies.managed_identity_endpoint";
        if (auto t = text(*v, key)) {
          if (t->rfind("http://", 0) == 0 || t->rfind("https://", 0) == 0) {
            config.policies.managed_identity_endpoint = *t;
          } else {
            invalid(*v, key, "expected an http:// or https:// URL");
          }
        }
      }
      if (auto v = f.get("fetch_ca")) {
        config.policies.fetch_ca = file_path(*v, "policies.fetch_ca").value_or("");
      }
      if (auto o = f.get("openid")) {
        const Fields of = open_map(*o, "policies.openid", kOpenIdKeys, f.line);
        const auto set = [&](std::string_view key, std::chrono::seconds& out,
                             std::chrono::seconds max) {
          if (auto v = of.get(key)) {
            if (auto d =
                    whole_seconds(*v, join("policies.openid", key), std::chrono::seconds(1), max)) {
              out = *d;
            }
          }
        };
        set("refresh_interval", config.policies.openid_refresh_interval, std::chrono::hours(24));
        set("min_refetch_interval", config.policies.openid_min_refetch_interval,
            std::chrono::hours(1));
        set("max_staleness", config.policies.openid_max_staleness, std::chrono::hours(24 * 30));
      }
      if (auto fr = f.get("fragments")) {
        const std::string path = "policies.fragments";
        if (!fr->IsMap()) {
          d_.error(*fr, fmt::format("{}: expected a map of fragment id to file", path));
        } else {
          for (auto it = fr->begin(); it != fr->end(); ++it) {
            const std::string id = it->first.Scalar();
            PolicySource src;
            src.where = {file_, d_.line_of(it->second, f.line)};
            if (auto p = file_path(it->second, join(path, id))) src.file = *p;
            config.policies.fragments.emplace_back(id, std::move(src));
          }
        }
      }
    }
    for_each_map(top, "named_values", kNamedValueKeys, [&](const Fields& f, const std::string& p) {
      NamedValueConfig nv;
      nv.where = {file_, f.line};
      if (auto v = required(f, "name")) {
        if (auto s = text(*v, join(p, "name"))) {
          const bool ok =
              !s->empty() && s->size() <= 256 && std::all_of(s->begin(), s->end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                       c == '_';
              });
          if (ok) {
            nv.name = *s;
          } else {
            invalid(*v, join(p, "name"), "1 to 256 letters, digits, '-', '.' or '_'");
          }
        }
      }
      auto value = f.get("value");
      auto file = f.get("file");
      if (auto v = f.get("secret")) nv.secret = boolean(*v, join(p, "secret")).value_or(false);
      if (value && file) {
        d_.error_at_line(f.line, fmt::format("{}: give either 'value' or 'file', not both", p));
      } else if (value) {
        // Shown in errors only when typed in the file and not secret.
        if (value->IsScalar()) {
          nv.value = value->Scalar();
        } else {
          d_.error(*value, fmt::format("{}: value must be a single value", p));
        }
        if (nv.value.empty()) d_.error(*value, fmt::format("{}: value must not be empty", p));
        if (nv.value.size() > 4096) {
          d_.error(*value, fmt::format("{}: value longer than 4096 characters", p));
        }
      } else if (file) {
        if (auto fp = file_path(*file, join(p, "file"))) nv.file = *fp;
      } else {
        d_.error_at_line(f.line, fmt::format("{}: missing 'value' or 'file'", p));
      }
      for (const auto& other : config.named_values) {
        if (!nv.name.empty() && other.name == nv.name) {
          d_.error_at_line(f.line, fmt::format("{}: duplicate named value '{}'", p, nv.name));
        }
      }
      config.named_values.push_back(std::move(nv));
    });
    for_each_map(
        top, "certificates", kCertificateEntityKeys, [&](const Fields& f, const std::string& p) {
          CertificateEntityConfig c;
          c.where = {file_, f.line};
          if (auto v = required(f, "id")) c.id = name(*v, join(p, "id")).value_or("");
          if (auto v = required(f, "cert")) c.cert = file_path(*v, join(p, "cert")).value_or("");
          if (auto v = f.get("key")) c.key = file_path(*v, join(p, "key")).value_or("");
          for (const auto& other : config.certificates) {
            if (!c.id.empty() && other.id == c.id) {
              d_.error_at_line(f.line, fmt::format("{}: duplicate certificate id '{}'", p, c.id));
            }
          }
          config.certificates.push_back(std::move(c));
        });
    if (auto n = top.get("client_certificates")) {
      const Fields f = open_map(*n, "client_certificates", kClientCertificatesKeys, top.line);
      auto& cc = config.client_certificates;
      if (auto v = f.get("ca")) cc.ca = file_path(*v, "client_certificates.ca").value_or("");
      if (auto l = list(f, "crls", false)) {
        for (size_t i = 0; i < l->size(); ++i) {
          if (auto p = file_path(std::as_const(*l)[i], indexed("client_certificates.crls", i)))
            cc.crls.push_back(*p);
        }
      }
      if (auto v = f.get("revocation")) {
        if (auto s = text(*v, "client_certificates.revocation")) {
          if (*s == "hard-fail") {
            cc.hard_fail = true;
          } else if (*s != "soft-fail") {
            invalid(*v, "client_certificates.revocation", "expected soft-fail or hard-fail");
          }
        }
      }
      for_each_map(f, "forwarded", kForwardedKeys, [&](const Fields& ff, const std::string& p) {
        ForwardedClientCert fc;
        fc.where = {file_, ff.line};
        if (auto v = required(ff, "header")) fc.header = token(*v, join(p, "header")).value_or("");
        if (auto v = required(ff, "format")) {
          if (auto s = text(*v, join(p, "format"))) {
            if (*s == "base64-der" || *s == "rfc9440" || *s == "url-encoded-pem" || *s == "xfcc") {
              fc.format = *s;
            } else {
              invalid(*v, join(p, "format"),
                      "expected base64-der, rfc9440, url-encoded-pem or xfcc");
            }
          }
        }
        if (auto l = list(ff, "from", false)) {
          for (size_t i = 0; i < l->size(); ++i) {
            if (auto s = text(std::as_const(*l)[i], indexed(join(p, "from"), i)))
              fc.from.push_back(*s);
          }
        }
        cc.forwarded.push_back(std::move(fc));
      });
    }
    for_each_map(top, "products", kProductKeys, [&](const Fields& f, const std::string& p) {
      Product pr;
      pr.where = {file_, f.line};
      if (auto v = required(f, "id")) pr.id = name(*v, join(p, "id")).value_or("");
      pr.name = pr.id;
      if (auto v = f.get("name")) pr.name = text(*v, join(p, "name")).value_or(pr.id);
      if (auto v = f.get("subscription_required")) {
        pr.subscription_required = boolean(*v, join(p, "subscription_required")).value_or(true);
      }
      if (auto l = list(f, "apis", false)) {
        for (size_t i = 0; i < l->size(); ++i) {
          const YAML::Node item = std::as_const(*l)[i];
          auto s = text(item, indexed(join(p, "apis"), i));
          if (!s) continue;
          bool found = false;
          for (const auto& a : config.apis)
            found = found || a.name == *s;
          if (!found) invalid(item, indexed(join(p, "apis"), i), "no api has this name");
          pr.apis.push_back(*s);
        }
      }
      pr.policy = policy_source(f, "policy", "policy_xml");
      for (const auto& other : config.products) {
        if (!pr.id.empty() && other.id == pr.id) {
          d_.error_at_line(f.line, fmt::format("{}: duplicate product id '{}'", p, pr.id));
        }
      }
      config.products.push_back(std::move(pr));
    });
    for_each_map(
        top, "subscriptions", kSubscriptionKeys, [&](const Fields& f, const std::string& p) {
          Subscription sub;
          sub.where = {file_, f.line};
          if (auto v = required(f, "id")) sub.id = name(*v, join(p, "id")).value_or("");
          sub.name = sub.id;
          if (auto v = f.get("name")) sub.name = text(*v, join(p, "name")).value_or(sub.id);
          if (auto v = required(f, "scope")) {
            if (auto s = text(*v, join(p, "scope"))) {
              bool ok = *s == "/" || *s == "/apis";
              if (s->rfind("/apis/", 0) == 0) {
                for (const auto& a : config.apis)
                  ok = ok || "/apis/" + a.name == *s;
              } else if (s->rfind("/products/", 0) == 0) {
                for (const auto& pr : config.products)
                  ok = ok || "/products/" + pr.id == *s;
              }
              if (ok) {
                sub.scope = *s;
              } else {
                invalid(*v, join(p, "scope"),
                        "expected /, /apis, /apis/<api name> or /products/<product id> naming a "
                        "configured api or product");
              }
            }
          }
          // Keys are never shown in messages: they are credentials.
          auto key = [&](std::string_view k, std::string& out) {
            auto v = f.get(k);
            if (!v) return;
            if (!v->IsScalar() || v->Scalar().empty() || v->Scalar().size() > 256) {
              d_.error(*v, fmt::format("{}.{}: expected a key of 1 to 256 characters", p, k));
              return;
            }
            out = v->Scalar();
          };
          // A file (or vault reference) holding the key, read when the gateway loads.
          auto key_file = [&](std::string_view k, std::string_view literal, std::string& out) {
            auto v = f.get(k);
            if (!v) return;
            if (f.get(literal)) {
              d_.error_at_line(
                  f.line, fmt::format("{}: give either '{}' or '{}', not both", p, literal, k));
              return;
            }
            if (auto fp = file_path(*v, join(p, k))) out = *fp;
          };
          key("primary_key", sub.primary_key);
          key("secondary_key", sub.secondary_key);
          key_file("primary_key_file", "primary_key", sub.primary_key_file);
          key_file("secondary_key_file", "secondary_key", sub.secondary_key_file);
          if (sub.primary_key.empty() && sub.secondary_key.empty() &&
              sub.primary_key_file.empty() && sub.secondary_key_file.empty()) {
            d_.error_at_line(f.line, fmt::format("{}: missing 'primary_key' or 'secondary_key' "
                                                 "(or their '_file' forms)",
                                                 p));
          }
          if (auto v = f.get("state")) {
            if (auto s = text(*v, join(p, "state"))) {
              static constexpr std::string_view kStates[] = {"active",   "suspended", "submitted",
                                                             "rejected", "cancelled", "expired"};
              if (std::find(std::begin(kStates), std::end(kStates), *s) != std::end(kStates)) {
                sub.state = *s;
              } else {
                invalid(*v, join(p, "state"),
                        "expected active, suspended, submitted, rejected, cancelled or expired");
              }
            }
          }
          if (auto v = f.get("start_date")) {
            if (auto s = text(*v, join(p, "start_date"))) {
              if (auto t = parse_utc_time(*s)) {
                sub.start_unix = *t;
              } else {
                invalid(*v, join(p, "start_date"), t.error().message);
              }
            }
          }
          for (const auto& other : config.subscriptions) {
            if (!sub.id.empty() && other.id == sub.id) {
              d_.error_at_line(f.line,
                               fmt::format("{}: duplicate subscription id '{}'", p, sub.id));
            }
          }
          config.subscriptions.push_back(std::move(sub));
        });
  }

  // ----- vault (config/vault_config.h) -----

  // Key Vault's object names: 1-127 of [0-9a-zA-Z-].
  std::optional<std::string> vault_name(const YAML::Node& node, std::string_view path) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    bool ok = !s->empty() && s->size() <= 127;
    for (char c : *s)
      ok = ok &&
           ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-');
    if (!ok) {
      invalid(node, path, "a vault name is 1-127 letters, digits and '-'");
      return std::nullopt;
    }
    return s;
  }

  void parse_vault(const YAML::Node& node, ProxyConfig& config) {
    const Fields f = open_map(node, "vault", kVaultKeys, 1);
    VaultConfig v;
    v.line = f.line;
    if (!f.ok) {
      config.vault = std::move(v);
      return;
    }
    if (!config.identity) {
      d_.error_at_line(f.line,
                       "vault: needs an identity section (the vault keeps its items in the "
                       "identity role's database, sealed with its master key, and accepts its "
                       "tokens)");
    }
    if (auto t = required(f, "tenant")) {
      if (auto s = text(*t, "vault.tenant")) {
        if (auto g = normalize_guid(*s)) {
          v.tenant = std::move(*g);
        } else if (auto host = normalize_host_name(*s); host && !host->empty()) {
          v.tenant = std::move(*host);  // an alias of a tenant: resolved when the vault starts
        } else {
          invalid(*t, "vault.tenant", "expected a tenant GUID or one of its aliases");
        }
      }
    }
    if (!required(f, "listeners")) {
      // reported by required()
    } else {
      v.listeners = listener_names(f, "listeners", config);
      if (v.listeners.empty()) {
        d_.error_at_line(f.line,
                         "vault.listeners: name at least one listener (the Key Vault "
                         "API uses the root path, so give it a listener of its own)");
      }
    }
    if (auto r = f.get("resource")) {
      if (auto s = text(*r, "vault.resource")) {
        auto url = parse_backend_url(*s);
        if (!url) {
          invalid(*r, "vault.resource", "expected an absolute URL such as https://vault.azure.net");
        } else {
          std::string resource = *s;
          while (!resource.empty() && resource.back() == '/')
            resource.pop_back();
          v.resource = std::move(resource);
        }
      }
    }
    if (auto a = f.get("audit_log")) {
      if (auto s = text(*a, "vault.audit_log")) {
        if (*s == "stdout" || *s == "stderr" || *s == "off") {
          v.audit_log = *s;
        } else if (auto p = file_path(*a, "vault.audit_log")) {
          v.audit_log = *p;
        }
      }
    }
    if (auto r = f.get("soft_delete_retention_days")) {
      if (auto n = integer(*r, "vault.soft_delete_retention_days", 7, 90))
        v.soft_delete_retention_days = static_cast<int>(*n);
    }
    if (auto n = list(f, "issuers", false)) {
      for (size_t i = 0; i < n->size(); ++i) {
        const std::string path = indexed("vault.issuers", i);
        const Fields e = open_map(std::as_const(*n)[i], path, kVaultIssuerKeys, f.line);
        if (!e.ok) continue;
        VaultIssuerConfig issuer;
        issuer.line = e.line;
        if (auto x = required(e, "name"))
          issuer.name = vault_name(*x, join(path, "name")).value_or("");
        if (issuer.name == "Self" || issuer.name == "Unknown") {
          d_.error_at_line(e.line,
                           path + ".name: 'Self' and 'Unknown' are Key Vault's own issuer names");
        }
        if (auto x = required(e, "cert"))
          issuer.cert = file_path(*x, join(path, "cert")).value_or("");
        if (auto x = required(e, "key")) issuer.key = file_path(*x, join(path, "key")).value_or("");
        for (const auto& other : v.issuers) {
          if (!issuer.name.empty() && other.name == issuer.name)
            d_.error_at_line(
                e.line, fmt::format("{}.name: '{}' is also the name of the issuer on line {}", path,
                                    issuer.name, other.line));
        }
        v.issuers.push_back(std::move(issuer));
      }
    }
    if (auto n = list(f, "access", false)) {
      for (size_t i = 0; i < n->size(); ++i) {
        const std::string path = indexed("vault.access", i);
        const Fields e = open_map(std::as_const(*n)[i], path, kVaultAccessKeys, f.line);
        if (!e.ok) continue;
        VaultAccessConfig grant;
        grant.line = e.line;
        if (auto x = required(e, "client_id"))
          grant.client_id = guid(*x, join(path, "client_id")).value_or("");
        if (auto x = required(e, "role"))
          grant.role = word(*x, join(path, "role"), 128, false).value_or("");
        v.access.push_back(std::move(grant));
      }
    }
    if (auto n = list(f, "secrets", false)) {
      for (size_t i = 0; i < n->size(); ++i) {
        const std::string path = indexed("vault.secrets", i);
        const Fields e = open_map(std::as_const(*n)[i], path, kVaultSecretKeys, f.line);
        if (!e.ok) continue;
        VaultSecretConfig secret;
        secret.line = e.line;
        if (auto x = required(e, "name"))
          secret.name = vault_name(*x, join(path, "name")).value_or("");
        const auto env = e.get("value_env");
        const auto file = e.get("file");
        if (env.has_value() == file.has_value()) {
          d_.error_at_line(e.line, path + ": give exactly one of value_env and file");
        }
        if (env) secret.value_env = env_name(*env, join(path, "value_env")).value_or("");
        if (file) secret.file = file_path(*file, join(path, "file")).value_or("");
        if (auto x = e.get("content_type"))
          secret.content_type = word(*x, join(path, "content_type"), 255, false).value_or("");
        for (const auto& other : v.secrets) {
          if (!secret.name.empty() && other.name == secret.name)
            d_.error_at_line(e.line,
                             fmt::format("{}.name: '{}' is declared twice (also on line {})", path,
                                         secret.name, other.line));
        }
        v.secrets.push_back(std::move(secret));
      }
    }
    if (auto n = list(f, "certificates", false)) {
      for (size_t i = 0; i < n->size(); ++i) {
        const std::string path = indexed("vault.certificates", i);
        const Fields e = open_map(std::as_const(*n)[i], path, kVaultCertificateKeys, f.line);
        if (!e.ok) continue;
        VaultCertificateConfig cert;
        cert.line = e.line;
        if (auto x = required(e, "name"))
          cert.name = vault_name(*x, join(path, "name")).value_or("");
        const auto policy = e.get("policy");
        const auto file = e.get("file");
        if (policy.has_value() == file.has_value()) {
          d_.error_at_line(e.line, path +
                                       ": give exactly one of policy (issued by the vault) and "
                                       "file (imported from PEM or PKCS#12)");
        }
        if (file) cert.file = file_path(*file, join(path, "file")).value_or("");
        if (auto x = e.get("password_env")) {
          if (!file) d_.error_at_line(e.line, path + ".password_env: only with file");
          cert.password_env = env_name(*x, join(path, "password_env")).value_or("");
        }
        if (policy) cert.policy = parse_vault_policy(*policy, join(path, "policy"), e.line, v);
        for (const auto& other : v.certificates) {
          if (!cert.name.empty() && other.name == cert.name)
            d_.error_at_line(e.line,
                             fmt::format("{}.name: '{}' is declared twice (also on line {})", path,
                                         cert.name, other.line));
        }
        for (const auto& other : v.secrets) {
          if (!cert.name.empty() && other.name == cert.name)
            d_.error_at_line(e.line, fmt::format("{}.name: '{}' is also a secret's name (line {}): "
                                                 "a certificate's secret has its name",
                                                 path, cert.name, other.line));
        }
        v.certificates.push_back(std::move(cert));
      }
    }
    config.vault = std::move(v);
  }

  VaultCertificatePolicyConfig parse_vault_policy(const YAML::Node& node, const std::string& path,
                                                  int line, const VaultConfig& v) {
    VaultCertificatePolicyConfig p;
    const Fields f = open_map(node, path, kVaultPolicyKeys, line);
    if (!f.ok) return p;
    if (auto x = required(f, "subject"))
      p.subject = word(*x, join(path, "subject"), 1024, false).value_or("");
    p.dns_names = strings(f, "dns_names", [&](const YAML::Node& n, const std::string& q) {
      return word(n, q, 253, true);
    });
    if (auto x = f.get("key_type")) {
      if (auto s = text(*x, join(path, "key_type"))) {
        if (*s == "RSA" || *s == "EC") {
          p.key_type = *s;
        } else {
          invalid(*x, join(path, "key_type"), "expected RSA or EC");
        }
      }
    }
    if (auto x = f.get("key_size")) {
      if (auto n = integer(*x, join(path, "key_size"), 2048, 4096)) {
        if (*n == 2048 || *n == 3072 || *n == 4096) {
          p.key_size = static_cast<int>(*n);
        } else {
          invalid(*x, join(path, "key_size"), "expected 2048, 3072 or 4096");
        }
      }
    }
    if (auto x = f.get("curve")) {
      if (auto s = text(*x, join(path, "curve"))) {
        if (*s == "P-256" || *s == "P-384" || *s == "P-521") {
          p.curve = *s;
        } else {
          invalid(*x, join(path, "curve"), "expected P-256, P-384 or P-521");
        }
      }
    }
    if (auto x = f.get("validity_months")) {
      if (auto n = integer(*x, join(path, "validity_months"), 1, 120))
        p.validity_months = static_cast<int>(*n);
    }
    if (auto x = f.get("issuer")) {
      if (auto s = text(*x, join(path, "issuer"))) {
        bool known = *s == "Self";
        for (const auto& i : v.issuers)
          known = known || i.name == *s;
        if (known) {
          p.issuer = *s;
        } else {
          invalid(*x, join(path, "issuer"), "expected Self or the name of one of vault.issuers");
        }
      }
    }
    if (auto x = f.get("content_type")) {
      if (auto s = text(*x, join(path, "content_type"))) {
        if (*s == "application/x-pem-file" || *s == "application/x-pkcs12") {
          p.content_type = *s;
        } else {
          invalid(*x, join(path, "content_type"),
                  "expected application/x-pem-file or application/x-pkcs12");
        }
      }
    }
    if (auto x = f.get("renew_days_before_expiry")) {
      if (auto n = integer(*x, join(path, "renew_days_before_expiry"), 0, 3650))
        p.renew_days_before_expiry = static_cast<int>(*n);
    }
    const auto days = f.get("renew_days_before_expiry");
    if (auto x = f.get("renew_at_lifetime_percentage")) {
      if (auto n = integer(*x, join(path, "renew_at_lifetime_percentage"), 0, 99))
        p.renew_at_lifetime_percentage = static_cast<int>(*n);
      // Key Vault's policy has one lifetime action: a trigger in days or in percent, not both.
      if (days && p.renew_days_before_expiry > 0 && p.renew_at_lifetime_percentage > 0) {
        invalid(*x, join(path, "renew_at_lifetime_percentage"),
                "set only one of renew_days_before_expiry and renew_at_lifetime_percentage");
      }
    } else if (days) {
      // The days form replaces the default percentage (80) rather than adding to it.
      p.renew_at_lifetime_percentage = 0;
    }
    return p;
  }

  // ----- identity (config/identity_config.h) -----

  // A path given as-is or defaulted: resolved against the configuration file's directory.
  std::string resolve(std::string path) const {
    const std::filesystem::path p(path);
    if (p.is_absolute() || base_dir_.empty() || core::is_reference(path)) return path;
    return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
  }

  // A duration in whole seconds from `min` to `max`.
  std::optional<std::chrono::seconds> whole_seconds(const YAML::Node& node, std::string_view path,
                                                    std::chrono::seconds min,
                                                    std::chrono::seconds max) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    auto value = parse_duration(*s, max);
    if (!value) {
      invalid(node, path, value.error().message);
      return std::nullopt;
    }
    if (value->count() % 1000 != 0) {
      invalid(node, path, "must be a whole number of seconds");
      return std::nullopt;
    }
    const auto out = std::chrono::duration_cast<std::chrono::seconds>(*value);
    if (out < min) {
      invalid(node, path, fmt::format("must be at least {}", format_duration(min)));
      return std::nullopt;
    }
    return out;
  }

  std::optional<std::string> guid(const YAML::Node& node, std::string_view path) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    auto g = normalize_guid(*s);
    if (!g) {
      invalid(node, path, g.error().message);
      return std::nullopt;
    }
    return std::move(*g);
  }

  // A non-empty single-line value of at most `max` characters, without spaces when `no_spaces`.
  std::optional<std::string> word(const YAML::Node& node, std::string_view path, size_t max,
                                  bool no_spaces) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    if (s->empty()) {
      invalid(node, path, "must not be empty");
      return std::nullopt;
    }
    if (s->size() > max) {
      invalid(node, path, fmt::format("must be at most {} characters", max));
      return std::nullopt;
    }
    for (char c : *s) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f || (no_spaces && c == ' ')) {
        invalid(node, path,
                no_spaces ? "must not contain spaces or control characters"
                          : "must not contain control characters");
        return std::nullopt;
      }
    }
    return s;
  }

  std::optional<std::string> env_name(const YAML::Node& node, std::string_view path) {
    auto s = text(node, path);
    if (!s) return std::nullopt;
    if (auto ok = check_env_name(*s); !ok) {
      invalid(node, path, ok.error().message);
      return std::nullopt;
    }
    return s;
  }

  // A list of strings, each read by `read` (which reports its own errors).
  template <class Read>
  std::vector<std::string> strings(const Fields& f, std::string_view key, Read read) {
    std::vector<std::string> out;
    auto n = list(f, key, false);
    if (!n) return out;
    const std::string path = join(f.path, key);
    for (size_t i = 0; i < n->size(); ++i) {
      if (auto s = read(std::as_const(*n)[i], indexed(path, i))) out.push_back(std::move(*s));
    }
    return out;
  }

  // Names of listeners the identity role serves on: each must name a listener of this file.
  std::vector<std::string> listener_names(const Fields& f, std::string_view key,
                                          const ProxyConfig& config) {
    std::vector<std::string> out;
    auto n = list(f, key, false);
    if (!n) return out;
    std::vector<std::string_view> known;
    for (const auto& l : config.listeners)
      known.push_back(l.name);
    const std::string path = join(f.path, key);
    for (size_t i = 0; i < n->size(); ++i) {
      const YAML::Node item = std::as_const(*n)[i];
      const std::string item_path = indexed(path, i);
      auto s = text(item, item_path);
      if (!s) continue;
      if (std::find(known.begin(), known.end(), *s) == known.end()) {
        std::string message =
            fmt::format("{}{}: no listener with this name in listeners", item_path, d_.shown(item));
        if (auto hint = suggest(*s, known)) message += fmt::format(" (did you mean '{}'?)", *hint);
        d_.error(item, message);
        continue;
      }
      if (std::find(out.begin(), out.end(), *s) != out.end()) {
        invalid(item, item_path, "listed twice");
        continue;
      }
      out.push_back(*s);
    }
    return out;
  }

  void parse_identity(const YAML::Node& node, ProxyConfig& config) {
    const Fields f = open_map(node, "identity", kIdentityKeys, 1);
    IdentityConfig id;
    id.line = f.line;
    if (!f.ok) {
      config.identity = std::move(id);
      return;
    }
    if (auto v = f.get("data_dir")) {
      id.data_dir = file_path(*v, "identity.data_dir").value_or("");
    } else {
      id.data_dir = resolve(id.data_dir);
    }
    if (auto v = f.get("public_url")) {
      if (auto s = text(*v, "identity.public_url")) {
        auto url = parse_backend_url(*s);
        if (!url) {
          invalid(*v, "identity.public_url", url.error().message);
        } else if (!url->base_path.empty()) {
          invalid(*v, "identity.public_url",
                  "must be scheme://host[:port] without a path (tenant paths go after it)");
        } else {
          std::string origin = *s;
          while (!origin.empty() && origin.back() == '/')
            origin.pop_back();
          id.public_url = std::move(origin);
        }
      }
    }
    id.listeners = listener_names(f, "listeners", config);
    id.managed_identity_listeners = listener_names(f, "managed_identity_listeners", config);
    if (auto v = f.get("master_key_file")) {
      id.master_key_file = file_path(*v, "identity.master_key_file").value_or("");
    }
    if (auto v = f.get("master_key_env")) {
      id.master_key_env = env_name(*v, "identity.master_key_env").value_or(id.master_key_env);
    }
    if (auto v = f.get("admin_token_file")) {
      id.admin_token_file = file_path(*v, "identity.admin_token_file").value_or("");
    } else if (!id.data_dir.empty()) {
      id.admin_token_file = (std::filesystem::path(id.data_dir) / "admin.token").string();
    }
    if (auto v = f.get("audit_log")) {
      if (auto s = text(*v, "identity.audit_log")) {
        if (*s == "stdout" || *s == "stderr" || *s == "off") {
          id.audit_log = *s;
        } else if (auto p = file_path(*v, "identity.audit_log")) {
          id.audit_log = *p;
        }
      }
    }
    if (auto v = f.get("tokens")) parse_identity_tokens(*v, f.line, id.tokens);
    if (auto v = f.get("signing")) parse_identity_signing(*v, f.line, id);
    if (auto n = list(f, "managed_identities", false)) {
      for (size_t i = 0; i < n->size(); ++i) {
        const std::string path = indexed("identity.managed_identities", i);
        if (auto mi = parse_managed_identity(std::as_const(*n)[i], path, f.line)) {
          for (size_t j = 0; j < id.managed_identities.size(); ++j) {
            if (!mi->name.empty() && id.managed_identities[j].name == mi->name) {
              d_.error_at_line(mi->line, fmt::format("{}.name: duplicate name (also used by "
                                                     "identity.managed_identities[{}] on line {})",
                                                     path, j, id.managed_identities[j].line));
            }
          }
          id.managed_identities.push_back(std::move(*mi));
        }
      }
    }
    if (auto n = list(f, "tenants", false)) {
      for (size_t i = 0; i < n->size(); ++i) {
        const std::string path = indexed("identity.tenants", i);
        if (auto t = parse_tenant(std::as_const(*n)[i], path, f.line)) {
          id.tenants.push_back(std::move(*t));
        }
      }
    }
    check_identity_tenants(id);
    config.identity = std::move(id);
  }

  void parse_identity_tokens(const YAML::Node& node, int line, IdentityTokens& t) {
    using std::chrono::hours;
    using std::chrono::minutes;
    using std::chrono::seconds;
    const Fields f = open_map(node, "identity.tokens", kIdentityTokensKeys, line);
    if (!f.ok) return;
    const auto set = [&](std::string_view key, seconds& out, seconds min, seconds max) {
      if (auto v = f.get(key)) {
        if (auto d = whole_seconds(*v, join("identity.tokens", key), min, max)) out = *d;
      }
    };
    set("lifetime", t.lifetime, minutes(5), hours(24));
    set("managed_identity_lifetime", t.managed_identity_lifetime, minutes(5), hours(24));
    set("clock_skew", t.clock_skew, seconds(0), hours(1));
    set("max_assertion_lifetime", t.max_assertion_lifetime, seconds(1), hours(24));
    set("max_federated_lifetime", t.max_federated_lifetime, seconds(1), hours(24 * 7));
  }

  void parse_identity_signing(const YAML::Node& node, int line, IdentityConfig& id) {
    using std::chrono::hours;
    const Fields f = open_map(node, "identity.signing", kIdentitySigningKeys, line);
    if (!f.ok) return;
    IdentitySigning& s = id.signing;
    if (auto v = f.get("algorithm")) {
      if (auto a = text(*v, "identity.signing.algorithm")) {
        if (*a == "RS256" || *a == "ES256") {
          s.algorithm = *a;
        } else {
          invalid(*v, "identity.signing.algorithm", "expected RS256 (as Entra) or ES256");
        }
      }
    }
    const hours kTenYears(24 * 3650);
    const auto rotate = f.get("rotate_every");
    const auto ahead = f.get("publish_ahead");
    const auto retire = f.get("retire_after");
    if (rotate) {
      s.rotate_every = whole_seconds(*rotate, "identity.signing.rotate_every", hours(24), kTenYears)
                           .value_or(s.rotate_every);
    }
    if (ahead) {
      // Relying parties cache a JWKS for up to a day: a key must be visible that long before
      // it signs anything.
      s.publish_ahead =
          whole_seconds(*ahead, "identity.signing.publish_ahead", hours(24), kTenYears)
              .value_or(s.publish_ahead);
    }
    if (retire) {
      s.retire_after = whole_seconds(*retire, "identity.signing.retire_after",
                                     std::chrono::seconds(0), kTenYears)
                           .value_or(s.retire_after);
    }
    if (s.publish_ahead >= s.rotate_every) {
      d_.error(rotate ? *rotate : *ahead,
               fmt::format("identity.signing.rotate_every: must be longer than publish_ahead ({})",
                           format_duration(s.publish_ahead)),
               f.line);
    }
    // Tokens signed just before a key retires must validate until they expire.
    const auto longest = std::max(id.tokens.lifetime, id.tokens.managed_identity_lifetime);
    if (s.retire_after < longest) {
      d_.error(retire ? *retire : node,
               fmt::format("identity.signing.retire_after: must be at least the longest token "
                           "lifetime ({}), or tokens stop validating before they expire",
                           format_duration(longest)),
               f.line);
    }
  }

  std::optional<ManagedIdentityConfig> parse_managed_identity(const YAML::Node& node,
                                                              const std::string& path, int line) {
    const Fields f = open_map(node, path, kManagedIdentityKeys, line);
    if (!f.ok) return std::nullopt;
    ManagedIdentityConfig mi;
    mi.line = f.line;
    if (auto v = required(f, "name")) mi.name = name(*v, join(path, "name")).value_or("");
    if (auto v = required(f, "tenant")) mi.tenant = guid(*v, join(path, "tenant")).value_or("");
    if (auto v = required(f, "client_id")) {
      mi.client_id = guid(*v, join(path, "client_id")).value_or("");
    }
    if (auto v = f.get("resource_id")) {
      mi.resource_id = word(*v, join(path, "resource_id"), 1024, true).value_or("");
    }
    mi.source_cidrs = strings(f, "source_cidrs", [&](const YAML::Node& n, const std::string& p) {
      std::optional<std::string> out;
      if (auto s = text(n, p)) {
        auto cidr = normalize_cidr(*s);
        if (cidr) {
          out = std::move(*cidr);
        } else {
          invalid(n, p, cidr.error().message);
        }
      }
      return out;
    });
    if (auto n = list(f, "local_uids", false)) {
      for (size_t i = 0; i < n->size(); ++i) {
        // (uid_t)-1 means "no user" to the kernel interfaces that report it.
        if (auto uid = integer(std::as_const(*n)[i], indexed(join(path, "local_uids"), i), 0,
                               UINT32_MAX - 1)) {
          mi.local_uids.push_back(static_cast<uint32_t>(*uid));
        }
      }
    }
    if (auto v = f.get("identity_header_env")) {
      mi.identity_header_env = env_name(*v, join(path, "identity_header_env")).value_or("");
    }
    if (!f.get("source_cidrs") && !f.get("local_uids") && !f.get("identity_header_env")) {
      d_.error_at_line(f.line, fmt::format("{}: give source_cidrs, local_uids or "
                                           "identity_header_env (otherwise no caller can use it)",
                                           path));
    }
    return mi;
  }

  std::optional<DeclaredTenant> parse_tenant(const YAML::Node& node, const std::string& path,
                                             int line) {
    const Fields f = open_map(node, path, kTenantKeys, line);
    if (!f.ok) return std::nullopt;
    DeclaredTenant t;
    t.line = f.line;
    // Required: a generated id would differ on every start and in every environment.
    if (auto v = required(f, "id")) t.id = guid(*v, join(path, "id")).value_or("");
    if (auto v = f.get("name")) t.name = word(*v, join(path, "name"), 256, false).value_or("");
    t.aliases = strings(f, "aliases", [&](const YAML::Node& n, const std::string& p) {
      std::optional<std::string> out;
      auto s = text(n, p);
      if (!s) return out;
      auto host = normalize_host_name(*s);
      if (!host || host->find(':') != std::string::npos) {
        invalid(n, p, "an alias is a domain-like name (letters, digits, '.', '-')");
      } else if (normalize_guid(*host)) {
        invalid(n, p, "an alias must not be a GUID (tenant ids go in 'id')");
      } else if (*host == "common" || *host == "organizations" || *host == "consumers") {
        invalid(n, p, "'common', 'organizations' and 'consumers' are reserved tenant names");
      } else {
        out = std::move(*host);
      }
      return out;
    });
    if (auto n = list(f, "applications", false)) {
      for (size_t i = 0; i < n->size(); ++i) {
        const std::string app_path = indexed(join(path, "applications"), i);
        if (auto app = parse_application(std::as_const(*n)[i], app_path, f.line)) {
          t.applications.push_back(std::move(*app));
        }
      }
    }
    return t;
  }

  std::optional<DeclaredApplication> parse_application(const YAML::Node& node,
                                                       const std::string& path, int line) {
    const Fields f = open_map(node, path, kApplicationKeys, line);
    if (!f.ok) return std::nullopt;
    DeclaredApplication app;
    app.line = f.line;
    if (auto v = required(f, "client_id")) {
      app.client_id = guid(*v, join(path, "client_id")).value_or("");
    }
    if (auto v = f.get("name")) app.name = word(*v, join(path, "name"), 256, false).value_or("");
    app.identifier_uris =
        strings(f, "identifier_uris", [&](const YAML::Node& n, const std::string& p) {
          auto s = word(n, p, 2048, true);
          if (s && s->find(':') == std::string::npos) {
            invalid(n, p, "an identifier URI needs a scheme, like api://orders or https://...");
            s.reset();
          }
          return s;
        });
    if (auto v = f.get("access_token_version")) {
      app.access_token_version =
          static_cast<int>(integer(*v, join(path, "access_token_version"), 1, 2).value_or(1));
    }
    if (auto v = f.get("assignment_required")) {
      app.assignment_required = boolean(*v, join(path, "assignment_required")).value_or(false);
    }
    if (auto v = f.get("strict_assertion_replay")) {
      app.strict_assertion_replay =
          boolean(*v, join(path, "strict_assertion_replay")).value_or(false);
    }
    for_each_map(f, "roles", kRoleKeys, [&](const Fields& r, const std::string& p) {
      DeclaredRole role;
      role.line = r.line;
      if (auto v = required(r, "value"))
        role.value = word(*v, join(p, "value"), 120, true).value_or("");
      if (auto v = r.get("id")) role.id = guid(*v, join(p, "id")).value_or("");
      if (auto v = r.get("display_name")) {
        role.display_name = word(*v, join(p, "display_name"), 256, false).value_or("");
      }
      for (const auto& other : app.roles) {
        if (!role.value.empty() && other.value == role.value) {
          d_.error_at_line(r.line,
                           fmt::format("{}.value: role '{}' is declared twice", p, role.value));
        } else if (!role.id.empty() && other.id == role.id) {
          d_.error_at_line(r.line, fmt::format("{}.id: role id is used twice", p));
        }
      }
      app.roles.push_back(std::move(role));
    });
    for_each_map(f, "certificates", kDeclaredCertificateKeys,
                 [&](const Fields& c, const std::string& p) {
                   DeclaredCertificate cert;
                   cert.line = c.line;
                   if (auto v = required(c, "file")) {
                     cert.file = file_path(*v, join(p, "file")).value_or("");
                   }
                   if (auto v = c.get("name")) {
                     cert.name = word(*v, join(p, "name"), 256, false).value_or("");
                   }
                   app.certificates.push_back(std::move(cert));
                 });
    for_each_map(f, "secrets", kDeclaredSecretKeys, [&](const Fields& c, const std::string& p) {
      DeclaredSecret secret;
      secret.line = c.line;
      if (auto v = c.get("name")) secret.name = word(*v, join(p, "name"), 256, false).value_or("");
      // The value itself never sits in the file: only the variable that holds it.
      if (auto v = required(c, "value_env")) {
        secret.value_env = env_name(*v, join(p, "value_env")).value_or("");
      }
      app.secrets.push_back(std::move(secret));
    });
    for_each_map(f, "federated", kFederatedKeys, [&](const Fields& c, const std::string& p) {
      DeclaredFederated fic;
      fic.line = c.line;
      if (auto v = required(c, "name")) fic.name = federated_name(*v, join(p, "name"));
      if (auto v = required(c, "issuer")) {
        if (auto s = word(*v, join(p, "issuer"), 600, true)) {
          if (s->starts_with("https://") || s->starts_with("http://")) {
            fic.issuer = std::move(*s);
          } else {
            invalid(*v, join(p, "issuer"), "expected an https:// issuer URL (compared exactly)");
          }
        }
      }
      if (auto v = required(c, "subject")) {
        fic.subject = word(*v, join(p, "subject"), 600, false).value_or("");
      }
      if (auto v = c.get("audience")) {
        fic.audience = word(*v, join(p, "audience"), 600, true).value_or(fic.audience);
      }
      if (auto v = c.get("description")) {
        fic.description = word(*v, join(p, "description"), 600, false).value_or("");
      }
      for (const auto& other : app.federated) {
        if (!fic.name.empty() && other.name == fic.name) {
          d_.error_at_line(
              c.line, fmt::format("{}.name: '{}' is used twice in this application", p, fic.name));
        }
      }
      app.federated.push_back(std::move(fic));
    });
    for_each_map(f, "assignments", kAssignmentKeys, [&](const Fields& c, const std::string& p) {
      DeclaredAssignment a;
      if (auto v = required(c, "resource")) {
        a.resource = word(*v, join(p, "resource"), 2048, true).value_or("");
      }
      if (auto v = required(c, "role")) a.role = word(*v, join(p, "role"), 120, true).value_or("");
      a.line = c.line;
      app.assignments.push_back(std::move(a));
    });
    return app;
  }

  // Entra: 3 to 120 characters, URL-friendly (it becomes part of the credential's path).
  std::string federated_name(const YAML::Node& node, const std::string& path) {
    auto s = text(node, path);
    if (!s) return {};
    const bool charset_ok = std::all_of(s->begin(), s->end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_' || c == '.' || c == '~';
    });
    if (s->size() < 3 || s->size() > 120 || !charset_ok) {
      invalid(node, path, "must be 3 to 120 of letters, digits, '-', '_', '.' and '~'");
      return {};
    }
    return *s;
  }

  // Calls `each(fields, path)` for every map in the list at `key`.
  template <class Each>
  void for_each_map(const Fields& f, std::string_view key, Keys known, Each each) {
    auto n = list(f, key, false);
    if (!n) return;
    const std::string path = join(f.path, key);
    for (size_t i = 0; i < n->size(); ++i) {
      const std::string item_path = indexed(path, i);
      const Fields item = open_map(std::as_const(*n)[i], item_path, known, f.line);
      if (item.ok) each(item, item_path);
    }
  }

  // Uniqueness across tenants, and assignments that name a role the declared resource lacks.
  void check_identity_tenants(const IdentityConfig& id) {
    for (size_t i = 0; i < id.tenants.size(); ++i) {
      const DeclaredTenant& t = id.tenants[i];
      const std::string path = indexed("identity.tenants", i);
      for (size_t j = 0; j < i; ++j) {
        const DeclaredTenant& other = id.tenants[j];
        if (!t.id.empty() && other.id == t.id) {
          d_.error_at_line(t.line, fmt::format("{}.id: the same tenant as identity.tenants[{}] on "
                                               "line {}",
                                               path, j, other.line));
        }
        for (const auto& alias : t.aliases) {
          if (std::find(other.aliases.begin(), other.aliases.end(), alias) != other.aliases.end()) {
            d_.error_at_line(t.line, fmt::format("{}.aliases: '{}' is also an alias of "
                                                 "identity.tenants[{}]",
                                                 path, alias, j));
          }
        }
      }
      for (size_t a = 0; a < t.applications.size(); ++a) {
        const DeclaredApplication& app = t.applications[a];
        const std::string app_path = indexed(join(path, "applications"), a);
        check_unique_application(id, i, a);
        for (const DeclaredAssignment& assignment : app.assignments) {
          const int line = assignment.line;
          const DeclaredApplication* resource = declared_resource(t, assignment.resource);
          if (!resource || assignment.role.empty()) continue;
          const bool has_role = std::any_of(
              resource->roles.begin(), resource->roles.end(),
              [&](const auto& r) { return r.value == assignment.role || r.id == assignment.role; });
          if (!has_role) {
            d_.error_at_line(
                line,
                fmt::format("{}.assignments: application '{}' declares no "
                            "role '{}'",
                            app_path, resource->name.empty() ? resource->client_id : resource->name,
                            assignment.role));
          }
        }
      }
    }
  }

  // Client ids are unique everywhere (as Entra's appId); identifier URIs within a tenant, since
  // a token request names its resource by one.
  void check_unique_application(const IdentityConfig& id, size_t tenant, size_t index) {
    const DeclaredApplication& app = id.tenants[tenant].applications[index];
    const std::string path = fmt::format("identity.tenants[{}].applications[{}]", tenant, index);
    for (size_t ti = 0; ti <= tenant; ++ti) {
      const auto& apps = id.tenants[ti].applications;
      const size_t end = ti == tenant ? index : apps.size();
      for (size_t ai = 0; ai < end; ++ai) {
        const DeclaredApplication& other = apps[ai];
        if (!app.client_id.empty() && other.client_id == app.client_id) {
          d_.error_at_line(app.line, fmt::format("{}.client_id: also used by "
                                                 "identity.tenants[{}].applications[{}] on line {}",
                                                 path, ti, ai, other.line));
        }
        if (ti != tenant) continue;
        for (const auto& uri : app.identifier_uris) {
          if (std::find(other.identifier_uris.begin(), other.identifier_uris.end(), uri) !=
              other.identifier_uris.end()) {
            d_.error_at_line(app.line, fmt::format("{}.identifier_uris: '{}' is also used by "
                                                   "identity.tenants[{}].applications[{}]",
                                                   path, uri, ti, ai));
          }
        }
      }
    }
  }

  static const DeclaredApplication* declared_resource(const DeclaredTenant& t,
                                                      std::string_view resource) {
    for (const auto& app : t.applications) {
      if (core::iequals(app.client_id, resource)) return &app;
      for (const auto& uri : app.identifier_uris)
        if (core::iequals(uri, resource)) return &app;
    }
    return nullptr;
  }

  // ----- cross checks -----

  void check_unique_names(const ProxyConfig& config) {
    for (size_t i = 0; i < config.listeners.size(); ++i) {
      const std::string& n = config.listeners[i].name;
      if (n.empty()) continue;
      if (config.admin && n == config.admin->name) {
        d_.error_at_line(config.listeners[i].where.line,
                         fmt::format("listeners[{}].name: 'admin' is reserved for the admin "
                                     "listener",
                                     i));
      }
      for (size_t j = 0; j < i; ++j) {
        if (config.listeners[j].name == n) {
          d_.error_at_line(
              config.listeners[i].where.line,
              fmt::format(
                  "listeners[{}].name: duplicate name (also used by listeners[{}] on line {})", i,
                  j, config.listeners[j].where.line));
        }
      }
    }
    for (size_t i = 0; i < config.backends.size(); ++i) {
      const std::string& id = config.backends[i].id;
      if (id.empty()) continue;
      for (size_t j = 0; j < i; ++j) {
        if (config.backends[j].id == id) {
          d_.error(
              id_nodes_[i],
              fmt::format("backends[{}].id: duplicate id (also used by backends[{}] on line {})", i,
                          j, config.backends[j].where.line));
        }
      }
    }
    for (size_t i = 0; i < config.apis.size(); ++i) {
      const std::string& n = config.apis[i].name;
      if (n.empty()) continue;
      for (size_t j = 0; j < i; ++j) {
        if (config.apis[j].name == n) {
          d_.error_at_line(
              config.apis[i].where.line,
              fmt::format("apis[{}].name: duplicate name (also used by apis[{}] on line {})", i, j,
                          config.apis[j].where.line));
        }
      }
    }
  }

  void check_unique_addresses(const ProxyConfig& config) {
    std::vector<const Listener*> all;
    for (const auto& l : config.listeners)
      all.push_back(&l);
    if (config.admin) all.push_back(&*config.admin);
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i]->port == 0) continue;
      for (size_t j = 0; j < i; ++j) {
        if (all[j]->port == all[i]->port &&
            core::to_lower(all[j]->host) == core::to_lower(all[i]->host)) {
          const std::string what = config.admin && all[i] == &*config.admin
                                       ? std::string("admin.address")
                                       : fmt::format("listeners[{}].address", i);
          d_.error_at_line(all[i]->where.line,
                           fmt::format("{}: the same address as listeners[{}] on line {}", what, j,
                                       all[j]->where.line));
        }
      }
    }
  }

  void resolve_backend_references(const ProxyConfig& config) {
    std::vector<std::string_view> ids;      // every declared id
    std::vector<std::string_view> visible;  // those typed in the file: only these are suggested
    for (size_t i = 0; i < config.backends.size(); ++i) {
      ids.push_back(config.backends[i].id);
      if (!d_.shown(id_nodes_[i]).empty()) visible.push_back(config.backends[i].id);
    }
    for (const BackendReference& ref : references_) {
      const std::string& id = config.apis[ref.api_index].backend_id;
      bool found = false;
      for (const auto& known : ids)
        found = found || known == id;
      if (found) continue;
      std::string message =
          fmt::format("{}{}: no backend with this id in backends", ref.path, d_.shown(ref.node));
      if (auto s = suggest(id, visible)) message += fmt::format(" (did you mean '{}'?)", *s);
      d_.error(ref.node, message);
    }
  }

  void check_unique_routes(const ProxyConfig& config) {
    for (size_t i = 0; i < config.apis.size(); ++i) {
      const Api& a = config.apis[i];
      for (size_t j = 0; j < i; ++j) {
        const Api& b = config.apis[j];
        if (a.host == b.host && a.path == b.path) {
          d_.error_at_line(a.where.line,
                           fmt::format("apis[{}]: the same host and path as apis[{}] on line {}; "
                                       "merge them or use operations",
                                       i, j, b.where.line));
        }
      }
    }
  }

 private:
  Diagnostics& d_;
  std::string file_;
  std::string base_dir_;
  std::vector<Backend> synthetic_;
  std::vector<BackendReference> references_;
  std::vector<YAML::Node> id_nodes_;
};

}  // namespace

Result<ProxyConfig> parse_proxy_config(std::string_view text, const std::string& file_name,
                                       const std::string& base_dir, const Environment& env) {
  GH_TRY(SubstitutedText substituted, substitute_environment(text, file_name, env));
  GH_TRY(YAML::Node root, parse_yaml_document(substituted, file_name));
  Diagnostics diagnostics(file_name, substituted);
  ProxyConfig config;
  try {
    config = Parser(diagnostics, file_name, base_dir).parse(root);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    // yaml-cpp node accessors throw only on misuse; keep the adapter boundary watertight anyway.
    diagnostics.error_at_line(0, fmt::format("cannot read the YAML tree: {}", e.what()));
  }
  if (!diagnostics.empty()) return unexpected(ErrorKind::InvalidArgument, diagnostics.joined());
  config.source_file = file_name;
  return config;
}

Result<ProxyConfig> parse_proxy_config(std::string_view text, const std::string& file_name,
                                       const Environment& env) {
  return parse_proxy_config(text, file_name,
                            std::filesystem::path(file_name).parent_path().string(), env);
}

}  // namespace gh::config
