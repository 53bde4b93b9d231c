// Fuzzes the client-assertion path of client authentication (identity/client_auth.h) without
// network: a real ClientAuthenticator over an in-memory directory with one tenant, one app with
// an RSA certificate and a federated credential whose issuer documents come from an injected
// fetcher. The first byte picks what the rest is:
//   0  a raw client_assertion (never signed by a key we hold: must never authenticate);
//   1  "<JOSE header JSON>\n<claims JSON>", signed here with the registered certificate's key
//      (RS256, or PS256 when flag bit 1 is set), so the claim checks after the signature run;
//      $X5T$, $X5T256$ and $X5C$ in the header become this run's certificate's values (the key
//      is made at start-up, so seeds cannot hold them);
//   2  the same signed with the federated issuer's key (the federated path);
//   3  the stateless helpers of identity/assertion_checks.h on "<aud>\n<origin>\n<url>";
//   4  "<OIDC metadata>\n<JWKS>" served as the federated issuer's documents (a fresh key cache).
// Flag bit 0 (first byte / 5) omits the form's client_id, so the assertion's iss names the app.
// Every failure must be an AADSTS error whose message has no control characters (log lines).

#include <algorithm>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/signature.h"
#include "identity/assertion_checks.h"
#include "identity/client_auth.h"
#include "identity/directory.h"
#include "identity/entra_error.h"
#include "identity/issuer_keys.h"
#include "jose/jwk.h"
#include "store/database.h"
#include "x509/cert_builder.h"

namespace {

namespace asio = gh::net::asio;
namespace json = boost::json;
using namespace gh;

constexpr int64_t kNow = 1'750'000'000;
constexpr std::string_view kTenantId = "11111111-2222-3333-4444-555555555555";
constexpr std::string_view kClientId = "6e3a8e4e-1f6e-4e55-9a43-0c2f1e6d7a10";
constexpr std::string_view kOrigin = "https://login.gatehouse.test:8443";
constexpr std::string_view kIssuer = "https://issuer.test";
constexpr std::string_view kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// Aborts (a finding) naming the broken invariant.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

class FixedClock final : public core::Clock {
 public:
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
  }
};

template <class T>
T must(Result<T> r) {
  if (!r) std::abort();
  return std::move(*r);
}

template <class T>
T run(net::awaitable<T> op) {
  asio::io_context io{1};
  std::optional<T> out;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T value) {
    if (e) std::abort();
    out.emplace(std::move(value));
  });
  io.run();
  FUZZ_CHECK(out.has_value());
  return std::move(*out);
}

using Documents = std::pair<std::string, std::string>;  // metadata, JWKS

identity::DocumentFetcher serve(std::shared_ptr<const Documents> docs) {
  return [docs](std::string url) -> net::awaitable<Result<http::FetchedDocument>> {
    http::FetchedDocument d;
    d.status = 200;
    d.content_type = "application/json";
    d.body = url.ends_with("/.well-known/openid-configuration") ? docs->first : docs->second;
    co_return d;
  };
}

struct Fixture {
  FixedClock clock;
  std::shared_ptr<store::Database> db = must(store::Database::open(":memory:"));
  std::unique_ptr<identity::Directory> directory = must(identity::Directory::open(db, clock));
  crypto::EvpPkeyPtr cert_key = must(crypto::generate_rsa(2048));
  crypto::EvpPkeyPtr issuer_key = must(crypto::generate_rsa(2048));
  std::unique_ptr<identity::ClientAuthenticator> auth;
  std::shared_ptr<const identity::DirectoryView> view;
  std::string thumbprint;  // SHA-1 hex of the registered certificate
  std::string x5t, x5t_s256, x5c;

  Fixture() {
    must(directory->create_tenant("Contoso", std::string(kTenantId), {"contoso.example"}));
    identity::NewApplication spec;
    spec.tenant_id = kTenantId;
    spec.display_name = "jwt-client";
    spec.client_id = kClientId;
    must(directory->create_application(spec));
    x509::CertSpec cs;
    cs.subject = "CN=jwt-client";
    cs.days = 30;
    const auto cert = must(x509::make_self_signed(cert_key.get(), cs, clock));
    must(directory->add_certificate(kTenantId, kClientId, cert.pem(), "main"));
    thumbprint = cert.thumbprint_sha1();
    const core::Bytes der = cert.der();
    x5t = core::base64url_encode(crypto::sha1(der));
    x5t_s256 = core::base64url_encode(crypto::sha256(der));
    x5c = core::base64_encode(der);
    identity::FederatedCredential fic;
    fic.name = "github";
    fic.issuer = kIssuer;
    fic.subject = "repo:contoso/orders:ref:refs/heads/main";
    fic.audience = "api://AzureADTokenExchange";
    must(directory->add_federated(kTenantId, kClientId, fic));
    view = directory->view();

    jose::JwkMetadata meta;
    meta.kid = "issuer-key";
    meta.use = "sig";
    const auto jwk = must(jose::Jwk::from_pkey(crypto::share(issuer_key.get()), meta));
    json::object metadata{{"issuer", kIssuer},
                          {"jwks_uri", std::string(kIssuer) + "/.well-known/jwks"}};
    json::object set{{"keys", json::array{must(jwk.to_public_json())}}};
    identity::ClientAuthOptions options;
    options.replay_capacity = 4096;
    options.secret_hash_threads = 1;
    options.fetch_document =
        serve(std::make_shared<const Documents>(json::serialize(metadata), json::serialize(set)));
    auth = std::make_unique<identity::ClientAuthenticator>(std::move(options), clock);
  }
};

