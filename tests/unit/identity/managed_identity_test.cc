#include "identity/managed_identity.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "identity/directory.h"
#include "identity/key_ring.h"
#include "identity/token_minter.h"
#include "jose/jwt.h"
#include "support/test_pki.h"

namespace gh::identity {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr std::string_view kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr std::string_view kApiId = "aaaaaaaa-0000-0000-0000-000000000001";
constexpr std::string_view kWorkerId = "bbbbbbbb-0000-0000-0000-000000000002";
constexpr std::string_view kReporterId = "cccccccc-0000-0000-0000-000000000003";
constexpr std::string_view kLockedApiId = "dddddddd-0000-0000-0000-000000000004";
constexpr std::string_view kOrigin = "https://gatehouse.test:8443";
constexpr std::string_view kWorkerHeader = "worker-identity-header-0123456789";
constexpr std::string_view kWorkerResId = "/subscriptions/0/rg/x/userAssignedIdentities/worker";
constexpr int64_t kNow = 1'790'000'000;
constexpr int64_t kLifetime = 86400;

template <class T>
T must(Result<T> r) {
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) std::abort();
  return std::move(*r);
}

json::object parse_object(const std::string& text) {
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

/// A request with owned storage behind the views.
struct Request {
  std::string method = "GET";
  std::string path = "/metadata/identity/oauth2/token";
  std::string query = "api-version=2018-02-01&resource=api://orders";
  std::string client_ip = "10.0.3.7";
  uint16_t client_port = 50000;
  std::string local_ip = "10.0.3.1";
  uint16_t local_port = 8444;
  std::vector<std::pair<std::string, std::string>> headers = {{"Metadata", "true"}};

  http::LocalRequest view() {
    fields_.clear();
    for (const auto& [k, v] : headers)
      fields_.push_back({k, v});
    http::LocalRequest r;
    r.listener = "imds";
    r.method = method;
    target_ = path + (query.empty() ? "" : "?" + query);
    r.target = target_;
    r.path = path;
    r.query = query;
    r.host = "127.0.0.1:8444";
    r.client_ip = client_ip;
    r.client_port = client_port;
    r.local_ip = local_ip;
    r.local_port = local_port;
    r.request_id = "req-1";
    r.headers = fields_;
    return r;
  }

 private:
  std::string target_;
  std::vector<http::HeaderField> fields_;
};

class ManagedIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    audit_path_ = fs::temp_directory_path() /
                  ("gh_mi_audit_" + std::to_string(::getpid()) + "_" +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove(audit_path_);
    db_ = std::shared_ptr<store::Database>(must(store::Database::open(":memory:")));
    directory_ = must(Directory::open(db_, clock_));
    must(directory_->create_tenant("Contoso", std::string(kTenant), {"contoso.example"}));

    NewApplication api;
    api.tenant_id = kTenant;
    api.display_name = "orders-api";
    api.client_id = kApiId;
    api.identifier_uris = {"api://orders"};
    api.access_token_version = 2;
    must(directory_->create_application(api));
    must(directory_->add_role(kTenant, kApiId, "Orders.Read"));
    must(directory_->add_role(kTenant, kApiId, "Orders.Write"));

    NewApplication locked;
    locked.tenant_id = kTenant;
    locked.display_name = "ledger-api";
    locked.client_id = kLockedApiId;
    locked.identifier_uris = {"api://ledger"};
    locked.assignment_required = true;
    must(directory_->create_application(locked));
    must(directory_->add_role(kTenant, kLockedApiId, "Ledger.Read"));

    NewApplication worker;
    worker.tenant_id = kTenant;
    worker.display_name = "orders-worker";
    worker.client_id = kWorkerId;
    worker_ = must(directory_->create_application(worker));
    must(directory_->assign_role(kTenant, kWorkerId, "api://orders", "Orders.Read"));

    NewApplication reporter;
    reporter.tenant_id = kTenant;
    reporter.display_name = "reporter";
    reporter.client_id = kReporterId;
    reporter_ = must(directory_->create_application(reporter));

    std::array<uint8_t, 32> master{};
    master.fill(7);
    keys_ =
        must(KeyRing::open(db_, MasterKey::from_bytes(master), config::IdentitySigning{}, clock_));
    minter_ = std::make_unique<TokenMinter>(*keys_);
    audit_ = must(AuditLog::open(audit_path_.string()));
  }
  void TearDown() override {
    audit_.reset();
    fs::remove(audit_path_);
  }

  config::ManagedIdentityConfig worker_identity() {
    config::ManagedIdentityConfig c;
    c.name = "orders-worker";
    c.tenant = kTenant;
    c.client_id = kWorkerId;
    c.resource_id = kWorkerResId;
    c.source_cidrs = {"10.0.3.0/24"};
    c.identity_header_env = "WORKER_HEADER";
    return c;
  }
  config::ManagedIdentityConfig reporter_identity() {
    config::ManagedIdentityConfig c;
    c.name = "reporter";
    c.tenant = "contoso.example";  // an alias works too
    c.client_id = kReporterId;
    c.source_cidrs = {"10.0.3.7"};
    return c;
  }

  std::unique_ptr<ManagedIdentityEndpoint> endpoint(
      std::vector<config::ManagedIdentityConfig> identities) {
    std::map<std::string, std::string, std::less<>> env = {
        {"WORKER_HEADER", std::string(kWorkerHeader)}};
    return must(ManagedIdentityEndpoint::create(identities, [env](std::string_view name) {
      auto it = env.find(name);
      return it == env.end() ? std::string{} : it->second;
    }));
  }

  http::LocalResponse call(const ManagedIdentityEndpoint& ep, Request& r) {
    auto view = directory_->view();
    return ep.handle(r.view(), *view, *minter_, *audit_, kLifetime, kOrigin, kNow);
  }

  /// Verifies the token against the published keys and returns its claims.
  json::object verified_claims(std::string_view token) {
    jose::JwtVerifyOptions options;
    options.claims.clock_skew = std::chrono::seconds(600);
    auto keys = keys_->current();
    auto jwt = jose::verify_jwt(token, keys->public_keys(), options, clock_);
    EXPECT_TRUE(jwt) << (jwt ? "" : jwt.error().message);
    return jwt ? jwt->claims : json::object{};
  }

  std::vector<json::object> audit_lines() {
    audit_->flush();
    std::ifstream in(audit_path_);
    std::vector<json::object> out;
    std::string line;
    while (std::getline(in, line))
      out.push_back(parse_object(line));
    return out;
  }

  test::FixedClock clock_{kNow};
  fs::path audit_path_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<Directory> directory_;
  std::unique_ptr<KeyRing> keys_;
  std::unique_ptr<TokenMinter> minter_;
  std::unique_ptr<AuditLog> audit_;
  Application worker_;
  Application reporter_;
};

