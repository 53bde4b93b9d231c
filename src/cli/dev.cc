#include <CLI/CLI.hpp>

#include "cli/app.h"

namespace gh::cli {

// Placeholder until the dev commands land.
void add_dev_command(CLI::App& app, int& exit_code) {
  (void)app;
  (void)exit_code;
}

}  // namespace gh::cli
