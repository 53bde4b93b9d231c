// The Key Vault REST API (vault/keyvault_api.h) over a real VaultStore, Directory and KeyRing on
// an in-memory database, with tokens from the identity role's minter: the challenge, roles,
// Key Vault's shapes and errors, paging, soft delete, certificates, and the audit trail.

#include "vault/keyvault_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "crypto/digest.h"
#include "identity/token_minter.h"
#include "store/database.h"
#include "support/test_pki.h"

namespace gh::vault {
namespace {

namespace json = boost::json;

constexpr std::string_view kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr std::string_view kOfficer = "11111111-2222-3333-4444-555555555555";
constexpr std::string_view kReader = "22222222-3333-4444-5555-666666666666";
constexpr std::string_view kNobody = "33333333-4444-5555-6666-777777777777";
constexpr std::string_view kCertAdmin = "44444444-5555-6666-7777-888888888888";
constexpr std::string_view kHost = "vault.test:9443";
constexpr std::string_view kOrigin = "https://vault.test:9443";
constexpr std::string_view kSecretValue = "s3cr3t-Value-that-must-not-leak";
constexpr int64_t kNow = 1'800'000'000;

template <class T>
T must(Result<T> r) {
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) std::abort();
  return std::move(*r);
}

identity::MasterKey master_key() {
  std::array<uint8_t, 32> bytes;
  bytes.fill(0x5a);
  bytes[0] = 0x01;
  return identity::MasterKey::from_bytes(bytes);
}

struct Response {
  uint16_t status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  json::object json;

  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (core::iequals(k, name)) return v;
    return {};
  }
  std::string error_code() const {
    const auto* e = json.if_contains("error");
    return e && e->is_object() && e->get_object().contains("code")
               ? std::string(e->get_object().at("code").as_string())
               : std::string();
  }
  std::string error_message() const {
    const auto* e = json.if_contains("error");
    return e ? std::string(e->at("message").as_string()) : std::string();
  }
};

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : std::string();
}

class KeyVaultApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gh_kvapi_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_ = std::shared_ptr<store::Database>(must(store::Database::open(":memory:")));
    directory_ = must(identity::Directory::open(db_, clock_));
    config::IdentitySigning signing;
    signing.algorithm = "ES256";
    ring_ = must(identity::KeyRing::open(db_, master_key(), signing, clock_));
    store_ = must(VaultStore::open(db_, master_key(), {}, clock_));
    audit_ = must(VaultAudit::open(dir_ + "/audit.log"));
    must(directory_->create_tenant("Contoso", std::string(kTenant)));
    for (auto [id, name] : {std::pair{kOfficer, "officer"}, std::pair{kReader, "reader"},
                            std::pair{kNobody, "nobody"}, std::pair{kCertAdmin, "certs"}}) {
      identity::NewApplication app;
      app.tenant_id = std::string(kTenant);
      app.display_name = name;
      app.client_id = std::string(id);
      must(directory_->create_application(app));
    }
    must(ensure_vault_application(*directory_, kTenant, kKeyVaultResource));
    must(directory_->assign_role(kTenant, kOfficer, kKeyVaultAppId, "KeyVault.Secrets.Officer"));
    must(directory_->assign_role(kTenant, kReader, kKeyVaultAppId, "KeyVault.Secrets.User"));
    must(directory_->assign_role(kTenant, kCertAdmin, kKeyVaultAppId,
                                 "KeyVault.Certificates.Officer"));
    must(directory_->assign_role(kTenant, kCertAdmin, kKeyVaultAppId, "KeyVault.Secrets.User"));
    KeyVaultApiOptions options;
    options.auth.tenant_id = std::string(kTenant);
    options.authority_port = 8443;
    api_ = std::make_unique<KeyVaultApi>(*store_, *directory_, *ring_, *audit_, options, clock_);
  }
  void TearDown() override {
    api_.reset();
    audit_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string token(std::string_view client) {
    auto view = directory_->view();
    identity::MintRequest req;
    req.tenant = view->tenant(kTenant);
    req.client = view->application(kTenant, client);
    req.resource = view->application(kTenant, kKeyVaultAppId);
    req.requested_resource = "https://vault.azure.net";
    req.method = identity::AuthMethod::Certificate;
    req.origin = "https://vault.test:8443";
    req.now = clock_.now_unix();
    identity::TokenMinter minter(*ring_);
    return must(minter.mint(req)).access_token;
  }

  /// One request as `client` (empty: no Authorization header). `target` is path?query.
  Response call(std::string_view client, std::string_view method, std::string_view target,
                std::string_view body = {}) {
    std::string auth;
    if (!client.empty()) auth = "Bearer " + token(client);
    std::vector<http::HeaderField> headers;
    if (!auth.empty()) headers.push_back({"Authorization", auth});
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    http::LocalRequest req;
    req.listener = "vault";
    req.method = method;
    req.target = target;
    const size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    req.host = kHost;
    req.tls = true;
    req.client_ip = "127.0.0.1";
    req.request_id = "req-42";
    req.headers = headers;
    req.body = body;
    ++requests_;
    http::LocalResponse r = api_->handle(req);
    Response out;
    out.status = r.status;
    out.headers = r.headers;
    out.body = r.body;
    if (!r.body.empty()) {
      json::error_code ec;
      json::value v = json::parse(r.body, ec);
      EXPECT_FALSE(ec) << r.body;
      if (!ec && v.is_object()) out.json = v.get_object();
    }
    return out;
  }

  Response set_secret(std::string_view name, std::string_view value, std::string_view extra = {}) {
    std::string body = "{\"value\":" + json::serialize(json::value(value));
    if (!extra.empty()) body += "," + std::string(extra);
    body += "}";
    return call(kOfficer, "PUT", "/secrets/" + std::string(name) + "?api-version=7.6", body);
  }

  std::vector<json::object> audit_lines() {
    audit_->flush();
    std::ifstream in(dir_ + "/audit.log");
    std::vector<json::object> out;
    for (std::string line; std::getline(in, line);)
      out.push_back(json::parse(line).as_object());
    return out;
  }
  std::string audit_text() {
    audit_->flush();
    std::ifstream in(dir_ + "/audit.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static std::string version_of(const std::string& id) { return id.substr(id.rfind('/') + 1); }

  test::FixedClock clock_{kNow};
  std::string dir_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<identity::Directory> directory_;
  std::unique_ptr<identity::KeyRing> ring_;
  std::unique_ptr<VaultStore> store_;
  std::unique_ptr<VaultAudit> audit_;
  std::unique_ptr<KeyVaultApi> api_;
  int requests_ = 0;
};

TEST(KeyVaultApiPaths, AreTheKeyVaultCollections) {
  for (std::string_view p : {"/secrets", "/secrets/a", "/secrets/a/versions", "/deletedsecrets",
                             "/certificates/c/pending", "/deletedcertificates/c/recover"})
    EXPECT_TRUE(KeyVaultApi::is_api_path(p)) << p;
  for (std::string_view p :
       {"", "/", "/secretsx", "/keys/k", "/metrics", "secrets", "/tenant/oauth2/v2.0/token"})
    EXPECT_FALSE(KeyVaultApi::is_api_path(p)) << p;
}

TEST_F(KeyVaultApiTest, ChallengeWithoutTokenAndNothingDone) {
  // The SDK's first request: no token, no body (it holds the body back until it has a token).
  Response r = call({}, "PUT", "/secrets/first?api-version=2025-07-01");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer authorization=\"https://vault.test:8443/" +
                                              std::string(kTenant) +
                                              "\", resource=\"https://vault.azure.net\"");
  EXPECT_EQ(r.error_code(), "Unauthorized");
  EXPECT_FALSE(store_->get_secret_info("first"));
  // With a body but a broken token, still nothing is written.
  std::vector<http::HeaderField> headers{{"Authorization", "Bearer not.a.token"}};
  http::LocalRequest req;
  req.method = "PUT";
  req.path = "/secrets/first";
  req.query = "api-version=7.6";
  req.host = kHost;
  req.tls = true;
  req.headers = headers;
  req.body = R"({"value":"x"})";
  EXPECT_EQ(api_->handle(req).status, 401);
  EXPECT_FALSE(store_->get_secret_info("first"));
  const auto lines = audit_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].at("outcome"), "unauthenticated");
  EXPECT_EQ(lines[0].at("operation"), "set_secret");
  EXPECT_EQ(lines[0].at("status"), 401);
}