void expect_imds_error(const http::LocalResponse& r, uint16_t status, std::string_view error,
                       std::string_view description) {
  EXPECT_EQ(r.status, status) << r.body;
  auto body = parse_object(r.body);
  EXPECT_EQ(keys_of(body), (std::vector<std::string>{"error", "error_description"})) << r.body;
  EXPECT_EQ(s(body["error"]), error) << r.body;
  EXPECT_EQ(s(body["error_description"]), description) << r.body;
}

TEST_F(ManagedIdentityTest, PathsAreTheTwoProtocols) {
  EXPECT_TRUE(ManagedIdentityEndpoint::is_path("/metadata/identity/oauth2/token"));
  EXPECT_TRUE(ManagedIdentityEndpoint::is_path("/msi/token"));
  // msal-node (and so @azure/identity) asks IMDS for the path with a trailing slash.
  EXPECT_TRUE(ManagedIdentityEndpoint::is_path("/metadata/identity/oauth2/token/"));
  EXPECT_TRUE(ManagedIdentityEndpoint::is_path("/msi/token/"));
  EXPECT_FALSE(ManagedIdentityEndpoint::is_path("/metadata/instance"));
  EXPECT_FALSE(ManagedIdentityEndpoint::is_path("/msi/token//"));
}

TEST_F(ManagedIdentityTest, ImdsPathWithTrailingSlashIsImds) {
  auto ep = endpoint({worker_identity()});
  Request r;
  r.path = "/metadata/identity/oauth2/token/";
  auto resp = call(*ep, r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  r.headers.clear();  // without Metadata: the IMDS error shape, not App Service's
  resp = call(*ep, r);
  EXPECT_EQ(resp.status, 400);
  EXPECT_NE(resp.body.find("bad_request_102"), std::string::npos) << resp.body;
}

TEST_F(ManagedIdentityTest, ImdsRequiresTheMetadataHeaderExactly) {
  auto ep = endpoint({worker_identity()});
  for (auto headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {}, {{"Metadata", "True"}}, {{"Metadata", "1"}}, {{"Metadata", "true "}}}) {
    Request r;
    r.headers = headers;
    expect_imds_error(call(*ep, r), 400, "bad_request_102",
                      "Required metadata header not specified");
  }
  // DefaultAzureCredential's probe: no header, no query.
  Request probe;
  probe.headers.clear();
  probe.query.clear();
  expect_imds_error(call(*ep, probe), 400, "bad_request_102",
                    "Required metadata header not specified");
  // The header name is case-insensitive like every header name.
  Request lower;
  lower.headers = {{"metadata", "true"}};
  EXPECT_EQ(call(*ep, lower).status, 200);
}

