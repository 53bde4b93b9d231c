// `gatehouse policy lint FILE`: checks an APIM policy document the way the gateway loads it,
// without serving: every element known and allowed in its section and scope, every attribute
// valid, every expression within the supported subset. Prints every problem with file:line.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <string>

#include "cli/app.h"
#include "config/environment.h"
#include "config/proxy_config_loader.h"
#include "core/references.h"
#include "crypto/key.h"
#include "gateway/policy_set.h"
#include "policy/document.h"
#include "policy/pipeline.h"

namespace gh::cli {
namespace {

struct LintOptions {
  std::vector<std::string> files;
  std::string scope = "api";
  std::string config;
};

int lint(const LintOptions& o) {
  static const std::map<std::string, policy::Scope> kScopes{
      {"global", policy::Scope::Global},
      {"product", policy::Scope::Product},
      {"api", policy::Scope::Api},
      {"operation", policy::Scope::Operation}};
  auto scope = kScopes.find(o.scope);
  if (scope == kScopes.end()) {
    fmt::print(stderr, "--scope must be global, product, api or operation\n");
    return 2;
  }
  // Named values and fragments: from a configuration when given; otherwise every {{name}} is
  // taken as defined (its value cannot be known) and left as written.
  policy::NamedValues named;
  policy::Fragments fragments;
  bool named_from_config = false;
  if (!o.config.empty()) {
    auto cfg = config::load_proxy_config(o.config, config::process_environment());
    if (!cfg) {
      fmt::print(stderr, "{}\n", cfg.error().message);
      return 1;
    }
    auto inputs = gateway::load_policy_inputs(*cfg);
    if (!inputs) {
      fmt::print(stderr, "{}\n", inputs.error().message);
      return 1;
    }
    named = std::move(inputs->named_values);
    fragments = std::move(inputs->fragments);
    named_from_config = true;
  }
  int problems = 0;
  for (const auto& file : o.files) {
    auto text = crypto::read_file(file);
    if (!text) {
      fmt::print(stderr, "{}\n", text.error().message);
      ++problems;
      continue;
    }
    if (!named_from_config) {
      static const std::regex kRef(R"(\{\{([A-Za-z0-9._-]{1,256})\}\})");
      for (std::sregex_iterator it(text->begin(), text->end(), kRef), end; it != end; ++it) {
        std::string name = (*it)[1];
        named.emplace(name, policy::NamedValue{"{{" + name + "}}", false});
      }
    }
    auto doc = policy::parse_policy_document(*text, file, named, fragments);
    if (!doc) {
      fmt::print("{}\n", doc.error().message);
      ++problems;
      continue;
    }
    auto found = policy::lint_policy_document(*doc, scope->second);
    for (const auto& line : found.lines)
      fmt::print("{}\n", line);
    if (found.empty()) {
      fmt::print("{}: ok\n", file);
    } else {
      problems += static_cast<int>(found.lines.size());
    }
  }
  return problems == 0 ? 0 : 1;
}

}  // namespace

namespace {

// Lint runs without the vault role: a named value from the vault reads as a placeholder, so
// that the documents using it are still checked (the reference itself is checked at start).
class PlaceholderResolver : public core::ReferenceResolver {
 public:
  Result<std::string> read(std::string_view reference) override {
    return "vault-value-of-" + std::string(reference.substr(reference.rfind('/') + 1));
  }
  std::string stamp(std::string_view) override { return {}; }
};

}  // namespace

int lint_config_policies(const config::ProxyConfig& cfg) {
  if (cfg.vault && !core::has_resolver("vault"))
    core::register_resolver("vault", std::make_shared<PlaceholderResolver>());
  auto inputs = gateway::load_policy_inputs(cfg);
  if (!inputs) {
    fmt::print(stderr, "{}\n", inputs.error().message);
    return 1;
  }
  int problems = 0;
  auto check = [&](const config::PolicySource& src, policy::Scope scope) {
    if (src.empty()) return;
    auto doc = gateway::parse_policy_source(src, *inputs);
    if (!doc) {
      fmt::print(stderr, "{}\n", doc.error().message);
      ++problems;
      return;
    }
    auto found = policy::lint_policy_document(*doc, scope);
    for (const auto& line : found.lines)
      fmt::print(stderr, "{}\n", line);
    problems += static_cast<int>(found.lines.size());
  };
  check(cfg.policies.global, policy::Scope::Global);
  for (const auto& p : cfg.products)
    check(p.policy, policy::Scope::Product);
  for (const auto& a : cfg.apis) {
    check(a.policy, policy::Scope::Api);
    for (const auto& op : a.operations)
      check(op.policy, policy::Scope::Operation);
  }
  return problems == 0 ? 0 : 1;
}

void add_policy_commands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand("policy", "APIM policy documents");
  group->require_subcommand(1);
  CLI::App* lint_cmd = group->add_subcommand(
      "lint",
      "Check policy XML files as the gateway loads them: unknown or misplaced elements, bad "
      "attributes, unsupported expressions (each with file:line); exit 1 on any problem");
  auto o = std::make_shared<LintOptions>();
  lint_cmd->add_option("FILE", o->files, "policy documents (root <policies>)")->required();
  lint_cmd
      ->add_option("--scope", o->scope,
                   "scope the documents are for: global, product, api, operation")
      ->capture_default_str();
  lint_cmd->add_option("--config", o->config,
                       "take named values and fragments from this gateway configuration");
  lint_cmd->callback([o, &exit_code] { exit_code = lint(*o); });
}

}  // namespace gh::cli
