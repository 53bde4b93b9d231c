// Client authentication at the token endpoint: every method, every AADSTS failure with its exact
// text and status, the assertion shapes the real MSAL libraries send, replay policy and
// federated credentials (with an injected fetcher and once over a real loopback socket).

#include "identity/client_auth.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <optional>

#include "core/encoding.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/random.h"
#include "identity/directory.h"
#include "identity/entra_error.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "store/database.h"
#include "support/static_http_server.h"
#include "support/test_pki.h"

namespace gh::identity {
namespace {

namespace asio = net::asio;
namespace json = boost::json;
using test::FixedClock;
using test::TestCert;
using test::TestPki;

constexpr int64_t kNow = TestPki::kDefaultNow;  // 2025-06-15T15:06:40Z
constexpr const char* kTenantId = "11111111-2222-3333-4444-555555555555";
constexpr const char* kClientId = "6e3a8e4e-1f6e-4e55-9a43-0c2f1e6d7a10";
constexpr const char* kOtherClientId = "0b7c2b5e-3d1a-4f7e-8a52-6c1d2e3f4a5b";
constexpr const char* kOrigin = "https://login.gatehouse.test:8443";
constexpr const char* kAud =
    "https://login.gatehouse.test:8443/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token";
constexpr const char* kIssuer = "https://issuer.test";
constexpr const char* kSubject = "repo:contoso/orders:ref:refs/heads/main";
constexpr const char* kExchange = "api://AzureADTokenExchange";
constexpr const char* kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// Runs one awaitable to completion on a private event loop (the hash pool posts back to it).
template <typename T>
T run(net::awaitable<T> op) {
  asio::io_context io{1};
  std::optional<T> out;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    out.emplace(std::move(value));
  });
  io.run();
  return std::move(*out);
}

