// The admin REST API's request handler (admin/identity_api.h) against a real Directory and
// KeyRing on an in-memory database, without sockets.

#include "admin/identity_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "admin/admin_auth.h"
#include "core/encoding.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "store/database.h"
#include "support/test_pki.h"

namespace gh::admin {
namespace {

namespace json = boost::json;

constexpr std::string_view kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr std::string_view kApi = "11111111-2222-3333-4444-555555555555";
constexpr std::string_view kWorker = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
constexpr std::string_view kAdminToken = "test-admin-token-0123456789abcdefghijklmnop";
constexpr int64_t kDay = 86400;

template <class T>
T must(Result<T> r) {
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) std::abort();  // the rest of the test would read garbage
  return std::move(*r);
}

json::object parse_object(const std::string& body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  if (ec || !v.is_object()) return {};
  return v.get_object();
}

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : std::string();
}

class IdentityApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override {
    db_ = std::shared_ptr<store::Database>(must(store::Database::open(":memory:")));
    directory_ = must(identity::Directory::open(db_, clock_));
    // 32 bytes as 64 hex digits, given as the environment value.
    auto master = must(identity::MasterKey::load("", std::string(64, '7')));
    config::IdentitySigning signing;
    signing.algorithm = "ES256";  // fast to generate
    keys_ = must(identity::KeyRing::open(db_, std::move(master), signing, clock_));
    api_ = std::make_unique<IdentityApi>(
        *directory_, *keys_, AdminCredential::from_tokens({std::string(kAdminToken)}), clock_);
  }

  AdminResponse call(std::string_view method, std::string_view target, std::string_view body = {},
                     std::string authorization = "Bearer " + std::string(kAdminToken)) {
    AdminRequest request;
    request.method = method;
    request.target = target;
    request.authorization = authorization;
    request.body = body;
    return api_->handle(request);
  }

  // The response body as an object; fails the test on an unexpected status.
  json::object expect(unsigned status, const AdminResponse& r) {
    EXPECT_EQ(r.status, status) << r.body;
    return r.body.empty() ? json::object{} : parse_object(r.body);
  }

  std::string app_path(std::string_view client_id, std::string_view rest = {}) {
    return "/v1/tenants/" + std::string(kTenant) + "/applications/" + std::string(client_id) +
           std::string(rest);
  }

  void make_tenant_and_apps() {
    expect(201, call("POST", "/v1/tenants",
                     R"({"display_name":"Contoso","id":")" + std::string(kTenant) +
                         R"(","aliases":["contoso.example"]})"));
    expect(201, call("POST", "/v1/tenants/contoso.example/applications",
                     R"({"display_name":"orders-api","client_id":")" + std::string(kApi) +
                         R"(","identifier_uris":["api://orders"],"access_token_version":2})"));
    expect(201, call("POST", "/v1/tenants/" + std::string(kTenant) + "/applications",
                     R"({"display_name":"orders-worker","client_id":")" + std::string(kWorker) +
                         R"("})"));
  }

  // A token signed by the key ring's current signer, with these claims.
  std::string signed_token(json::object claims) {
    const auto set = keys_->current();
    const jose::Jwk* signer = set->signer();
    EXPECT_NE(signer, nullptr);
    const std::string payload = json::serialize(claims);
    return must(jose::sign_compact(core::as_bytes(payload), *signer, set->signer_info()->alg,
                                   json::object{{"typ", "JWT"}}));
  }

  json::object claims_for(std::string_view tenant, json::array roles) {
    const int64_t now = clock_.now_unix();
    return {{"iss", "https://login.example.com/" + std::string(tenant) + "/v2.0"},
            {"tid", tenant},
            {"aud", kApi},
            {"azp", kWorker},
            {"iat", now - 300},
            {"nbf", now - 300},
            {"exp", now + 3600},
            {"roles", std::move(roles)}};
  }

  static test::TestPki* pki_;
  test::FixedClock clock_{test::TestPki::kDefaultNow};
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<identity::Directory> directory_;
  std::unique_ptr<identity::KeyRing> keys_;
  std::unique_ptr<IdentityApi> api_;
};

test::TestPki* IdentityApiTest::pki_ = nullptr;

// ----- authentication -----

