#include "identity/identity_service.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "core/encoding.h"
#include "crypto/digest.h"
#include "crypto/ossl_ptr.h"
#include "jose/jwk_set.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "support/test_pki.h"

namespace gh::identity {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr std::string_view kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr std::string_view kOrdersId = "aaaaaaaa-0000-0000-0000-000000000001";
constexpr std::string_view kInventoryId = "aaaaaaaa-0000-0000-0000-000000000002";
constexpr std::string_view kLedgerId = "aaaaaaaa-0000-0000-0000-000000000003";
constexpr std::string_view kWorkerId = "bbbbbbbb-0000-0000-0000-000000000001";
constexpr std::string_view kPartnerId = "bbbbbbbb-0000-0000-0000-000000000002";
constexpr std::string_view kWorkerSecret = "worker-secret-value-0123456789.~_-";
constexpr std::string_view kHost = "login.gatehouse.test:8443";
constexpr std::string_view kOrigin = "https://login.gatehouse.test:8443";
constexpr int64_t kNow = 1'790'000'000;

std::string base() {
  return std::string(kOrigin) + "/" + std::string(kTenant);
}

json::object parse_object(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v.is_object() ? v.as_object() : json::object{};
}

/// A JSON value as text for comparisons: a string's content, anything else serialized.
std::string s(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

std::vector<std::string> keys_of(const json::object& o) {
  std::vector<std::string> out;
  for (const auto& kv : o)
    out.emplace_back(kv.key());
  return out;
}

std::string header_of(const http::LocalResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (core::iequals(k, name)) return v;
  return {};
}
bool has_header(const http::LocalResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (core::iequals(k, name)) return true;
  return false;
}

/// A request with storage behind LocalRequest's views.
struct Request {
  std::string listener = "public";
  std::string method = "POST";
  std::string path;
  std::string query;
  std::string host = std::string(kHost);
  std::string client_ip = "192.0.2.10";
  bool tls = true;
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/x-www-form-urlencoded;charset=utf-8"}};
  std::string body;

  http::LocalRequest view() {
    fields_.clear();
    for (const auto& [k, v] : headers)
      fields_.push_back({k, v});
    target_ = path + (query.empty() ? "" : "?" + query);
    http::LocalRequest r;
    r.listener = listener;
    r.method = method;
    r.target = target_;
    r.path = path;
    r.query = query;
    r.host = host;
    r.tls = tls;
    r.client_ip = client_ip;
    r.client_port = 40000;
    r.local_ip = "192.0.2.1";
    r.local_port = 8443;
    r.request_id = "r1";
    r.headers = fields_;
    r.body = body;
    return r;
  }

 private:
  std::string target_;
  std::vector<http::HeaderField> fields_;
};

Request token_request(std::string_view version_path, std::string body) {
  Request r;
  r.path = "/" + std::string(kTenant) + std::string(version_path);
  r.body = std::move(body);
  return r;
}
Request v2(std::string body) {
  return token_request("/oauth2/v2.0/token", std::move(body));
}
Request v1(std::string body) {
  return token_request("/oauth2/token", std::move(body));
}
Request get(std::string path) {
  Request r;
  r.method = "GET";
  r.path = std::move(path);
  r.headers.clear();
  return r;
}

std::string worker_secret_form(std::string_view scope = "api%3A%2F%2Forders%2F.default") {
  return "client_id=" + std::string(kWorkerId) +
         "&grant_type=client_credentials&client_info=1&client_secret=" +
         std::string(kWorkerSecret) + "&scope=" + std::string(scope);
}

class IdentityServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new test::TestPki(kNow);
    test::TestCertOptions opts;
    opts.cn = "partner";
    opts.key_type = test::TestKeyType::Rsa2048;
    partner_ = new test::TestCert(pki_->issue(nullptr, opts));
  }
  static void TearDownTestSuite() {
    delete partner_;
    delete pki_;
  }

  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gh_identity_service_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    {
      std::ofstream pem(dir_ / "partner.pem");
      pem << partner_->cert_pem();
    }
    config_.data_dir = (dir_ / "data").string();
    config_.audit_log = (dir_ / "audit.log").string();
    config_.tenants.push_back(tenant());
    config::ManagedIdentityConfig mi;
    mi.name = "worker-mi";
    mi.tenant = kTenant;
    mi.client_id = kWorkerId;
    mi.source_cidrs = {"10.9.0.0/16"};
    config_.managed_identities.push_back(mi);
    config_.managed_identity_listeners = {"imds"};
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  config::DeclaredTenant tenant() {
    config::DeclaredTenant t;
    t.id = kTenant;
    t.name = "Contoso";
    t.aliases = {"contoso.example"};
    config::DeclaredApplication orders;
    orders.client_id = kOrdersId;
    orders.name = "orders-api";
    orders.identifier_uris = {"api://orders"};
    orders.access_token_version = 2;
    orders.roles = {{"Orders.Read", "", ""}, {"Orders.Write", "", ""}};
    config::DeclaredApplication inventory;
    inventory.client_id = kInventoryId;
    inventory.name = "inventory-api";
    inventory.identifier_uris = {"api://inventory", "https://inventory.example/"};
    inventory.access_token_version = 1;
    config::DeclaredApplication ledger;
    ledger.client_id = kLedgerId;
    ledger.name = "ledger-api";
    ledger.identifier_uris = {"api://ledger"};
    ledger.assignment_required = true;
    ledger.roles = {{"Ledger.Read", "", ""}};
    config::DeclaredApplication worker;
    worker.client_id = kWorkerId;
    worker.name = "orders-worker";
    worker.secrets = {{"ci", "WORKER_SECRET"}};
    worker.assignments = {{"api://orders", "Orders.Read"}};
    config::DeclaredApplication partner;
    partner.client_id = kPartnerId;
    partner.name = "partner";
    partner.certificates = {{(dir_ / "partner.pem").string(), "partner-2026"}};
    partner.assignments = {{"api://ledger", "Ledger.Read"}};
    t.applications = {orders, inventory, ledger, worker, partner};
    return t;
  }

