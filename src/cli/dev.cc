// `gatehouse dev`: Gatehouse on embedded defaults, for a laptop. A data directory with a dev CA
// and a TLS certificate (reused on the next start), the demo API behind the gateway on one HTTPS
// port, and `dev.env` with everything a person or a script needs to call it.

#include <arpa/inet.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "admin/admin_server.h"
#include "cli/app.h"
#include "config/environment.h"
#include "config/value_parsers.h"
#include "core/clock.h"
#include "core/files.h"
#include "crypto/key.h"
#include "gateway/demo_backend.h"
#include "gateway/server.h"
#include "x509/cert_builder.h"
#include "x509/cert_loader.h"

namespace gh::cli {
namespace {

constexpr int64_t kRenewWithinSeconds = 30LL * 24 * 3600;

struct DevOptions {
  std::string data_dir = "gatehouse-dev";
  std::string listen = "127.0.0.1:8443";
  std::string admin = "127.0.0.1:9901";
};

struct DevPki {
  x509::Certificate ca;
  crypto::EvpPkeyPtr ca_key;
};

bool fresh(const x509::Certificate& cert) {
  return cert.not_after() - core::SystemClock::instance().now_unix() > kRenewWithinSeconds;
}

Result<std::pair<x509::Certificate, crypto::EvpPkeyPtr>> load_pair(const std::string& cert_path,
                                                                   const std::string& key_path) {
  GH_TRY(std::string pem, crypto::read_file(cert_path));
  GH_TRY(auto certs, x509::load_certificates(pem));
  if (certs.empty()) return unexpected(ErrorKind::InvalidArgument, cert_path + ": no certificate");
  GH_TRY(std::string key_pem, crypto::read_file(key_path));
  GH_TRY(auto key, crypto::load_private_key(key_pem));
  return std::make_pair(std::move(certs[0]), std::move(key));
}

Result<void> write_pair(const std::string& cert_path, const std::string& cert_pem,
                        const std::string& key_path, const EVP_PKEY* key) {
  GH_TRY(std::string key_pem, crypto::private_key_pem(key));
  GH_TRY_STATUS(core::write_file_atomic(key_path, key_pem, 0600));
  return core::write_file_atomic(cert_path, cert_pem, 0644);
}

/// The dev CA: reused while it has more than 30 days left, else made anew (P-256, 5 years).
Result<DevPki> ensure_ca(const std::string& dir, bool& created) {
  std::string cert_path = dir + "/ca.pem";
  std::string key_path = dir + "/ca.key";
  created = false;
  if (core::file_exists(cert_path) && core::file_exists(key_path)) {
    auto pair = load_pair(cert_path, key_path);
    if (pair && fresh(pair->first) &&
        X509_check_private_key(pair->first.get(), pair->second.get()) == 1) {
      return DevPki{std::move(pair->first), std::move(pair->second)};
    }
  }
  GH_TRY(auto key, crypto::generate_ec("P-256"));
  x509::CertSpec spec{"CN=Gatehouse Dev CA,O=Gatehouse dev", {}, 5 * 365, true};
  GH_TRY(auto ca, x509::make_self_signed(key.get(), spec, core::SystemClock::instance()));
  GH_TRY_STATUS(write_pair(cert_path, ca.pem(), key_path, key.get()));
  created = true;
  return DevPki{std::move(ca), std::move(key)};
}

bool covers(const x509::Certificate& cert, const x509::SubjectAltNames& wanted) {
  auto have = cert.subject_alt_names();
  for (const auto& d : wanted.dns) {
    if (std::find(have.dns.begin(), have.dns.end(), d) == have.dns.end()) return false;
  }
  for (const auto& ip : wanted.ip) {
    if (std::find(have.ip.begin(), have.ip.end(), ip) == have.ip.end()) return false;
  }
  return true;
}

/// The listener's certificate (leaf + dev CA), reissued when missing, near expiry, issued by
/// another CA, or not covering the listen host.
Result<void> ensure_tls_cert(const std::string& dir, const DevPki& pki, const std::string& host,
                             bool ca_created) {
  std::string cert_path = dir + "/tls.pem";
  std::string key_path = dir + "/tls.key";
  x509::SubjectAltNames sans;
  sans.dns = {"localhost"};
  sans.ip = {"127.0.0.1", "::1"};
  unsigned char probe[16];
  bool host_is_ip =
      inet_pton(AF_INET, host.c_str(), probe) == 1 || inet_pton(AF_INET6, host.c_str(), probe) == 1;
  auto& list = host_is_ip ? sans.ip : sans.dns;
  if (!host.empty() && host != "0.0.0.0" && host != "::" &&
      std::find(list.begin(), list.end(), host) == list.end()) {
    list.push_back(host);
  }
  if (!ca_created && core::file_exists(cert_path) && core::file_exists(key_path)) {
    auto pair = load_pair(cert_path, key_path);
    if (pair && fresh(pair->first) && covers(pair->first, sans) &&
        X509_verify(pair->first.get(), pki.ca_key.get()) == 1) {
      return {};
    }
  }
  GH_TRY(auto key, crypto::generate_ec("P-256"));
  x509::CertSpec spec{"CN=localhost,O=Gatehouse dev", sans, 365, false};
  GH_TRY(auto leaf, x509::make_issued(key.get(), spec, pki.ca, pki.ca_key.get(),
                                      core::SystemClock::instance()));
  return write_pair(cert_path, leaf.pem() + pki.ca.pem(), key_path, key.get());
}

std::string quote_yaml(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string dev_config(const DevOptions& o) {
  return "# Written by `gatehouse dev` at every start; edit a copy and run it with\n"
         "# `gatehouse serve --config FILE` to keep your changes.\n"
         "listeners:\n"
         "  - name: dev-https\n"
         "    address: " +
         quote_yaml(o.listen) +
         "\n"
         "    tls:\n"
         "      certificates:\n"
         "        - cert: tls.pem\n"
         "          key: tls.key\n"
         "admin:\n"
         "  address: " +
         quote_yaml(o.admin) +
         "\n"
         "apis:\n"
         "  - name: demo\n"
         "    path: /demo\n"
         "    backend_url: ${GATEHOUSE_DEMO_BACKEND}\n"
         "access_log: access.log\n";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

int run_dev(const DevOptions& o) {
  auto listen = config::parse_address(o.listen);
  if (!listen) {
    std::cerr << "gatehouse dev: --listen: " << listen.error().message << "\n";
    return 2;
  }
  std::error_code fec;
  std::string dir = std::filesystem::absolute(o.data_dir, fec).lexically_normal().string();
  if (!dir.empty() && dir.back() == '/') dir.pop_back();
  if (auto made = core::make_directories(dir, 0700); !made) {
    std::cerr << "gatehouse dev: " << made.error().message << "\n";
    return 1;
  }
  bool ca_created = false;
  auto pki = ensure_ca(dir, ca_created);
  if (!pki) {
    std::cerr << "gatehouse dev: dev CA: " << pki.error().message << "\n";
    return 1;
  }
  if (auto tls = ensure_tls_cert(dir, *pki, listen->host, ca_created); !tls) {
    std::cerr << "gatehouse dev: TLS certificate: " << tls.error().message << "\n";
    return 1;
  }
  auto demo = gateway::DemoBackend::start();
  if (!demo) {
    std::cerr << "gatehouse dev: " << demo.error().message << "\n";
    return 1;
  }
  const std::string config_path = dir + "/gatehouse.yaml";
  std::string url_host =
      listen->host.find(':') != std::string::npos ? "[" + listen->host + "]" : listen->host;
  const std::string authority = "https://" + url_host + ":" + std::to_string(listen->port);
  std::string env = "# Written by `gatehouse dev`: source it (. " + dir + "/dev.env) and go.\n";
  env += "export GATEHOUSE_AUTHORITY=" + shell_quote(authority) + "\n";
  env += "export GATEHOUSE_CA_BUNDLE=" + shell_quote(dir + "/ca.pem") + "\n";
  env += "export GATEHOUSE_ADMIN_URL=" + shell_quote("http://" + o.admin) + "\n";
  env += "export DEMO_API_URL=" + shell_quote(authority + "/demo") + "\n";
  for (const auto& [path, text] :
       {std::pair{config_path, dev_config(o)}, std::pair{dir + "/dev.env", env}}) {
    if (auto w = core::write_file_atomic(path, text, 0644); !w) {
      std::cerr << "gatehouse dev: " << w.error().message << "\n";
      return 1;
    }
  }

  gateway::Server::Options options;
  options.config_path = config_path;
  auto process_env = config::process_environment();
  std::string backend_url = "http://127.0.0.1:" + std::to_string((*demo)->port());
  options.env = [process_env, backend_url](std::string_view name) -> std::optional<std::string> {
    if (name == "GATEHOUSE_DEMO_BACKEND") return backend_url;
    return process_env(name);
  };
  options.start_admin = [](net::asio::io_context& io, net::Acceptor& acceptor,
                           const gateway::Server& server) {
    admin::start_admin_server(io, acceptor, server, nullptr);
  };
  auto server = gateway::Server::start(std::move(options));
  if (!server) {
    std::cerr << "gatehouse dev: " << server.error().message << "\n";
    return 1;
  }
  std::cout << "\nGatehouse dev is running.\n"
            << "  gateway   " << authority << "  (TLS certificate from the dev CA)\n"
            << "  demo API  " << authority << "/demo\n"
            << "  admin     http://" << o.admin << "/healthz and /metrics\n"
            << "  data dir  " << dir << (ca_created ? "  (new dev CA)" : "  (reused)") << "\n"
            << "  logs      " << dir << "/access.log\n\n"
            << "Next, in another shell:\n"
            << "  . " << dir << "/dev.env\n"
            << "  curl --cacert \"$GATEHOUSE_CA_BUNDLE\" \"$DEMO_API_URL/hello\"\n\n"
            << "Stop with Ctrl-C (in-flight requests finish first).\n"
            << std::flush;
  return (*server)->run();
}

}  // namespace

void add_dev_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<DevOptions>();
  auto* cmd = app.add_subcommand("dev", "Run Gatehouse on embedded defaults (dev CA, demo API)");
  cmd->add_option("--data-dir", opts->data_dir, "Data directory (created; reused on restart)")
      ->capture_default_str();
  cmd->add_option("--listen", opts->listen, "HTTPS address of the gateway")->capture_default_str();
  cmd->add_option("--admin", opts->admin, "Address of the admin listener")->capture_default_str();
  cmd->callback([opts, &exit_code] { exit_code = run_dev(*opts); });
}

}  // namespace gh::cli
