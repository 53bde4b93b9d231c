// `gatehouse creds expiring`: every certificate and secret of every application that ends
// within a window (or has ended), soonest first, through the admin REST API, and the vault's
// secrets and certificates that do when the server has a vault. Exit code 0 whatever it finds:
// the list is the answer, for people and for monitoring scripts (--json).

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <memory>
#include <optional>

#include "cli/admin_client.h"
#include "cli/app.h"

namespace gh::cli {
namespace {

namespace json = boost::json;

constexpr std::string_view kCommand = "creds";

struct CredsArgs {
  AdminOptions admin;
  std::string within = "30d";
};

// The vault's items expiring within the window, or nullopt when the server has no vault (or is
// older than the vault: both answer 404).
Result<std::optional<json::value>> vault_expiring(const CredsArgs& a) {
  auto r = admin_call(a.admin, "GET", "/v1/vault/expiring?within=" + path_segment(a.within));
  if (!r) {
    if (r.error().kind == ErrorKind::NotFound) return std::optional<json::value>();
    return unexpected(r.error());
  }
  return std::optional<json::value>(std::move(r->body));
}

int expiring(const CredsArgs& a) {
  auto r = admin_call(a.admin, "GET", "/v1/credentials/expiring?within=" + path_segment(a.within));
  if (!r) return report_error(kCommand, r.error());
  auto vault = vault_expiring(a);
  if (!vault) return report_error(kCommand, vault.error());
  if (a.admin.json) {
    // The identity API's answer, with the vault's items added when there is a vault.
    if (*vault && r->body.is_object()) {
      r->body.as_object()["vault"] = json_array(**vault, "items");
    }
    print_json(r->body);
    return 0;
  }
  Table table({"TENANT", "APP", "KIND", "ID / THUMBPRINT", "ENDS", "DAYS LEFT"});
  for (const auto& c : json_array(r->body, "credentials")) {
    std::string tenant = json_string(c, "tenant_name");
    if (tenant.empty()) tenant = json_string(c, "tenant_id");
    std::string app = json_string(c, "app_name");
    app += app.empty() ? json_string(c, "client_id") : " (" + json_string(c, "client_id") + ")";
    const bool cert = json_string(c, "kind") == "certificate";
    const std::string id = cert ? json_string(c, "thumbprint")
                                : json_string(c, "key_id") + " (" + json_string(c, "hint") + "...)";
    const int64_t days = json_int(c, "days_left");
    table.add({tenant, app, json_string(c, "kind"), id, json_string(c, "end"),
               json_bool(c, "expired") ? "expired" : std::to_string(days)});
  }
  Table vault_table({"VAULT ITEM", "KIND", "VERSION", "EXPIRES", "DAYS LEFT", "AUTO-RENEW"});
  if (*vault) {
    for (const auto& item : json_array(**vault, "items")) {
      const int64_t days = json_int(item, "days_left");
      vault_table.add({json_string(item, "name"), json_string(item, "kind"),
                       json_string(item, "version"), json_string(item, "expires"),
                       json_bool(item, "expired") ? "expired" : std::to_string(days),
                       json_bool(item, "auto_renew") ? "yes" : "no"});
    }
  }
  if (table.empty() && vault_table.empty()) {
    fmt::print("no certificate or secret ends within {}\n", a.within);
    return 0;
  }
  if (!table.empty()) fmt::print("{}", table.render());
  if (!vault_table.empty()) {
    if (!table.empty()) fmt::print("\n");
    fmt::print("{}", vault_table.render());
  }
  return 0;
}

}  // namespace

void add_creds_commands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand("creds", "Report on application credentials (admin API)");
  group->require_subcommand(1);
  auto a = std::make_shared<CredsArgs>();
  CLI::App* expiring_cmd = group->add_subcommand(
      "expiring", "List certificates and secrets ending within a window, or already ended");
  add_admin_options(*expiring_cmd, a->admin, false);
  expiring_cmd->add_option("--within", a->within, "window: 30d, 12h, ... (default 30d)")
      ->capture_default_str();
  expiring_cmd->callback([a, &exit_code] { exit_code = expiring(*a); });
}

}  // namespace gh::cli
