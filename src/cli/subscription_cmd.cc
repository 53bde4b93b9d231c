// `gatehouse subscription ...` and `gatehouse product list`: subscriptions managed at run time
// and the products they may be scoped to, through the admin REST API (cli/admin_client.h,
// admin/subscription_api.h). A key is printed only by the commands that make it (create and
// regenerate); afterwards only its three-character hint can be shown.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <memory>
#include <string>

#include "cli/admin_client.h"
#include "cli/app.h"

namespace gh::cli {
namespace {

namespace json = boost::json;

constexpr std::string_view kCommand = "subscription";

struct SubscriptionArgs {
  AdminOptions admin;
  std::string id;
  std::string name;
  std::string scope;
  std::string state;
  std::string slot;  // primary | secondary
  bool key_only = false;
};

std::string sub_path(const SubscriptionArgs& a, std::string_view rest = {}) {
  return "/v1/subscriptions/" + path_segment(a.id) + std::string(rest);
}

std::string hint(const json::value& sub, std::string_view slot) {
  const json::value* keys = sub.is_object() ? sub.as_object().if_contains("keys") : nullptr;
  if (!keys || !keys->is_object()) return "-";
  const json::value* k = keys->as_object().if_contains(slot);
  return k ? json_string(*k, "hint") + "..." : "-";
}

void print_subscription(const json::value& s) {
  fmt::print("id:         {}\n", json_string(s, "id"));
  fmt::print("name:       {}\n", json_string(s, "name"));
  fmt::print("scope:      {}\n", json_string(s, "scope"));
  fmt::print("state:      {}\n", json_string(s, "state"));
  fmt::print("source:     {}\n", json_string(s, "source"));
  fmt::print("created:    {}\n", json_string(s, "created_at"));
  fmt::print("primary:    {}\n", hint(s, "primary"));
  fmt::print("secondary:  {}\n", hint(s, "secondary"));
}

int list(const SubscriptionArgs& a) {
  auto r = admin_call(a.admin, "GET", "/v1/subscriptions");
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  Table table({"ID", "NAME", "SCOPE", "STATE", "SOURCE", "CREATED", "PRIMARY", "SECONDARY"});
  for (const auto& s : json_array(r->body, "subscriptions")) {
    table.add({json_string(s, "id"), json_string(s, "name"), json_string(s, "scope"),
               json_string(s, "state"), json_string(s, "source"), json_string(s, "created_at"),
               hint(s, "primary"), hint(s, "secondary")});
  }
  fmt::print("{}", table.empty() ? std::string("no subscriptions\n") : table.render());
  return 0;
}

int create(const SubscriptionArgs& a) {
  json::object body{{"scope", a.scope}};
  if (!a.id.empty()) body["id"] = a.id;
  if (!a.name.empty()) body["name"] = a.name;
  if (!a.state.empty()) body["state"] = a.state;
  auto r = admin_call(a.admin, "POST", "/v1/subscriptions", json::serialize(body));
  if (!r) return report_error(kCommand, r.error());
  fmt::print(stderr,
             "warning: this is the only time the keys are shown; store them now (they cannot be "
             "shown again, only regenerated)\n");
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  print_subscription(r->body);
  fmt::print("primary key:    {}\n", json_string(r->body, "primary_key"));
  fmt::print("secondary key:  {}\n", json_string(r->body, "secondary_key"));
  return 0;
}

int show(const SubscriptionArgs& a) {
  auto r = admin_call(a.admin, "GET", sub_path(a));
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    print_subscription(r->body);
  }
  return 0;
}

int keys(const SubscriptionArgs& a) {
  auto r = admin_call(a.admin, "GET", sub_path(a, "/keys"));
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  Table table({"KEY", "HINT", "CHANGED"});
  for (std::string_view slot : {"primary", "secondary"}) {
    const json::value* k = r->body.as_object().if_contains(slot);
    table.add({std::string(slot), k ? json_string(*k, "hint") + "..." : "-",
               k ? json_string(*k, "changed_at") : "-"});
  }
  fmt::print("{}", table.render());
  fmt::print("keys are kept only as digests: a lost key is regenerated, not shown\n");
  return 0;
}

int regenerate(const SubscriptionArgs& a) {
  auto r =
      admin_call(a.admin, "POST", sub_path(a, "/keys/" + path_segment(a.slot) + "/regenerate"));
  if (!r) return report_error(kCommand, r.error());
  if (a.key_only) {
    fmt::print("{}\n", json_string(r->body, "value"));
    return 0;
  }
  fmt::print(stderr,
             "warning: this is the only time the new key is shown; the old {} key no longer "
             "works\n",
             a.slot);
  if (a.admin.json) {
    print_json(r->body);
  } else {
    fmt::print("new {} key of subscription {}: {}\n", a.slot, json_string(r->body, "id"),
               json_string(r->body, "value"));
  }
  return 0;
}

int set_state(const SubscriptionArgs& a, std::string_view state) {
  auto r =
      admin_call(a.admin, "PATCH", sub_path(a), json::serialize(json::object{{"state", state}}));
  if (!r) return report_error(kCommand, r.error());
  if (a.admin.json) {
    print_json(r->body);
  } else {
    fmt::print("subscription {} is {}\n", json_string(r->body, "id"),
               json_string(r->body, "state"));
  }
  return 0;
}

int remove(const SubscriptionArgs& a) {
  auto r = admin_call(a.admin, "DELETE", sub_path(a));
  if (!r) return report_error(kCommand, r.error());
  if (!a.admin.json) fmt::print("deleted subscription {}\n", a.id);
  return 0;
}

int products(const SubscriptionArgs& a) {
  auto r = admin_call(a.admin, "GET", "/v1/products");
  if (!r) return report_error("product", r.error());
  if (a.admin.json) {
    print_json(r->body);
    return 0;
  }
  Table table({"ID", "NAME", "SUBSCRIPTION REQUIRED", "APIS"});
  for (const auto& p : json_array(r->body, "products")) {
    std::string apis;
    for (const auto& api : json_array(p, "apis")) {
      if (!api.is_string()) continue;
      if (!apis.empty()) apis += ", ";
      apis += std::string(api.get_string());
    }
    table.add({json_string(p, "id"), json_string(p, "name"),
               json_bool(p, "subscription_required") ? "yes" : "no", apis});
  }
  fmt::print("{}", table.empty() ? std::string("no products\n") : table.render());
  return 0;
}

CLI::App* leaf(CLI::App& parent, std::string name, std::string description,
               std::shared_ptr<SubscriptionArgs>& args, bool with_id) {
  args = std::make_shared<SubscriptionArgs>();
  CLI::App* cmd = parent.add_subcommand(std::move(name), std::move(description));
  add_admin_options(*cmd, args->admin, false);
  if (with_id) cmd->add_option("ID", args->id, "the subscription's id")->required();
  return cmd;
}

}  // namespace

