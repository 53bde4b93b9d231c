// `gatehouse tenant ...`: the directory's tenants, through the admin REST API.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/admin_client.h"
#include "cli/app.h"

namespace gh::cli {
namespace {

namespace json = boost::json;

constexpr std::string_view kCommand = "tenant";

struct TenantArgs {
  AdminOptions admin;
  std::string name;
  std::string id;
  std::vector<std::string> aliases;
};

int list(const TenantArgs& a) {
  auto r = admin_call(a.admin, "GET", "/v1/tenants");
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  Table table({"ID", "NAME", "ALIASES"});
  for (const auto& t : json_array(r->body, "tenants")) {
    std::string aliases;
    for (const auto& alias : json_array(t, "aliases")) {
      if (!alias.is_string()) continue;
      if (!aliases.empty()) aliases += ", ";
      aliases += std::string(alias.get_string());
    }
    table.add({json_string(t, "id"), json_string(t, "display_name"), aliases});
  }
  fmt::print("{}", table.empty() ? std::string("no tenants\n") : table.render());
  return 0;
}

int create(const TenantArgs& a) {
  json::object body{{"display_name", a.name}};
  if (!a.id.empty()) body["id"] = a.id;
  if (!a.aliases.empty()) {
    json::array aliases;
    for (const auto& alias : a.aliases)
      aliases.emplace_back(alias);
    body["aliases"] = std::move(aliases);
  }
  auto r = admin_call(a.admin, "POST", "/v1/tenants", json::serialize(body));
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    fmt::print("created tenant {} ({})\n", json_string(r->body, "id"),
               json_string(r->body, "display_name"));
  }
  return 0;
}

}  // namespace

void add_tenant_commands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand("tenant", "List and create tenants (admin API)");
  group->require_subcommand(1);

  auto l = std::make_shared<TenantArgs>();
  CLI::App* list_cmd = group->add_subcommand("list", "List tenants");
  add_admin_options(*list_cmd, l->admin, false);
  list_cmd->callback([l, &exit_code] { exit_code = list(*l); });

  auto c = std::make_shared<TenantArgs>();
  CLI::App* create_cmd = group->add_subcommand("create", "Create a tenant");
  add_admin_options(*create_cmd, c->admin, false);
  create_cmd->add_option("NAME", c->name, "display name")->required();
  create_cmd->add_option("--id", c->id, "fixed tenant id, a GUID (default: generated)");
  create_cmd->add_option("--alias", c->aliases, "extra name for the tenant in URLs (repeatable)");
  create_cmd->callback([c, &exit_code] { exit_code = create(*c); });
}

}  // namespace gh::cli
