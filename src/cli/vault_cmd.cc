// `gatehouse vault secret|cert ...`: the vault's secrets and certificates through the admin REST
// API (/v1/vault/, admin/vault_api.h). A secret value is only ever read from stdin or a file,
// never from an argument (arguments show in `ps` and shell history), and printed only by
// `secret get`; certificate exports are written to a file created 0600.

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "admin/api_support.h"
#include "cli/admin_client.h"
#include "cli/app.h"
#include "config/value_parsers.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/files.h"

namespace gh::cli {
namespace {

namespace json = boost::json;

constexpr size_t kMaxSecretInputBytes = 25 * 1024;      // the vault's limit (Key Vault's)
constexpr size_t kMaxCertificateFileBytes = 46 * 1024;  // base64 of it fits the 64 KiB body
constexpr std::chrono::hours kMaxRelativeTime{24 * 3650};

struct VaultArgs {
  AdminOptions admin;
  std::string name;
  // secret set
  bool value_stdin = false;
  std::string file;
  std::string content_type;
  std::string expires;
  std::string not_before;
  std::vector<std::string> tags;
  bool disabled = false;
  // get / export
  std::string version;
  // delete
  bool purge = false;
  // cert create
  std::string subject;
  std::vector<std::string> dns_names;
  std::string issuer = "Self";
  int months = 12;
  std::string key_type = "RSA";
  int key_size = 0;
  std::string curve;
  int renew_days = -1;  // -1: not given (Key Vault's default, renew at 80% of the lifetime)
  bool pfx = false;
  bool not_exportable = false;
  // cert import / export
  std::string password_env;
  std::string out;
  std::string format = "pem";
};

// ----- errors say what and where -----

std::string admin_url(const AdminOptions& o) {
  if (!o.url.empty()) return o.url;
  const char* env = std::getenv("GATEHOUSE_ADMIN_URL");
  return env && *env ? env : "http://127.0.0.1:9901";
}

int fail(std::string_view command, const VaultArgs& a, const Error& e) {
  Error shown = e;
  // A missing item: say which server was asked, since several vaults may be in reach.
  if (e.kind == ErrorKind::NotFound) shown.message += " [admin API " + admin_url(a.admin) + "]";
  return report_error(command, shown);
}

core::Unexpected usage(std::string message) {
  return unexpected(ErrorKind::InvalidArgument, std::move(message));
}

// ----- inputs -----

Result<std::string> read_file_limited(const std::string& path, size_t limit,
                                      std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(ErrorKind::Io, path + ": cannot read the " + std::string(what));
  std::string data;
  std::vector<char> buf(4096);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    data.append(buf.data(), static_cast<size_t>(in.gcount()));
    if (data.size() > limit) {
      return usage(path + ": the " + std::string(what) + " is larger than " +
                   std::to_string(limit / 1024) + " KiB");
    }
  }
  return data;
}

// The secret value from stdin (one trailing newline dropped, so `echo` and here-documents work)
// or from a file (byte for byte).
Result<std::string> secret_value(const VaultArgs& a) {
  if (a.value_stdin == !a.file.empty()) {
    return usage(
        "give the value with exactly one of --value-stdin and --file (never as an "
        "argument: arguments show in ps and shell history)");
  }
  std::string value;
  if (a.value_stdin) {
    value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (value.ends_with("\r\n")) {
      value.resize(value.size() - 2);
    } else if (value.ends_with('\n')) {
      value.pop_back();
    }
    if (value.size() > kMaxSecretInputBytes) return usage("the value is larger than 25 KiB");
  } else {
    GH_TRY(value, read_file_limited(a.file, kMaxSecretInputBytes, "secret value"));
  }
  const std::string source = a.value_stdin ? std::string("stdin") : a.file;
  if (value.empty()) return usage("the value from " + source + " is empty");
  if (!admin::is_utf8(value)) {
    return usage("the value from " + source +
                 " is not UTF-8 text; vault secrets are strings: base64-encode binary data "
                 "(and say so with --content-type)");
  }
  return value;
}

// --expires / --not-before: a duration from now ("90d", "12h") or a UTC time.
Result<json::value> time_argument(std::string_view option, const std::string& text) {
  if (text.find('T') != std::string::npos) return json::value(json::string(text));
  auto d = config::parse_duration(text, kMaxRelativeTime);
  if (!d) {
    return usage(std::string(option) + ": expected a duration from now (90d, 12h) or a UTC " +
                 "time like 2027-01-31T00:00:00Z");
  }
  const int64_t now = core::SystemClock::instance().now_unix();
  return json::value(now + std::chrono::duration_cast<std::chrono::seconds>(*d).count());
}

Result<json::object> tags_argument(const std::vector<std::string>& tags) {
  json::object out;
  for (const auto& t : tags) {
    const size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0)
      return usage("--tag: expected NAME=VALUE, got '" + t + "'");
    out[t.substr(0, eq)] = t.substr(eq + 1);
  }
  return out;
}