TEST_F(IdentityApiTest, ServesOnlyV1) {
  EXPECT_TRUE(IdentityApi::serves("/v1"));
  EXPECT_TRUE(IdentityApi::serves("/v1/tenants"));
  EXPECT_FALSE(IdentityApi::serves("/v10/tenants"));
  EXPECT_FALSE(IdentityApi::serves("/healthz"));
}

TEST_F(IdentityApiTest, EveryRequestNeedsACredential) {
  auto r = call("GET", "/v1/tenants", {}, "");
  expect(401, r);
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(r.caller, "");
  expect(401, call("GET", "/v1/tenants", {}, "Basic " + std::string(kAdminToken)));
  expect(401, call("GET", "/v1/tenants", {}, "Bearer"));
  expect(401, call("GET", "/v1/tenants", {}, "Bearer wrong-token"));
  // Unknown paths are not revealed to strangers either.
  expect(401, call("GET", "/v1/nothing", {}, ""));
  auto ok = call("GET", "/v1/tenants", {}, "bearer   " + std::string(kAdminToken) + " ");
  expect(200, ok);
  EXPECT_EQ(ok.caller, "bootstrap");
}

TEST_F(IdentityApiTest, AccessTokenWithTheAdminRole) {
  make_tenant_and_apps();
  auto allowed = call("GET", "/v1/tenants", {},
                      "Bearer " + signed_token(claims_for(kTenant, {"Gatehouse.Admin"})));
  expect(200, allowed);
  EXPECT_EQ(allowed.caller, kWorker);

  auto no_role = call("GET", "/v1/tenants", {},
                      "Bearer " + signed_token(claims_for(kTenant, {"Orders.Read"})));
  const auto body = expect(403, no_role);
  EXPECT_NE(str(body.at("message")).find("Gatehouse.Admin"), std::string::npos);

  // The v1 issuer form works too.
  auto v1 = claims_for(kTenant, {"Gatehouse.Admin"});
  v1["iss"] = "https://sts.example.com/" + std::string(kTenant) + "/";
  expect(200, call("GET", "/v1/tenants", {}, "Bearer " + signed_token(v1)));

  // Not one of our tenants, an alias instead of the id, or tid disagreeing with iss: refused.
  const std::string stranger = "99999999-9999-9999-9999-999999999999";
  expect(401, call("GET", "/v1/tenants", {},
                   "Bearer " + signed_token(claims_for(stranger, {"Gatehouse.Admin"}))));
  auto alias = claims_for(kTenant, {"Gatehouse.Admin"});
  alias["iss"] = "https://login.example.com/contoso.example/v2.0";
  expect(401, call("GET", "/v1/tenants", {}, "Bearer " + signed_token(alias)));
  auto mismatch = claims_for(kTenant, {"Gatehouse.Admin"});
  mismatch["tid"] = stranger;
  expect(401, call("GET", "/v1/tenants", {}, "Bearer " + signed_token(mismatch)));
  auto other_path = claims_for(kTenant, {"Gatehouse.Admin"});
  other_path["iss"] = "https://login.example.com/" + std::string(kTenant) + "/v3";
  expect(401, call("GET", "/v1/tenants", {}, "Bearer " + signed_token(other_path)));

  // Expired (beyond the skew) and not yet valid.
  auto expired = claims_for(kTenant, {"Gatehouse.Admin"});
  expired["exp"] = clock_.now_unix() - 120;
  expect(401, call("GET", "/v1/tenants", {}, "Bearer " + signed_token(expired)));
  auto early = claims_for(kTenant, {"Gatehouse.Admin"});
  early["nbf"] = clock_.now_unix() + 600;
  expect(401, call("GET", "/v1/tenants", {}, "Bearer " + signed_token(early)));

  // A token whose signature does not verify.
  std::string forged = signed_token(claims_for(kTenant, {"Gatehouse.Admin"}));
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  expect(401, call("GET", "/v1/tenants", {}, "Bearer " + forged));
}

