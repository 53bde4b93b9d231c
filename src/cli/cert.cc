#include <CLI/CLI.hpp>

#include "cli/app.h"

namespace gh::cli {

// Placeholder until the cert commands land.
void add_cert_commands(CLI::App& app, int& exit_code) {
  (void)app;
  (void)exit_code;
}

}  // namespace gh::cli
