// `gatehouse dev`: Gatehouse on embedded defaults, for a laptop. A data directory with a dev CA
// and a TLS certificate, the SQLite store, a demo tenant with a resource app `api://demo` (role
// Demo.Read) and a client app holding a generated certificate and a secret; the identity
// endpoints and the demo API behind the gateway on one HTTPS port; and `dev.env` with everything
// a person or a script needs to get a token and call the API. A second start reuses all of it.

#include <arpa/inet.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "admin/admin_server.h"
#include "cli/app.h"
#include "cli/identity_role.h"
#include "cli/subscription_role.h"
#include "cli/vault_role.h"
#include "config/environment.h"
#include "config/value_parsers.h"
#include "core/clock.h"
#include "core/files.h"
#include "crypto/key.h"
#include "crypto/random.h"
#include "gateway/demo_backend.h"
#include "gateway/server.h"
#include "identity/secret_hash.h"
#include "x509/cert_builder.h"
#include "x509/cert_loader.h"

namespace gh::cli {
namespace {

constexpr int64_t kRenewWithinSeconds = 30LL * 24 * 3600;

struct DevOptions {
  std::string data_dir = "gatehouse-dev";
  std::string listen = "127.0.0.1:8443";
  std::string admin = "127.0.0.1:9901";
  std::string vault = "127.0.0.1:8444";
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

/// The demo tenant's stable identifiers and the demo secret, kept in `dev-state` (0600) so
/// that a second start reuses them.
struct DevState {
  std::string tenant_id;
  std::string api_client_id;
  std::string client_id;
  std::string client_secret;
  std::string subscription_key;
};

Result<DevState> ensure_state(const std::string& dir) {
  const std::string path = dir + "/dev-state";
  std::map<std::string, std::string> kv;
  if (core::file_exists(path)) {
    GH_TRY(std::string text, crypto::read_file(path));
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  DevState st{kv["tenant_id"], kv["api_client_id"], kv["client_id"], kv["client_secret"],
              kv["subscription_key"]};
  bool changed = false;
  for (std::string* id : {&st.tenant_id, &st.api_client_id, &st.client_id}) {
    if (id->empty()) {
      *id = crypto::random_uuid();
      changed = true;
    }
  }
  if (st.client_secret.empty()) {
    st.client_secret = identity::generate_secret();
    changed = true;
  }
  if (st.subscription_key.empty()) {  // APIM's keys are 32 hexadecimal digits
    st.subscription_key = crypto::random_hex(16);
    changed = true;
  }
  if (changed) {
    std::string text = "# Written by `gatehouse dev`: the demo tenant's identifiers.\n";
    text += "tenant_id=" + st.tenant_id + "\napi_client_id=" + st.api_client_id +
            "\nclient_id=" + st.client_id + "\nclient_secret=" + st.client_secret +
            "\nsubscription_key=" + st.subscription_key + "\n";
    GH_TRY_STATUS(core::write_file_atomic(path, text, 0600));
  }
  return st;
}

/// The demo client's credential: a self-signed RSA-2048 certificate, as Entra apps register
/// them. `demo-client.pem` holds key and certificate (what MSAL and azure-identity read);
/// `demo-client.crt` only the certificate (what the app registration holds).
Result<void> ensure_client_cert(const std::string& dir) {
  const std::string both = dir + "/demo-client.pem";
  const std::string crt = dir + "/demo-client.crt";
  if (core::file_exists(both) && core::file_exists(crt)) {
    auto pair = load_pair(crt, both);
    if (pair && fresh(pair->first) &&
        X509_check_private_key(pair->first.get(), pair->second.get()) == 1) {
      return {};
    }
  }
  GH_TRY(auto key, crypto::generate_rsa(2048));
  x509::CertSpec spec{"CN=demo-client,O=Gatehouse dev", {}, 365, false};
  GH_TRY(auto cert, x509::make_self_signed(key.get(), spec, core::SystemClock::instance()));
  GH_TRY(std::string key_pem, crypto::private_key_pem(key.get()));
  GH_TRY_STATUS(core::write_file_atomic(both, key_pem + cert.pem(), 0600));
  return core::write_file_atomic(crt, cert.pem(), 0644);
}

std::string quote_yaml(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

/// The demo API is protected as the seeds protect theirs: a subscription key, then validate-jwt
/// against the identity role's own OpenID configuration (audience, a role, and azpacr = 2: the
/// token must come from a certificate, not a secret).
std::string demo_policy(const DevState& st) {
  return "    subscription_required: true\n"
         "    policy_xml: |\n"
         "      <policies>\n"
         "        <inbound>\n"
         "          <base />\n"
         "          <validate-jwt header-name=\"Authorization\" require-scheme=\"Bearer\"\n"
         "              failed-validation-httpcode=\"401\">\n"
         "            <openid-config url=\"{{identity-openid-config}}\" />\n"
         "            <audiences>\n"
         "              <audience>api://demo</audience>\n"
         "              <audience>" +
         st.api_client_id +
         "</audience>\n"
         "            </audiences>\n"
         "            <required-claims>\n"
         "              <claim name=\"roles\" match=\"any\"><value>Demo.Read</value></claim>\n"
         "              <claim name=\"azpacr\"><value>2</value></claim>\n"
         "            </required-claims>\n"
         "          </validate-jwt>\n"
         "        </inbound>\n"
         "      </policies>\n";
}

std::string dev_config(const DevOptions& o, const std::string& dir, const DevState& st,
                       const std::string& authority) {
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
         "  - name: dev-vault\n"
         "    address: " +
         quote_yaml(o.vault) +
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
         "    backend_url: ${GATEHOUSE_DEMO_BACKEND}\n" +
         demo_policy(st) +
         "subscriptions:\n"
         "  - id: demo\n"
         "    name: Demo subscription\n"
         "    scope: /apis/demo\n"
         "    primary_key: ${DEMO_SUBSCRIPTION_KEY}\n"
         "named_values:\n"
         "  - name: identity-openid-config\n"
         "    value: " +
         quote_yaml(authority + "/" + st.tenant_id + "/v2.0/.well-known/openid-configuration") +
         "\n"
         "policies:\n"
         "  fetch_ca: ca.pem  # the dev CA signed the identity role's TLS certificate\n"
         "access_log: access.log\n"
         "identity:\n"
         "  data_dir: " +
         quote_yaml(dir) +
         "\n"
         "  audit_log: " +
         quote_yaml(dir + "/audit.log") +
         "\n"
         "  admin_token_file: " +
         quote_yaml(dir + "/admin.token") +
         "\n"
         "  listeners: [dev-https]\n"
         "  tenants:\n"
         "    - id: " +
         st.tenant_id +
         "\n"
         "      name: Gatehouse dev\n"
         "      applications:\n"
         "        - client_id: " +
         st.api_client_id +
         "\n"
         "          name: demo-api\n"
         "          identifier_uris: [\"api://demo\"]\n"
         "          access_token_version: 2\n"
         "          assignment_required: true\n"
         "          roles: [{value: Demo.Read}]\n"
         "        - client_id: " +
         st.client_id +
         "\n"
         "          name: demo-client\n"
         "          certificates: [{file: " +
         quote_yaml(dir + "/demo-client.crt") +
         ", name: dev}]\n"
         "          secrets: [{name: dev, value_env: DEMO_CLIENT_SECRET}]\n"
         "          assignments: [{resource: \"api://demo\", role: Demo.Read}]\n"
         "vault:\n"
         "  tenant: " +
         st.tenant_id +
         "\n"
         "  listeners: [dev-vault]\n"
         "  audit_log: " +
         quote_yaml(dir + "/vault-audit.log") +
         "\n"
         "  issuers: [{name: dev-ca, cert: ca.pem, key: ca.key}]\n"
         "  access:  # the demo client may read and write secrets and certificates\n"
         "    - {client_id: " +
         st.client_id +
         ", role: Key Vault Secrets Officer}\n"
         "    - {client_id: " +
         st.client_id + ", role: Key Vault Certificates Officer}\n";
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
  auto state = ensure_state(dir);
  if (!state) {
    std::cerr << "gatehouse dev: " << state.error().message << "\n";
    return 1;
  }
  if (auto cc = ensure_client_cert(dir); !cc) {
    std::cerr << "gatehouse dev: demo client certificate: " << cc.error().message << "\n";
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
  auto vault_listen = config::parse_address(o.vault);
  if (!vault_listen) {
    std::cerr << "gatehouse dev: --vault: " << vault_listen.error().message << "\n";
    return 2;
  }
  // The vault shares the gateway's TLS certificate, which names the listen host.
  const std::string vault_url = "https://" + url_host + ":" + std::to_string(vault_listen->port);
  if (auto w = core::write_file_atomic(config_path, dev_config(o, dir, *state, authority), 0644);
      !w) {
    std::cerr << "gatehouse dev: " << w.error().message << "\n";
    return 1;
  }

  gateway::Server::Options options;
  options.config_path = config_path;
  auto process_env = config::process_environment();
  std::string backend_url = "http://127.0.0.1:" + std::to_string((*demo)->port());
  std::string secret = state->client_secret;
  std::string subscription_key = state->subscription_key;
  options.env = [process_env, backend_url, secret,
                 subscription_key](std::string_view name) -> std::optional<std::string> {
    if (name == "GATEHOUSE_DEMO_BACKEND") return backend_url;
    if (name == "DEMO_CLIENT_SECRET") return secret;
    if (name == "DEMO_SUBSCRIPTION_KEY") return subscription_key;
    return process_env(name);
  };
  auto identity = std::make_shared<std::shared_ptr<identity::IdentityService>>();
  auto vault = std::make_shared<std::shared_ptr<vault::VaultService>>();
  auto subscriptions = std::make_shared<std::shared_ptr<policy::SubscriptionFeed>>();
  options.make_local_handler = with_managed_subscriptions(
      roles_factory(options.env, identity, vault), identity, subscriptions);
  options.configure_policy_services = subscriptions_hook(subscriptions);
  options.start_admin = [identity, vault](net::asio::io_context& io, net::Acceptor& acceptor,
                                          const gateway::Server& server) {
    admin::start_admin_server(io, acceptor, server, *identity, *vault);
  };
  auto server = gateway::Server::start(std::move(options));
  if (!server) {
    std::cerr << "gatehouse dev: " << server.error().message << "\n";
    return 1;
  }

  // dev.env after the start, so that it can carry the admin token the identity role created.
  std::string admin_token;
  if (auto t = crypto::read_file(dir + "/admin.token"); t) {
    admin_token = *t;
    while (!admin_token.empty() && std::isspace(static_cast<unsigned char>(admin_token.back())))
      admin_token.pop_back();
  }
  std::string env = "# Written by `gatehouse dev`: source it (. " + dir + "/dev.env) and go.\n";
  env += "# It holds the demo secret and the admin token: keep it to yourself.\n";
  auto add = [&env](const char* name, const std::string& value) {
    env += std::string("export ") + name + "=" + shell_quote(value) + "\n";
  };
  add("GATEHOUSE_AUTHORITY", authority);
  add("GATEHOUSE_TENANT_ID", state->tenant_id);
  add("GATEHOUSE_CA_BUNDLE", dir + "/ca.pem");
  add("GATEHOUSE_ADMIN_URL", "http://" + o.admin);
  if (!admin_token.empty()) add("GATEHOUSE_ADMIN_TOKEN", admin_token);
  add("DEMO_CLIENT_ID", state->client_id);
  add("DEMO_CLIENT_CERT", dir + "/demo-client.pem");
  add("DEMO_CLIENT_SECRET", state->client_secret);
  add("DEMO_SCOPE", "api://demo/.default");
  add("DEMO_API_URL", authority + "/demo");
  add("DEMO_SUBSCRIPTION_KEY", state->subscription_key);
  add("GATEHOUSE_VAULT_URL", vault_url);
  if (auto w = core::write_file_atomic(dir + "/dev.env", env, 0600); !w) {
    std::cerr << "gatehouse dev: " << w.error().message << "\n";
    return 1;
  }
  std::error_code self_ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", self_ec).string();
  if (self_ec) self = "gatehouse";
  std::cout << "\nGatehouse dev is running.\n"
            << "  gateway   " << authority << "  (TLS certificate from the dev CA)\n"
            << "  identity  " << authority << "/" << state->tenant_id
            << "  (token, discovery and JWKS endpoints)\n"
            << "  demo API  " << authority << "/demo\n"
            << "  vault     " << vault_url << "  (Key Vault REST API: @azure/keyvault-secrets)\n"
            << "  admin     http://" << o.admin << "  (/healthz, /metrics, /v1 REST API)\n"
            << "  data dir  " << dir << (ca_created ? "  (new dev CA)" : "  (reused)") << "\n"
            << "  logs      " << dir << "/access.log, " << dir << "/audit.log\n\n"
            << "Next, in another shell: get a token with the demo client's certificate, call the "
               "demo API with it and the subscription key.\n"
            << "  . " << dir << "/dev.env\n"
            << "  TOKEN=$(" << self
            << " token get --client-id \"$DEMO_CLIENT_ID\" --cert \"$DEMO_CLIENT_CERT\" "
               "--scope \"$DEMO_SCOPE\")\n"
            << "  curl --cacert \"$GATEHOUSE_CA_BUNDLE\" -H \"Authorization: Bearer $TOKEN\" "
               "-H \"Ocp-Apim-Subscription-Key: $DEMO_SUBSCRIPTION_KEY\" \"$DEMO_API_URL/hello\"\n"
            << "A token from the demo secret is refused by the demo API (azpacr 1, not 2):\n"
            << "  " << self
            << " token get --client-id \"$DEMO_CLIENT_ID\" --secret-env DEMO_CLIENT_SECRET "
               "--scope \"$DEMO_SCOPE\" --json\n"
            << "MSAL, azure-identity and openid-client against this authority: "
               "docs/identity/endpoints.md\n\n"
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
  cmd->add_option("--vault", opts->vault, "HTTPS address of the vault (Key Vault REST API)")
      ->capture_default_str();
  cmd->callback([opts, &exit_code] { exit_code = run_dev(*opts); });
}

}  // namespace gh::cli
