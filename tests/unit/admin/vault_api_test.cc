// The vault's admin REST API (admin/vault_api.h) against a real VaultStore on an in-memory
// database and a real audit log in a temporary file, without sockets.

#include "admin/vault_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/encoding.h"
#include "identity/key_ring.h"
#include "store/database.h"
#include "support/test_pki.h"
#include "vault/audit.h"
#include "vault/vault_store.h"

namespace gh::admin {
namespace {

namespace json = boost::json;

constexpr std::string_view kValue = "s3cr3t-never-logged";
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

std::string str(const json::value* v) {
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

class VaultApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("gh-vault-api-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    audit_path_ = (dir_ / "audit.log").string();
    audit_ = must(vault::VaultAudit::open(audit_path_));
    auto db = std::shared_ptr<store::Database>(must(store::Database::open(":memory:")));
    auto master = must(identity::MasterKey::load("", std::string(64, '7')));
    store_ = must(vault::VaultStore::open(db, std::move(master), {}, clock_));
    api_ = std::make_unique<VaultApi>(*store_, *audit_, clock_);
  }

  void TearDown() override {
    api_.reset();
    store_.reset();
    audit_.reset();
    std::filesystem::remove_all(dir_);
  }

  AdminResponse call(std::string_view method, std::string_view target, std::string_view body = {},
                     std::string_view caller = "bootstrap") {
    AdminRequest request;
    request.method = method;
    request.target = target;
    request.body = body;
    request.source_ip = "127.0.0.1";
    return api_->handle(request, caller);
  }

  json::object expect(unsigned status, const AdminResponse& r) {
    EXPECT_EQ(r.status, status) << r.body;
    return r.body.empty() ? json::object{} : parse_object(r.body);
  }

  std::vector<json::object> audit_records() {
    audit_->flush();
    std::ifstream in(audit_path_);
    std::vector<json::object> out;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(parse_object(line));
    }
    return out;
  }

