#include <CLI/CLI.hpp>
#include <iostream>

#include "admin/admin_server.h"
#include "cli/app.h"
#include "cli/identity_role.h"
#include "cli/subscription_role.h"
#include "cli/vault_role.h"
#include "config/environment.h"
#include "gateway/server.h"

namespace gh::cli {

void add_serve_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("serve", "Run the gateway from a configuration file");
  auto config_path = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *config_path, "YAML configuration file")->required();
  cmd->callback([config_path, &exit_code] {
    gateway::Server::Options options;
    options.config_path = *config_path;
    options.env = config::process_environment();
    auto identity = std::make_shared<std::shared_ptr<identity::IdentityService>>();
    auto vault = std::make_shared<std::shared_ptr<vault::VaultService>>();
    auto subscriptions = std::make_shared<std::shared_ptr<policy::SubscriptionFeed>>();
    options.make_local_handler = with_managed_subscriptions(
        roles_factory(options.env, identity, vault), identity, subscriptions);
    options.configure_policy_services = subscriptions_hook(subscriptions);
    options.start_admin = [identity, vault](net::asio::io_context& io, net::Acceptor& acceptor,
                                            const gateway::Server& server) {
      admin::start_admin_server(io, acceptor, server, *identity, *vault);
    };
    auto server = gateway::Server::start(std::move(options));
    if (!server) {
      std::cerr << "gatehouse serve: " << server.error().message << "\n";
      exit_code = 1;
      return;
    }
    exit_code = (*server)->run();
  });
}

}  // namespace gh::cli
