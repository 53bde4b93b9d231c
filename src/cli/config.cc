// `gatehouse config ...`: configuration tools that never start serving.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/app.h"
#include "config/environment.h"
#include "config/proxy_config_loader.h"
#include "vault/vault_service.h"

namespace gh::cli {
namespace {

// Loads, validates and checks the files `path` refers to; returns the exit code.
int check_config(const std::string& path) {
  auto config = config::load_proxy_config(path, config::process_environment());
  if (!config) {
    fmt::print(stderr, "{}\n", config.error().message);
    return 1;
  }
  if (auto files = config::check_referenced_files(*config); !files) {
    fmt::print(stderr, "{}\n", files.error().message);
    return 1;
  }
  if (config->vault) {
    if (auto ok = vault::check_declared_certificates(*config->vault); !ok) {
      fmt::print(stderr, "{}: {}\n", path, ok.error().message);
      return 1;
    }
  }
  if (lint_config_policies(*config) != 0) return 1;
  fmt::print("{}: ok ({} listeners, {} apis, {} backends)\n", path, config->listeners.size(),
             config->apis.size(), config->backends.size());
  return 0;
}

}  // namespace

void add_config_commands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand("config", "Configuration tools");
  group->require_subcommand(1);
  CLI::App* check = group->add_subcommand(
      "check", "Load and validate a proxy configuration file without serving; exit 1 on errors");
  auto file = std::make_shared<std::string>();
  check->add_option("FILE", *file, "the YAML configuration file")->required();
  check->callback([file, &exit_code] { exit_code = check_config(*file); });
}

}  // namespace gh::cli