  IdentityService& service() {
    if (!service_) {
      auto env = config::fixed_environment({{"WORKER_SECRET", std::string(kWorkerSecret)}});
      auto s =
          IdentityService::start(config_, IdentityListeners{{"public"}, {"imds"}}, env, clock_);
      EXPECT_TRUE(s) << (s ? "" : s.error().message);
      if (!s) std::abort();
      service_ = *s;
    }
    return *service_;
  }

  http::LocalResponse run(Request& r) {
    net::asio::io_context ctx;
    std::optional<http::LocalResponse> out;
    http::LocalRequest req = r.view();
    net::asio::co_spawn(ctx, service().handle(req),
                        [&out](std::exception_ptr e, http::LocalResponse resp) {
                          if (e) std::rethrow_exception(e);
                          out = std::move(resp);
                        });
    ctx.run();
    EXPECT_TRUE(out.has_value());
    return out.value_or(http::LocalResponse{});
  }

  /// The v2 key set as a validator gets it: from the keys endpoint named by discovery.
  jose::JwkSet published_keys(std::string_view discovery_path) {
    Request d = get(std::string(discovery_path));
    auto doc = parse_object(run(d).body);
    std::string jwks_uri(doc["jwks_uri"].as_string());
    const size_t path_start = jwks_uri.find('/', jwks_uri.find("://") + 3);
    EXPECT_NE(path_start, std::string::npos) << jwks_uri;
    Request k = get(jwks_uri.substr(path_start));
    auto resp = run(k);
    EXPECT_EQ(resp.status, 200);
    auto set = jose::JwkSet::parse(resp.body);
    EXPECT_TRUE(set) << resp.body;
    if (!set) std::abort();
    return std::move(*set);
  }

  json::object verified_claims(std::string_view token, std::string_view discovery_path,
                               std::string_view expected_issuer) {
    auto keys = published_keys(discovery_path);
    jose::JwtVerifyOptions options;
    options.claims.issuers = {std::string(expected_issuer)};
    auto jwt = jose::verify_jwt(token, keys, options, clock_);
    EXPECT_TRUE(jwt) << (jwt ? "" : jwt.error().message);
    return jwt ? jwt->claims : json::object{};
  }

  json::object header_of_token(std::string_view token) {
    auto dot = token.find('.');
    auto decoded = core::base64url_decode(token.substr(0, dot));
    EXPECT_TRUE(decoded);
    return decoded ? parse_object(core::as_string_view(*decoded)) : json::object{};
  }

  /// A certificate assertion from the partner app, RS256 with x5t, for `aud`.
  std::string partner_assertion(std::string_view aud) {
    jose::JwkMetadata meta;
    auto jwk = jose::Jwk::from_pkey(crypto::share(partner_->key.get()), meta);
    EXPECT_TRUE(jwk);
    auto sha1 = crypto::sha1(partner_->der());
    json::object header;
    header["x5t"] = core::base64url_encode(sha1);
    header["typ"] = "JWT";
    json::object claims;
    claims["aud"] = aud;
    claims["iss"] = kPartnerId;
    claims["sub"] = kPartnerId;
    claims["jti"] = "4b1d7c0e-0000-4000-8000-" + std::to_string(++assertions_ + 100000000000);
    claims["iat"] = kNow;
    claims["nbf"] = kNow;
    claims["exp"] = kNow + 600;
    std::string payload = json::serialize(claims);
    auto token = jose::sign_compact(core::as_bytes(payload), *jwk, jose::JwsAlg::RS256, header);
    EXPECT_TRUE(token);
    return token ? *token : std::string{};
  }

  std::vector<json::object> audit_lines() {
    service().maintain();  // flushes the audit log
    std::ifstream in(dir_ / "audit.log");
    std::vector<json::object> out;
    std::string line;
    while (std::getline(in, line))
      out.push_back(parse_object(line));
    return out;
  }

