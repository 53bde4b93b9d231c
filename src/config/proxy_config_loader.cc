#include "config/proxy_config_loader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "core/references.h"

namespace gh::config {
namespace {

// Configuration files are small; a cap keeps a mistaken path (a log, a device) from eating memory.
constexpr std::uintmax_t kMaxConfigBytes = 4 * 1024 * 1024;

struct FileCheck {
  std::string key;  // e.g. listeners[0].tls.certificates[1].key
  const std::string* path;
  int line;
};

std::string describe_errno(int err) {
  return std::generic_category().message(err);
}

// Opens and closes the file: proves it exists, is a regular file and is readable by this user.
std::optional<std::string> unreadable(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return describe_errno(ec.value());
  if (!std::filesystem::is_regular_file(status)) return std::string("not a regular file");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return describe_errno(errno);
  ::close(fd);
  return std::nullopt;
}

}  // namespace

Result<ProxyConfig> load_proxy_config(const std::string& path, const Environment& env) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    return unexpected(ErrorKind::Io, fmt::format("{}: cannot read the configuration file: {}", path,
                                                 describe_errno(ec.value())));
  }
  if (size > kMaxConfigBytes) {
    return unexpected(
        ErrorKind::InvalidArgument,
        fmt::format("{}: the configuration file is larger than {} bytes", path, kMaxConfigBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return unexpected(ErrorKind::Io, fmt::format("{}: cannot open the configuration file: {}", path,
                                                 describe_errno(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return unexpected(ErrorKind::Io, fmt::format("{}: cannot read the configuration file", path));
  }
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  const std::string base_dir =
      ec ? std::filesystem::path(path).parent_path().string() : absolute.parent_path().string();
  return parse_proxy_config(text.str(), path, base_dir, env);
}

Status check_referenced_files(const ProxyConfig& config) {
  std::vector<FileCheck> checks;
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const Listener& l = config.listeners[i];
    if (!l.tls) continue;
    for (size_t c = 0; c < l.tls->certificates.size(); ++c) {
      const auto prefix = fmt::format("listeners[{}].tls.certificates[{}]", i, c);
      checks.push_back({prefix + ".cert", &l.tls->certificates[c].cert, l.where.line});
      checks.push_back({prefix + ".key", &l.tls->certificates[c].key, l.where.line});
    }
    if (!l.tls->client_ca.empty()) {
      checks.push_back(
          {fmt::format("listeners[{}].tls.client_ca", i), &l.tls->client_ca, l.where.line});
    }
  }
  for (size_t i = 0; i < config.backends.size(); ++i) {
    const Backend& b = config.backends[i];
    const auto add = [&](std::string_view key, const std::string& path) {
      if (!path.empty()) {
        checks.push_back({fmt::format("backends[{}].tls.{}", i, key), &path, b.where.line});
      }
    };
    add("ca", b.tls.ca);
    add("client_cert", b.tls.client_cert);
    add("client_key", b.tls.client_key);
  }

  for (size_t i = 0; i < config.subscriptions.size(); ++i) {
    const Subscription& s = config.subscriptions[i];
    if (!s.primary_key_file.empty()) {
      checks.push_back({fmt::format("subscriptions[{}].primary_key_file", i), &s.primary_key_file,
                        s.where.line});
    }
    if (!s.secondary_key_file.empty()) {
      checks.push_back({fmt::format("subscriptions[{}].secondary_key_file", i),
                        &s.secondary_key_file, s.where.line});
    }
  }

  std::vector<FileCheck> optional_checks;  // created when missing; checked only when present
  if (config.identity) {
    const IdentityConfig& id = *config.identity;
    if (!id.master_key_file.empty()) {
      checks.push_back({"identity.master_key_file", &id.master_key_file, id.line});
    }
    if (!id.admin_token_file.empty()) {
      optional_checks.push_back({"identity.admin_token_file", &id.admin_token_file, id.line});
    }
    for (size_t t = 0; t < id.tenants.size(); ++t) {
      const auto& apps = id.tenants[t].applications;
      for (size_t a = 0; a < apps.size(); ++a) {
        for (size_t c = 0; c < apps[a].certificates.size(); ++c) {
          const DeclaredCertificate& cert = apps[a].certificates[c];
          checks.push_back({fmt::format("identity.tenants[{}].applications[{}].certificates[{}]."
                                        "file",
                                        t, a, c),
                            &cert.file, cert.line});
        }
      }
    }
  }

  if (config.vault) {
    const VaultConfig& v = *config.vault;
    for (size_t i = 0; i < v.issuers.size(); ++i) {
      checks.push_back(
          {fmt::format("vault.issuers[{}].cert", i), &v.issuers[i].cert, v.issuers[i].line});
      checks.push_back(
          {fmt::format("vault.issuers[{}].key", i), &v.issuers[i].key, v.issuers[i].line});
    }
    for (size_t i = 0; i < v.secrets.size(); ++i) {
      if (!v.secrets[i].file.empty())
        checks.push_back(
            {fmt::format("vault.secrets[{}].file", i), &v.secrets[i].file, v.secrets[i].line});
    }
    for (size_t i = 0; i < v.certificates.size(); ++i) {
      if (!v.certificates[i].file.empty())
        checks.push_back({fmt::format("vault.certificates[{}].file", i), &v.certificates[i].file,
                          v.certificates[i].line});
    }
  }

  std::vector<std::string> problems;
  // Paths are left out of messages: they may have been substituted from the environment.
  for (const FileCheck& check : checks) {
    if (core::is_reference(*check.path)) {
      // Resolved when the roles start; here only whether a role can resolve it.
      if (check.path->starts_with("vault:") && !config.vault) {
        problems.push_back(fmt::format("{}:{}: {}: a vault: reference needs a vault section",
                                       config.source_file, check.line, check.key));
      }
      continue;
    }
    if (auto why = unreadable(*check.path)) {
      problems.push_back(fmt::format("{}:{}: {}: cannot read the file ({})", config.source_file,
                                     check.line, check.key, *why));
    }
  }
  for (const FileCheck& check : optional_checks) {
    std::error_code ec;
    if (!std::filesystem::exists(*check.path, ec) && !ec) continue;
    if (auto why = unreadable(*check.path)) {
      problems.push_back(fmt::format("{}:{}: {}: cannot read the file ({})", config.source_file,
                                     check.line, check.key, *why));
    }
  }
  const auto check_log = [&](std::string_view key, const std::string& log) {
    if (log == "stdout" || log == "stderr" || log == "off") return;
    std::filesystem::path dir = std::filesystem::path(log).parent_path();
    if (dir.empty()) dir = ".";
    std::error_code ec;
    const bool is_dir = std::filesystem::is_directory(dir, ec);
    if (!is_dir || ::access(dir.c_str(), W_OK | X_OK) != 0) {
      problems.push_back(fmt::format("{}: {}: the log file's directory is missing or not writable",
                                     config.source_file, key));
    }
  };
  check_log("access_log", config.access_log);
  if (config.identity) check_log("identity.audit_log", config.identity->audit_log);
  if (config.vault) check_log("vault.audit_log", config.vault->audit_log);
  if (problems.empty()) return {};
  std::string message;
  for (const auto& p : problems) {
    if (!message.empty()) message.push_back('\n');
    message += p;
  }
  return unexpected(ErrorKind::NotFound, std::move(message));
}

}  // namespace gh::config