TEST_F(ManagedIdentityTest, ImdsIssuesTokensToCallersInTheCidr) {
  auto ep = endpoint({worker_identity()});
  Request r;
  r.headers.push_back({"client-request-id", "3c1e8d2a-0000-4000-8000-000000000001"});
  auto resp = call(*ep, r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  auto body = parse_object(resp.body);
  EXPECT_EQ(keys_of(body),
            (std::vector<std::string>{"access_token", "client_id", "expires_in", "expires_on",
                                      "ext_expires_in", "not_before", "resource", "token_type"}));
  for (const auto& kv : body)
    EXPECT_TRUE(kv.value().is_string()) << kv.key();  // IMDS sends every value as a string
  EXPECT_EQ(s(body["client_id"]), kWorkerId);
  EXPECT_EQ(s(body["resource"]), "api://orders");
  EXPECT_EQ(s(body["token_type"]), "Bearer");
  const int64_t expires_on = std::stoll(std::string(body["expires_on"].as_string()));
  const int64_t expires_in = std::stoll(std::string(body["expires_in"].as_string()));
  EXPECT_EQ(expires_on, kNow + kLifetime);
  EXPECT_EQ(expires_in, kLifetime - 1);
  EXPECT_EQ(s(body["ext_expires_in"]), s(body["expires_in"]));

  auto claims = verified_claims(body["access_token"].as_string());
  EXPECT_EQ(s(claims["aud"]), kApiId);  // a v2 resource
  EXPECT_EQ(s(claims["iss"]), std::string(kOrigin) + "/" + std::string(kTenant) + "/v2.0");
  EXPECT_EQ(s(claims["azp"]), kWorkerId);
  EXPECT_EQ(s(claims["azpacr"]), "2");
  EXPECT_EQ(s(claims["oid"]), worker_.service_principal_id);
  EXPECT_EQ(s(claims["tid"]), kTenant);
  ASSERT_TRUE(claims["roles"].is_array());
  EXPECT_EQ(s(claims["roles"]), json::serialize(json::array({"Orders.Read"})));
  EXPECT_EQ(claims["exp"].to_number<int64_t>(), expires_on);

  auto lines = audit_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(s(lines[0]["outcome"]), "issued");
  EXPECT_EQ(s(lines[0]["endpoint"]), "imds");
  EXPECT_EQ(s(lines[0]["method"]), "managed_identity");
  EXPECT_EQ(s(lines[0]["credential"]), "orders-worker");
  EXPECT_EQ(s(lines[0]["client_id"]), kWorkerId);
  EXPECT_EQ(s(lines[0]["resource"]), "api://orders");
  EXPECT_EQ(s(lines[0]["source_ip"]), "10.0.3.7");
}

TEST_F(ManagedIdentityTest, ImdsAcceptsAMappedIpv4PeerAndTheScopeForm) {
  auto ep = endpoint({worker_identity()});
  Request r;
  r.client_ip = "::ffff:10.0.3.200";
  r.query = "api-version=2018-02-01&resource=api%3A%2F%2Forders%2F.default";
  auto resp = call(*ep, r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  EXPECT_EQ(parse_object(resp.body)["resource"], "api://orders");
}

TEST_F(ManagedIdentityTest, ImdsRefusesCallersOutsideEveryBinding) {
  auto ep = endpoint({worker_identity()});
  for (std::string ip : {"10.0.4.7", "127.0.0.1", "fd00::1", "not-an-address"}) {
    Request r;
    r.client_ip = ip;
    expect_imds_error(call(*ep, r), 400, "invalid_request", "Identity not found");
  }
  auto lines = audit_lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(s(lines[0]["outcome"]), "failed");
  EXPECT_NE(std::string(lines[0]["error"].as_string()).find("bound to no identity"),
            std::string::npos);
}

/// A real loopback connection: its connecting socket is ours, so its owner is getuid().
class Loopback {
 public:
  Loopback() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    client_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ok_ = ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
          ::listen(listener_, 1) == 0 &&
          ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
          ::connect(client_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
    if (ok_) accepted_ = ::accept(listener_, nullptr, nullptr);
    ok_ = ok_ && accepted_ >= 0;
    if (!ok_) return;
    sockaddr_in peer{}, local{};
    socklen_t pl = sizeof peer, ll = sizeof local;
    ::getpeername(accepted_, reinterpret_cast<sockaddr*>(&peer), &pl);
    ::getsockname(accepted_, reinterpret_cast<sockaddr*>(&local), &ll);
    char text[INET_ADDRSTRLEN];
    client_ip = ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
    client_port = ntohs(peer.sin_port);
    local_ip = ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
    local_port = ntohs(local.sin_port);
  }
  ~Loopback() {
    for (int fd : {accepted_, client_, listener_})
      if (fd >= 0) ::close(fd);
  }
  bool ok() const { return ok_; }
  std::string client_ip, local_ip;
  uint16_t client_port = 0, local_port = 0;

 private:
  int listener_ = -1, client_ = -1, accepted_ = -1;
  bool ok_ = false;
};

TEST_F(ManagedIdentityTest, ImdsBindsLoopbackCallersByTheirSocketOwner) {
  Loopback conn;
  ASSERT_TRUE(conn.ok());
  auto mine = worker_identity();
  mine.source_cidrs.clear();
  mine.local_uids = {static_cast<uint32_t>(::getuid())};
  auto someone_else = reporter_identity();
  someone_else.source_cidrs.clear();
  someone_else.local_uids = {static_cast<uint32_t>(::getuid()) + 1};
  auto ep = endpoint({mine, someone_else});

  Request r;
  r.client_ip = conn.client_ip;
  r.client_port = conn.client_port;
  r.local_ip = conn.local_ip;
  r.local_port = conn.local_port;
  auto resp = call(*ep, r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  EXPECT_EQ(s(parse_object(resp.body)["client_id"]), kWorkerId);

  // The other identity's uid is not ours: selecting it finds nothing.
  r.query += "&client_id=" + std::string(kReporterId);
  expect_imds_error(call(*ep, r), 400, "invalid_request", "Identity not found");

  // A port that is not this connection's names no socket of ours.
  Request stranger = r;
  stranger.query = "api-version=2018-02-01&resource=api://orders";
  stranger.client_port = static_cast<uint16_t>(conn.client_port ^ 1);
  expect_imds_error(call(*ep, stranger), 400, "invalid_request", "Identity not found");
}

TEST_F(ManagedIdentityTest, UidBindingIsNotUsedForRemotePeers) {
  auto mine = worker_identity();
  mine.source_cidrs.clear();
  mine.local_uids = {static_cast<uint32_t>(::getuid())};
  auto ep = endpoint({mine});
  Request r;  // 10.0.3.7: not loopback, so no /proc lookup and no binding
  expect_imds_error(call(*ep, r), 400, "invalid_request", "Identity not found");
}

TEST_F(ManagedIdentityTest, SelectorsChooseAmongBoundIdentities) {
  auto ep = endpoint({worker_identity(), reporter_identity()});
  Request r;  // 10.0.3.7 is bound to both
  expect_imds_error(call(*ep, r), 400, "invalid_request", "Identity not found");

  auto client_of = [&](std::string extra) {
    Request q;
    q.query += extra;
    auto resp = call(*ep, q);
    EXPECT_EQ(resp.status, 200) << extra << " " << resp.body;
    return std::string(parse_object(resp.body)["client_id"].as_string());
  };
  EXPECT_EQ(client_of("&client_id=" + std::string(kReporterId)), kReporterId);
  EXPECT_EQ(client_of("&client_id=" + std::string("BBBBBBBB-0000-0000-0000-000000000002")),
            kWorkerId);
  EXPECT_EQ(client_of("&object_id=" + reporter_.service_principal_id), kReporterId);
  EXPECT_EQ(client_of("&msi_res_id=" + std::string(kWorkerResId)), kWorkerId);

  Request unknown;
  unknown.query += "&client_id=eeeeeeee-0000-0000-0000-000000000009";
  expect_imds_error(call(*ep, unknown), 400, "invalid_request", "Identity not found");

  Request two;
  two.query += "&client_id=" + std::string(kWorkerId) + "&msi_res_id=" + std::string(kWorkerResId);
  expect_imds_error(call(*ep, two), 400, "invalid_request",
                    "Only one of client_id, object_id and msi_res_id may be specified");

  // A selector never widens the binding: 10.0.3.8 is bound to the worker only.
  Request other;
  other.client_ip = "10.0.3.8";
  other.query += "&client_id=" + std::string(kReporterId);
  expect_imds_error(call(*ep, other), 400, "invalid_request", "Identity not found");
}

TEST_F(ManagedIdentityTest, ImdsParameterErrors) {
  auto ep = endpoint({worker_identity()});
  Request no_resource;
  no_resource.query = "api-version=2018-02-01";
  expect_imds_error(call(*ep, no_resource), 400, "invalid_request",
                    "Required audience parameter not specified");

  Request no_version;
  no_version.query = "resource=api://orders";
  expect_imds_error(call(*ep, no_version), 400, "invalid_request",
                    "Required query variable 'api-version' is missing");

  Request post;
  post.method = "POST";
  expect_imds_error(call(*ep, post), 400, "invalid_request",
                    "The endpoint only accepts GET requests.");

  Request twice;
  twice.query += "&resource=api://ledger";
  auto resp = call(*ep, twice);
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(parse_object(resp.body)["error"], "invalid_request");
}

TEST_F(ManagedIdentityTest, UnknownResourceIsEntra500011) {
  auto ep = endpoint({worker_identity()});
  Request r;
  r.query = "api-version=2018-02-01&resource=api://nowhere";
  r.headers.push_back({"client-request-id", "5d6c1f5e-0000-4000-8000-00000000abcd"});
  auto resp = call(*ep, r);
  EXPECT_EQ(resp.status, 400);
  auto body = parse_object(resp.body);
  EXPECT_EQ(s(body["error"]), "invalid_resource");
  EXPECT_EQ(s(body["error_codes"]), json::serialize(json::array({500011})));
  const std::string description(body["error_description"].as_string());
  EXPECT_TRUE(description.starts_with(
      "AADSTS500011: The resource principal named api://nowhere was not found in the tenant "
      "named Contoso."))
      << description;
  EXPECT_EQ(s(body["correlation_id"]), "5d6c1f5e-0000-4000-8000-00000000abcd");
  EXPECT_EQ(s(body["error_uri"]), std::string(kOrigin) + "/error?code=500011");
  auto lines = audit_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(s(lines[0]["aadsts"]), "500011");
}

TEST_F(ManagedIdentityTest, AssignmentRequiredIs501051) {
  auto ep = endpoint({worker_identity()});
  Request r;
  r.query = "api-version=2018-02-01&resource=api://ledger";
  auto resp = call(*ep, r);
  EXPECT_EQ(resp.status, 400);
  auto body = parse_object(resp.body);
  EXPECT_EQ(s(body["error"]), "invalid_grant");
  EXPECT_EQ(s(body["error_codes"]), json::serialize(json::array({501051})));

  must(directory_->assign_role(kTenant, kWorkerId, "api://ledger", "Ledger.Read"));
  resp = call(*ep, r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  auto claims = verified_claims(parse_object(resp.body)["access_token"].as_string());
  EXPECT_EQ(s(claims["aud"]), "api://ledger");  // a v1 resource: aud as requested
  EXPECT_EQ(s(claims["appidacr"]), "2");
  EXPECT_EQ(s(claims["roles"]), json::serialize(json::array({"Ledger.Read"})));
}

TEST_F(ManagedIdentityTest, IdentityWhoseApplicationIsGoneIsNotFound) {
  auto ghost = reporter_identity();
  ghost.client_id = "eeeeeeee-0000-0000-0000-000000000009";
  auto ep = endpoint({ghost});
  Request r;
  expect_imds_error(call(*ep, r), 400, "invalid_request", "Identity not found");
  auto lines = audit_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(std::string(lines[0]["error"].as_string()).find("not in the directory"),
            std::string::npos);
}

TEST_F(ManagedIdentityTest, AppServiceIssuesTokensForTheIdentityHeader) {
  auto ep = endpoint({worker_identity(), reporter_identity()});
  Request r;
  r.path = "/msi/token";
  r.query = "api-version=2019-08-01&resource=api://orders";
  r.client_ip = "192.0.2.1";  // the address plays no part in this protocol
  r.headers = {{"X-IDENTITY-HEADER", std::string(kWorkerHeader)}};
  auto resp = call(*ep, r);
  ASSERT_EQ(resp.status, 200) << resp.body;
  auto body = parse_object(resp.body);
  EXPECT_EQ(keys_of(body), (std::vector<std::string>{"access_token", "expires_on", "resource",
                                                     "token_type", "client_id", "not_before"}));
  EXPECT_EQ(s(body["expires_on"]), std::to_string(kNow + kLifetime));
  EXPECT_EQ(s(body["client_id"]), kWorkerId);
  EXPECT_EQ(s(body["resource"]), "api://orders");
  auto claims = verified_claims(body["access_token"].as_string());
  EXPECT_EQ(s(claims["azp"]), kWorkerId);
  EXPECT_EQ(s(claims["azpacr"]), "2");

  r.query += "&mi_res_id=" + std::string(kWorkerResId);
  EXPECT_EQ(call(*ep, r).status, 200);
  Request by_principal = r;
  by_principal.query =
      "api-version=2019-08-01&resource=api://orders&principal_id=" + worker_.service_principal_id;
  EXPECT_EQ(call(*ep, by_principal).status, 200);

  auto lines = audit_lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(s(lines[0]["endpoint"]), "app_service");
}

TEST_F(ManagedIdentityTest, AppServiceRefusesAMissingOrWrongHeader) {
  auto ep = endpoint({worker_identity()});
  for (auto headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {},
           {{"X-IDENTITY-HEADER", "wrong-but-long-enough-value-0000"}},
           {{"X-IDENTITY-HEADER", std::string(kWorkerHeader) + "x"}},
           {{"Metadata", "true"}}}) {
    Request r;
    r.path = "/msi/token";
    r.query = "api-version=2019-08-01&resource=api://orders";
    r.headers = headers;
    r.headers.push_back({"client-request-id", "9f1c2d3e-0000-4000-8000-000000000042"});
    auto resp = call(*ep, r);
    EXPECT_EQ(resp.status, 401) << resp.body;
    auto body = parse_object(resp.body);
    EXPECT_EQ(s(body["error"]), "invalid_request");
    EXPECT_TRUE(body["error_description"].is_string());
    EXPECT_EQ(s(body["statusCode"]), "401");
    EXPECT_EQ(s(body["message"]), s(body["error_description"]));
    EXPECT_EQ(s(body["correlationId"]), "9f1c2d3e-0000-4000-8000-000000000042");
    EXPECT_EQ(resp.body.find(kWorkerHeader), std::string::npos);
  }
}

TEST_F(ManagedIdentityTest, AppServiceSelectorAndResourceErrors) {
  auto ep = endpoint({worker_identity()});
  Request r;
  r.path = "/msi/token";
  r.headers = {{"X-IDENTITY-HEADER", std::string(kWorkerHeader)}};
  r.query = "api-version=2019-08-01&resource=api://orders&client_id=" + std::string(kReporterId);
  auto resp = call(*ep, r);
  EXPECT_EQ(resp.status, 400);
  auto body = parse_object(resp.body);
  EXPECT_EQ(s(body["error"]), "invalid_request");
  EXPECT_EQ(s(body["error_description"]), "Identity not found");
  EXPECT_EQ(s(body["statusCode"]), "400");

  r.query = "api-version=2019-08-01";
  body = parse_object(call(*ep, r).body);
  EXPECT_EQ(s(body["error_description"]), "Required audience parameter not specified");
}

TEST_F(ManagedIdentityTest, CreateChecksEveryEntry) {
  auto lookup = [](std::string_view name) -> std::string {
    return name == "SHORT" ? "short" : name == "GOOD" ? std::string(kWorkerHeader) : "";
  };
  auto expect_invalid = [&](config::ManagedIdentityConfig c, std::string_view fragment) {
    auto ep = ManagedIdentityEndpoint::create({c}, lookup);
    ASSERT_FALSE(ep) << fragment;
    EXPECT_EQ(ep.error().kind, ErrorKind::InvalidArgument);
    EXPECT_NE(ep.error().message.find(fragment), std::string::npos) << ep.error().message;
    EXPECT_NE(ep.error().message.find("'" + c.name + "'"), std::string::npos);
  };
  auto base = worker_identity();
  base.identity_header_env.clear();

  auto bad_cidr = base;
  bad_cidr.source_cidrs = {"10.0.3.0/33"};
  expect_invalid(bad_cidr, "source_cidrs");

  auto unset = base;
  unset.identity_header_env = "UNSET";
  expect_invalid(unset, "UNSET is not set");

  auto short_value = base;
  short_value.identity_header_env = "SHORT";
  expect_invalid(short_value, "shorter than 16");

  auto unbound = base;
  unbound.source_cidrs.clear();
  expect_invalid(unbound, "binds no workload");

  auto no_client = base;
  no_client.client_id.clear();
  expect_invalid(no_client, "client_id");

  auto twice = ManagedIdentityEndpoint::create({base, base}, lookup);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("used twice"), std::string::npos);

  auto good = base;
  good.identity_header_env = "GOOD";
  auto ep = ManagedIdentityEndpoint::create({good}, lookup);
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ((*ep)->size(), 1u);
}

}  // namespace
}  // namespace gh::identity