  static test::TestPki* pki_;
  static test::TestCert* partner_;
  test::FixedClock clock_{kNow};
  fs::path dir_;
  config::IdentityConfig config_;
  std::shared_ptr<IdentityService> service_;
  int assertions_ = 0;
};

test::TestPki* IdentityServiceTest::pki_ = nullptr;
test::TestCert* IdentityServiceTest::partner_ = nullptr;

/// An Entra error answer: status, error, AADSTS code, and the shared body shape.
json::object expect_entra_error(const http::LocalResponse& r, uint16_t status,
                                std::string_view error, int code,
                                std::string_view origin = kOrigin) {
  EXPECT_EQ(r.status, status) << r.body;
  auto body = parse_object(r.body);
  EXPECT_EQ(keys_of(body),
            (std::vector<std::string>{"error", "error_description", "error_codes", "timestamp",
                                      "trace_id", "correlation_id", "error_uri"}))
      << r.body;
  EXPECT_EQ(s(body["error"]), error) << r.body;
  EXPECT_EQ(s(body["error_codes"]), json::serialize(json::array({code}))) << r.body;
  EXPECT_TRUE(std::string(body["error_description"].as_string())
                  .starts_with("AADSTS" + std::to_string(code) + ": "))
      << r.body;
  EXPECT_EQ(s(body["error_uri"]), std::string(origin) + "/error?code=" + std::to_string(code));
  EXPECT_EQ(s(body["trace_id"]), header_of(r, "x-ms-request-id"));
  EXPECT_FALSE(has_header(r, "Retry-After"));
  return body;
}

std::string description_of(const json::object& body) {
  return std::string(body.at("error_description").as_string());
}

// ---- start ----------------------------------------------------------------------------------

