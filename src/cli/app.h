#pragma once

#include "config/proxy_config.h"

namespace CLI {
class App;
}

namespace gh::cli {

/// Parses the command line and runs the chosen subcommand; returns the process exit code.
int run(int argc, char** argv);

// One registration function per command group, each in its own file (cli/<group>.cc).
// A command's callback stores its exit code in `exit_code`.
void add_serve_command(CLI::App& app, int& exit_code);
void add_dev_command(CLI::App& app, int& exit_code);
void add_config_commands(CLI::App& app, int& exit_code);
void add_policy_commands(CLI::App& app, int& exit_code);
/// Lints every policy document a configuration names (stderr); 0 when all are clean.
int lint_config_policies(const config::ProxyConfig& config);
void add_jwt_commands(CLI::App& app, int& exit_code);
void add_cert_commands(CLI::App& app, int& exit_code);
// The identity role's admin API clients (cli/admin_client.h).
void add_tenant_commands(CLI::App& app, int& exit_code);
void add_app_commands(CLI::App& app, int& exit_code);
void add_keys_commands(CLI::App& app, int& exit_code);
void add_creds_commands(CLI::App& app, int& exit_code);
/// Subscriptions managed at run time and the products (cli/subscription_cmd.cc).
void add_subscription_commands(CLI::App& app, int& exit_code);
void add_token_commands(CLI::App& app, int& exit_code);
// The vault role's admin API client (cli/vault_cmd.cc).
void add_vault_commands(CLI::App& app, int& exit_code);
void add_master_key_commands(CLI::App& app, int& exit_code);

}  // namespace gh::cli