TEST_F(KeyVaultApiTest, ChallengeAuthorityFromOptions) {
  KeyVaultApiOptions options;
  options.auth.tenant_id = std::string(kTenant);
  options.authority_origin = "https://login.gatehouse.test/";
  KeyVaultApi api(*store_, *directory_, *ring_, *audit_, options, clock_);
  http::LocalRequest req;
  req.method = "GET";
  req.path = "/secrets";
  req.host = kHost;
  req.tls = true;
  auto r = api.handle(req);
  ASSERT_EQ(r.status, 401);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "Bearer authorization=\"https://login.gatehouse.test/" +
                                     std::string(kTenant) +
                                     "\", resource=\"https://vault.azure.net\"");
}

TEST_F(KeyVaultApiTest, ApiVersionIsRequired) {
  Response r = call(kReader, "GET", "/secrets");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.error_code(), "BadParameter");
  EXPECT_EQ(r.error_message(), "The api-version query parameter is missing");
  r = call(kReader, "GET", "/secrets?api-version=1999-01-01");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(call(kReader, "GET", "/secrets?api-version=7.4").status, 200);
}

TEST_F(KeyVaultApiTest, SetThenGetCurrentAndPinnedVersions) {
  Response set = set_secret("backend-key", kSecretValue,
                            R"("contentType":"text/plain","tags":{"env":"test"})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(str(set.json.at("value")), kSecretValue);
  const std::string id = str(set.json.at("id"));
  EXPECT_TRUE(id.starts_with(std::string(kOrigin) + "/secrets/backend-key/")) << id;
  const std::string v1 = version_of(id);
  EXPECT_EQ(v1.size(), 32u);
  EXPECT_EQ(str(set.json.at("contentType")), "text/plain");
  EXPECT_EQ(set.json.at("tags").at("env"), "test");
  const auto& attrs = set.json.at("attributes").as_object();
  EXPECT_EQ(attrs.at("enabled"), true);
  EXPECT_EQ(attrs.at("created"), kNow);
  EXPECT_EQ(attrs.at("recoveryLevel"), "Recoverable+Purgeable");
  EXPECT_FALSE(set.json.contains("managed"));

  // The SDK asks for the current version as "/secrets/NAME/" (an empty version segment).
  Response get = call(kReader, "GET", "/secrets/backend-key/?api-version=2025-07-01");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(str(get.json.at("value")), kSecretValue);
  EXPECT_EQ(str(get.json.at("id")), id);

  ASSERT_EQ(set_secret("backend-key", "second-value").status, 200);
  EXPECT_EQ(str(call(kReader, "GET", "/secrets/backend-key?api-version=7.6").json.at("value")),
            "second-value");
  Response pinned = call(kReader, "GET", "/secrets/backend-key/" + v1 + "?api-version=7.6");
  ASSERT_EQ(pinned.status, 200);
  EXPECT_EQ(str(pinned.json.at("value")), kSecretValue);

  Response versions = call(kReader, "GET", "/secrets/backend-key/versions?api-version=7.6");
  ASSERT_EQ(versions.status, 200);
  const auto& items = versions.json.at("value").as_array();
  ASSERT_EQ(items.size(), 2u);
  for (const auto& item : items) {
    EXPECT_FALSE(item.as_object().contains("value")) << "lists never carry values";
    EXPECT_EQ(version_of(str(item.at("id"))).size(), 32u);
  }
  EXPECT_TRUE(versions.json.at("nextLink").is_null());

  Response list = call(kReader, "GET", "/secrets?api-version=7.6");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json.at("value").as_array().size(), 1u);
  EXPECT_EQ(str(list.json.at("value").at(0).at("id")),
            std::string(kOrigin) + "/secrets/backend-key");
}

TEST_F(KeyVaultApiTest, RolesDecidePerOperation) {
  ASSERT_EQ(set_secret("k", kSecretValue).status, 200);
  Response denied = call(kReader, "PUT", "/secrets/k?api-version=7.6", R"({"value":"other"})");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.error_code(), "Forbidden");
  EXPECT_EQ(denied.json.at("error").at("innererror").at("code"), "ForbiddenByRbac");
  EXPECT_NE(denied.error_message().find("Caller is not authorized to perform action on resource"),
            std::string::npos);
  EXPECT_NE(denied.error_message().find("appid=" + std::string(kReader)), std::string::npos);
  EXPECT_EQ(denied.body.find("other"), std::string::npos);
  EXPECT_EQ(str(call(kReader, "GET", "/secrets/k?api-version=7.6").json.at("value")), kSecretValue);

  EXPECT_EQ(call(kNobody, "GET", "/secrets/k?api-version=7.6").status, 403);
  EXPECT_EQ(call(kNobody, "GET", "/secrets?api-version=7.6").status, 403);
  EXPECT_EQ(call(kOfficer, "GET", "/certificates?api-version=7.6").status, 403);
  EXPECT_EQ(call(kReader, "DELETE", "/secrets/k?api-version=7.6").status, 403);
  EXPECT_TRUE(store_->get_secret_info("k"));
}