TEST_F(IdentityServiceTest, StartCreatesThePrivateDataDirectoryAndAMasterKey) {
  service();
  struct stat st {};
  ASSERT_EQ(::stat(config_.data_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((fs::path(config_.data_dir) / "gatehouse.db").c_str(), &st), 0);
  ASSERT_EQ(::stat((fs::path(config_.data_dir) / "master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  // The declarative tenant is in the directory.
  auto view = service().directory().view();
  ASSERT_NE(view->tenant("contoso.example"), nullptr);
  EXPECT_NE(view->application(kTenant, kPartnerId), nullptr);
}

TEST_F(IdentityServiceTest, RestartKeepsKeysAndDirectory) {
  Request d = get("/" + std::string(kTenant) + "/discovery/v2.0/keys");
  std::string first = run(d).body;
  service_.reset();
  EXPECT_EQ(run(d).body, first);  // same master key file, same sealed signing keys
}

TEST_F(IdentityServiceTest, StartRefusesAPublicUrlWithAPath) {
  for (std::string url : {"https://login.example/prefix", "ftp://login.example",
                          "https://login.example/x?y", "https://user@login.example"}) {
    config_.public_url = url;
    auto started = IdentityService::start(config_, {}, config::fixed_environment({}), clock_);
    ASSERT_FALSE(started) << url;
    EXPECT_EQ(started.error().kind, ErrorKind::InvalidArgument);
    EXPECT_NE(started.error().message.find("public_url"), std::string::npos);
  }
}

// ---- routing --------------------------------------------------------------------------------

TEST_F(IdentityServiceTest, ClaimsTheIdentityPathsOnIdentityListenersOnly) {
  auto& s = service();
  const std::string t(kTenant);
  for (std::string path : std::vector<std::string>{
           "/" + t + "/oauth2/v2.0/token", "/" + t + "/oauth2/token",
           "/contoso.example/v2.0/.well-known/openid-configuration",
           "/" + t + "/.well-known/openid-configuration", "/" + t + "/discovery/v2.0/keys",
           "/" + t + "/discovery/keys", "/common/discovery/keys", "/common/discovery/v2.0/keys",
           "/common/discovery/instance", "/error", "/" + t + "/oauth2/v2.0/authorize",
           "/" + t + "/OAuth2/V2.0/Token"}) {
    EXPECT_TRUE(s.claims("public", path)) << path;
    EXPECT_FALSE(s.claims("other", path)) << path;
  }
  for (std::string path : std::vector<std::string>{
           "/", "/orders", "/" + t, "/" + t + "/oauth2", "/" + t + "/oauth2/v3/token",
           "/" + t + "/oauth2/v2.0/token/x", "//oauth2/token", "/x/discovery/instance",
           "/metadata/identity/oauth2/token", "/msi/token"})
    EXPECT_FALSE(s.claims("public", path)) << path;
  EXPECT_TRUE(s.claims("imds", "/metadata/identity/oauth2/token"));
  EXPECT_TRUE(s.claims("imds", "/msi/token"));
  EXPECT_FALSE(s.claims("imds", "/" + t + "/oauth2/v2.0/token"));
}

TEST_F(IdentityServiceTest, EmptyIdentityListenerListMeansEveryListener) {
  auto env = config::fixed_environment({{"WORKER_SECRET", std::string(kWorkerSecret)}});
  auto started = IdentityService::start(config_, IdentityListeners{}, env, clock_);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_TRUE((*started)->claims("anything", "/common/discovery/keys"));
  EXPECT_FALSE((*started)->claims("anything", "/metadata/identity/oauth2/token"));
}

// ---- token endpoint: success ----------------------------------------------------------------

TEST_F(IdentityServiceTest, V2TokenWithASecret) {
  Request r = v2(worker_secret_form());
  r.headers.push_back({"client-request-id", "8291060b-5425-4ca2-bf42-1f2d93ee6511"});
  auto resp = run(r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  EXPECT_EQ(resp.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(header_of(resp, "Cache-Control"), "no-store, no-cache");
  EXPECT_EQ(header_of(resp, "Pragma"), "no-cache");
  EXPECT_EQ(header_of(resp, "Expires"), "-1");
  EXPECT_EQ(header_of(resp, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header_of(resp, "x-ms-request-id").size(), 36u);
  EXPECT_EQ(header_of(resp, "client-request-id"), "8291060b-5425-4ca2-bf42-1f2d93ee6511");

  auto body = parse_object(resp.body);
  EXPECT_EQ(keys_of(body), (std::vector<std::string>{"token_type", "expires_in", "ext_expires_in",
                                                     "access_token"}));
  EXPECT_EQ(s(body["token_type"]), "Bearer");
  EXPECT_TRUE(body["expires_in"].is_int64());
  EXPECT_EQ(s(body["expires_in"]), "3599");
  EXPECT_EQ(s(body["ext_expires_in"]), "3599");

  std::string token(body["access_token"].as_string());
  auto claims =
      verified_claims(token, "/" + std::string(kTenant) + "/v2.0/.well-known/openid-configuration",
                      base() + "/v2.0");
  EXPECT_EQ(s(claims["ver"]), "2.0");
  EXPECT_EQ(s(claims["aud"]), kOrdersId);
  EXPECT_EQ(s(claims["azp"]), kWorkerId);
  EXPECT_EQ(s(claims["azpacr"]), "1");
  EXPECT_EQ(s(claims["tid"]), kTenant);
  EXPECT_EQ(s(claims["roles"]), json::serialize(json::array({"Orders.Read"})));
  EXPECT_EQ(claims["exp"].to_number<int64_t>(), kNow + 3600);
  EXPECT_EQ(claims["iat"].to_number<int64_t>(), kNow - 300);
  EXPECT_FALSE(claims.contains("appid"));
  auto header = header_of_token(token);
  EXPECT_TRUE(header.contains("kid"));
  EXPECT_FALSE(header.contains("x5t"));

  auto lines = audit_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(s(lines[0]["outcome"]), "issued");
  EXPECT_EQ(s(lines[0]["endpoint"]), "token_v2");
  EXPECT_EQ(s(lines[0]["method"]), "secret");
  EXPECT_EQ(s(lines[0]["client_id"]), kWorkerId);
  EXPECT_EQ(s(lines[0]["tenant"]), kTenant);
  EXPECT_EQ(s(lines[0]["resource"]), "api://orders");
  EXPECT_EQ(s(lines[0]["trace_id"]), header_of(resp, "x-ms-request-id"));
  for (const auto& line : lines)
    EXPECT_EQ(json::serialize(line).find(kWorkerSecret), std::string::npos);
}

TEST_F(IdentityServiceTest, V1TokenShapeForAV1Resource) {
  Request r = v1("grant_type=client_credentials&client_id=" + std::string(kWorkerId) +
                 "&client_secret=" + std::string(kWorkerSecret) +
                 "&resource=https%3A%2F%2Finventory.example%2F");
  auto resp = run(r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  auto body = parse_object(resp.body);
  EXPECT_EQ(keys_of(body),
            (std::vector<std::string>{"token_type", "expires_in", "ext_expires_in", "expires_on",
                                      "not_before", "resource", "access_token"}));
  EXPECT_EQ(s(body["expires_in"]), "3599");  // v1: numbers as strings
  EXPECT_EQ(s(body["ext_expires_in"]), "3599");
  EXPECT_EQ(s(body["expires_on"]), std::to_string(kNow + 3600));
  EXPECT_EQ(s(body["not_before"]), std::to_string(kNow - 300));
  EXPECT_EQ(s(body["resource"]), "https://inventory.example/");

  std::string token(body["access_token"].as_string());
  auto claims = verified_claims(
      token, "/" + std::string(kTenant) + "/.well-known/openid-configuration", base() + "/");
  EXPECT_EQ(s(claims["ver"]), "1.0");
  EXPECT_EQ(s(claims["aud"]), "https://inventory.example/");  // v1: as requested
  EXPECT_EQ(s(claims["appid"]), kWorkerId);
  EXPECT_EQ(s(claims["appidacr"]), "1");
  EXPECT_FALSE(claims.contains("roles"));
  auto header = header_of_token(token);
  EXPECT_EQ(s(header["x5t"]), s(header["kid"]));
}

TEST_F(IdentityServiceTest, EndpointVersionOnlyShapesTheResponse) {
  // v1 endpoint, v2 resource: v1 JSON, v2 token.
  Request r = v1("grant_type=client_credentials&client_id=" + std::string(kWorkerId) +
                 "&client_secret=" + std::string(kWorkerSecret) + "&resource=api://orders");
  auto resp = run(r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  auto body = parse_object(resp.body);
  EXPECT_TRUE(body["expires_in"].is_string());
  auto claims = verified_claims(
      body["access_token"].as_string(),
      "/" + std::string(kTenant) + "/v2.0/.well-known/openid-configuration", base() + "/v2.0");
  EXPECT_EQ(s(claims["ver"]), "2.0");
}

TEST_F(IdentityServiceTest, TenantAliasAndScopeVariants) {
  Request r = v2(worker_secret_form("api%3A%2F%2Forders%2F.default+openid+profile+offline_access"));
  r.path = "/contoso.example/oauth2/v2.0/token";
  auto resp = run(r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  auto claims =
      verified_claims(parse_object(resp.body)["access_token"].as_string(),
                      "/contoso.example/v2.0/.well-known/openid-configuration", base() + "/v2.0");
  EXPECT_EQ(s(claims["tid"]), kTenant);  // the GUID, whatever the path said

  // The resource by client id, any case.
  Request by_id = v2(worker_secret_form("AAAAAAAA-0000-0000-0000-000000000001%2F.default"));
  EXPECT_EQ(run(by_id).status, 200);
}

TEST_F(IdentityServiceTest, BasicAuthentication) {
  std::string credentials = std::string(kWorkerId) + ":" + std::string(kWorkerSecret);
  Request r = v2("grant_type=client_credentials&scope=api%3A%2F%2Forders%2F.default");
  r.headers.push_back(
      {"Authorization", "Basic " + core::base64_encode(core::as_bytes(credentials))});
  auto resp = run(r);
  ASSERT_EQ(resp.status, 200) << resp.body;

  std::string wrong = std::string(kWorkerId) + ":not-the-secret-0000000000";
  Request bad = v2("grant_type=client_credentials&scope=api%3A%2F%2Forders%2F.default");
  bad.headers.push_back({"Authorization", "Basic " + core::base64_encode(core::as_bytes(wrong))});
  auto refused = run(bad);
  expect_entra_error(refused, 401, "invalid_client", 7000215);
  EXPECT_TRUE(header_of(refused, "WWW-Authenticate").starts_with("Basic"));

  // The same wrong secret in the body: no WWW-Authenticate (the client did not use Basic).
  Request body_secret = v2("client_id=" + std::string(kWorkerId) +
                           "&grant_type=client_credentials&client_secret=not-the-secret-0000000000"
                           "&scope=api%3A%2F%2Forders%2F.default");
  auto refused_body = run(body_secret);
  expect_entra_error(refused_body, 401, "invalid_client", 7000215);
  EXPECT_FALSE(has_header(refused_body, "WWW-Authenticate"));
}

TEST_F(IdentityServiceTest, CertificateAssertionAudienceIsTheRequestOrigin) {
  // partner holds Ledger.Read on the assignment-required ledger.
  const std::string aud = base() + "/oauth2/v2.0/token";
  Request r = v2("client_id=" + std::string(kPartnerId) +
                 "&grant_type=client_credentials&scope=api%3A%2F%2Fledger%2F.default"
                 "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3A"
                 "jwt-bearer&client_assertion=" +
                 partner_assertion(aud));
  auto resp = run(r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  auto claims = verified_claims(parse_object(resp.body)["access_token"].as_string(),
                                "/" + std::string(kTenant) + "/.well-known/openid-configuration",
                                base() + "/");
  EXPECT_EQ(s(claims["appidacr"]), "2");
  EXPECT_EQ(s(claims["roles"]), json::serialize(json::array({"Ledger.Read"})));

  // The same assertion sent to another host is for another audience.
  Request elsewhere = r;
  elsewhere.host = "other.test:8443";
  expect_entra_error(run(elsewhere), 401, "invalid_client", 700023, "https://other.test:8443");
  auto lines = audit_lines();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(s(lines[0]["method"]), "certificate");
  EXPECT_EQ(s(lines[1]["outcome"]), "failed");
  EXPECT_EQ(s(lines[1]["aadsts"]), "700023");
}

TEST_F(IdentityServiceTest, PublicUrlFixesTheOrigin) {
  config_.public_url = "https://Login.Example.COM/";
  const std::string issuer = "https://login.example.com/" + std::string(kTenant) + "/v2.0";
  Request d = get("/" + std::string(kTenant) + "/v2.0/.well-known/openid-configuration");
  auto doc = parse_object(run(d).body);  // asked through kHost: the configured origin wins
  EXPECT_EQ(s(doc["issuer"]), issuer);
  EXPECT_EQ(s(doc["jwks_uri"]),
            "https://login.example.com/" + std::string(kTenant) + "/discovery/v2.0/keys");
  Request r = v2(worker_secret_form());
  auto body = parse_object(run(r).body);
  auto claims = verified_claims(
      body["access_token"].as_string(),
      "/" + std::string(kTenant) + "/v2.0/.well-known/openid-configuration", issuer);
  EXPECT_EQ(s(claims["iss"]), issuer);
}

TEST_F(IdentityServiceTest, WithoutPublicUrlTheOriginFollowsTheConnectionsScheme) {
  // A plain listener (behind a TLS-terminating front, or a benchmark) advertises http URLs, so
  // that assertions whose aud is the advertised token endpoint match.
  Request d = get("/" + std::string(kTenant) + "/v2.0/.well-known/openid-configuration");
  d.tls = false;
  auto doc = parse_object(run(d).body);
  EXPECT_EQ(s(doc["issuer"]),
            "http://" + std::string(kHost) + "/" + std::string(kTenant) + "/v2.0");
  d.tls = true;
  doc = parse_object(run(d).body);
  EXPECT_EQ(s(doc["issuer"]),
            "https://" + std::string(kHost) + "/" + std::string(kTenant) + "/v2.0");
}

// ---- token endpoint: errors -----------------------------------------------------------------

TEST_F(IdentityServiceTest, MethodAndTenantErrors) {
  Request g = v2(worker_secret_form());
  g.method = "GET";
  auto body = expect_entra_error(run(g), 400, "invalid_request", 900561);
  EXPECT_NE(description_of(body).find("Received a GET request."), std::string::npos);

  Request unknown = v2(worker_secret_form());
  unknown.path = "/nowhere.example/oauth2/v2.0/token";
  body = expect_entra_error(run(unknown), 400, "invalid_request", 90002);
  EXPECT_TRUE(description_of(body).starts_with(
      "AADSTS90002: Tenant 'nowhere.example' not found. Check to make sure you have the correct "
      "tenant ID and are signing into the correct cloud."));

  Request common = v2(worker_secret_form());
  common.path = "/common/oauth2/v2.0/token";
  expect_entra_error(run(common), 400, "invalid_request", 9001023);
}

TEST_F(IdentityServiceTest, ParameterErrors) {
  struct Case {
    std::string body;
    uint16_t status;
    std::string error;
    int code;
    std::string fragment;
  };
  const std::string client =
      "client_id=" + std::string(kWorkerId) + "&client_secret=" + std::string(kWorkerSecret);
  std::vector<Case> cases = {
      {client + "&scope=api%3A%2F%2Forders%2F.default", 400, "invalid_request", 900144,
       "following parameter: 'grant_type'."},
      {client + "&grant_type=password&scope=x", 400, "unsupported_grant_type", 70003, ""},
      {client + "&grant_type=client_credentials", 400, "invalid_request", 900144,
       "parameter: 'scope'."},
      {client + "&grant_type=client_credentials&scope=api%3A%2F%2Forders%2F.default"
                "&resource=api%3A%2F%2Forders",
       400, "invalid_request", 901002, "'resource' request parameter isn't supported"},
      {client + "&grant_type=client_credentials&scope=api%3A%2F%2Forders%2FOrders.Read", 400,
       "invalid_scope", 1002012, "scope api://orders/Orders.Read is not valid"},
      {client + "&grant_type=client_credentials&scope=api%3A%2F%2Forders%2F.default+api%3A%2F%2F"
                "ledger%2F.default",
       400, "invalid_scope", 700022, "more than one resource"},
      {client + "&grant_type=client_credentials&scope=api%3A%2F%2Fnowhere%2F.default", 400,
       "invalid_resource", 500011,
       "The resource principal named api://nowhere was not found in the tenant named Contoso."},
      {client + "&grant_type=client_credentials&scope=a&scope=b", 400, "invalid_request", 9000411,
       "'scope' is duplicated"},
      {client + "&grant_type=client_credentials&scope=%GG", 400, "invalid_request", 90023,
       "percent-encoding"},
      {"client_id=eeeeeeee-0000-0000-0000-000000000009&client_secret=x&grant_type="
       "client_credentials&scope=api%3A%2F%2Forders%2F.default",
       400, "unauthorized_client", 700016, "eeeeeeee-0000-0000-0000-000000000009"},
      {"client_id=" + std::string(kWorkerId) +
           "&grant_type=client_credentials&scope=api%3A%2F%2Forders%2F.default",
       401, "invalid_client", 7000218, "'client_assertion' or 'client_secret'"},
      {client + "&grant_type=client_credentials&scope=api%3A%2F%2Fledger%2F.default", 400,
       "invalid_grant", 501051,
       "Application '" + std::string(kWorkerId) +
           "'(orders-worker) is not assigned to a role for the application "
           "'api://ledger'(ledger-api)."},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.body);
    Request r = v2(c.body);
    auto body = expect_entra_error(run(r), c.status, c.error, c.code);
    EXPECT_NE(description_of(body).find(c.fragment), std::string::npos) << description_of(body);
  }
  // v1 needs `resource`.
  Request r1 = v1(client + "&grant_type=client_credentials&scope=api%3A%2F%2Forders%2F.default");
  auto body = expect_entra_error(run(r1), 400, "invalid_request", 900144);
  EXPECT_NE(description_of(body).find("'resource'"), std::string::npos);

  // A JSON body carries no form parameters.
  Request json_body = v2(worker_secret_form());
  json_body.headers = {{"Content-Type", "application/json"}};
  expect_entra_error(run(json_body), 400, "invalid_request", 900144);

  auto lines = audit_lines();
  EXPECT_EQ(lines.size(), cases.size() + 2);
  for (const auto& line : lines) {
    EXPECT_EQ(s(line.at("outcome")), "failed");
    EXPECT_NE(s(line.at("aadsts")), "0");
    EXPECT_EQ(json::serialize(line).find(kWorkerSecret), std::string::npos);
  }
}

TEST_F(IdentityServiceTest, CorrelationIdComesFromHeaderQueryOrBody) {
  Request header = v2(worker_secret_form("bad"));
  header.headers.push_back({"client-request-id", "11111111-aaaa-4000-8000-000000000001"});
  auto resp = run(header);
  auto body = expect_entra_error(resp, 400, "invalid_scope", 1002012);
  EXPECT_EQ(s(body["correlation_id"]), "11111111-aaaa-4000-8000-000000000001");
  EXPECT_EQ(header_of(resp, "client-request-id"), "11111111-aaaa-4000-8000-000000000001");
  EXPECT_NE(description_of(body).find("\r\nCorrelation ID: 11111111-aaaa-4000-8000-000000000001"
                                      "\r\n"),
            std::string::npos);

  Request query = v2(worker_secret_form("bad"));
  query.query = "client-request-id=22222222-aaaa-4000-8000-000000000002";  // msal-node
  body = expect_entra_error(run(query), 400, "invalid_scope", 1002012);
  EXPECT_EQ(s(body["correlation_id"]), "22222222-aaaa-4000-8000-000000000002");

  Request in_body =
      v2(worker_secret_form("bad") + "&client-request-id=33333333-aaaa-4000-8000-000000000003");
  resp = run(in_body);
  body = expect_entra_error(resp, 400, "invalid_scope", 1002012);
  EXPECT_EQ(s(body["correlation_id"]), "33333333-aaaa-4000-8000-000000000003");
  EXPECT_EQ(header_of(resp, "client-request-id"), "33333333-aaaa-4000-8000-000000000003");

  Request none = v2(worker_secret_form("bad"));
  resp = run(none);
  body = expect_entra_error(resp, 400, "invalid_scope", 1002012);
  EXPECT_EQ(body["correlation_id"].as_string().size(), 36u);
  EXPECT_NE(s(body["correlation_id"]), s(body["trace_id"]));
  EXPECT_FALSE(has_header(resp, "client-request-id"));
  // Each request has its own trace id.
  EXPECT_NE(parse_object(run(none).body)["trace_id"], body["trace_id"]);
}

TEST_F(IdentityServiceTest, ThrottlingCarriesRetryAfter) {
  // After secret_failure_limit wrong secrets for one client, the next is refused with 429
  // before hashing: the only answer that carries Retry-After.
  http::LocalResponse last;
  for (int i = 0; i < 40 && last.status != 429; ++i) {
    Request r = v2("client_id=" + std::string(kWorkerId) +
                   "&grant_type=client_credentials&client_secret=wrong-" + std::to_string(i) +
                   "-0000000000&scope=api%3A%2F%2Forders%2F.default");
    last = run(r);
    if (last.status == 401) {
      EXPECT_FALSE(has_header(last, "Retry-After"));
    }
  }
  ASSERT_EQ(last.status, 429) << last.body;
  EXPECT_EQ(s(parse_object(last.body)["error"]), "temporarily_unavailable");
  auto seconds = core::parse_uint(header_of(last, "Retry-After"));
  ASSERT_TRUE(seconds.has_value());
  EXPECT_GT(*seconds, 0u);
  EXPECT_LE(*seconds, 3600u);
  // The delay is the one the error names.
  EXPECT_NE(description_of(parse_object(last.body))
                .find("Retry after " + std::to_string(*seconds) + " seconds."),
            std::string::npos)
      << last.body;
}

// ---- discovery ------------------------------------------------------------------------------

TEST_F(IdentityServiceTest, DiscoveryV2) {
  Request r = get("/contoso.example/v2.0/.well-known/openid-configuration");
  auto resp = run(r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  EXPECT_EQ(header_of(resp, "Cache-Control"), "max-age=86400, private");
  EXPECT_EQ(header_of(resp, "Access-Control-Allow-Origin"), "*");
  auto doc = parse_object(resp.body);
  EXPECT_EQ(s(doc["issuer"]), base() + "/v2.0");
  EXPECT_EQ(s(doc["token_endpoint"]), base() + "/oauth2/v2.0/token");
  EXPECT_EQ(s(doc["jwks_uri"]), base() + "/discovery/v2.0/keys");
  EXPECT_EQ(s(doc["authorization_endpoint"]), base() + "/oauth2/v2.0/authorize");
  EXPECT_EQ(keys_of(doc).size(), 23u);

  // The interactive endpoints it lists exist and refuse.
  Request authorize = get("/" + std::string(kTenant) + "/oauth2/v2.0/authorize");
  authorize.query = "client_id=x&response_type=code";
  expect_entra_error(run(authorize), 400, "invalid_request", 90023);
}

TEST_F(IdentityServiceTest, DiscoveryV1AndMultiTenant) {
  Request r = get("/" + std::string(kTenant) + "/.well-known/openid-configuration");
  auto doc = parse_object(run(r).body);
  EXPECT_EQ(s(doc["issuer"]), base() + "/");
  EXPECT_EQ(s(doc["jwks_uri"]), std::string(kOrigin) + "/common/discovery/keys");
  Request common = get("/common/v2.0/.well-known/openid-configuration");
  doc = parse_object(run(common).body);
  EXPECT_EQ(s(doc["issuer"]), std::string(kOrigin) + "/{tenantid}/v2.0");
}

TEST_F(IdentityServiceTest, DiscoveryUnknownTenantIsInvalidTenant) {
  Request r = get("/nowhere.example/v2.0/.well-known/openid-configuration");
  auto resp = run(r);
  auto body = expect_entra_error(resp, 400, "invalid_tenant", 90002);
  EXPECT_NE(header_of(resp, "Cache-Control"), "max-age=86400, private");
  Request keys = get("/nowhere.example/discovery/v2.0/keys");
  expect_entra_error(run(keys), 400, "invalid_tenant", 90002);
}

TEST_F(IdentityServiceTest, KeySets) {
  Request v2keys = get("/" + std::string(kTenant) + "/discovery/v2.0/keys");
  auto doc = parse_object(run(v2keys).body);
  ASSERT_FALSE(doc["keys"].as_array().empty());
  for (const auto& k : doc["keys"].as_array()) {
    EXPECT_EQ(s(k.as_object().at("issuer")), base() + "/v2.0");
    EXPECT_EQ(s(k.as_object().at("use")), "sig");
    EXPECT_EQ(s(k.as_object().at("kid")), s(k.as_object().at("x5t")));
  }
  Request v1keys = get("/common/discovery/keys");
  doc = parse_object(run(v1keys).body);
  for (const auto& k : doc["keys"].as_array())
    EXPECT_FALSE(k.as_object().contains("issuer"));
  Request common_v2 = get("/common/discovery/v2.0/keys");
  doc = parse_object(run(common_v2).body);
  for (const auto& k : doc["keys"].as_array())
    EXPECT_EQ(s(k.as_object().at("issuer")), std::string(kOrigin) + "/{tenantid}/v2.0");
}

TEST_F(IdentityServiceTest, InstanceDiscovery) {
  Request r = get("/common/discovery/instance");
  r.query =
      "api-version=1.1&authorization_endpoint=https%3A%2F%2Flogin.gatehouse.test%3A8443%2F"
      "contoso.example%2Foauth2%2Fv2.0%2Fauthorize";
  auto resp = run(r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  auto doc = parse_object(resp.body);
  EXPECT_EQ(s(doc["tenant_discovery_endpoint"]),
            std::string(kOrigin) + "/contoso.example/v2.0/.well-known/openid-configuration");
  EXPECT_EQ(s(doc["metadata"].as_array().at(0).as_object().at("aliases")),
            json::serialize(json::array({std::string(kHost)})));

  Request other = get("/common/discovery/instance");
  other.query =
      "api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/x/"
      "oauth2/v2.0/authorize";
  expect_entra_error(run(other), 400, "invalid_instance", 50049);
}

TEST_F(IdentityServiceTest, ErrorPage) {
  Request r = get("/error");
  r.query = "code=7000215";
  auto doc = parse_object(run(r).body);
  EXPECT_EQ(s(doc["code"]), "7000215");
  EXPECT_EQ(s(doc["error"]), "invalid_client");
  r.headers = {{"Accept", "text/html,application/xhtml+xml"}};
  auto html = run(r);
  EXPECT_EQ(html.content_type, "text/html; charset=utf-8");
  EXPECT_NE(html.body.find("AADSTS7000215"), std::string::npos);
}

TEST_F(IdentityServiceTest, ManagedIdentityThroughTheService) {
  Request r = get("/metadata/identity/oauth2/token");
  r.listener = "imds";
  r.client_ip = "10.9.1.2";
  r.query = "api-version=2018-02-01&resource=api://orders";
  r.headers = {{"Metadata", "true"}};
  auto resp = run(r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  auto body = parse_object(resp.body);
  EXPECT_EQ(s(body["client_id"]), kWorkerId);
  auto claims = verified_claims(
      body["access_token"].as_string(),
      "/" + std::string(kTenant) + "/v2.0/.well-known/openid-configuration", base() + "/v2.0");
  EXPECT_EQ(s(claims["azpacr"]), "2");
  EXPECT_EQ(claims["exp"].to_number<int64_t>(), kNow + 86400);
}

}  // namespace
}  // namespace gh::identity
