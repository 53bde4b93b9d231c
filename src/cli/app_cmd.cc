// `gatehouse app ...`: application registrations and their credentials, roles, assignments and
// federated credentials, through the admin REST API (cli/admin_client.h). Never prints a secret
// except once, when `app secret add` creates it.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/admin_client.h"
#include "cli/app.h"

namespace gh::cli {
namespace {

namespace json = boost::json;

constexpr std::string_view kCommand = "app";
constexpr size_t kMaxCertificateFileBytes = 60 * 1024;  // the API takes 64 KiB bodies

struct AppArgs {
  AdminOptions admin;
  std::string app;  // client id
  std::string name;
  std::string client_id;
  std::vector<std::string> identifier_uris;
  int token_version = 0;
  bool assignment_required = false;
  bool strict_assertion_replay = false;
  std::string file;
  std::string id;  // key id, thumbprint, assignment id, federated name
  std::string lifetime;
  std::string value;
  std::string description;
  std::string resource;
  std::string role;
  std::string issuer;
  std::string subject;
  std::string audience;
};

std::string yes_no(bool b) {
  return b ? "yes" : "no";
}

std::string join(const json::array& values, std::string_view separator = ", ") {
  std::string out;
  for (const auto& v : values) {
    if (!v.is_string()) continue;
    if (!out.empty()) out += separator;
    out += std::string(v.get_string());
  }
  return out;
}

// /v1/tenants/{tenant}/applications[/{app}][rest]
Result<std::string> app_path(const AppArgs& a, bool with_app, std::string_view rest = {}) {
  GH_TRY(std::string tenant, resolve_tenant(a.admin));
  std::string path = "/v1/tenants/" + path_segment(tenant) + "/applications";
  if (with_app) path += "/" + path_segment(a.app);
  return path + std::string(rest);
}

void print_application(const json::value& app) {
  Table fields({"FIELD", "VALUE"});
  fields.add({"client id", json_string(app, "client_id")});
  fields.add({"name", json_string(app, "display_name")});
  fields.add({"tenant", json_string(app, "tenant_id")});
  fields.add({"service principal", json_string(app, "service_principal_id")});
  fields.add({"identifier uris", join(json_array(app, "identifier_uris"))});
  fields.add({"token version", std::to_string(json_int(app, "access_token_version"))});
  fields.add({"assignment required", yes_no(json_bool(app, "assignment_required"))});
  fields.add({"strict assertion replay", yes_no(json_bool(app, "strict_assertion_replay"))});
  fields.add({"enabled", yes_no(json_bool(app, "enabled"))});
  fields.add({"created", json_string(app, "created_at")});
  fmt::print("{}", fields.render());

  const auto section = [](std::string_view title, const Table& table) {
    fmt::print("\n{}:\n{}", title, table.empty() ? std::string("  (none)\n") : table.render());
  };
  Table roles({"VALUE", "ID", "DISPLAY NAME"});
  for (const auto& r : json_array(app, "roles"))
    roles.add({json_string(r, "value"), json_string(r, "id"), json_string(r, "display_name")});
  section("Roles", roles);
  Table certs({"KEY ID", "THUMBPRINT", "NAME", "START", "END"});
  for (const auto& c : json_array(app, "certificates")) {
    certs.add({json_string(c, "key_id"), json_string(c, "thumbprint"),
               json_string(c, "display_name"), json_string(c, "start"), json_string(c, "end")});
  }
  section("Certificates", certs);
  Table secrets({"KEY ID", "HINT", "NAME", "START", "END"});
  for (const auto& s : json_array(app, "secrets")) {
    secrets.add({json_string(s, "key_id"), json_string(s, "hint") + "...",
                 json_string(s, "display_name"), json_string(s, "start"), json_string(s, "end")});
  }
  section("Secrets", secrets);
  Table federated({"NAME", "ISSUER", "SUBJECT", "AUDIENCE"});
  for (const auto& f : json_array(app, "federated")) {
    federated.add({json_string(f, "name"), json_string(f, "issuer"), json_string(f, "subject"),
                   json_string(f, "audience")});
  }
  section("Federated credentials", federated);
  Table assignments({"ID", "RESOURCE", "ROLE"});
  for (const auto& x : json_array(app, "assignments")) {
    assignments.add({json_string(x, "id"), json_string(x, "resource"), json_string(x, "role")});
  }
  section("Role assignments", assignments);
}

// ----- commands -----

int create(const AppArgs& a) {
  json::object body{{"display_name", a.name}};
  if (!a.client_id.empty()) body["client_id"] = a.client_id;
  if (!a.identifier_uris.empty()) {
    json::array uris;
    for (const auto& u : a.identifier_uris)
      uris.emplace_back(u);
    body["identifier_uris"] = std::move(uris);
  }
  if (a.token_version != 0) body["access_token_version"] = a.token_version;
  if (a.assignment_required) body["assignment_required"] = true;
  if (a.strict_assertion_replay) body["strict_assertion_replay"] = true;
  auto path = app_path(a, false);
  if (!path) return report_error(kCommand, path.error());
  auto r = admin_call(a.admin, "POST", *path, json::serialize(body));
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    fmt::print("created application {} ({})\n", json_string(r->body, "client_id"),
               json_string(r->body, "display_name"));
  }
  return 0;
}

int list(const AppArgs& a) {
  auto path = app_path(a, false);
  if (!path) return report_error(kCommand, path.error());
  auto r = admin_call(a.admin, "GET", *path);
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  Table table({"CLIENT ID", "NAME", "IDENTIFIER URIS", "ROLES", "CERTS", "SECRETS", "FEDERATED"});
  for (const auto& app : json_array(r->body, "applications")) {
    table.add({json_string(app, "client_id"), json_string(app, "display_name"),
               join(json_array(app, "identifier_uris")),
               std::to_string(json_array(app, "roles").size()),
               std::to_string(json_array(app, "certificates").size()),
               std::to_string(json_array(app, "secrets").size()),
               std::to_string(json_array(app, "federated").size())});
  }
  if (table.empty()) {
    fmt::print("no applications\n");
  } else {
    fmt::print("{}", table.render());
  }
  return 0;
}

int show(const AppArgs& a) {
  auto path = app_path(a, true);
  if (!path) return report_error(kCommand, path.error());
  auto r = admin_call(a.admin, "GET", *path);
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    print_application(r->body);
  }
  return 0;
}