// A claims set written by hand, so members, order and number forms are exactly what a given
// client library sends (MSAL Python's fractional exp/iat, msal-node's integers).
class Claims {
 public:
  Claims& str(std::string name, std::string_view value) {
    members_.emplace_back(std::move(name), json::serialize(json::value(value)));
    return *this;
  }
  Claims& raw(std::string name, std::string value) {
    members_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Claims& num(std::string name, int64_t value) {
    return raw(std::move(name), std::to_string(value));
  }
  std::string json() const {
    std::string out = "{";
    for (const auto& [name, value] : members_) {
      if (out.size() > 1) out += ',';
      out += json::serialize(json::value(name)) + ":" + value;
    }
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

std::string sign(const EVP_PKEY* key, jose::JwsAlg alg, const json::object& header,
                 const std::string& payload, std::string kid = {}) {
  jose::JwkMetadata meta;
  meta.kid = std::move(kid);
  auto jwk = jose::Jwk::from_pkey(crypto::share(const_cast<EVP_PKEY*>(key)), std::move(meta));
  EXPECT_TRUE(jwk) << jwk.error().message;
  auto token = jose::sign_compact(core::as_bytes(payload), *jwk, alg, header);
  EXPECT_TRUE(token) << token.error().message;
  return *token;
}

std::string x5t_of(const TestCert& c) {
  return core::base64url_encode(crypto::sha1(c.der()));
}
std::string x5t_s256_of(const TestCert& c) {
  return core::base64url_encode(crypto::sha256(c.der()));
}
std::string sha1_hex(const TestCert& c) {
  return core::hex_encode_upper(crypto::sha1(c.der()));
}

// Certificates are RSA (Entra's keyCredentials), made once per test binary.
struct Certs {
  TestPki pki{kNow};
  TestCert client = issue("orders-client", kNow - 3600, kNow + 30 * 86400);
  TestCert second = issue("orders-client-2", kNow - 3600, kNow + 30 * 86400);
  TestCert unregistered = issue("stranger", kNow - 3600, kNow + 30 * 86400);
  TestCert short_lived = issue("short-lived", kNow - 3600, kNow + 86400);

  TestCert issue(const std::string& cn, int64_t from, int64_t to) {
    test::TestCertOptions o;
    o.cn = cn;
    o.not_before = from;
    o.not_after = to;
    o.key_type = test::TestKeyType::Rsa2048;
    return pki.issue(nullptr, o);
  }
};
const Certs& certs() {
  static const Certs* c = new Certs();
  return *c;
}

// An external OIDC issuer served through the injectable fetcher.
class FakeIssuer {
 public:
  FakeIssuer() {
    auto key = crypto::generate_ec("P-256");
    key_ = std::move(*key);
    auto other = crypto::generate_ec("P-256");
    other_key_ = std::move(*other);
    set_metadata(kIssuer);
    serve_keys({{key_.get(), "k1"}});
  }
  DocumentFetcher fetcher() {
    return [this](std::string url) { return fetch(std::move(url)); };
  }
  void set_metadata(std::string_view issuer) {
    json::object doc;
    doc["issuer"] = issuer;
    doc["jwks_uri"] = std::string(kIssuer) + "/keys";
    docs_[std::string(kIssuer) + "/.well-known/openid-configuration"] = json::serialize(doc);
  }
  void serve_keys(std::vector<std::pair<const EVP_PKEY*, std::string>> keys) {
    json::array list;
    for (auto& [key, kid] : keys) {
      jose::JwkMetadata meta;
      meta.kid = kid;
      auto jwk = jose::Jwk::from_pkey(crypto::share(const_cast<EVP_PKEY*>(key)), meta);
      list.push_back(*jwk->to_public_json());
    }
    json::object set;
    set["keys"] = std::move(list);
    docs_[std::string(kIssuer) + "/keys"] = json::serialize(set);
  }
  void serve_raw_keys(std::string body) { docs_[std::string(kIssuer) + "/keys"] = std::move(body); }
  void go_offline() { offline_ = true; }
  int fetches(const std::string& url) const {
    auto it = counts_.find(url);
    return it == counts_.end() ? 0 : it->second;
  }
  const EVP_PKEY* key() const { return key_.get(); }
  const EVP_PKEY* other_key() const { return other_key_.get(); }

 private:
  net::awaitable<Result<http::FetchedDocument>> fetch(std::string url) {
    ++counts_[url];
    if (offline_) co_return unexpected(ErrorKind::Unavailable, "connection refused");
    auto it = docs_.find(url);
    if (it == docs_.end()) co_return http::FetchedDocument{404, "text/plain", "not found"};
    co_return http::FetchedDocument{200, "application/json", it->second};
  }
  crypto::EvpPkeyPtr key_, other_key_;
  std::map<std::string, std::string> docs_;
  std::map<std::string, int> counts_;
  bool offline_ = false;
};

class ClientAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::open(":memory:");
    ASSERT_TRUE(db) << db.error().message;
    auto dir = Directory::open(std::shared_ptr<store::Database>(std::move(*db)), clock_);
    ASSERT_TRUE(dir) << dir.error().message;
    dir_ = std::move(*dir);
    ASSERT_TRUE(dir_->create_tenant("Contoso", kTenantId, {"contoso.example"}));
    NewApplication spec;
    spec.tenant_id = kTenantId;
    spec.display_name = "orders-client";
    spec.client_id = kClientId;
    auto app = dir_->create_application(spec);
    ASSERT_TRUE(app) << app.error().message;
    auto cert = dir_->add_certificate(kTenantId, kClientId, certs().client.cert_pem(), "main");
    ASSERT_TRUE(cert) << cert.error().message;
    cert_key_id_ = cert->key_id;
    options_.fetch_document = issuer_.fetcher();
  }

  ClientAuthenticator& auth() {
    if (!auth_) auth_ = std::make_unique<ClientAuthenticator>(options_, clock_);
    return *auth_;
  }

  Result<AuthenticatedClient> authenticate(const ClientCredentials& creds) {
    view_ = dir_->view();
    EndpointInfo where;
    where.directory = view_.get();
    where.tenant = view_->tenant(kTenantId);
    where.origins = {kOrigin};
    where.now = clock_.now_unix();
    return run(auth().authenticate(creds, where));
  }

  ClientCredentials with_secret(std::string_view secret) {
    ClientCredentials c;
    c.client_id = kClientId;
    c.client_secret = secret;
    return c;
  }
  ClientCredentials with_assertion(std::string_view assertion) {
    ClientCredentials c;
    c.client_id = kClientId;
    c.assertion_type = kJwtBearer;
    c.assertion = assertion;
    return c;
  }

  // MSAL Python 1.21: RS256, x5t padded, x5c, fractional exp/iat, no nbf (clients.md capture).
  std::string msal_python_assertion(std::string jti = "ea877537-2b82-4074-877c-8a9c171a229c",
                                    std::string aud = kAud) {
    json::object header;
    header["typ"] = "JWT";
    // extract_certs() copies the PEM body, line breaks and all.
    std::string b64 = core::base64_encode(certs().client.der());
    std::string pem_body;
    for (size_t i = 0; i < b64.size(); i += 64)
      pem_body += b64.substr(i, 64) + "\n";
    header["x5c"] = json::array{json::value(pem_body)};
    header["x5t"] = x5t_of(certs().client) + "=";
    const std::string payload = Claims()
                                    .str("aud", aud)
                                    .str("iss", kClientId)
                                    .str("sub", kClientId)
                                    .raw("exp", std::to_string(kNow + 600) + ".2856174")
                                    .raw("iat", std::to_string(kNow) + ".2856174")
                                    .str("jti", jti)
                                    .json();
    return sign(certs().client.key.get(), jose::JwsAlg::RS256, header, payload);
  }

  // msal-node 7 with thumbprintSha256: PS256, x5t#S256, integers, iat one second before nbf.
  std::string msal_node_assertion(std::string jti = "3f2b1c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d") {
    json::object header;
    header["typ"] = "JWT";
    header["x5t#S256"] = x5t_s256_of(certs().client);
    const std::string payload = Claims()
                                    .str("aud", kAud)
                                    .num("exp", kNow + 600)
                                    .str("iss", kClientId)
                                    .str("sub", kClientId)
                                    .num("nbf", kNow)
                                    .str("jti", jti)
                                    .num("iat", kNow - 1)
                                    .json();
    return sign(certs().client.key.get(), jose::JwsAlg::PS256, header, payload);
  }

  // An RS256 assertion by `cert` with x5t and the given claims.
  std::string assertion(const Claims& claims, const TestCert& cert = certs().client,
                        jose::JwsAlg alg = jose::JwsAlg::RS256) {
    json::object header;
    header["typ"] = "JWT";
    header["x5t"] = x5t_of(cert);
    return sign(cert.key.get(), alg, header, claims.json());
  }
  Claims standard_claims(std::string jti = "jti-1") {
    return Claims()
        .str("aud", kAud)
        .str("iss", kClientId)
        .str("sub", kClientId)
        .num("nbf", kNow)
        .num("iat", kNow)
        .num("exp", kNow + 600)
        .str("jti", jti);
  }

  // A federated token from FakeIssuer (ES256, kid k1 unless told otherwise).
  std::string external_token(Claims claims, const EVP_PKEY* key = nullptr, std::string kid = "k1") {
    json::object header;
    header["typ"] = "JWT";
    return sign(key ? key : issuer_.key(), jose::JwsAlg::ES256, header, claims.json(), kid);
  }
  Claims external_claims(std::string sub = kSubject, std::string aud = kExchange) {
    return Claims()
        .str("iss", kIssuer)
        .str("sub", sub)
        .str("aud", aud)
        .num("iat", kNow - 10)
        .num("nbf", kNow - 10)
        .num("exp", kNow + 290)
        .str("jti", "gha-run-1");
  }
  void add_federated(std::string issuer = kIssuer) {
    FederatedCredential f;
    f.name = "gha-main";
    f.issuer = std::move(issuer);
    f.subject = kSubject;
    f.audience = kExchange;
    auto added = dir_->add_federated(kTenantId, kClientId, f);
    ASSERT_TRUE(added) << added.error().message;
  }

  void expect_error(const Result<AuthenticatedClient>& r, int code, uint16_t status,
                    std::string_view message = {}) {
    ASSERT_FALSE(r) << "authenticated, expected AADSTS" << code;
    EXPECT_EQ(r.error().detail, code) << r.error().message;
    EXPECT_EQ(r.error().http_status, status) << r.error().message;
    if (!message.empty()) {
      EXPECT_EQ(r.error().message, message);
    }
  }

  FixedClock clock_{kNow};
  std::unique_ptr<Directory> dir_;
  std::shared_ptr<const DirectoryView> view_;
  std::string cert_key_id_;
  FakeIssuer issuer_;
  ClientAuthOptions options_;
  std::unique_ptr<ClientAuthenticator> auth_;
};

const std::string kNotFoundTail =
    "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured "
    "keys for app Id '6e3a8e4e-1f6e-4e55-9a43-0c2f1e6d7a10'. Review the documentation at "
    "https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service "
    "endpoint and "
    "https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http "
    "to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/";

// ---- method selection -------------------------------------------------------------------------

TEST_F(ClientAuthTest, NoCredentialIs7000218) {
  ClientCredentials c;
  c.client_id = kClientId;
  expect_error(authenticate(c), 7000218, 401,
               "The request body must contain the following parameter: 'client_assertion' or "
               "'client_secret'.");
}

TEST_F(ClientAuthTest, SecretAndAssertionTogetherIs90014) {
  const std::string a = msal_node_assertion();  // the credentials are views
  ClientCredentials c = with_assertion(a);
  c.client_secret = "something";
  expect_error(authenticate(c), 90014, 400);
}

TEST_F(ClientAuthTest, BasicAndBodySecretTogetherIs90014) {
  ClientCredentials c = with_secret("something");
  c.has_basic = true;
  c.basic_user = kClientId;
  c.basic_password = "something";
  expect_error(authenticate(c), 90014, 400);
}

TEST_F(ClientAuthTest, BasicUserMustMatchFormClientId) {
  auto created = dir_->add_secret(kTenantId, kClientId, "ci");
  ASSERT_TRUE(created);
  ClientCredentials c;
  c.client_id = kOtherClientId;
  c.has_basic = true;
  c.basic_user = kClientId;
  c.basic_password = created->value;
  expect_error(authenticate(c), 90014, 400);
}

TEST_F(ClientAuthTest, AssertionTypeMustBeJwtBearer) {
  const std::string a = msal_node_assertion();  // the credentials are views
  ClientCredentials c = with_assertion(a);
  c.assertion_type = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer";
  expect_error(authenticate(c), 900144, 400);
  c.assertion_type = {};
  expect_error(authenticate(c), 900144, 400,
               "The request body must contain the following parameter: "
               "'client_assertion_type'.");
}

// ---- Basic header parsing ---------------------------------------------------------------------

TEST(ParseBasicAuthorization, DecodesBase64ThenFormUrlDecodesEachPart) {
  // RFC 6749 §2.3.1: "my client:id" and "p@ss:w+rd%" form-encoded, then joined and base64'd.
  const std::string encoded =
      core::base64_encode(core::as_bytes(std::string_view("my+client%3Aid:p%40ss:w%2Brd%25")));
  auto basic = parse_basic_authorization("Basic " + encoded);
  ASSERT_TRUE(basic);
  ASSERT_TRUE(basic->has_value());
  EXPECT_EQ((*basic)->user, "my client:id");
  EXPECT_EQ((*basic)->password, "p@ss:w+rd%");  // split on the first ':' only
}

TEST(ParseBasicAuthorization, OtherSchemesAreNotClientCredentials) {
  auto bearer = parse_basic_authorization("Bearer abc.def.ghi");
  ASSERT_TRUE(bearer);
  EXPECT_FALSE(bearer->has_value());
  auto lower = parse_basic_authorization(
      "basic " + core::base64_encode(core::as_bytes(std::string_view("a:b"))));
  ASSERT_TRUE(lower);
  EXPECT_TRUE(lower->has_value());
}

TEST(ParseBasicAuthorization, MalformedBasicIs7000218) {
  for (std::string_view bad : {"Basic", "Basic !!!notbase64", "Basic bm9jb2xvbg==" /* "nocolon" */,
                               "Basic YSUyOmI=" /* "a%2:b" */}) {
    auto r = parse_basic_authorization(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().detail, 7000218) << bad;
    EXPECT_EQ(r.error().http_status, 401) << bad;
  }
}

// ---- application lookup -----------------------------------------------------------------------

TEST_F(ClientAuthTest, UnknownClientIs700016NamingClientAndTenant) {
  ClientCredentials c = with_secret("whatever");
  c.client_id = kOtherClientId;
  expect_error(authenticate(c), 700016, 400,
               "Application with identifier '0b7c2b5e-3d1a-4f7e-8a52-6c1d2e3f4a5b' was not found "
               "in the directory 'Contoso'. This can happen if the application has not been "
               "installed by the administrator of the tenant or consented to by any user in the "
               "tenant. You may have sent your authentication request to the wrong tenant.");
}

TEST_F(ClientAuthTest, DisabledApplicationIs7000112) {
  Application app = *dir_->view()->application(kTenantId, kClientId);
  app.enabled = false;
  ASSERT_TRUE(dir_->update_application(app));
  expect_error(authenticate(with_assertion(msal_node_assertion())), 7000112, 400,
               "UnauthorizedClientApplicationDisabled - The application is disabled.");
}

TEST_F(ClientAuthTest, MissingClientIdWithSecretIs900144) {
  ClientCredentials c = with_secret("whatever");
  c.client_id = {};
  expect_error(authenticate(c), 900144, 400,
               "The request body must contain the following parameter: 'client_id'.");
}

// ---- secrets ----------------------------------------------------------------------------------

TEST_F(ClientAuthTest, SecretInBodyAuthenticatesAndIsCachedUntilRemoved) {
  auto created = dir_->add_secret(kTenantId, kClientId, "ci");
  ASSERT_TRUE(created) << created.error().message;
  auto first = authenticate(with_secret(created->value));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->method, AuthMethod::Secret);
  EXPECT_EQ(acr_of(first->method), "1");
  EXPECT_EQ(first->credential_id, created->credential.key_id);
  EXPECT_EQ(first->app->client_id, kClientId);
  EXPECT_EQ(auth().stats().secret_hashes, 1u);