std::string substitute(std::string_view header, const Fixture& f) {
  std::string out(header);
  for (const auto& [name, value] : {std::pair<std::string_view, const std::string&>{"$X5T$", f.x5t},
                                    {"$X5T256$", f.x5t_s256},
                                    {"$X5C$", f.x5c}}) {
    for (size_t at = out.find(name); at != std::string::npos;
         at = out.find(name, at + value.size()))
      out.replace(at, name.size(), value);
  }
  return out;
}

std::string sign(const EVP_PKEY* key, crypto::SignatureScheme scheme, std::string_view header,
                 std::string_view claims) {
  std::string out = core::base64url_encode(core::as_bytes(header)) + "." +
                    core::base64url_encode(core::as_bytes(claims));
  const auto sig = crypto::sign_data(key, {scheme, crypto::DigestAlg::Sha256}, core::as_bytes(out));
  FUZZ_CHECK(sig.has_value());
  out += '.';
  out += core::base64url_encode(*sig);
  return out;
}

void check_message(const Error& e) {
  FUZZ_CHECK(identity::aadsts_of(e) != 0);
  for (char c : e.message)
    FUZZ_CHECK(c != '\n' && c != '\r' && c != '\0');
}

void authenticate(Fixture& f, std::string_view assertion, bool with_client_id, int signed_by) {
  identity::ClientCredentials creds;
  creds.client_id = with_client_id ? kClientId : std::string_view();
  creds.assertion_type = kJwtBearer;
  creds.assertion = assertion;
  identity::EndpointInfo where;
  where.directory = f.view.get();
  where.tenant = f.view->tenant(kTenantId);
  where.origins = {kOrigin};
  where.now = kNow;
  auto result = run(f.auth->authenticate(creds, where));
  if (!result) {
    check_message(result.error());
    return;
  }
  // Success needs a signature by a key we hold: never for raw input.
  FUZZ_CHECK(signed_by != 0);
  FUZZ_CHECK(result->app != nullptr && result->app->client_id == kClientId);
  if (signed_by == 1) {
    FUZZ_CHECK(result->method == identity::AuthMethod::Certificate);
    FUZZ_CHECK(result->credential_id == f.thumbprint && !result->assertion_jti.empty());
  } else {
    FUZZ_CHECK(result->method == identity::AuthMethod::Federated &&
               result->credential_id == "github");
  }
}

void helpers(std::string_view rest, const identity::Tenant& tenant) {
  const size_t a = rest.find('\n');
  const std::string_view aud = rest.substr(0, a);
  rest = a == std::string_view::npos ? std::string_view() : rest.substr(a + 1);
  const size_t b = rest.find('\n');
  const std::string_view origin = rest.substr(0, b);
  const std::string_view url =
      b == std::string_view::npos ? std::string_view() : rest.substr(b + 1);

  for (size_t size : {size_t{20}, size_t{32}}) {
    if (auto t = identity::decode_thumbprint(aud, size)) FUZZ_CHECK(t->size() == size);
  }
  if (auto canonical = identity::canonical_origin(origin)) {
    FUZZ_CHECK(identity::canonical_origin(*canonical) == canonical);  // idempotent
    const std::string_view origins[] = {*canonical};
    // Our own token endpoint at a canonical origin is an accepted audience.
    FUZZ_CHECK(identity::is_token_endpoint_audience(
        *canonical + "/" + tenant.id + "/oauth2/v2.0/token", tenant, origins));
  }
  const std::string_view origins[] = {origin, kOrigin};
  (void)identity::is_token_endpoint_audience(aud, tenant, origins);
  (void)identity::is_loopback_http_url(url);
  const std::string shown = identity::printable(aud);
  FUZZ_CHECK(shown.size() <= 203);
  for (char c : shown)
    FUZZ_CHECK(c >= 0x20 && c < 0x7f);

  int64_t seconds = 0;
  double precise = 0;
  if (!aud.empty()) std::memcpy(&seconds, aud.data(), std::min(aud.size(), sizeof seconds));
  if (!origin.empty())
    std::memcpy(&precise, origin.data(), std::min(origin.size(), sizeof precise));
  (void)identity::entra_key_time(seconds);
  FUZZ_CHECK(identity::entra_precise_time(precise).size() == 28);  // YYYY-MM-DDTHH:MM:SS.fffffffZ
}

void issuer_documents(Fixture& f, std::string_view rest) {
  const size_t nl = rest.find('\n');
  auto docs = std::make_shared<const Documents>(
      std::string(rest.substr(0, nl)),
      nl == std::string_view::npos ? std::string() : std::string(rest.substr(nl + 1)));
  identity::IssuerKeyCache cache(serve(docs), {}, f.clock);
  auto keys = run(cache.keys(std::string(kIssuer), false));
  if (!keys) {
    check_message(keys.error());
    return;
  }
  FUZZ_CHECK(*keys != nullptr && (*keys)->keys().size() <= 100);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  if (size == 0) return 0;
  const int mode = data[0] % 5;
  const int flags = data[0] / 5;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool with_client_id = (flags & 1) == 0;
  switch (mode) {
    case 0:
      authenticate(f, rest, with_client_id, 0);
      break;
    case 1:
    case 2: {
      const size_t nl = rest.find('\n');
      if (nl == std::string_view::npos) return 0;
      const auto scheme = mode == 1 && (flags & 2) != 0 ? crypto::SignatureScheme::RsaPss
                                                        : crypto::SignatureScheme::RsaPkcs1;
      const std::string assertion = sign(mode == 1 ? f.cert_key.get() : f.issuer_key.get(), scheme,
                                         substitute(rest.substr(0, nl), f), rest.substr(nl + 1));
      authenticate(f, assertion, with_client_id, mode);
      break;
    }
    case 3:
      helpers(rest, *f.view->tenant(kTenantId));
      break;
    default:
      issuer_documents(f, rest);
      break;
  }
  return 0;
}
