// `gatehouse keys ...`: the identity role's token-signing keys, through the admin REST API.
// Only public facts (kid, algorithm, schedule) are ever shown.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <memory>

#include "cli/admin_client.h"
#include "cli/app.h"

namespace gh::cli {
namespace {

namespace json = boost::json;

constexpr std::string_view kCommand = "keys";

struct KeysArgs {
  AdminOptions admin;
  bool emergency = false;
};

int list(const KeysArgs& a) {
  auto r = admin_call(a.admin, "GET", "/v1/keys");
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  Table table({"KID", "ALG", "STATE", "PUBLISHED", "SIGNS FROM", "RETIRES", "REMOVED"});
  for (const auto& k : json_array(r->body, "keys")) {
    table.add({json_string(k, "kid"), json_string(k, "alg"), json_string(k, "state"),
               json_string(k, "publish"), json_string(k, "activate"), json_string(k, "retire"),
               json_string(k, "remove")});
  }
  fmt::print("{}", table.empty() ? std::string("no signing keys\n") : table.render());
  return 0;
}

int rotate(const KeysArgs& a) {
  auto r = admin_call(a.admin, "POST", "/v1/keys/rotate",
                      json::serialize(json::object{{"emergency", a.emergency}}));
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  fmt::print("new signing key {} ({}) signs from now\n", json_string(r->body, "kid"),
             json_string(r->body, "alg"));
  fmt::print("{}\n", a.emergency ? "the previous keys were unpublished: tokens they signed no "
                                   "longer validate"
                                 : "the previous key stays published until its tokens expire");
  return 0;
}

}  // namespace

void add_keys_commands(CLI::App& app, int& exit_code) {
  CLI::App* group =
      app.add_subcommand("keys", "List and rotate the token-signing keys (admin API)");
  group->require_subcommand(1);

  auto l = std::make_shared<KeysArgs>();
  CLI::App* list_cmd = group->add_subcommand("list", "Show the published signing keys");
  add_admin_options(*list_cmd, l->admin, false);
  list_cmd->callback([l, &exit_code] { exit_code = list(*l); });

  auto r = std::make_shared<KeysArgs>();
  CLI::App* rotate_cmd =
      group->add_subcommand("rotate", "Make a new key that signs from now (the old one retires)");
  add_admin_options(*rotate_cmd, r->admin, false);
  rotate_cmd->add_flag("--emergency", r->emergency,
                       "also unpublish the old keys at once (after a key compromise)");
  rotate_cmd->callback([r, &exit_code] { exit_code = rotate(*r); });
}

}  // namespace gh::cli
