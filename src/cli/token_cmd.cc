// `gatehouse token get`: a client-credentials client for any Entra-shaped token endpoint (this
// Gatehouse or Entra itself). With a certificate it signs a client assertion the way current
// MSAL does (PS256 with x5t#S256, or RS256 with x5t), with a secret it posts client_secret.
// Prints the access token (or the whole response with --json); errors go to stderr.

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/app.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/random.h"
#include "http/url_fetch.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "x509/cert_loader.h"

namespace gh::cli {
namespace {

struct TokenOptions {
  std::string authority;
  std::string tenant;
  std::string client_id;
  std::string cert;
  std::string secret_env;
  std::string scope;
  std::string ca;
  std::string alg = "PS256";
  bool json = false;
};

/// application/x-www-form-urlencoded, RFC 3986 unreserved characters left as they are.
void append_percent_encoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
}

void append_form(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out += '&';
  append_percent_encoded(out, name);
  out += '=';
  append_percent_encoded(out, value);
}

/// A client assertion as MSAL signs it: aud = token endpoint, iss = sub = client id, a fresh
/// jti, 10 minutes.
Result<std::string> make_assertion(const TokenOptions& o, const std::string& token_url) {
  GH_TRY(std::string pem, crypto::read_file(o.cert));
  GH_TRY(auto certs, x509::load_certificates(pem));
  if (certs.empty()) return unexpected(ErrorKind::InvalidArgument, o.cert + ": no certificate");
  GH_TRY(auto key, crypto::load_private_key(pem));
  auto alg = jose::parse_alg(o.alg);
  if (!alg || (*alg != jose::JwsAlg::PS256 && *alg != jose::JwsAlg::RS256)) {
    return unexpected(ErrorKind::InvalidArgument, "--alg must be PS256 or RS256");
  }
  GH_TRY(auto jwk, jose::Jwk::from_pkey(std::move(key), {}));
  const core::Bytes der = certs[0].der();
  boost::json::object header{{"typ", "JWT"}};
  if (*alg == jose::JwsAlg::PS256) {
    auto d = crypto::sha256(der);
    header["x5t#S256"] = core::base64url_encode(d);
  } else {
    auto d = crypto::sha1(der);
    header["x5t"] = core::base64url_encode(d);
  }
  const int64_t now = core::SystemClock::instance().now_unix();
  boost::json::object claims{{"aud", token_url},   {"iss", o.client_id},
                             {"sub", o.client_id}, {"jti", crypto::random_uuid()},
                             {"nbf", now},         {"iat", now},
                             {"exp", now + 600}};
  std::string payload = boost::json::serialize(claims);
  return jose::sign_compact({reinterpret_cast<const uint8_t*>(payload.data()), payload.size()}, jwk,
                            *alg, header);
}

int run_token_get(const TokenOptions& o) {
  if (o.cert.empty() == o.secret_env.empty()) {
    std::cerr << "gatehouse token get: give exactly one of --cert and --secret-env\n";
    return 2;
  }
  std::string authority = o.authority;
  while (!authority.empty() && authority.back() == '/')
    authority.pop_back();
  const std::string token_url = authority + "/" + o.tenant + "/oauth2/v2.0/token";
  std::string form;
  append_form(form, "grant_type", "client_credentials");
  append_form(form, "client_id", o.client_id);
  append_form(form, "scope", o.scope);
  if (!o.cert.empty()) {
    auto assertion = make_assertion(o, token_url);
    if (!assertion) {
      std::cerr << "gatehouse token get: " << assertion.error().message << "\n";
      return 1;
    }
    append_form(form, "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    append_form(form, "client_assertion", *assertion);
  } else {
    const char* secret = std::getenv(o.secret_env.c_str());
    if (!secret || !*secret) {
      std::cerr << "gatehouse token get: environment variable " << o.secret_env << " is not set\n";
      return 2;
    }
    append_form(form, "client_secret", secret);
  }
  http::FetchRequest req;
  req.method = "POST";
  req.url = token_url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = std::move(form);
  http::FetchOptions fo;
  fo.ca_file = o.ca;
  auto res = http::send_request_blocking(req, fo);
  if (!res) {
    std::cerr << "gatehouse token get: " << token_url << ": " << res.error().message << "\n";
    return 1;
  }
  boost::system::error_code ec;
  auto doc = boost::json::parse(res->body, ec);
  if (ec || !doc.is_object()) {
    std::cerr << "gatehouse token get: HTTP " << res->status << ", not a JSON answer\n";
    return 1;
  }
  const auto& obj = doc.as_object();
  if (res->status != 200 || !obj.contains("access_token")) {
    auto* d = obj.if_contains("error_description");
    std::cerr << "gatehouse token get: HTTP " << res->status << ": "
              << (d && d->is_string() ? std::string(d->as_string()) : res->body) << "\n";
    return 1;
  }
  if (o.json) {
    std::cout << res->body << "\n";
  } else {
    std::cout << obj.at("access_token").as_string().c_str() << "\n";
  }
  return 0;
}

}  // namespace

void add_token_commands(CLI::App& app, int& exit_code) {
  auto* token =
      app.add_subcommand("token", "Get access tokens from an Entra-shaped token endpoint");
  token->require_subcommand(1);
  auto o = std::make_shared<TokenOptions>();
  auto* get = token->add_subcommand(
      "get", "Client credentials with a certificate (signed assertion) or a secret");
  get->add_option("--authority", o->authority, "https://host:port of the identity service")
      ->envname("GATEHOUSE_AUTHORITY")
      ->required();
  get->add_option("--tenant", o->tenant, "Tenant id or alias")
      ->envname("GATEHOUSE_TENANT_ID")
      ->required();
  get->add_option("--client-id", o->client_id, "The client application's id")->required();
  get->add_option("--cert", o->cert, "PEM file with the client's private key and certificate");
  get->add_option("--secret-env", o->secret_env,
                  "Name of the environment variable holding the client secret");
  get->add_option("--scope", o->scope, "Resource scope, e.g. api://demo/.default")->required();
  get->add_option("--ca", o->ca, "CA bundle that signed the service's TLS certificate")
      ->envname("GATEHOUSE_CA_BUNDLE");
  get->add_option("--alg", o->alg, "Assertion algorithm: PS256 (x5t#S256) or RS256 (x5t)")
      ->capture_default_str();
  get->add_flag("--json", o->json, "Print the whole token response");
  get->callback([o, &exit_code] { exit_code = run_token_get(*o); });
}

}  // namespace gh::cli