  std::string audit_text() {
    audit_->flush();
    std::ifstream in(audit_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string put_secret(std::string_view name, std::string_view extra = {}) {
    const auto r = call("PUT", "/v1/vault/secrets/" + std::string(name),
                        R"({"value":")" + std::string(kValue) + "\"" + std::string(extra) + "}");
    return str(expect(201, r).if_contains("version"));
  }

  static test::TestPki* pki_;
  test::FixedClock clock_{test::TestPki::kDefaultNow};
  std::filesystem::path dir_;
  std::string audit_path_;
  std::unique_ptr<vault::VaultAudit> audit_;
  std::unique_ptr<vault::VaultStore> store_;
  std::unique_ptr<VaultApi> api_;
};

test::TestPki* VaultApiTest::pki_ = nullptr;

TEST(VaultApiPaths, ServesOnlyTheVaultPrefix) {
  EXPECT_TRUE(VaultApi::serves("/v1/vault"));
  EXPECT_TRUE(VaultApi::serves("/v1/vault/secrets"));
  EXPECT_FALSE(VaultApi::serves("/v1/vaults"));
  EXPECT_FALSE(VaultApi::serves("/v1/tenants"));
  EXPECT_FALSE(VaultApi::serves("/vault/secrets"));
}

TEST(VaultApiPaths, NotEnabledSaysWhatToConfigure) {
  const AdminResponse r = VaultApi::not_enabled();
  EXPECT_EQ(r.status, 404u);
  const json::object body = parse_object(r.body);
  EXPECT_EQ(str(body.if_contains("error")), "vault_not_enabled");
  EXPECT_NE(str(body.if_contains("message")).find("vault:"), std::string::npos);
}

// ----- secrets -----

TEST_F(VaultApiTest, SecretSetGetListVersions) {
  const std::string v1 =
      put_secret("backend-key", R"(,"content_type":"text/plain","tags":{"env":"test"})");
  ASSERT_EQ(v1.size(), 32u);
  const std::string v2 = put_secret("backend-key", R"(,"expires":"2025-07-01T00:00:00Z")");
  EXPECT_NE(v1, v2);

  const json::object current = expect(200, call("GET", "/v1/vault/secrets/backend-key"));
  EXPECT_EQ(str(current.if_contains("value")), kValue);
  EXPECT_EQ(str(current.if_contains("version")), v2);
  EXPECT_EQ(str(current.if_contains("expires")), "2025-07-01T00:00:00Z");
  const json::object first =
      expect(200, call("GET", "/v1/vault/secrets/backend-key?version=" + v1));
  EXPECT_EQ(str(first.if_contains("version")), v1);
  EXPECT_EQ(str(first.if_contains("content_type")), "text/plain");
  EXPECT_EQ(first.at("tags").as_object().at("env").as_string(), "test");

  const AdminResponse list = call("GET", "/v1/vault/secrets");
  EXPECT_EQ(list.body.find(kValue), std::string::npos);
  const json::array secrets = expect(200, list).at("secrets").as_array();
  ASSERT_EQ(secrets.size(), 1u);
  EXPECT_EQ(str(secrets[0].as_object().if_contains("version")), v2);

  const json::array versions =
      expect(200, call("GET", "/v1/vault/secrets/backend-key/versions")).at("versions").as_array();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(str(versions[0].as_object().if_contains("version")), v1);
  EXPECT_FALSE(versions[0].as_object().at("current").as_bool());
  EXPECT_TRUE(versions[1].as_object().at("current").as_bool());
}

TEST_F(VaultApiTest, EveryCallIsAuditedWithoutTheValue) {
  const std::string version = put_secret("db-password");
  expect(200, call("GET", "/v1/vault/secrets/db-password"));
  expect(404, call("GET", "/v1/vault/secrets/missing"));
  expect(200, call("GET", "/v1/vault/secrets", {}, "4f9c0d5e-app"));
  const auto records = audit_records();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(str(records[0].if_contains("operation")), "set_secret");
  EXPECT_EQ(str(records[0].if_contains("outcome")), "ok");
  EXPECT_EQ(str(records[0].if_contains("kind")), "secret");
  EXPECT_EQ(str(records[0].if_contains("name")), "db-password");
  EXPECT_EQ(str(records[0].if_contains("version")), version);
  EXPECT_EQ(str(records[0].if_contains("via")), "admin");
  EXPECT_EQ(str(records[0].if_contains("client_id")), "admin");
  EXPECT_EQ(str(records[0].if_contains("source_ip")), "127.0.0.1");
  EXPECT_EQ(str(records[1].if_contains("operation")), "get_secret");
  EXPECT_EQ(str(records[1].if_contains("version")), version);
  EXPECT_EQ(str(records[2].if_contains("outcome")), "not_found");
  EXPECT_EQ(str(records[2].if_contains("name")), "missing");
  EXPECT_EQ(str(records[3].if_contains("operation")), "list_secrets");
  EXPECT_EQ(str(records[3].if_contains("client_id")), "4f9c0d5e-app");
  EXPECT_EQ(audit_text().find(kValue), std::string::npos);
}

TEST_F(VaultApiTest, RefusedCredentialsAreAuditedToo) {
  AdminRequest request;
  request.method = "GET";
  request.target = "/v1/vault/secrets/db-password";
  request.source_ip = "192.0.2.7";
  api_->audit_refusal(request, 401);
  request.method = "PUT";
  api_->audit_refusal(request, 403);
  request.target = "/v1/vault/nothing-here";
  api_->audit_refusal(request, 401);  // not an operation: no record
  const auto records = audit_records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(str(records[0].if_contains("operation")), "get_secret");
  EXPECT_EQ(str(records[0].if_contains("outcome")), "unauthenticated");
  EXPECT_EQ(str(records[0].if_contains("name")), "db-password");
  EXPECT_EQ(str(records[0].if_contains("client_id")), "");
  EXPECT_EQ(str(records[0].if_contains("source_ip")), "192.0.2.7");
  EXPECT_EQ(str(records[1].if_contains("operation")), "set_secret");
  EXPECT_EQ(str(records[1].if_contains("outcome")), "denied");
}

TEST_F(VaultApiTest, DeleteIsSoftUntilPurged) {
  put_secret("short-lived");
  const json::object deleted = expect(200, call("DELETE", "/v1/vault/secrets/short-lived"));
  EXPECT_FALSE(deleted.at("purged").as_bool());
  EXPECT_FALSE(deleted.at("scheduled_purge").is_null());
  expect(404, call("GET", "/v1/vault/secrets/short-lived"));
  // The name stays taken until purged.
  const json::object conflict =
      expect(409, call("PUT", "/v1/vault/secrets/short-lived", R"({"value":"x"})"));
  EXPECT_EQ(str(conflict.if_contains("error")), "conflict");
  // Purging an already deleted secret works too.
  const json::object purged =
      expect(200, call("DELETE", "/v1/vault/secrets/short-lived?purge=true"));
  EXPECT_TRUE(purged.at("purged").as_bool());
  put_secret("short-lived");
  expect(200, call("DELETE", "/v1/vault/secrets/short-lived?purge=true"));
  expect(404, call("DELETE", "/v1/vault/secrets/short-lived?purge=true"));
  expect(400, call("DELETE", "/v1/vault/secrets/short-lived?purge=maybe"));
  int purges = 0;
  for (const auto& r : audit_records()) {
    if (str(r.if_contains("operation")) == "purge_secret") {
      EXPECT_EQ(str(r.if_contains("name")), "short-lived");
      ++purges;
    }
  }
  EXPECT_EQ(purges, 3);  // two purged, one not found
}

TEST_F(VaultApiTest, RefusalsNameWhatIsWrong) {
  const json::object missing = expect(404, call("GET", "/v1/vault/secrets/nope"));
  EXPECT_EQ(str(missing.if_contains("error")), "not_found");
  EXPECT_NE(str(missing.if_contains("message")).find("nope"), std::string::npos);
  const json::object bad_name = expect(400, call("GET", "/v1/vault/secrets/bad_name"));
  EXPECT_NE(str(bad_name.if_contains("message")).find("bad_name"), std::string::npos);
  const AdminResponse wrong_method = call("PATCH", "/v1/vault/secrets/x");
  EXPECT_EQ(wrong_method.status, 405u);
  ASSERT_EQ(wrong_method.headers.size(), 1u);
  EXPECT_EQ(wrong_method.headers[0].second, "GET, PUT, DELETE");
  expect(404, call("GET", "/v1/vault/keys"));
  expect(404, call("GET", "/v1/vault"));
  const json::object typo =
      expect(400, call("PUT", "/v1/vault/secrets/x", R"({"value":"v","tag":{}})"));
  EXPECT_NE(str(typo.if_contains("message")).find("did you mean 'tags'"), std::string::npos);
}

// ----- certificates -----

TEST_F(VaultApiTest, CertificateCreateRenewExport) {
  const json::object created =
      expect(201, call("POST", "/v1/vault/certificates/gw-client",
                       R"({"policy":{"subject":"CN=gateway","dns_names":["gw.example"],)"
                       R"("key_type":"EC","validity_months":2,"renew_days_before_expiry":10}})"));
  const std::string v1 = str(created.if_contains("version"));
  EXPECT_EQ(str(created.if_contains("issuer")), "Self");
  EXPECT_EQ(str(created.if_contains("renewal")), "10d before expiry");

  const json::object got = expect(200, call("GET", "/v1/vault/certificates/gw-client"));
  EXPECT_EQ(str(got.at("policy").as_object().if_contains("key_type")), "EC");

  const json::object renewed = expect(201, call("POST", "/v1/vault/certificates/gw-client/renew"));
  const std::string v2 = str(renewed.if_contains("version"));
  EXPECT_NE(v1, v2);
  EXPECT_NE(str(renewed.if_contains("thumbprint_sha256")),
            str(created.if_contains("thumbprint_sha256")));
  const json::array versions = expect(200, call("GET", "/v1/vault/certificates/gw-client/versions"))
                                   .at("versions")
                                   .as_array();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_TRUE(versions[1].as_object().at("current").as_bool());

  const json::object pem =
      expect(200, call("POST", "/v1/vault/certificates/gw-client/export", R"({"format":"pem"})"));
  EXPECT_EQ(str(pem.if_contains("version")), v2);
  const std::string pem_text = str(pem.if_contains("value"));
  EXPECT_NE(pem_text.find("PRIVATE KEY-----"), std::string::npos);
  EXPECT_LT(pem_text.find("PRIVATE KEY"), pem_text.find("BEGIN CERTIFICATE"));

  const json::object pfx =
      expect(200, call("POST", "/v1/vault/certificates/gw-client/export",
                       R"({"format":"pfx","password":"pw","version":")" + v1 + "\"}"));
  EXPECT_EQ(str(pfx.if_contains("version")), v1);
  const core::Bytes der = must(core::base64_decode(str(pfx.if_contains("value"))));
  ASSERT_FALSE(der.empty());
  EXPECT_EQ(der[0], 0x30);  // a DER SEQUENCE
  EXPECT_EQ(audit_text().find("\"pw\""), std::string::npos);