// DELETE of `rest` under the application; prints `done` on success.
int remove(const AppArgs& a, std::string_view rest, std::string_view done) {
  auto path = app_path(a, true, rest);
  if (!path) return report_error(kCommand, path.error());
  auto r = admin_call(a.admin, "DELETE", *path);
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(json::object{{"deleted", true}});
  } else {
    fmt::print("{}\n", done);
  }
  return 0;
}

int cert_add(const AppArgs& a) {
  std::ifstream in(a.file, std::ios::binary);
  if (!in) return report_error(kCommand, Error(ErrorKind::Io, a.file + ": cannot read the file"));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxCertificateFileBytes) {
    return report_error(kCommand, Error(ErrorKind::InvalidArgument,
                                        a.file + ": larger than 60 KiB; give only the "
                                                 "certificate (no chain, no private key)"));
  }
  if (text.str().find("PRIVATE KEY") != std::string::npos) {
    // Only the public certificate belongs in the directory.
    return report_error(kCommand,
                        Error(ErrorKind::InvalidArgument,
                              a.file + ": contains a private key; give only the certificate"));
  }
  std::string body;
  std::string_view content_type = "application/json";
  if (text.str().find("-----BEGIN") != std::string::npos) {
    json::object o{{"certificate", text.str()}};
    if (!a.name.empty()) o["display_name"] = a.name;
    body = json::serialize(o);
  } else {
    body = text.str();  // DER
    content_type = "application/pkix-cert";
  }
  std::string rest = "/certificates";
  if (content_type != "application/json" && !a.name.empty()) {
    rest += "?display_name=" + path_segment(a.name);
  }
  auto path = app_path(a, true, rest);
  if (!path) return report_error(kCommand, path.error());
  auto r = admin_call(a.admin, "POST", *path, std::move(body), content_type);
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    fmt::print("added certificate {} (thumbprint {}, valid until {})\n",
               json_string(r->body, "key_id"), json_string(r->body, "thumbprint"),
               json_string(r->body, "end"));
  }
  return 0;
}

int secret_add(const AppArgs& a) {
  json::object body;
  if (!a.name.empty()) body["display_name"] = a.name;
  if (!a.lifetime.empty()) body["lifetime"] = a.lifetime;
  auto path = app_path(a, true, "/secrets");
  if (!path) return report_error(kCommand, path.error());
  auto r = admin_call(a.admin, "POST", *path, json::serialize(body));
  if (!r) return report_error(kCommand, r.error());
  fmt::print(stderr,
             "warning: this is the only time the secret value is shown; store it now (it cannot "
             "be shown again, only replaced)\n");
  if (a.admin.json) {
    print_json(r->body);
  } else {
    Table table({"KEY ID", "NAME", "EXPIRES", "SECRET"});
    table.add({json_string(r->body, "key_id"), json_string(r->body, "display_name"),
               json_string(r->body, "end"), json_string(r->body, "secret_text")});
    fmt::print("{}", table.render());
  }
  return 0;
}

