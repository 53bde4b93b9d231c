#include <CLI/CLI.hpp>

#include "cli/app.h"

namespace gh::cli {

// Placeholder until the serve commands land.
void add_serve_command(CLI::App& app, int& exit_code) {
  (void)app;
  (void)exit_code;
}

}  // namespace gh::cli