Result<std::string> password_from_env(const std::string& variable) {
  if (variable.empty()) return std::string();
  const char* v = std::getenv(variable.c_str());
  if (v == nullptr) {
    return usage("--password-env: the environment variable " + variable + " is not set");
  }
  return std::string(v);
}

std::string item_path(std::string_view kind, const std::string& name, std::string_view rest = {}) {
  return "/v1/vault/" + std::string(kind) + "/" + path_segment(name) + std::string(rest);
}

std::string yes_no(bool b) {
  return b ? "yes" : "no";
}

std::string or_dash(std::string s) {
  return s.empty() ? "-" : s;
}

std::string tags_text(const json::value& item) {
  std::string out;
  if (!item.is_object()) return out;
  const auto* tags = item.get_object().if_contains("tags");
  if (!tags || !tags->is_object()) return out;
  for (const auto& member : tags->get_object()) {
    if (!out.empty()) out += ",";
    out += std::string(member.key()) + "=";
    if (member.value().is_string()) out += std::string(member.value().get_string());
  }
  return out;
}

// ----- secrets -----

constexpr std::string_view kSecretSet = "vault secret set";
constexpr std::string_view kSecretGet = "vault secret get";
constexpr std::string_view kSecretList = "vault secret list";
constexpr std::string_view kSecretVersions = "vault secret versions";
constexpr std::string_view kSecretDelete = "vault secret delete";

int secret_set(const VaultArgs& a) {
  auto value = secret_value(a);
  if (!value) return report_error(kSecretSet, value.error());
  json::object body{{"value", std::move(*value)}};
  if (!a.content_type.empty()) body["content_type"] = a.content_type;
  if (a.disabled) body["enabled"] = false;
  if (!a.expires.empty()) {
    auto t = time_argument("--expires", a.expires);
    if (!t) return report_error(kSecretSet, t.error());
    body["expires"] = std::move(*t);
  }
  if (!a.not_before.empty()) {
    auto t = time_argument("--not-before", a.not_before);
    if (!t) return report_error(kSecretSet, t.error());
    body["not_before"] = std::move(*t);
  }
  auto tags = tags_argument(a.tags);
  if (!tags) return report_error(kSecretSet, tags.error());
  if (!tags->empty()) body["tags"] = std::move(*tags);
  auto r = admin_call(a.admin, "PUT", item_path("secrets", a.name), json::serialize(body));
  if (!r) return fail(kSecretSet, a, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    fmt::print("secret {} version {} is now current\n", json_string(r->body, "name"),
               json_string(r->body, "version"));
  }
  return 0;
}