int role_add(const AppArgs& a) {
  json::object body{{"value", a.value}};
  if (!a.name.empty()) body["display_name"] = a.name;
  if (!a.description.empty()) body["description"] = a.description;
  auto path = app_path(a, true, "/roles");
  if (!path) return report_error(kCommand, path.error());
  auto r = admin_call(a.admin, "POST", *path, json::serialize(body));
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    fmt::print("added role {} ({})\n", json_string(r->body, "value"), json_string(r->body, "id"));
  }
  return 0;
}

int assign(const AppArgs& a) {
  json::object body{{"resource", a.resource}, {"role", a.role}};
  auto path = app_path(a, true, "/assignments");
  if (!path) return report_error(kCommand, path.error());
  auto r = admin_call(a.admin, "POST", *path, json::serialize(body));
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    fmt::print("assigned role {} of {} to {} (assignment {})\n", json_string(r->body, "role"),
               json_string(r->body, "resource"), json_string(r->body, "client_id"),
               json_string(r->body, "id"));
  }
  return 0;
}

int unassign(const AppArgs& a) {
  auto tenant = resolve_tenant(a.admin);
  if (!tenant) return report_error(kCommand, tenant.error());
  auto r =
      admin_call(a.admin, "DELETE",
                 "/v1/tenants/" + path_segment(*tenant) + "/assignments/" + path_segment(a.id));
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(json::object{{"deleted", true}});
  } else {
    fmt::print("removed assignment {}\n", a.id);
  }
  return 0;
}

int federated_add(const AppArgs& a) {
  json::object body{{"name", a.name}, {"issuer", a.issuer}, {"subject", a.subject}};
  if (!a.audience.empty()) body["audience"] = a.audience;
  if (!a.description.empty()) body["description"] = a.description;
  auto path = app_path(a, true, "/federated");
  if (!path) return report_error(kCommand, path.error());
  auto r = admin_call(a.admin, "POST", *path, json::serialize(body));
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    fmt::print("added federated credential {} (issuer {}, subject {}, audience {})\n",
               json_string(r->body, "name"), json_string(r->body, "issuer"),
               json_string(r->body, "subject"), json_string(r->body, "audience"));
  }
  return 0;
}

// A leaf command with the admin options and its own argument storage.
CLI::App* leaf(CLI::App& parent, std::string name, std::string description,
               std::shared_ptr<AppArgs>& args) {
  args = std::make_shared<AppArgs>();
  CLI::App* cmd = parent.add_subcommand(std::move(name), std::move(description));
  add_admin_options(*cmd, args->admin, true);
  return cmd;
}

void add_app_arg(CLI::App* cmd, AppArgs& a) {
  cmd->add_option("APP", a.app, "the application's client id")->required();
}

}  // namespace