  auto second = authenticate(with_secret(created->value));
  ASSERT_TRUE(second);
  EXPECT_EQ(auth().stats().secret_hashes, 1u);  // served from the verified-secret cache
  EXPECT_EQ(auth().stats().secret_cache_hits, 1u);

  // Removing the credential invalidates the cached pair at once.
  ASSERT_TRUE(dir_->remove_secret(kTenantId, kClientId, created->credential.key_id));
  expect_error(authenticate(with_secret(created->value)), 7000215, 401);
}

TEST_F(ClientAuthTest, SecretOverBasicAuthenticates) {
  auto created = dir_->add_secret(kTenantId, kClientId, "ci");
  ASSERT_TRUE(created);
  ClientCredentials c;
  c.has_basic = true;
  c.basic_user = kClientId;
  c.basic_password = created->value;
  auto r = authenticate(c);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, AuthMethod::Secret);
  c.client_id = kClientId;  // the same client_id in the form as well is fine
  EXPECT_TRUE(authenticate(c));
}

TEST_F(ClientAuthTest, WrongSecretIs7000215) {
  ASSERT_TRUE(dir_->add_secret(kTenantId, kClientId, "ci"));
  expect_error(authenticate(with_secret("not-the-secret")), 7000215, 401,
               "Invalid client secret provided. Ensure the secret being sent in the request is "
               "the client secret value, not the client secret ID, for a secret added to app "
               "'6e3a8e4e-1f6e-4e55-9a43-0c2f1e6d7a10'.");
}