void add_subscription_commands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand(
      "subscription", "Manage subscriptions and their keys at run time (admin API)");
  group->require_subcommand(1);
  std::shared_ptr<SubscriptionArgs> a;

  CLI::App* cmd = leaf(*group, "list", "List the subscriptions (managed and declared)", a, false);
  cmd->callback([a, &exit_code] { exit_code = list(*a); });

  cmd = leaf(*group, "create", "Create a subscription with a generated primary and secondary key",
             a, false);
  cmd->add_option("--scope", a->scope, "/, /apis, /apis/<api> or /products/<product>")->required();
  cmd->add_option("--id", a->id, "fixed id (default: generated)");
  cmd->add_option("--name", a->name, "display name (default: the id)");
  cmd->add_option("--state", a->state, "active (default), suspended, submitted, ...");
  cmd->callback([a, &exit_code] { exit_code = create(*a); });

  cmd = leaf(*group, "show", "Show a subscription", a, true);
  cmd->callback([a, &exit_code] { exit_code = show(*a); });

  cmd = leaf(*group, "keys", "Show the keys' hints and when each was last changed", a, true);
  cmd->callback([a, &exit_code] { exit_code = keys(*a); });

  cmd = leaf(*group, "regenerate",
             "Replace the primary or secondary key (the old one stops working)", a, true);
  cmd->add_option("KEY", a->slot, "primary or secondary")
      ->required()
      ->check(CLI::IsMember({"primary", "secondary"}));
  cmd->add_flag("--key-only", a->key_only, "print only the new key (for scripts)");
  cmd->callback([a, &exit_code] { exit_code = regenerate(*a); });

  cmd = leaf(*group, "suspend", "Suspend a subscription: its keys are refused", a, true);
  cmd->callback([a, &exit_code] { exit_code = set_state(*a, "suspended"); });

  cmd = leaf(*group, "activate", "Activate a subscription: its keys work again", a, true);
  cmd->callback([a, &exit_code] { exit_code = set_state(*a, "active"); });

  cmd = leaf(*group, "delete", "Delete a subscription", a, true);
  cmd->callback([a, &exit_code] { exit_code = remove(*a); });

  CLI::App* product = app.add_subcommand("product", "The configured products (admin API)");
  product->require_subcommand(1);
  cmd = leaf(*product, "list", "List the products subscriptions can be scoped to", a, false);
  cmd->callback([a, &exit_code] { exit_code = products(*a); });
}

}  // namespace gh::cli