  const json::array listed =
      expect(200, call("GET", "/v1/vault/certificates")).at("certificates").as_array();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(str(listed[0].as_object().if_contains("version")), v2);
}

TEST_F(VaultApiTest, CertificateImportPemAndPkcs12) {
  const test::TestCert& leaf = pki_->leaf();
  json::object pem_body{{"value", leaf.key_pem() + leaf.cert_pem()}};
  const json::object imported =
      expect(201, call("POST", "/v1/vault/certificates/partner/import", json::serialize(pem_body)));
  EXPECT_EQ(str(imported.if_contains("issuer")), "Unknown");
  // Nothing to renew from.
  expect(400, call("POST", "/v1/vault/certificates/partner/renew"));

  const core::Bytes p12 = pki_->make_pkcs12(pki_->client(), {&pki_->intermediate()}, "pw");
  json::object p12_body{{"value", core::base64_encode(p12)}, {"password", "pw"}};
  expect(201, call("POST", "/v1/vault/certificates/client/import", json::serialize(p12_body)));
  p12_body["password"] = "wrong";
  expect(400, call("POST", "/v1/vault/certificates/client2/import", json::serialize(p12_body)));
  expect(404, call("POST", "/v1/vault/certificates/none/renew"));
  expect(404, call("POST", "/v1/vault/certificates/none/export", "{}"));
}

TEST_F(VaultApiTest, ExpiringListsItemsInsideTheWindow) {
  const int64_t now = clock_.now_unix();
  put_secret("soon", R"(,"expires":)" + std::to_string(now + 2 * kDay + 60));
  put_secret("later", R"(,"expires":)" + std::to_string(now + 90 * kDay));
  put_secret("never");
  const json::object report = expect(200, call("GET", "/v1/vault/expiring?within=30d"));
  EXPECT_EQ(str(report.if_contains("within")), "30d");
  const json::array items = report.at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  const json::object& soon = items[0].as_object();
  EXPECT_EQ(str(soon.if_contains("name")), "soon");
  EXPECT_EQ(str(soon.if_contains("kind")), "secret");
  EXPECT_EQ(soon.at("days_left").as_int64(), 2);
  EXPECT_FALSE(soon.at("expired").as_bool());
  EXPECT_FALSE(soon.at("auto_renew").as_bool());
  EXPECT_TRUE(
      expect(200, call("GET", "/v1/vault/expiring?within=1d")).at("items").as_array().empty());
  expect(400, call("GET", "/v1/vault/expiring?within=soon"));
}

}  // namespace
}  // namespace gh::admin