int secret_get(const VaultArgs& a) {
  std::string path = item_path("secrets", a.name);
  if (!a.version.empty()) path += "?version=" + path_segment(a.version);
  auto r = admin_call(a.admin, "GET", path);
  if (!r) return fail(kSecretGet, a, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  // The value and nothing else, byte for byte, so that `$(gatehouse vault secret get x)` and
  // redirections get exactly what was stored; a terminal gets a final newline.
  const std::string value = json_string(r->body, "value");
  std::fwrite(value.data(), 1, value.size(), stdout);
  if (isatty(STDOUT_FILENO) && !value.ends_with('\n')) std::fputc('\n', stdout);
  std::fflush(stdout);
  return 0;
}

int secret_list(const VaultArgs& a) {
  auto r = admin_call(a.admin, "GET", "/v1/vault/secrets");
  if (!r) return fail(kSecretList, a, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  Table table({"NAME", "VERSION", "CONTENT TYPE", "ENABLED", "EXPIRES", "UPDATED", "TAGS"});
  for (const auto& s : json_array(r->body, "secrets")) {
    std::string content_type = or_dash(json_string(s, "content_type"));
    if (json_bool(s, "managed")) content_type += " (certificate's)";
    table.add({json_string(s, "name"), json_string(s, "version"), content_type,
               yes_no(json_bool(s, "enabled")), or_dash(json_string(s, "expires")),
               json_string(s, "updated"), tags_text(s)});
  }
  fmt::print("{}", table.empty() ? std::string("no secrets\n") : table.render());
  return 0;
}

int secret_versions(const VaultArgs& a) {
  auto r = admin_call(a.admin, "GET", item_path("secrets", a.name, "/versions"));
  if (!r) return fail(kSecretVersions, a, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  Table table({"VERSION", "CURRENT", "ENABLED", "CREATED", "NOT BEFORE", "EXPIRES"});
  for (const auto& v : json_array(r->body, "versions")) {
    table.add({json_string(v, "version"), json_bool(v, "current") ? "*" : "",
               yes_no(json_bool(v, "enabled")), json_string(v, "created"),
               or_dash(json_string(v, "not_before")), or_dash(json_string(v, "expires"))});
  }
  fmt::print("{}", table.render());
  return 0;
}

int item_delete(std::string_view command, std::string_view kind, const VaultArgs& a) {
  std::string path = item_path(kind, a.name);
  if (a.purge) path += "?purge=true";
  auto r = admin_call(a.admin, "DELETE", path);
  if (!r) return fail(command, a, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else if (a.purge) {
    fmt::print("{} purged: its versions are gone and the name is free\n", a.name);
  } else {
    fmt::print(
        "{} deleted; recoverable until {} (the name stays taken until then; --purge "
        "frees it)\n",
        a.name, json_string(r->body, "scheduled_purge"));
  }
  return 0;
}

// ----- certificates -----

constexpr std::string_view kCertCreate = "vault cert create";
constexpr std::string_view kCertImport = "vault cert import";
constexpr std::string_view kCertRenew = "vault cert renew";
constexpr std::string_view kCertList = "vault cert list";
constexpr std::string_view kCertVersions = "vault cert versions";
constexpr std::string_view kCertExport = "vault cert export";
constexpr std::string_view kCertDelete = "vault cert delete";

void print_certificate_change(std::string_view what, const json::value& c) {
  fmt::print("{} certificate {} version {}\n", what, json_string(c, "name"),
             json_string(c, "version"));
  fmt::print("  subject  {}\n  issuer   {}\n  valid    {} .. {}\n  sha256   {}\n",
             json_string(c, "subject"), json_string(c, "issuer"), json_string(c, "not_before"),
             json_string(c, "expires"), json_string(c, "thumbprint_sha256"));
  if (const std::string renewal = json_string(c, "renewal"); !renewal.empty()) {
    fmt::print("  renewal  {}\n", renewal);
  }
}

int cert_create(const VaultArgs& a) {
  json::array dns;
  for (const auto& d : a.dns_names)
    dns.emplace_back(d);
  json::object policy{{"subject", a.subject},
                      {"dns_names", std::move(dns)},
                      {"issuer", a.issuer},
                      {"validity_months", a.months},
                      {"key_type", a.key_type}};
  if (a.key_size != 0) policy["key_size"] = a.key_size;
  if (!a.curve.empty()) policy["curve"] = a.curve;
  if (a.renew_days > 0) policy["renew_days_before_expiry"] = a.renew_days;
  if (a.renew_days == 0) {  // never renewed automatically
    policy["renew_days_before_expiry"] = 0;
    policy["renew_at_lifetime_percentage"] = 0;
  }
  if (a.pfx) policy["content_type"] = "application/x-pkcs12";
  if (a.not_exportable) policy["exportable"] = false;
  json::object body{{"policy", std::move(policy)}};
  auto tags = tags_argument(a.tags);
  if (!tags) return report_error(kCertCreate, tags.error());
  if (!tags->empty()) body["tags"] = std::move(*tags);
  auto r = admin_call(a.admin, "POST", item_path("certificates", a.name), json::serialize(body));
  if (!r) return fail(kCertCreate, a, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    print_certificate_change("created", r->body);
  }
  return 0;
}

int cert_import(const VaultArgs& a) {
  auto data = read_file_limited(a.file, kMaxCertificateFileBytes, "certificate file");
  if (!data) return report_error(kCertImport, data.error());
  auto password = password_from_env(a.password_env);
  if (!password) return report_error(kCertImport, password.error());
  // PEM goes as text; anything else (PKCS#12) as base64, as Key Vault's import takes it.
  const bool pem = data->find("-----BEGIN") != std::string::npos;
  json::object body{{"value", pem ? *data : core::base64_encode(core::as_bytes(*data))}};
  if (!password->empty()) body["password"] = *password;
  auto tags = tags_argument(a.tags);
  if (!tags) return report_error(kCertImport, tags.error());
  if (!tags->empty()) body["tags"] = std::move(*tags);
  auto r = admin_call(a.admin, "POST", item_path("certificates", a.name, "/import"),
                      json::serialize(body));
  if (!r) return fail(kCertImport, a, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    print_certificate_change("imported", r->body);
  }
  return 0;
}

int cert_renew(const VaultArgs& a) {
  auto r = admin_call(a.admin, "POST", item_path("certificates", a.name, "/renew"));
  if (!r) return fail(kCertRenew, a, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    print_certificate_change("renewed", r->body);
  }
  return 0;
}

int cert_list(const VaultArgs& a) {
  auto r = admin_call(a.admin, "GET", "/v1/vault/certificates");
  if (!r) return fail(kCertList, a, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  Table table({"NAME", "VERSION", "SUBJECT", "ISSUER", "EXPIRES", "RENEWAL", "ENABLED"});
  for (const auto& c : json_array(r->body, "certificates")) {
    table.add({json_string(c, "name"), json_string(c, "version"), json_string(c, "subject"),
               json_string(c, "issuer"), json_string(c, "expires"), json_string(c, "renewal"),
               yes_no(json_bool(c, "enabled"))});
  }
  fmt::print("{}", table.empty() ? std::string("no certificates\n") : table.render());
  return 0;
}

int cert_versions(const VaultArgs& a) {
  auto r = admin_call(a.admin, "GET", item_path("certificates", a.name, "/versions"));
  if (!r) return fail(kCertVersions, a, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  Table table({"VERSION", "CURRENT", "ENABLED", "NOT BEFORE", "EXPIRES", "SHA-256"});
  for (const auto& v : json_array(r->body, "versions")) {
    table.add({json_string(v, "version"), json_bool(v, "current") ? "*" : "",
               yes_no(json_bool(v, "enabled")), json_string(v, "not_before"),
               json_string(v, "expires"), json_string(v, "thumbprint_sha256")});
  }
  fmt::print("{}", table.render());
  return 0;
}

int cert_export(const VaultArgs& a) {
  auto password = password_from_env(a.password_env);
  if (!password) return report_error(kCertExport, password.error());
  if (!password->empty() && a.format != "pfx") {
    return report_error(kCertExport, Error{ErrorKind::InvalidArgument,
                                           "--password-env applies to --format pfx only (a PEM "
                                           "export is not encrypted)"});
  }
  json::object body{{"format", a.format}};
  if (!a.version.empty()) body["version"] = a.version;
  if (!password->empty()) body["password"] = *password;
  auto r = admin_call(a.admin, "POST", item_path("certificates", a.name, "/export"),
                      json::serialize(body));
  if (!r) return fail(kCertExport, a, r.error());
  std::string data = json_string(r->body, "value");
  if (a.format == "pfx") {
    auto bytes = core::base64_decode(data);
    if (!bytes) {
      return report_error(kCertExport, Error{ErrorKind::Internal,
                                             "the admin API answered with a PKCS#12 that is not "
                                             "base64"});
    }
    data.assign(bytes->begin(), bytes->end());
  }
  // Holds a private key: only the owner may read it, from the moment it exists.
  if (auto w = core::write_file_atomic(a.out, data, 0600); !w) {
    return report_error(kCertExport, w.error());
  }
  fmt::print("wrote certificate {} version {} ({}, with its private key) to {} (mode 0600)\n",
             json_string(r->body, "name"), json_string(r->body, "version"), a.format, a.out);
  return 0;
}

// ----- registration -----

CLI::App* leaf(CLI::App* group, std::string name, std::string description,
               std::shared_ptr<VaultArgs>& args) {
  args = std::make_shared<VaultArgs>();
  CLI::App* cmd = group->add_subcommand(std::move(name), std::move(description));
  add_admin_options(*cmd, args->admin, false);
  return cmd;
}

void add_name(CLI::App* cmd, VaultArgs& a, std::string_view kind) {
  cmd->add_option("name", a.name, std::string(kind) + " name (1-127 of letters, digits, '-')")
      ->required();
}

void add_tags(CLI::App* cmd, VaultArgs& a) {
  cmd->add_option("--tag", a.tags, "tag NAME=VALUE (repeatable)");
}

void add_secret_commands(CLI::App* vault, int& exit_code) {
  CLI::App* group = vault->add_subcommand("secret", "Secrets: set, get, list, versions, delete");
  group->require_subcommand(1);
  std::shared_ptr<VaultArgs> a;

  CLI::App* set = leaf(group, "set", "Store a new version of a secret (it becomes current)", a);
  add_name(set, *a, "secret");
  set->add_flag("--value-stdin", a->value_stdin,
                "read the value from stdin (one trailing newline is dropped)");
  set->add_option("--file", a->file, "read the value from FILE, byte for byte");
  set->add_option("--content-type", a->content_type, "content type, e.g. text/plain");
  set->add_option("--expires", a->expires, "expiry: 90d from now, or 2027-01-31T00:00:00Z");
  set->add_option("--not-before", a->not_before, "not valid before: 1h from now, or a UTC time");
  set->add_flag("--disabled", a->disabled, "store the version disabled (not served)");
  add_tags(set, *a);
  set->callback([a, &exit_code] { exit_code = secret_set(*a); });

  CLI::App* get = leaf(group, "get", "Print a secret's value (only the value) on stdout", a);
  add_name(get, *a, "secret");
  get->add_option("--version", a->version, "a version id (default: the current one)");
  get->callback([a, &exit_code] { exit_code = secret_get(*a); });

  CLI::App* list = leaf(group, "list", "List secrets (current versions, no values)", a);
  list->callback([a, &exit_code] { exit_code = secret_list(*a); });

  CLI::App* versions = leaf(group, "versions", "List a secret's versions, oldest first", a);
  add_name(versions, *a, "secret");
  versions->callback([a, &exit_code] { exit_code = secret_versions(*a); });

  CLI::App* del = leaf(group, "delete", "Delete a secret (recoverable until purged)", a);
  add_name(del, *a, "secret");
  del->add_flag("--purge", a->purge, "also purge it at once: every version is gone for good");
  del->callback([a, &exit_code] { exit_code = item_delete(kSecretDelete, "secrets", *a); });
}

void add_cert_commands(CLI::App* vault, int& exit_code) {
  CLI::App* group = vault->add_subcommand(
      "cert", "Certificates: create, import, renew, list, versions, export, delete");
  group->require_subcommand(1);
  std::shared_ptr<VaultArgs> a;

  CLI::App* create = leaf(group, "create", "Issue a certificate and key from a policy", a);
  add_name(create, *a, "certificate");
  create->add_option("--subject", a->subject, "subject, e.g. CN=orders.example,O=Contoso")
      ->required();
  create->add_option("--dns", a->dns_names, "subjectAltName DNS name (repeatable)");
  create->add_option("--issuer", a->issuer, "Self (self-signed) or a configured issuer's name")
      ->capture_default_str();
  create->add_option("--months", a->months, "validity in months (1-120)")->capture_default_str();
  create->add_option("--key-type", a->key_type, "RSA or EC")->capture_default_str();
  create->add_option("--key-size", a->key_size, "RSA key size: 2048, 3072 or 4096");
  create->add_option("--curve", a->curve, "EC curve: P-256, P-384 or P-521");
  create->add_option("--renew-days", a->renew_days,
                     "renew automatically N days before expiry; 0: never (default: at 80% of "
                     "the lifetime)");
  create->add_flag("--pfx", a->pfx, "content type PKCS#12 (default PEM)");
  create->add_flag("--not-exportable", a->not_exportable, "the private key cannot be exported");
  add_tags(create, *a);
  create->callback([a, &exit_code] { exit_code = cert_create(*a); });

  CLI::App* import = leaf(group, "import", "Import a certificate with its key (PEM or PKCS#12)", a);
  add_name(import, *a, "certificate");
  import->add_option("--file", a->file, "PEM (key + chain) or PKCS#12 (.pfx/.p12) file")
      ->required();
  import->add_option("--password-env", a->password_env,
                     "environment variable holding the PKCS#12 password");
  add_tags(import, *a);
  import->callback([a, &exit_code] { exit_code = cert_import(*a);
});

CLI::App* renew = leaf(group, "renew", "Issue a new version from the stored policy now", a);
add_name(renew, *a, "certificate");
renew->callback([a, &exit_code] { exit_code = cert_renew(*a); });

CLI::App* list = leaf(group, "list", "List certificates (current versions)", a);
list->callback([a, &exit_code] { exit_code = cert_list(*a); });

CLI::App* versions = leaf(group, "versions", "List a certificate's versions", a);
add_name(versions, *a, "certificate");
versions->callback([a, &exit_code] { exit_code = cert_versions(*a); });

CLI::App* exp = leaf(group, "export", "Write a certificate and its key to a file (mode 0600)", a);
add_name(exp, *a, "certificate");
exp->add_option("--out", a->out, "file to write")->required();
exp->add_option("--format", a->format, "pem (key, then chain) or pfx (PKCS#12)")
    ->check(CLI::IsMember({"pem", "pfx"}))
    ->capture_default_str();
exp->add_option("--version", a->version, "a version id (default: the current one)");
exp->add_option("--password-env", a->password_env,
                "environment variable holding the PKCS#12 password (pfx only)");
exp->callback([a, &exit_code] { exit_code = cert_export(*a); });

CLI::App* del = leaf(group, "delete", "Delete a certificate (recoverable until purged)", a);
add_name(del, *a, "certificate");
del->add_flag("--purge", a->purge, "also purge it at once");
del->callback([a, &exit_code] { exit_code = item_delete(kCertDelete, "certificates", *a); });
}  // namespace

}  // namespace gh::cli

void add_vault_commands(CLI::App& app, int& exit_code) {
  CLI::App* vault =
      app.add_subcommand("vault", "Manage the vault's secrets and certificates (admin API)");
  vault->require_subcommand(1);
  add_secret_commands(vault, exit_code);
  add_cert_commands(vault, exit_code);
}

}  // namespace gh::cli