TEST_F(ClientAuthTest, EverySecretIsTriedSoRotationWorks) {
  auto old_secret = dir_->add_secret(kTenantId, kClientId, "old");
  auto new_secret = dir_->add_secret(kTenantId, kClientId, "new");
  ASSERT_TRUE(old_secret && new_secret);
  auto a = authenticate(with_secret(old_secret->value));
  auto b = authenticate(with_secret(new_secret->value));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->credential_id, old_secret->credential.key_id);
  EXPECT_EQ(b->credential_id, new_secret->credential.key_id);
}

TEST_F(ClientAuthTest, AllSecretsExpiredIs7000222) {
  auto created = dir_->add_secret(kTenantId, kClientId, "ci", 3600);
  ASSERT_TRUE(created);
  ASSERT_TRUE(authenticate(with_secret(created->value)));  // cached while valid...
  clock_.advance(3601);
  // ...but the cache entry ends with the credential.
  expect_error(authenticate(with_secret(created->value)), 7000222, 401,
               "The provided client secret keys for app '6e3a8e4e-1f6e-4e55-9a43-0c2f1e6d7a10' "
               "are expired. Visit the Azure portal to create new keys for your app: "
               "https://aka.ms/NewClientSecret, or consider using certificate credentials for "
               "added security: https://aka.ms/certCreds.");
}

TEST_F(ClientAuthTest, NoSecretRegisteredIs7000215) {
  expect_error(authenticate(with_secret("anything")), 7000215, 401);
}

TEST_F(ClientAuthTest, RepeatedWrongSecretsAreThrottledButVerifiedSecretsAreNot) {
  options_.secret_failure_limit = 2;
  options_.secret_failure_window = std::chrono::seconds(60);
  auto created = dir_->add_secret(kTenantId, kClientId, "ci");
  ASSERT_TRUE(created);
  ASSERT_TRUE(authenticate(with_secret(created->value)));
  expect_error(authenticate(with_secret("wrong-1")), 7000215, 401);
  expect_error(authenticate(with_secret("wrong-2")), 7000215, 401);
  const uint64_t hashes = auth().stats().secret_hashes;
  expect_error(authenticate(with_secret("wrong-3")), 90055, 429);
  EXPECT_EQ(auth().stats().secret_hashes, hashes);         // refused without hashing
  EXPECT_TRUE(authenticate(with_secret(created->value)));  // cached: still fine
  clock_.advance(60);
  expect_error(authenticate(with_secret("wrong-4")), 7000215, 401);
}

// ---- certificate assertions: the real clients' shapes -----------------------------------------

TEST_F(ClientAuthTest, MsalPython121AssertionIsAccepted) {
  const std::string a = msal_python_assertion();
  auto r = authenticate(with_assertion(a));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, AuthMethod::Certificate);
  EXPECT_EQ(acr_of(r->method), "2");
  EXPECT_EQ(r->credential_id, sha1_hex(certs().client));
  EXPECT_EQ(r->assertion_jti, "ea877537-2b82-4074-877c-8a9c171a229c");
}

TEST_F(ClientAuthTest, MsalNodeAssertionIsAccepted) {
  auto r = authenticate(with_assertion(msal_node_assertion()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, AuthMethod::Certificate);
  EXPECT_EQ(r->credential_id, sha1_hex(certs().client));
}

TEST_F(ClientAuthTest, ClientIdMayComeFromTheAssertionIssuer) {
  const std::string a = msal_node_assertion();  // the credentials are views
  ClientCredentials c = with_assertion(a);
  c.client_id = {};
  auto r = authenticate(c);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->app->client_id, kClientId);
}

TEST_F(ClientAuthTest, KidFormsSelectTheCertificate) {
  const std::string sha1_b64 = x5t_of(certs().client);
  const std::string sha1_hex_lower = core::hex_encode(crypto::sha1(certs().client.der()));
  int n = 0;
  for (const std::string& kid :
       {sha1_b64, sha1_hex_lower, x5t_s256_of(certs().client), cert_key_id_}) {
    json::object header;
    header["kid"] = kid;
    const std::string a = sign(certs().client.key.get(), jose::JwsAlg::RS256, header,
                               standard_claims("kid-" + std::to_string(n++)).json());
    auto r = authenticate(with_assertion(a));
    EXPECT_TRUE(r) << kid << ": " << (r ? "" : r.error().message);
  }
}

TEST_F(ClientAuthTest, WithoutAnyKeyHintEveryRegisteredCertificateIsTried) {
  ASSERT_TRUE(dir_->add_certificate(kTenantId, kClientId, certs().second.cert_pem(), "second"));
  const std::string a =
      sign(certs().second.key.get(), jose::JwsAlg::RS256, json::object{}, standard_claims().json());
  auto r = authenticate(with_assertion(a));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->credential_id, sha1_hex(certs().second));
}

TEST_F(ClientAuthTest, OtherRsaAlgorithmsAreAccepted) {
  int n = 0;
  for (auto alg :
       {jose::JwsAlg::RS384, jose::JwsAlg::RS512, jose::JwsAlg::PS384, jose::JwsAlg::PS512}) {
    auto r = authenticate(with_assertion(
        assertion(standard_claims("alg-" + std::to_string(n++)), certs().client, alg)));
    EXPECT_TRUE(r) << jose::to_string(alg) << ": " << (r ? "" : r.error().message);
  }
}

