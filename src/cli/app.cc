#include "cli/app.h"

#include <CLI/CLI.hpp>

namespace gh::cli {

int run(int argc, char** argv) {
  CLI::App app{"Gatehouse: API gateway and workload-identity service"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gatehouse 0.1.0");
  int exit_code = 0;
  add_serve_command(app, exit_code);
  add_dev_command(app, exit_code);
  add_config_commands(app, exit_code);
  add_policy_commands(app, exit_code);
  add_jwt_commands(app, exit_code);
  add_cert_commands(app, exit_code);
  add_tenant_commands(app, exit_code);
  add_app_commands(app, exit_code);
  add_keys_commands(app, exit_code);
  add_creds_commands(app, exit_code);
  add_subscription_commands(app, exit_code);
  add_token_commands(app, exit_code);
  add_vault_commands(app, exit_code);
  add_master_key_commands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

}  // namespace gh::cli
