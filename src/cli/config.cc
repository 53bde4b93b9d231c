#include <CLI/CLI.hpp>

#include "cli/app.h"

namespace gh::cli {

// Placeholder until the config commands land.
void add_config_commands(CLI::App& app, int& exit_code) {
  (void)app;
  (void)exit_code;
}

}  // namespace gh::cli