// ---- certificate assertions: §2.3 failures ----------------------------------------------------

TEST_F(ClientAuthTest, NotThreeStrictBase64UrlSegmentsIs50027) {
  const std::string good = msal_node_assertion();
  const size_t dot = good.find('.');
  for (const std::string& bad :
       {good.substr(0, good.rfind('.')), good.substr(0, dot) + "=" + good.substr(dot), good + ".x",
        std::string("not a jwt")}) {
    expect_error(authenticate(with_assertion(bad)), 50027, 401,
                 "JWT token is invalid or malformed.");
  }
}

TEST_F(ClientAuthTest, NoneAndHmacAlgorithmsAre50027) {
  // alg "none" with an empty signature, and HS256 keyed with the certificate's DER (the classic
  // key-confusion attempt).
  const std::string payload = core::base64url_encode(standard_claims().json());
  const std::string none =
      core::base64url_encode(std::string(R"({"alg":"none","typ":"JWT"})")) + "." + payload + ".";
  expect_error(authenticate(with_assertion(none)), 50027, 401);

  auto hmac_key = jose::Jwk::from_secret(certs().client.der(), {});
  ASSERT_TRUE(hmac_key);
  json::object header;
  header["x5t"] = x5t_of(certs().client);
  auto hs = jose::sign_compact(core::as_bytes(standard_claims().json()), *hmac_key,
                               jose::JwsAlg::HS256, header);
  ASSERT_TRUE(hs);
  expect_error(authenticate(with_assertion(*hs)), 50027, 401);
}

TEST_F(ClientAuthTest, UnknownThumbprintIs700027WithUpperHexSha1) {
  expect_error(authenticate(with_assertion(assertion(standard_claims(), certs().unregistered))),
               700027, 401,
               "The certificate with identifier used to sign the client assertion is not "
               "registered on application. [Reason - The key was not found., Thumbprint of key "
               "used by client: '" +
                   sha1_hex(certs().unregistered) + "', " + kNotFoundTail +
                   dir_->view()->application(kTenantId, kClientId)->object_id + "'].");
}

TEST_F(ClientAuthTest, UnknownSha256ThumbprintWithX5cReportsTheX5cSha1) {
  json::object header;
  header["x5t#S256"] = x5t_s256_of(certs().unregistered);
  header["x5c"] = json::array{json::value(core::base64_encode(certs().unregistered.der()))};
  const std::string a =
      sign(certs().unregistered.key.get(), jose::JwsAlg::PS256, header, standard_claims().json());
  auto r = authenticate(with_assertion(a));
  expect_error(r, 700027, 401);
  EXPECT_NE(r.error().message.find("Thumbprint of key used by client: '" +
                                   sha1_hex(certs().unregistered) + "'"),
            std::string::npos)
      << r.error().message;
}

TEST_F(ClientAuthTest, ExpiredCertificateCredentialIs700027KeyExpired) {
  ASSERT_TRUE(dir_->add_certificate(kTenantId, kClientId, certs().short_lived.cert_pem(), "old"));
  clock_.advance(2 * 86400);  // past the short-lived certificate's end
  Claims claims = Claims()
                      .str("aud", kAud)
                      .str("iss", kClientId)
                      .str("sub", kClientId)
                      .num("iat", clock_.now_unix())
                      .num("exp", clock_.now_unix() + 600)
                      .str("jti", "late");
  expect_error(authenticate(with_assertion(assertion(claims, certs().short_lived))), 700027, 401,
               "Client assertion contains an invalid signature. [Reason - The key used is "
               "expired., Thumbprint of key used by client: '" +
                   sha1_hex(certs().short_lived) +
                   "', Found key 'Start=06/15/2025 14:06:40, End=06/16/2025 15:06:40']");
}

TEST_F(ClientAuthTest, BadSignatureIs700027KeyFoundButVerifyFailed) {
  // Registered thumbprint, but signed by another key.
  json::object header;
  header["x5t"] = x5t_of(certs().client);
  const std::string a =
      sign(certs().unregistered.key.get(), jose::JwsAlg::RS256, header, standard_claims().json());
  expect_error(authenticate(with_assertion(a)), 700027, 401,
               "Client assertion contains an invalid signature. [Reason - Key was found, but use "
               "of the key to verify the signature failed., Thumbprint of key used by client: '" +
                   sha1_hex(certs().client) +
                   "', Found key 'Start=06/15/2025 14:06:40, End=07/15/2025 15:06:40']");
}

TEST_F(ClientAuthTest, X5cMustBeTheSelectedCertificate) {
  json::object header;
  header["x5t"] = x5t_of(certs().client);
  header["x5c"] = json::array{json::value(core::base64_encode(certs().unregistered.der()))};
  const std::string a =
      sign(certs().client.key.get(), jose::JwsAlg::RS256, header, standard_claims().json());
  expect_error(authenticate(with_assertion(a)), 700027, 401);
}

TEST_F(ClientAuthTest, SubjectOtherThanIssuerIs50048) {
  Claims claims = Claims()
                      .str("aud", kAud)
                      .str("iss", kClientId)
                      .str("sub", kOtherClientId)
                      .num("exp", kNow + 600)
                      .str("jti", "j");
  expect_error(authenticate(with_assertion(assertion(claims))), 50048, 401,
               "SubjectMismatchesIssuer - Subject mismatches Issuer claim in the client "
               "assertion.");
}

TEST_F(ClientAuthTest, IssuerOtherThanClientIdIs700021) {
  Claims claims = Claims()
                      .str("aud", kAud)
                      .str("iss", kOtherClientId)
                      .str("sub", kOtherClientId)
                      .num("exp", kNow + 600)
                      .str("jti", "j");
  expect_error(authenticate(with_assertion(assertion(claims))), 700021, 401,
               "Client assertion application identifier doesn't match 'client_id' parameter. "
               "Review the documentation at "
               "https://learn.microsoft.com/entra/identity-platform/certificate-credentials.");
}