void add_app_commands(CLI::App& app, int& exit_code) {
  CLI::App* group =
      app.add_subcommand("app", "Manage applications, credentials and roles (admin API)");
  group->require_subcommand(1);
  std::shared_ptr<AppArgs> a;

  CLI::App* create_cmd = leaf(*group, "create", "Register an application", a);
  create_cmd->add_option("NAME", a->name, "display name")->required();
  create_cmd->add_option("--client-id", a->client_id, "fixed client id (default: generated)");
  create_cmd->add_option("--identifier-uri", a->identifier_uris,
                         "identifier URI as a resource, e.g. api://orders (repeatable)");
  create_cmd
      ->add_option("--token-version", a->token_version,
                   "access token version for this resource: 1 or 2 (default 1)")
      ->check(CLI::IsMember({1, 2}));
  create_cmd->add_flag("--assignment-required", a->assignment_required,
                       "clients need a role assignment to get tokens for it");
  create_cmd->add_flag("--strict-assertion-replay", a->strict_assertion_replay,
                       "every client assertion jti is single-use");
  create_cmd->callback([a, &exit_code] { exit_code = create(*a); });

  CLI::App* list_cmd = leaf(*group, "list", "List the tenant's applications", a);
  list_cmd->callback([a, &exit_code] { exit_code = list(*a); });

  CLI::App* show_cmd = leaf(*group, "show", "Show an application and its credentials", a);
  add_app_arg(show_cmd, *a);
  show_cmd->callback([a, &exit_code] { exit_code = show(*a); });

  CLI::App* delete_cmd = leaf(*group, "delete", "Delete an application and its credentials", a);
  add_app_arg(delete_cmd, *a);
  delete_cmd->callback(
      [a, &exit_code] { exit_code = remove(*a, "", "deleted application " + a->app); });

  CLI::App* cert = group->add_subcommand("cert", "Certificate credentials");
  cert->require_subcommand(1);
  CLI::App* cert_add_cmd = leaf(*cert, "add", "Add a certificate (PEM or DER) as a credential", a);
  add_app_arg(cert_add_cmd, *a);
  cert_add_cmd->add_option("FILE", a->file, "certificate file (public part only)")->required();
  cert_add_cmd->add_option("--name", a->name, "display name");
  cert_add_cmd->callback([a, &exit_code] { exit_code = cert_add(*a); });
  CLI::App* cert_remove_cmd = leaf(*cert, "remove", "Remove a certificate credential", a);
  add_app_arg(cert_remove_cmd, *a);
  cert_remove_cmd->add_option("ID", a->id, "key id or SHA-1 thumbprint")->required();
  cert_remove_cmd->callback([a, &exit_code] {
    exit_code = remove(*a, "/certificates/" + path_segment(a->id), "removed certificate " + a->id);
  });

  CLI::App* secret = group->add_subcommand("secret", "Client secrets");
  secret->require_subcommand(1);
  CLI::App* secret_add_cmd =
      leaf(*secret, "add", "Create a client secret (its value is printed once)", a);
  add_app_arg(secret_add_cmd, *a);
  secret_add_cmd->add_option("--name", a->name, "display name");
  secret_add_cmd->add_option("--lifetime", a->lifetime, "validity, e.g. 90d (default 180d)");
  secret_add_cmd->callback([a, &exit_code] { exit_code = secret_add(*a); });
  CLI::App* secret_remove_cmd = leaf(*secret, "remove", "Remove a client secret", a);
  add_app_arg(secret_remove_cmd, *a);
  secret_remove_cmd->add_option("KEY_ID", a->id, "the secret's key id")->required();
  secret_remove_cmd->callback([a, &exit_code] {
    exit_code = remove(*a, "/secrets/" + path_segment(a->id), "removed secret " + a->id);
  });

  CLI::App* role = group->add_subcommand("role", "App roles");
  role->require_subcommand(1);
  CLI::App* role_add_cmd = leaf(*role, "add", "Define an app role on a resource application", a);
  add_app_arg(role_add_cmd, *a);
  role_add_cmd->add_option("VALUE", a->value, "what the roles claim carries, e.g. Orders.Read")
      ->required();
  role_add_cmd->add_option("--display-name", a->name, "display name");
  role_add_cmd->add_option("--description", a->description, "description");
  role_add_cmd->callback([a, &exit_code] { exit_code = role_add(*a); });

  CLI::App* assign_cmd = leaf(*group, "assign", "Grant an app role of a resource to a client", a);
  add_app_arg(assign_cmd, *a);
  assign_cmd->add_option("--resource", a->resource, "resource client id or identifier URI")
      ->required();
  assign_cmd->add_option("--role", a->role, "role value or id")->required();
  assign_cmd->callback([a, &exit_code] { exit_code = assign(*a); });

  CLI::App* unassign_cmd = leaf(*group, "unassign", "Remove a role assignment", a);
  unassign_cmd->add_option("ASSIGNMENT_ID", a->id, "the assignment's id")->required();
  unassign_cmd->callback([a, &exit_code] { exit_code = unassign(*a); });

  CLI::App* federated = group->add_subcommand("federated", "Federated identity credentials");
  federated->require_subcommand(1);
  CLI::App* fed_add_cmd =
      leaf(*federated, "add", "Trust an external issuer's token for this application", a);
  add_app_arg(fed_add_cmd, *a);
  fed_add_cmd->add_option("--name", a->name, "credential name (3-120 of A-Za-z0-9-_.~)")
      ->required();
  fed_add_cmd->add_option("--issuer", a->issuer, "issuer URL, compared exactly")->required();
  fed_add_cmd->add_option("--subject", a->subject, "subject, compared exactly")->required();
  fed_add_cmd->add_option("--audience", a->audience,
                          "audience (default api://AzureADTokenExchange)");
  fed_add_cmd->add_option("--description", a->description, "description");
  fed_add_cmd->callback([a, &exit_code] { exit_code = federated_add(*a); });
  CLI::App* fed_remove_cmd = leaf(*federated, "remove", "Remove a federated credential", a);
  add_app_arg(fed_remove_cmd, *a);
  fed_remove_cmd->add_option("NAME", a->id, "the credential's name")->required();
  fed_remove_cmd->callback([a, &exit_code] {
    exit_code =
        remove(*a, "/federated/" + path_segment(a->id), "removed federated credential " + a->id);
  });
}

}  // namespace gh::cli