TEST_F(KeyVaultApiTest, MissingSecretIsKeyVaultsNotFound) {
  Response r = call(kReader, "GET", "/secrets/missing?api-version=7.6");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.error_code(), "SecretNotFound");
  EXPECT_TRUE(r.error_message().starts_with("A secret with (name/id) missing was not found"))
      << r.error_message();
  ASSERT_EQ(set_secret("present", "v").status, 200);
  r = call(kReader, "GET", "/secrets/present/0123456789abcdef0123456789abcdef?api-version=7.6");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.error_message().find("present/0123456789abcdef0123456789abcdef"), std::string::npos);
}

TEST_F(KeyVaultApiTest, DisabledVersionIsNotServed) {
  Response set = set_secret("off", kSecretValue, R"("attributes":{"enabled":false})");
  ASSERT_EQ(set.status, 200) << set.body;
  Response r = call(kReader, "GET", "/secrets/off?api-version=7.6");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.error_code(), "Forbidden");
  EXPECT_EQ(r.error_message(), "Operation get is not allowed on a disabled secret.");
  EXPECT_EQ(r.body.find(kSecretValue), std::string::npos);
  const std::string version = version_of(str(set.json.at("id")));
  Response patch = call(kOfficer, "PATCH", "/secrets/off/" + version + "?api-version=7.6",
                        R"({"attributes":{"enabled":true},"contentType":"text/plain"})");
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_FALSE(patch.json.contains("value"));
  EXPECT_EQ(str(patch.json.at("contentType")), "text/plain");
  EXPECT_EQ(str(call(kReader, "GET", "/secrets/off?api-version=7.6").json.at("value")),
            kSecretValue);
}

TEST_F(KeyVaultApiTest, SoftDeleteRecoverAndPurge) {
  ASSERT_EQ(set_secret("gone", kSecretValue).status, 200);
  Response del = call(kOfficer, "DELETE", "/secrets/gone?api-version=7.6");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(str(del.json.at("recoveryId")), std::string(kOrigin) + "/deletedsecrets/gone");
  EXPECT_EQ(del.json.at("deletedDate"), kNow);
  EXPECT_EQ(del.json.at("scheduledPurgeDate"), kNow + 90 * 86400);
  EXPECT_FALSE(del.json.contains("value"));
  EXPECT_EQ(call(kReader, "GET", "/secrets/gone?api-version=7.6").status, 404);
  EXPECT_EQ(call(kOfficer, "GET", "/deletedsecrets/gone?api-version=7.6").status, 200);
  Response deleted = call(kOfficer, "GET", "/deletedsecrets?api-version=7.6");
  ASSERT_EQ(deleted.json.at("value").as_array().size(), 1u);

  Response reuse = set_secret("gone", "new");
  EXPECT_EQ(reuse.status, 409);
  EXPECT_EQ(reuse.error_code(), "Conflict");

  Response recovered = call(kOfficer, "POST", "/deletedsecrets/gone/recover?api-version=7.6");
  ASSERT_EQ(recovered.status, 200) << recovered.body;
  EXPECT_FALSE(recovered.json.contains("value"));
  EXPECT_EQ(str(call(kReader, "GET", "/secrets/gone?api-version=7.6").json.at("value")),
            kSecretValue);

  ASSERT_EQ(call(kOfficer, "DELETE", "/secrets/gone?api-version=7.6").status, 200);
  Response purge = call(kOfficer, "DELETE", "/deletedsecrets/gone?api-version=7.6");
  EXPECT_EQ(purge.status, 204);
  EXPECT_TRUE(purge.body.empty());
  EXPECT_EQ(call(kOfficer, "GET", "/deletedsecrets/gone?api-version=7.6").status, 404);
  EXPECT_EQ(set_secret("gone", "fresh").status, 200);
}