TEST_F(ClientAuthTest, AudienceMustBeThisTenantsTokenEndpoint) {
  const std::string tenant_path = std::string("/") + kTenantId;
  struct Case {
    std::string aud;
    bool accepted;
  };
  const std::vector<Case> cases = {
      {kAud, true},
      {std::string(kOrigin) + tenant_path + "/oauth2/token", true},         // v1 endpoint
      {std::string(kOrigin) + "/contoso.example/oauth2/v2.0/token", true},  // tenant alias
      {std::string(kOrigin) + "/CONTOSO.example/oauth2/v2.0/token", true},  // alias, any case
      {"HTTPS://LOGIN.Gatehouse.TEST:8443" + tenant_path + "/oauth2/v2.0/token", true},
      {std::string(kAud) + "?client-request-id=8291060b-5425-4ca2-bf42-1f2d93ee6511", true},
      {"https://login.gatehouse.test" + tenant_path + "/oauth2/v2.0/token", false},  // port
      {"https://login.gatehouse.test:9443" + tenant_path + "/oauth2/v2.0/token", false},
      {"http://login.gatehouse.test:8443" + tenant_path + "/oauth2/v2.0/token", false},
      {"https://evil.test:8443" + tenant_path + "/oauth2/v2.0/token", false},
      {std::string(kAud) + "/", false},
      {std::string(kOrigin) + tenant_path + "/v2.0", false},  // issuer form
      {std::string(kOrigin) + "/99999999-2222-3333-4444-555555555555/oauth2/v2.0/token", false},
      {std::string(kOrigin) + "/common/oauth2/v2.0/token", false},
  };
  int n = 0;
  for (const Case& c : cases) {
    Claims claims = Claims()
                        .str("aud", c.aud)
                        .str("iss", kClientId)
                        .str("sub", kClientId)
                        .num("exp", kNow + 600)
                        .str("jti", "aud-" + std::to_string(n++));
    auto r = authenticate(with_assertion(assertion(claims)));
    if (c.accepted) {
      EXPECT_TRUE(r) << c.aud << ": " << (r ? "" : r.error().message);
    } else {
      ASSERT_FALSE(r) << c.aud;
      EXPECT_EQ(r.error().detail, 700023) << c.aud;
      EXPECT_EQ(r.error().message,
                "Client assertion audience claim does not match Realm issuer. Review the "
                "documentation at "
                "https://learn.microsoft.com/entra/identity-platform/certificate-credentials.");
    }
  }
}

TEST_F(ClientAuthTest, AudienceArrayIs50027AndMissingAudienceIs700023) {
  Claims array_aud = Claims()
                         .raw("aud", json::serialize(json::array{kAud, "https://other"}))
                         .str("iss", kClientId)
                         .str("sub", kClientId)
                         .num("exp", kNow + 600)
                         .str("jti", "a1");
  expect_error(authenticate(with_assertion(assertion(array_aud))), 50027, 401);
  Claims no_aud =
      Claims().str("iss", kClientId).str("sub", kClientId).num("exp", kNow + 600).str("jti", "a2");
  expect_error(authenticate(with_assertion(assertion(no_aud))), 700023, 401);
}

TEST_F(ClientAuthTest, ExpiredAssertionIs700024WithTheThreeTimes) {
  Claims claims = Claims()
                      .str("aud", kAud)
                      .str("iss", kClientId)
                      .str("sub", kClientId)
                      .num("nbf", kNow - 3600)
                      .raw("exp", std::to_string(kNow - 301) + ".5")
                      .str("jti", "old");
  expect_error(authenticate(with_assertion(assertion(claims))), 700024, 401,
               "Client assertion is not within its valid time range. Current time: "
               "2025-06-15T15:06:40.0000000Z, assertion valid from 2025-06-15T14:06:40.0000000Z, "
               "expiry time of assertion 2025-06-15T15:01:39.5000000Z. Review the documentation "
               "at https://docs.microsoft.com/azure/active-directory/develop/"
               "active-directory-certificate-credentials .");
}

TEST_F(ClientAuthTest, TimeWindowAllowsTheConfiguredSkew) {
  // exp 299 s ago and nbf 299 s ahead are inside the 300 s skew; iat may precede nbf.
  Claims late = Claims()
                    .str("aud", kAud)
                    .str("iss", kClientId)
                    .str("sub", kClientId)
                    .num("iat", kNow - 899)
                    .num("exp", kNow - 299)
                    .str("jti", "late");
  EXPECT_TRUE(authenticate(with_assertion(assertion(late))));
  Claims early = Claims()
                     .str("aud", kAud)
                     .str("iss", kClientId)
                     .str("sub", kClientId)
                     .num("iat", kNow + 298)
                     .num("nbf", kNow + 299)
                     .num("exp", kNow + 899)
                     .str("jti", "early");
  EXPECT_TRUE(authenticate(with_assertion(assertion(early))));
  Claims too_early = Claims()
                         .str("aud", kAud)
                         .str("iss", kClientId)
                         .str("sub", kClientId)
                         .num("nbf", kNow + 301)
                         .num("exp", kNow + 900)
                         .str("jti", "too-early");
  auto r = authenticate(with_assertion(assertion(too_early)));
  expect_error(r, 700024, 401);
  // Without nbf or iat, "valid from" shows the epoch, as Entra does.
  Claims only_exp = Claims()
                        .str("aud", kAud)
                        .str("iss", kClientId)
                        .str("sub", kClientId)
                        .num("exp", kNow - 400)
                        .str("jti", "only-exp");
  r = authenticate(with_assertion(assertion(only_exp)));
  expect_error(r, 700024, 401);
  EXPECT_NE(r.error().message.find("assertion valid from 1970-01-01T00:00:00.0000000Z"),
            std::string::npos);
}

TEST_F(ClientAuthTest, MissingExpOrJtiIs90016) {
  Claims no_exp =
      Claims().str("aud", kAud).str("iss", kClientId).str("sub", kClientId).str("jti", "x");
  expect_error(authenticate(with_assertion(assertion(no_exp))), 90016, 400);
  Claims no_jti =
      Claims().str("aud", kAud).str("iss", kClientId).str("sub", kClientId).num("exp", kNow + 60);
  expect_error(authenticate(with_assertion(assertion(no_jti))), 90016, 400);
  Claims text_exp = Claims()
                        .str("aud", kAud)
                        .str("iss", kClientId)
                        .str("sub", kClientId)
                        .str("exp", "tomorrow")
                        .str("jti", "x");
  expect_error(authenticate(with_assertion(assertion(text_exp))), 50027, 401);
}

