// `gatehouse master-key rotate`: moves everything sealed with the master key (the identity
// role's signing keys, the vault's data keys) to a new master key, offline, in one transaction.
// Values are never decrypted for the vault (only data keys are re-wrapped); signing keys are
// opened and sealed again in memory. Run it with the server stopped: a running server keeps the
// old key in memory and would seal new items with it.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>

#include "cli/app.h"
#include "config/environment.h"
#include "config/proxy_config_loader.h"
#include "core/clock.h"
#include "core/files.h"
#include "crypto/key.h"
#include "identity/identity_service.h"
#include "identity/master_key_rotation.h"
#include "store/database.h"
#include "vault/vault_store.h"

namespace gh::cli {
namespace {

struct RotateArgs {
  std::string config;
  std::string new_key_file;
};

int fail(std::string_view message) {
  fmt::print(stderr, "gatehouse master-key rotate: {}\n", message);
  return 1;
}

int rotate(const RotateArgs& a) {
  const auto env = config::process_environment();
  auto cfg = config::load_proxy_config(a.config, env);
  if (!cfg) return fail(cfg.error().message);
  if (!cfg->identity) return fail(a.config + ": no identity section, so nothing is sealed");
  const config::IdentityConfig& id = *cfg->identity;

  auto current = identity::load_master_key(id, env);
  if (!current) return fail("the current master key: " + current.error().message);
  auto next = identity::MasterKey::load(a.new_key_file, {});
  if (!next) return fail("--new-key-file: " + next.error().message);
  // The same key twice would "succeed" and change nothing: say so instead.
  if (auto probe = current->seal(core::as_bytes(std::string_view("probe")), "probe");
      probe && next->open(*probe, "probe")) {
    return fail("--new-key-file holds the current master key");
  }

  const std::string db_path = (std::filesystem::path(id.data_dir) / "gatehouse.db").string();
  if (!core::file_exists(db_path)) return fail("no database at " + db_path);
  auto db = store::Database::open(db_path);
  if (!db) return fail(db.error().message);
  std::shared_ptr<store::Database> shared(std::move(*db));

  size_t signing_keys = 0;
  bool vault_rewrapped = false;
  auto done = shared->transaction([&]() -> Status {
    GH_TRY(signing_keys, identity::reseal_signing_keys(*shared, *current, *next));
    if (cfg->vault) {
      GH_TRY(auto store,
             vault::VaultStore::open(shared, *current, {}, core::SystemClock::instance()));
      GH_TRY_STATUS(store->rewrap(*next));
      vault_rewrapped = true;
    }
    return {};
  });
  if (!done) return fail(done.error().message + " (nothing was changed)");

  // Where the server will look for the key next time: the file it came from gets the new key.
  std::string key_file = id.master_key_file;
  std::string env_value;
  if (!id.master_key_env.empty()) env_value = env(id.master_key_env).value_or(std::string{});
  if (key_file.empty() && env_value.empty())
    key_file = (std::filesystem::path(id.data_dir) / "master.key").string();
  fmt::print("re-sealed {} signing key(s){}\n", signing_keys,
             vault_rewrapped ? " and re-wrapped every vault data key" : "");
  if (!key_file.empty()) {
    auto text = crypto::read_file(a.new_key_file);
    if (!text) return fail(text.error().message);
    if (auto w = core::write_file_atomic(key_file, *text, 0600); !w) {
      return fail("the database now needs the new key, but writing it to " + key_file +
                  " failed (" + w.error().message + "): copy " + a.new_key_file + " there");
    }
    fmt::print("{} now holds the new master key; start Gatehouse as before\n", key_file);
  } else {
    fmt::print("set {} to the new key (the contents of {}) before starting Gatehouse\n",
               id.master_key_env, a.new_key_file);
  }
  return 0;
}

}  // namespace

void add_master_key_commands(CLI::App& app, int& exit_code) {
  auto* cmd =
      app.add_subcommand("master-key", "The master key that seals keys and secrets at rest");
  cmd->require_subcommand(1);
  auto args = std::make_shared<RotateArgs>();
  auto* rot =
      cmd->add_subcommand("rotate",
                          "Re-seal signing keys and re-wrap vault data keys with a new master key "
                          "(server stopped)");
  rot->add_option("-c,--config", args->config, "YAML configuration file")->required();
  rot->add_option("--new-key-file", args->new_key_file,
                  "32 random bytes (raw, hex or base64), mode 0600, e.g. from "
                  "`openssl rand -out new.key 32`")
      ->required();
  rot->callback([args, &exit_code] { exit_code = rotate(*args); });
}

}  // namespace gh::cli