TEST_F(KeyVaultApiTest, PagingFollowsNextLink) {
  std::set<std::string> expected;
  for (int i = 0; i < 23; ++i) {
    const std::string name = "item-" + std::to_string(i);
    ASSERT_EQ(set_secret(name, "v").status, 200);
    expected.insert(std::string(kOrigin) + "/secrets/" + name);
  }
  std::set<std::string> seen;
  std::string target = "/secrets?api-version=7.6&maxresults=10";
  int pages = 0;
  while (!target.empty()) {
    Response r = call(kReader, "GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    ++pages;
    for (const auto& item : r.json.at("value").as_array())
      EXPECT_TRUE(seen.insert(str(item.at("id"))).second) << "an item came twice";
    const auto& next = r.json.at("nextLink");
    if (next.is_null()) break;
    const std::string link = str(next);
    ASSERT_TRUE(link.starts_with(kOrigin)) << link;
    target = link.substr(kOrigin.size());
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(call(kReader, "GET", "/secrets?api-version=7.6&maxresults=0").status, 400);
  EXPECT_EQ(call(kReader, "GET", "/secrets?api-version=7.6&maxresults=26").status, 400);
}

TEST_F(KeyVaultApiTest, BadInputIsBadParameterWithoutTheValue) {
  Response r = call(kOfficer, "PUT", "/secrets/x?api-version=7.6", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.error_code(), "BadParameter");
  r = call(kOfficer, "PUT", "/secrets/x?api-version=7.6", R"({"contentType":"text/plain"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.error_message().find("'value'"), std::string::npos);
  r = set_secret("x", kSecretValue, R"("tags":{"n":1})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.error_message().find("tags"), std::string::npos);
  EXPECT_EQ(r.body.find(kSecretValue), std::string::npos);
  r = set_secret("x", kSecretValue, R"("attributes":{"exp":"tomorrow"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.error_message().find("exp"), std::string::npos);
  EXPECT_EQ(r.body.find(kSecretValue), std::string::npos);
  r = set_secret("bad_name", kSecretValue);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.find(kSecretValue), std::string::npos);
  EXPECT_EQ(call(kOfficer, "POST", "/secrets/x?api-version=7.6").status, 405);
  EXPECT_EQ(call(kOfficer, "GET", "/secrets/a/b/c?api-version=7.6").status, 404);
  EXPECT_FALSE(store_->get_secret_info("x"));
  // A version from the path is quoted in messages and ids only when it can be one.
  r = call(kReader, "GET", "/secrets/x/ab\xff\\\"?api-version=7.6");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.error_code(), "BadParameter");
}

TEST_F(KeyVaultApiTest, InvalidHostIsRefusedBeforeAnything) {
  http::LocalRequest req;
  req.method = "GET";
  req.path = "/secrets";
  req.query = "api-version=7.6";
  req.host = "vault.test\xff\"";
  req.tls = true;
  auto r = api_->handle(req);
  EXPECT_EQ(r.status, 400);
  json::error_code ec;
  json::parse(r.body, ec);
  EXPECT_FALSE(ec) << r.body;
  EXPECT_TRUE(r.headers.empty() || r.headers[0].first != "WWW-Authenticate");
}

TEST_F(KeyVaultApiTest, EveryRequestIsAuditedWithoutValues) {
  ASSERT_EQ(set_secret("audited", kSecretValue).status, 200);
  call(kReader, "GET", "/secrets/audited?api-version=7.6");
  call(kNobody, "GET", "/secrets/audited?api-version=7.6");
  call(kReader, "GET", "/secrets/nothing?api-version=7.6");
  call({}, "GET", "/secrets/audited?api-version=7.6");
  const auto lines = audit_lines();
  ASSERT_EQ(int(lines.size()), requests_);
  EXPECT_EQ(lines[0].at("operation"), "set_secret");
  EXPECT_EQ(lines[0].at("outcome"), "ok");
  EXPECT_EQ(str(lines[0].at("client_id")), kOfficer);
  EXPECT_EQ(lines[0].at("via"), "rest");
  EXPECT_EQ(str(lines[0].at("tenant")), kTenant);
  EXPECT_EQ(str(lines[0].at("version")).size(), 32u);
  EXPECT_EQ(lines[1].at("operation"), "get_secret");
  EXPECT_EQ(lines[1].at("version"), lines[0].at("version"));
  EXPECT_EQ(lines[2].at("outcome"), "denied");
  EXPECT_EQ(str(lines[2].at("client_id")), kNobody);
  EXPECT_EQ(lines[3].at("outcome"), "not_found");
  EXPECT_EQ(lines[4].at("outcome"), "unauthenticated");
  EXPECT_EQ(lines[4].at("source_ip"), "127.0.0.1");
  EXPECT_EQ(lines[4].at("trace_id"), "req-42");
  EXPECT_EQ(audit_text().find(kSecretValue), std::string::npos);
}

constexpr std::string_view kCreateBody = R"({
  "policy": {
    "key_props": {"exportable": true, "kty": "EC", "crv": "P-256", "reuse_key": false},
    "secret_props": {"contentType": "application/x-pem-file"},
    "x509_props": {"subject": "CN=orders.test", "sans": {"dns_names": ["orders.test"]},
                   "validity_months": 12},
    "lifetime_actions": [{"trigger": {"days_before_expiry": 30},
                          "action": {"action_type": "AutoRenew"}}],
    "issuer": {"name": "Self"},
    "attributes": {"enabled": true}
  },
  "tags": {"team": "orders"}
})";

TEST_F(KeyVaultApiTest, CreateCertificateThenReadItAndItsSecret) {
  Response created =
      call(kCertAdmin, "POST", "/certificates/orders/create?api-version=7.6", kCreateBody);
  ASSERT_EQ(created.status, 202) << created.body;
  EXPECT_EQ(str(created.json.at("id")), std::string(kOrigin) + "/certificates/orders/pending");
  EXPECT_EQ(created.json.at("status"), "completed");
  EXPECT_EQ(str(created.json.at("target")), std::string(kOrigin) + "/certificates/orders");
  EXPECT_EQ(created.json.at("issuer").at("name"), "Self");

  Response pending = call(kCertAdmin, "GET", "/certificates/orders/pending?api-version=7.6");
  ASSERT_EQ(pending.status, 200);
  EXPECT_EQ(pending.json.at("status"), "completed");

  Response cert = call(kCertAdmin, "GET", "/certificates/orders/?api-version=7.6");
  ASSERT_EQ(cert.status, 200) << cert.body;
  const std::string id = str(cert.json.at("id"));
  const std::string version = version_of(id);
  EXPECT_EQ(id, std::string(kOrigin) + "/certificates/orders/" + version);
  EXPECT_EQ(str(cert.json.at("sid")), std::string(kOrigin) + "/secrets/orders/" + version);
  EXPECT_EQ(str(cert.json.at("kid")), std::string(kOrigin) + "/keys/orders/" + version);
  const auto der = must(core::base64_decode(str(cert.json.at("cer"))));
  const auto sha1 = crypto::sha1(der);
  EXPECT_EQ(str(cert.json.at("x5t")), core::base64url_encode(sha1));
  const auto& policy = cert.json.at("policy").as_object();
  EXPECT_EQ(policy.at("issuer").at("name"), "Self");
  EXPECT_EQ(policy.at("x509_props").at("subject"), "CN=orders.test");
  EXPECT_EQ(policy.at("key_props").at("kty"), "EC");
  EXPECT_EQ(policy.at("lifetime_actions").at(0).at("trigger").at("days_before_expiry"), 30);
  EXPECT_EQ(cert.json.at("tags").at("team"), "orders");

  Response secret = call(kCertAdmin, "GET", "/secrets/orders?api-version=7.6");
  ASSERT_EQ(secret.status, 200) << secret.body;
  EXPECT_EQ(secret.json.at("managed"), true);
  EXPECT_EQ(str(secret.json.at("contentType")), "application/x-pem-file");
  EXPECT_EQ(str(secret.json.at("kid")), std::string(kOrigin) + "/keys/orders/" + version);
  const std::string pem = str(secret.json.at("value"));
  EXPECT_NE(pem.find("PRIVATE KEY-----"), std::string::npos);
  EXPECT_NE(pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);

  Response pfx = call(kCertAdmin, "GET",
                      "/secrets/orders?api-version=7.6&outContentType=application%2Fx-pkcs12");
  ASSERT_EQ(pfx.status, 200) << pfx.body;
  EXPECT_EQ(str(pfx.json.at("contentType")), "application/x-pkcs12");
  EXPECT_TRUE(core::base64_decode(str(pfx.json.at("value"))));

  Response versions = call(kCertAdmin, "GET", "/certificates/orders/versions?api-version=7.6");
  ASSERT_EQ(versions.status, 200);
  ASSERT_EQ(versions.json.at("value").as_array().size(), 1u);
  EXPECT_EQ(str(versions.json.at("value").at(0).at("id")), id);
  Response list = call(kCertAdmin, "GET", "/certificates?api-version=7.6");
  ASSERT_EQ(list.json.at("value").as_array().size(), 1u);
  EXPECT_EQ(str(list.json.at("value").at(0).at("id")),
            std::string(kOrigin) + "/certificates/orders");

  // Secrets roles do not reach certificates, and a certificate's secret is not set by hand.
  EXPECT_EQ(call(kOfficer, "GET", "/certificates/orders?api-version=7.6").status, 403);
  EXPECT_NE(set_secret("orders", "overwrite").status, 200);

  // A second create reuses the stored policy: a new version.
  Response again = call(kCertAdmin, "POST", "/certificates/orders/create?api-version=7.6", "{}");
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(call(kCertAdmin, "GET", "/certificates/orders/versions?api-version=7.6")
                .json.at("value")
                .as_array()
                .size(),
            2u);
}

TEST_F(KeyVaultApiTest, CertificatePolicyCanBeReadAndPatched) {
  ASSERT_EQ(call(kCertAdmin, "POST", "/certificates/p/create?api-version=7.6", kCreateBody).status,
            202);
  Response policy = call(kCertAdmin, "GET", "/certificates/p/policy?api-version=7.6");
  ASSERT_EQ(policy.status, 200);
  EXPECT_EQ(str(policy.json.at("id")), std::string(kOrigin) + "/certificates/p/policy");
  Response patched = call(kCertAdmin, "PATCH", "/certificates/p/policy?api-version=7.6",
                          R"({"x509_props":{"validity_months":6}})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json.at("x509_props").at("validity_months"), 6);
  EXPECT_EQ(patched.json.at("x509_props").at("subject"), "CN=orders.test");
  Response refused = call(kCertAdmin, "PATCH", "/certificates/p/policy?api-version=7.6",
                          R"({"key_props":{"kty":"RSA-HSM"}})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.error_message().find("kty"), std::string::npos);
}

TEST_F(KeyVaultApiTest, ImportPemThenDeleteAndRecover) {
  test::TestPki pki;
  const std::string pem = pki.leaf().key_pem() + pki.leaf().cert_pem();
  const std::string body = "{\"value\":" + json::serialize(json::value(pem)) +
                           ",\"policy\":{\"secret_props\":{\"contentType\":"
                           "\"application/x-pem-file\"}}}";
  Response imported = call(kCertAdmin, "POST", "/certificates/edge/import?api-version=7.6", body);
  ASSERT_EQ(imported.status, 200) << imported.body;
  EXPECT_EQ(must(core::base64_decode(str(imported.json.at("cer")))), pki.leaf().der());
  EXPECT_EQ(imported.body.find("PRIVATE KEY"), std::string::npos);

  Response del = call(kCertAdmin, "DELETE", "/certificates/edge?api-version=7.6");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(str(del.json.at("recoveryId")), std::string(kOrigin) + "/deletedcertificates/edge");
  EXPECT_EQ(call(kCertAdmin, "GET", "/certificates/edge?api-version=7.6").status, 404);
  EXPECT_EQ(call(kCertAdmin, "GET", "/certificates/edge?api-version=7.6").error_code(),
            "CertificateNotFound");
  EXPECT_EQ(call(kCertAdmin, "GET", "/deletedcertificates/edge?api-version=7.6").status, 200);
  EXPECT_EQ(call(kCertAdmin, "GET", "/deletedcertificates?api-version=7.6")
                .json.at("value")
                .as_array()
                .size(),
            1u);
  Response recovered =
      call(kCertAdmin, "POST", "/deletedcertificates/edge/recover?api-version=7.6");
  ASSERT_EQ(recovered.status, 200) << recovered.body;
  EXPECT_EQ(call(kCertAdmin, "GET", "/certificates/edge?api-version=7.6").status, 200);
}

}  // namespace
}  // namespace gh::vault