TEST_F(ClientAuthTest, LifetimeOverTheCapIs50027) {
  Claims long_lived = Claims()
                          .str("aud", kAud)
                          .str("iss", kClientId)
                          .str("sub", kClientId)
                          .num("iat", kNow)
                          .num("exp", kNow + 3601)
                          .str("jti", "long");
  auto r = authenticate(with_assertion(assertion(long_lived)));
  expect_error(r, 50027, 401,
               "JWT token is invalid or malformed. The assertion is valid for 3601 seconds (exp - "
               "iat); the most this server accepts is 3600 seconds.");
  Claims exactly_one_hour = Claims()
                                .str("aud", kAud)
                                .str("iss", kClientId)
                                .str("sub", kClientId)
                                .num("iat", kNow)
                                .num("exp", kNow + 3600)
                                .str("jti", "hour");
  EXPECT_TRUE(authenticate(with_assertion(assertion(exactly_one_hour))));
}

// ---- replay (§2.6) ----------------------------------------------------------------------------

TEST_F(ClientAuthTest, IdenticalAssertionIsAcceptedAgainBeforeExp) {
  const std::string a = msal_python_assertion();
  ASSERT_TRUE(authenticate(with_assertion(a)));
  clock_.advance(300);
  auto again = authenticate(with_assertion(a));
  EXPECT_TRUE(again) << again.error().message;
  const std::string b = msal_node_assertion();
  EXPECT_TRUE(authenticate(with_assertion(b)));
  EXPECT_TRUE(authenticate(with_assertion(b)));
}

TEST_F(ClientAuthTest, DifferentAssertionReusingAJtiIsReplay) {
  ASSERT_TRUE(authenticate(with_assertion(msal_python_assertion("shared-jti"))));
  const std::string other_aud = std::string(kOrigin) + "/contoso.example/oauth2/v2.0/token";
  expect_error(authenticate(with_assertion(msal_python_assertion("shared-jti", other_aud))), 50027,
               401,
               "JWT token is invalid or malformed. The client assertion jti 'shared-jti' was "
               "already used by a different assertion (replay).");
}

TEST_F(ClientAuthTest, StrictModeRejectsAnyReuse) {
  Application app = *dir_->view()->application(kTenantId, kClientId);
  app.strict_assertion_replay = true;
  ASSERT_TRUE(dir_->update_application(app));
  const std::string a = msal_node_assertion();
  ASSERT_TRUE(authenticate(with_assertion(a)));
  expect_error(authenticate(with_assertion(a)), 50027, 401);
  EXPECT_TRUE(authenticate(with_assertion(msal_node_assertion("fresh-jti"))));
}

TEST_F(ClientAuthTest, RejectedAssertionsDoNotConsumeTheirJti) {
  // A forged assertion must not poison the jti of the genuine one.
  json::object header;
  header["x5t"] = x5t_of(certs().client);
  const std::string forged = sign(certs().unregistered.key.get(), jose::JwsAlg::RS256, header,
                                  standard_claims("victim").json());
  expect_error(authenticate(with_assertion(forged)), 700027, 401);
  EXPECT_TRUE(authenticate(with_assertion(assertion(standard_claims("victim")))));
}

// ---- federated credentials (§2.7) -------------------------------------------------------------

TEST_F(ClientAuthTest, FederatedTokenAuthenticates) {
  add_federated();
  const std::string token = external_token(external_claims());
  auto r = authenticate(with_assertion(token));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, AuthMethod::Federated);
  EXPECT_EQ(acr_of(r->method), "2");
  EXPECT_EQ(r->credential_id, "gha-main");
  EXPECT_EQ(r->assertion_jti, "gha-run-1");
  // azure-cli re-presents a stored federated token: accepted while valid.
  EXPECT_TRUE(authenticate(with_assertion(token)));
  // Another token with the same jti (ECDSA signatures differ each time) is a replay.
  expect_error(authenticate(with_assertion(external_token(external_claims()))), 50027, 401);
  EXPECT_EQ(issuer_.fetches(std::string(kIssuer) + "/.well-known/openid-configuration"), 1);
}

TEST_F(ClientAuthTest, FederatedAudienceMayBeAnArray) {
  add_federated();
  Claims claims = Claims()
                      .str("iss", kIssuer)
                      .str("sub", kSubject)
                      .raw("aud", json::serialize(json::array{"kubernetes", kExchange}))
                      .num("exp", kNow + 300);
  EXPECT_TRUE(authenticate(with_assertion(external_token(claims))));
}

TEST_F(ClientAuthTest, FederatedSubjectOrAudienceMismatchIs70021) {
  add_federated();
  expect_error(authenticate(with_assertion(external_token(external_claims("repo:contoso/orders:"
                                                                          "ref:refs/heads/dev")))),
               70021, 400,
               "No matching federated identity record found for presented assertion. Assertion "
               "Issuer: 'https://issuer.test'. Assertion Subject: "
               "'repo:contoso/orders:ref:refs/heads/dev'. Assertion Audience: "
               "'api://AzureADTokenExchange'.");
  expect_error(authenticate(with_assertion(external_token(external_claims(kSubject, "api://x")))),
               70021, 400,
               "No matching federated identity record found for presented assertion. Assertion "
               "Issuer: 'https://issuer.test'. Assertion Subject: "
               "'repo:contoso/orders:ref:refs/heads/main'. Assertion Audience: 'api://x'.");
}

TEST_F(ClientAuthTest, FederatedIssuerMustMatchExactly) {
  add_federated(std::string(kIssuer) + "/");  // trailing slash is significant
  auto r = authenticate(with_assertion(external_token(external_claims())));
  expect_error(r, 70021, 400);
  EXPECT_EQ(issuer_.fetches(std::string(kIssuer) + "/.well-known/openid-configuration"), 0);
}

TEST_F(ClientAuthTest, FederatedBadSignatureIs50027) {
  add_federated();
  // Signed by another key under the published kid.
  auto r = authenticate(with_assertion(external_token(external_claims(), issuer_.other_key())));
  expect_error(r, 50027, 401,
               "JWT token is invalid or malformed. External ID token from issuer failed "
               "signature verification.");
}