TEST(AdminCredential, FileIsCreatedOnceWith0600AndEnvIsAccepted) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("gh-admin-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string file = (dir / "data" / "admin.token").string();
  auto first = AdminCredential::load_or_create(file, std::nullopt);
  ASSERT_TRUE(first) << first.error().message;
  const auto perms = std::filesystem::status(file).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string token;
  std::ifstream(file) >> token;
  EXPECT_EQ(token.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_TRUE(first->matches(token));
  EXPECT_FALSE(first->matches(token + "x"));
  EXPECT_FALSE(first->matches(""));
  // A second start reads the same token.
  const std::string env_token(40, 'e');
  auto second = AdminCredential::load_or_create(file, env_token);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE(second->matches(token));
  EXPECT_TRUE(second->matches(env_token));
  // Short env tokens and group-readable files are refused, without echoing a token.
  auto short_env = AdminCredential::load_or_create(file, std::string("short"));
  ASSERT_FALSE(short_env);
  EXPECT_EQ(short_env.error().message.find("short"), std::string::npos);
  std::filesystem::permissions(file, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  auto readable = AdminCredential::load_or_create(file, std::nullopt);
  ASSERT_FALSE(readable);
  EXPECT_NE(readable.error().message.find("chmod 600"), std::string::npos);
  EXPECT_EQ(readable.error().message.find(token), std::string::npos);
  std::filesystem::remove_all(dir);
}

// ----- tenants and applications -----

TEST_F(IdentityApiTest, TenantsCreateListAndErrors) {
  make_tenant_and_apps();
  auto list = expect(200, call("GET", "/v1/tenants"));
  ASSERT_EQ(list.at("tenants").as_array().size(), 1u);
  const auto& t = list.at("tenants").as_array()[0].as_object();
  EXPECT_EQ(str(t.at("id")), kTenant);
  EXPECT_EQ(str(t.at("display_name")), "Contoso");
  expect(200, call("GET", "/v1/tenants/contoso.example"));

  auto missing = expect(400, call("POST", "/v1/tenants", R"({"id":"x"})"));
  EXPECT_NE(str(missing.at("message")).find("'display_name' is required"), std::string::npos);
  auto typo = expect(400, call("POST", "/v1/tenants", R"({"display_nme":"x"})"));
  EXPECT_EQ(str(typo.at("message")), "unknown field 'display_nme' (did you mean 'display_name'?)");
  auto guid = expect(400, call("POST", "/v1/tenants", R"({"display_name":"x","id":"nope"})"));
  EXPECT_NE(str(guid.at("message")).find("field 'id'"), std::string::npos);
  expect(400, call("POST", "/v1/tenants", "not json"));
  expect(400, call("POST", "/v1/tenants", R"({"display_name":"x","display_name":"y"})"));
  auto conflict = call("POST", "/v1/tenants",
                       R"({"display_name":"again","id":")" + std::string(kTenant) + R"("})");
  expect(409, conflict);
  auto not_found = expect(404, call("GET", "/v1/tenants/nowhere/applications"));
  EXPECT_NE(str(not_found.at("message")).find("tenant 'nowhere' not found"), std::string::npos);
  auto wrong_method = call("DELETE", "/v1/tenants");
  expect(405, wrong_method);
  ASSERT_FALSE(wrong_method.headers.empty());
  EXPECT_EQ(wrong_method.headers[0].second, "GET, POST");
  expect(404, call("GET", "/v1/nothing/here"));
}

TEST_F(IdentityApiTest, ApplicationsCreateGetPatchDelete) {
  make_tenant_and_apps();
  auto list = expect(200, call("GET", "/v1/tenants/" + std::string(kTenant) + "/applications"));
  ASSERT_EQ(list.at("applications").as_array().size(), 2u);

  auto app = expect(200, call("GET", app_path(kApi)));
  EXPECT_EQ(str(app.at("display_name")), "orders-api");
  EXPECT_EQ(app.at("access_token_version").as_int64(), 2);
  EXPECT_EQ(app.at("identifier_uris").as_array().size(), 1u);

  auto patched = expect(200, call("PATCH", app_path(kApi),
                                  R"({"display_name":"orders","assignment_required":true})"));
  EXPECT_EQ(str(patched.at("display_name")), "orders");
  EXPECT_TRUE(patched.at("assignment_required").as_bool());
  EXPECT_EQ(patched.at("access_token_version").as_int64(), 2);  // untouched
  auto bad = expect(400, call("PATCH", app_path(kApi), R"({"access_token_version":3})"));
  EXPECT_NE(str(bad.at("message")).find("access_token_version"), std::string::npos);
  expect(400, call("PATCH", app_path(kApi), R"({"client_id":"x"})"));
  expect(400, call("PATCH", app_path(kApi), R"({"assignment_required":"yes"})"));

  // Generated client id when none is given.
  auto created = expect(201, call("POST", "/v1/tenants/" + std::string(kTenant) + "/applications",
                                  R"({"display_name":"generated"})"));
  const std::string generated = str(created.at("client_id"));
  EXPECT_EQ(generated.size(), 36u);

  EXPECT_EQ(call("DELETE", app_path(generated)).status, 204u);
  auto gone = expect(404, call("GET", app_path(generated)));
  EXPECT_NE(str(gone.at("message")).find("application '" + generated + "' not found"),
            std::string::npos);
  expect(404, call("DELETE", app_path(generated)));
}

// Found by the admin_api fuzz target: a request naming something that is not UTF-8 (here a
// percent-encoded byte in the path) was quoted as is into the error message, and the body was
// not valid JSON. A display name from the query string would have been stored the same way.
TEST_F(IdentityApiTest, ResponsesAreJsonWhateverBytesTheRequestHolds) {
  make_tenant_and_apps();
  for (const char* target :
       {"/v1/tenants/%FF%C0%AF", "/v1/nothing\xc2", "/v1/credentials/expiring?within=%ED%A0%80"}) {
    const AdminResponse r = call("GET", target);
    EXPECT_GE(r.status, 400u) << target;
    json::error_code ec;
    const json::value v = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << target << ": " << r.body;
    EXPECT_TRUE(v.is_object() && v.as_object().contains("message")) << r.body;
  }
  const auto gone = expect(404, call("GET", "/v1/tenants/caf%C3%A9%FF"));
  EXPECT_NE(str(gone.at("message")).find("caf\u00e9\ufffd"), std::string::npos)
      << str(gone.at("message"));

  const auto refused =
      expect(400, call("POST", app_path(kWorker, "/certificates?display_name=%FFx"),
                       pki_->client().cert_pem()));
  EXPECT_NE(str(refused.at("message")).find("'display_name': not UTF-8"), std::string::npos);
  auto app = expect(200, call("GET", app_path(kWorker)));
  EXPECT_TRUE(app.at("certificates").as_array().empty());
  expect(201, call("POST", app_path(kWorker, "/certificates?display_name=caf%C3%A9"),
                   pki_->client().cert_pem()));
}

// ----- credentials -----

TEST_F(IdentityApiTest, CertificatesAddAndRemove) {
  make_tenant_and_apps();
  const std::string pem = pki_->client().cert_pem();
  auto raw = expect(
      201, call("POST", app_path(kWorker, "/certificates?display_name=partner%202026"), pem));
  EXPECT_EQ(str(raw.at("display_name")), "partner 2026");
  const std::string thumbprint = str(raw.at("thumbprint"));
  EXPECT_EQ(thumbprint.size(), 40u);
  EXPECT_FALSE(raw.contains("certificate_der"));

  json::object body{{"certificate", pki_->leaf().cert_pem()}, {"display_name", "second"}};
  auto second =
      expect(201, call("POST", app_path(kWorker, "/certificates"), json::serialize(body)));
  const std::string key_id = str(second.at("key_id"));

  auto app = expect(200, call("GET", app_path(kWorker)));
  EXPECT_EQ(app.at("certificates").as_array().size(), 2u);

  expect(400, call("POST", app_path(kWorker, "/certificates"), "not a certificate"));
  expect(400, call("POST", app_path(kWorker, "/certificates"), R"({"display_name":"x"})"));
  EXPECT_EQ(call("DELETE", app_path(kWorker, "/certificates/" + thumbprint)).status, 204u);
  EXPECT_EQ(call("DELETE", app_path(kWorker, "/certificates/" + key_id)).status, 204u);
  expect(404, call("DELETE", app_path(kWorker, "/certificates/" + key_id)));
  app = expect(200, call("GET", app_path(kWorker)));
  EXPECT_TRUE(app.at("certificates").as_array().empty());
}

TEST_F(IdentityApiTest, SecretValueIsShownOnceOnly) {
  make_tenant_and_apps();
  auto r = call("POST", app_path(kWorker, "/secrets"), R"({"display_name":"ci","lifetime":"90d"})");
  auto created = expect(201, r);
  const std::string secret = str(created.at("secret_text"));
  ASSERT_FALSE(secret.empty());
  EXPECT_EQ(str(created.at("hint")), secret.substr(0, 3));
  EXPECT_EQ(str(created.at("end")),
            jose::format_numeric_date(static_cast<double>(clock_.now_unix() + 90 * kDay)));
  bool no_store = false;
  for (const auto& [name, value] : r.headers)
    no_store = no_store || (name == "Cache-Control" && value == "no-store");
  EXPECT_TRUE(no_store);

  const auto app = call("GET", app_path(kWorker));
  EXPECT_EQ(app.status, 200u);
  EXPECT_EQ(app.body.find(secret), std::string::npos);
  EXPECT_EQ(app.body.find("secret_text"), std::string::npos);
  EXPECT_EQ(app.body.find("$scrypt"), std::string::npos);  // nor the hash
  const json::object app_object = parse_object(app.body);
  const auto& secrets = app_object.at("secrets").as_array();
  ASSERT_EQ(secrets.size(), 1u);
  const std::string key_id = str(secrets[0].as_object().at("key_id"));

  // Empty body: the defaults.
  expect(201, call("POST", app_path(kWorker, "/secrets")));
  auto bad = expect(400, call("POST", app_path(kWorker, "/secrets"), R"({"lifetime":"forever"})"));
  EXPECT_NE(str(bad.at("message")).find("field 'lifetime'"), std::string::npos);
  EXPECT_EQ(call("DELETE", app_path(kWorker, "/secrets/" + key_id)).status, 204u);
  expect(404, call("DELETE", app_path(kWorker, "/secrets/" + key_id)));
}

TEST_F(IdentityApiTest, RolesAssignmentsAndFederated) {
  make_tenant_and_apps();
  auto role = expect(201, call("POST", app_path(kApi, "/roles"),
                               R"({"value":"Orders.Read","display_name":"Read orders"})"));
  EXPECT_EQ(str(role.at("value")), "Orders.Read");
  expect(400, call("POST", app_path(kApi, "/roles"), R"({"value":"Orders Read"})"));
  expect(400, call("POST", app_path(kApi, "/roles"), R"({})"));

  auto assignment = expect(201, call("POST", app_path(kWorker, "/assignments"),
                                     R"({"resource":"api://orders","role":"Orders.Read"})"));
  EXPECT_EQ(str(assignment.at("resource")), kApi);
  EXPECT_EQ(str(assignment.at("role")), "Orders.Read");
  const std::string assignment_id = str(assignment.at("id"));
  auto app = expect(200, call("GET", app_path(kWorker)));
  ASSERT_EQ(app.at("assignments").as_array().size(), 1u);
  expect(404, call("POST", app_path(kWorker, "/assignments"),
                   R"({"resource":"api://nowhere","role":"Orders.Read"})"));
  expect(400, call("POST", app_path(kWorker, "/assignments"), R"({"resource":"api://orders"})"));
  EXPECT_EQ(call("DELETE", "/v1/tenants/" + std::string(kTenant) + "/assignments/" + assignment_id)
                .status,
            204u);
  app = expect(200, call("GET", app_path(kWorker)));
  EXPECT_TRUE(app.at("assignments").as_array().empty());

  auto fic =
      expect(201, call("POST", app_path(kWorker, "/federated"),
                       R"({"name":"gha","issuer":"https://token.actions.githubusercontent.com",)"
                       R"("subject":"repo:x/y:ref:refs/heads/main"})"));
  EXPECT_EQ(str(fic.at("audience")), "api://AzureADTokenExchange");
  expect(400, call("POST", app_path(kWorker, "/federated"), R"({"name":"gha"})"));
  EXPECT_EQ(call("DELETE", app_path(kWorker, "/federated/gha")).status, 204u);
  expect(404, call("DELETE", app_path(kWorker, "/federated/gha")));
}

// ----- keys and expiring credentials -----

TEST_F(IdentityApiTest, KeysListAndRotate) {
  // The first start makes the signing key and publishes its successor.
  auto before = expect(200, call("GET", "/v1/keys"));
  std::string old_kid;
  std::vector<std::string> states;
  for (const auto& k : before.at("keys").as_array()) {
    const auto& key = k.as_object();
    states.push_back(str(key.at("state")));
    EXPECT_EQ(str(key.at("alg")), "ES256");
    if (str(key.at("state")) == "signing") old_kid = str(key.at("kid"));
  }
  std::sort(states.begin(), states.end());
  EXPECT_EQ(states, (std::vector<std::string>{"next", "signing"}));
  ASSERT_FALSE(old_kid.empty());

  auto rotated = expect(201, call("POST", "/v1/keys/rotate", R"({"emergency":false})"));
  EXPECT_NE(str(rotated.at("kid")), old_kid);
  EXPECT_EQ(str(rotated.at("state")), "signing");
  auto after = expect(200, call("GET", "/v1/keys"));
  bool old_still_published = false;
  for (const auto& k : after.at("keys").as_array()) {
    if (str(k.as_object().at("kid")) == old_kid) old_still_published = true;
  }
  EXPECT_TRUE(old_still_published);  // not an emergency: it stays for retire_after
  expect(400, call("POST", "/v1/keys/rotate", R"({"emergency":"yes"})"));
  expect(405, call("GET", "/v1/keys/rotate"));
}

TEST_F(IdentityApiTest, ExpiringCredentialsSortedByEnd) {
  make_tenant_and_apps();
  // A certificate ending in 10 days, secrets ending in 5 and 100 days.
  test::TestCertOptions options;
  options.cn = "soon.test";
  options.not_before = clock_.now_unix() - kDay;
  options.not_after = clock_.now_unix() + 10 * kDay + 3600;
  const test::TestCert soon = pki_->issue(&pki_->intermediate(), options);
  auto cert = expect(201, call("POST", app_path(kWorker, "/certificates"), soon.cert_pem()));
  expect(201, call("POST", app_path(kApi, "/secrets"), R"({"display_name":"a","lifetime":"5d"})"));
  expect(201, call("POST", app_path(kApi, "/secrets"), R"({"lifetime":"100d"})"));

  auto r = expect(200, call("GET", "/v1/credentials/expiring?within=30d"));
  const auto& items = r.at("credentials").as_array();
  ASSERT_EQ(items.size(), 2u);
  const auto& first = items[0].as_object();
  EXPECT_EQ(str(first.at("kind")), "secret");
  EXPECT_EQ(str(first.at("client_id")), kApi);
  EXPECT_EQ(str(first.at("app_name")), "orders-api");
  EXPECT_EQ(str(first.at("tenant_id")), kTenant);
  EXPECT_EQ(first.at("days_left").as_int64(), 5);
  EXPECT_EQ(str(first.at("hint")).size(), 3u);
  EXPECT_FALSE(first.contains("secret_text"));
  const auto& second = items[1].as_object();
  EXPECT_EQ(str(second.at("kind")), "certificate");
  EXPECT_EQ(str(second.at("thumbprint")), str(cert.at("thumbprint")));
  EXPECT_EQ(second.at("days_left").as_int64(), 10);
  EXPECT_FALSE(second.at("expired").as_bool());

  // Default window is 30 days; a wider one includes the 100-day secret.
  EXPECT_EQ(
      expect(200, call("GET", "/v1/credentials/expiring")).at("credentials").as_array().size(), 2u);
  EXPECT_EQ(expect(200, call("GET", "/v1/credentials/expiring?within=365d"))
                .at("credentials")
                .as_array()
                .size(),
            3u);
  // Already expired ones stay listed, with negative days.
  clock_.advance(12 * kDay);
  auto later = expect(200, call("GET", "/v1/credentials/expiring?within=0"));
  ASSERT_EQ(later.at("credentials").as_array().size(), 2u);
  const auto& expired = later.at("credentials").as_array()[0].as_object();
  EXPECT_TRUE(expired.at("expired").as_bool());
  EXPECT_EQ(expired.at("days_left").as_int64(), -7);

  auto bad = expect(400, call("GET", "/v1/credentials/expiring?within=soon"));
  EXPECT_NE(str(bad.at("message")).find("'within'"), std::string::npos);
}

}  // namespace
}  // namespace gh::admin