TEST_F(ClientAuthTest, FederatedTimeWindowAndLifetimeCap) {
  add_federated();
  Claims expired = Claims()
                       .str("iss", kIssuer)
                       .str("sub", kSubject)
                       .str("aud", kExchange)
                       .num("iat", kNow - 1000)
                       .num("exp", kNow - 400);
  expect_error(authenticate(with_assertion(external_token(expired))), 700024, 401);
  Claims two_days = Claims()
                        .str("iss", kIssuer)
                        .str("sub", kSubject)
                        .str("aud", kExchange)
                        .num("iat", kNow)
                        .num("exp", kNow + 2 * 86400);
  expect_error(authenticate(with_assertion(external_token(two_days))), 50027, 401);
  Claims no_exp = Claims().str("iss", kIssuer).str("sub", kSubject).str("aud", kExchange);
  expect_error(authenticate(with_assertion(external_token(no_exp))), 90016, 400);
}

TEST_F(ClientAuthTest, FederatedIssuerUnreachableIs50166) {
  add_federated();
  issuer_.go_offline();
  auto r = authenticate(with_assertion(external_token(external_claims())));
  expect_error(r, 50166, 400);
  EXPECT_TRUE(r.error().message.starts_with("Request to External OIDC endpoint failed."))
      << r.error().message;
}

TEST_F(ClientAuthTest, FederatedJwksProblemsArePrintableAndBounded) {
  // Found by the client_assertion fuzz target: a JWK's unsupported kty was quoted whole, control
  // characters included, into the 50166 message (error_description and the audit line).
  add_federated();
  issuer_.serve_raw_keys(R"({"keys":[{"kty":"RSA\r\nforged: line )" + std::string(5000, 'x') +
                         R"("}]})");
  auto r = authenticate(with_assertion(external_token(external_claims())));
  expect_error(r, 50166, 400);
  EXPECT_EQ(r.error().message.find_first_of("\r\n"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("unsupported JWK kty"), std::string::npos) << r.error().message;
  EXPECT_LT(r.error().message.size(), 400u);
}

TEST_F(ClientAuthTest, FederatedMetadataMustNameTheIssuer) {
  add_federated();
  issuer_.set_metadata("https://impostor.test");
  expect_error(authenticate(with_assertion(external_token(external_claims()))), 50166, 400);
}

TEST_F(ClientAuthTest, UnknownKidRefetchesAtMostEveryFiveMinutes) {
  add_federated();
  const std::string metadata = std::string(kIssuer) + "/.well-known/openid-configuration";
  ASSERT_TRUE(authenticate(with_assertion(external_token(external_claims()))));
  EXPECT_EQ(issuer_.fetches(metadata), 1);

  // The issuer rotates to kid k2 (other_key); the cached set does not have it.
  issuer_.serve_keys({{issuer_.key(), "k1"}, {issuer_.other_key(), "k2"}});
  Claims rotated = Claims()
                       .str("iss", kIssuer)
                       .str("sub", kSubject)
                       .str("aud", kExchange)
                       .num("exp", kNow + 300)
                       .str("jti", "rotated-1");
  const std::string token = external_token(rotated, issuer_.other_key(), "k2");
  clock_.advance(10);  // the first fetch was less than 5 minutes ago: no refetch yet
  expect_error(authenticate(with_assertion(token)), 50027, 401);
  EXPECT_EQ(issuer_.fetches(metadata), 1);
  expect_error(authenticate(with_assertion(token)), 50027, 401);
  EXPECT_EQ(issuer_.fetches(metadata), 1);

  clock_.advance(300);  // now it may refetch once
  Claims rotated2 = Claims()
                        .str("iss", kIssuer)
                        .str("sub", kSubject)
                        .str("aud", kExchange)
                        .num("exp", clock_.now_unix() + 300)
                        .str("jti", "rotated-2");
  auto r = authenticate(with_assertion(external_token(rotated2, issuer_.other_key(), "k2")));
  EXPECT_TRUE(r) << r.error().message;
  EXPECT_EQ(issuer_.fetches(metadata), 2);
}

TEST_F(ClientAuthTest, LastGoodKeysAreKeptWhenTheIssuerGoesAway) {
  add_federated();
  ASSERT_TRUE(authenticate(with_assertion(external_token(external_claims()))));
  issuer_.go_offline();
  clock_.advance(25 * 3600);  // past the 24 h cache lifetime: a refetch is due and fails
  Claims later = Claims()
                     .str("iss", kIssuer)
                     .str("sub", kSubject)
                     .str("aud", kExchange)
                     .num("exp", clock_.now_unix() + 300)
                     .str("jti", "later");
  auto r = authenticate(with_assertion(external_token(later)));
  EXPECT_TRUE(r) << r.error().message;
  EXPECT_EQ(issuer_.fetches(std::string(kIssuer) + "/.well-known/openid-configuration"), 2);
}

TEST_F(ClientAuthTest, FederatedKeysAreFetchedOverRealHttpFromALoopbackIssuer) {
  test::StaticHttpServer server;
  const std::string issuer = server.origin() + "/issuer";
  json::object metadata;
  metadata["issuer"] = issuer;
  metadata["jwks_uri"] = issuer + "/keys";
  server.set("/issuer/.well-known/openid-configuration", json::serialize(metadata));
  jose::JwkMetadata meta;
  meta.kid = "k1";
  auto jwk = jose::Jwk::from_pkey(crypto::share(const_cast<EVP_PKEY*>(issuer_.key())), meta);
  json::object set;
  set["keys"] = json::array{*jwk->to_public_json()};
  server.set("/issuer/keys", json::serialize(set));

  add_federated(issuer);
  options_.fetch_document = nullptr;  // the real http::fetch_url
  Claims claims = Claims()
                      .str("iss", issuer)
                      .str("sub", kSubject)
                      .str("aud", kExchange)
                      .num("exp", kNow + 300)
                      .str("jti", "loopback");
  auto r = authenticate(with_assertion(external_token(claims)));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->method, AuthMethod::Federated);
  EXPECT_EQ(server.requests("/issuer/.well-known/openid-configuration"), 1u);
  EXPECT_EQ(server.requests("/issuer/keys"), 1u);
}

TEST_F(ClientAuthTest, UnregisteredUrlIssuerIs70021) {
  auto r = authenticate(with_assertion(external_token(external_claims())));
  expect_error(r, 70021, 400);
}

}  // namespace
}  // namespace gh::identity
