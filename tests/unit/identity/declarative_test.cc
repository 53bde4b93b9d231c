#include "identity/declarative.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "crypto/digest.h"
#include "identity/secret_hash.h"
#include "support/test_pki.h"

namespace gh::identity {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr std::string_view kApiId = "aaaaaaaa-0000-0000-0000-000000000001";
constexpr std::string_view kWorkerId = "bbbbbbbb-0000-0000-0000-000000000002";
constexpr std::string_view kReadRoleId = "cccccccc-0000-0000-0000-000000000003";
constexpr std::string_view kSecretValue = "worker-secret-value-0123456789";

template <class T>
T must(Result<T> r) {
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) std::abort();
  return std::move(*r);
}

class DeclarativeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gh-decl-XXXXXX").string();
    base_dir_ = ::mkdtemp(tmpl.data());
    fs::create_directories(base_dir_ + "/certs");
    std::ofstream(base_dir_ + "/certs/worker.pem") << pki_->client().cert_pem();
    const auto der = pki_->leaf().der();
    std::ofstream(base_dir_ + "/certs/second.der", std::ios::binary)
        .write(reinterpret_cast<const char*>(der.data()), static_cast<std::streamsize>(der.size()));
    env_["WORKER_SECRET"] = std::string(kSecretValue);

    db_ = std::shared_ptr<store::Database>(must(store::Database::open(":memory:")));
    dir_ = must(Directory::open(db_, clock_));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_dir_, ec);
  }

  // The client is declared before the API it is assigned to.
  static std::vector<config::DeclaredTenant> declared() {
    config::DeclaredApplication worker;
    worker.client_id = "BBBBBBBB-0000-0000-0000-000000000002";
    worker.name = "worker";
    worker.line = 20;
    worker.certificates = {{"certs/worker.pem", "worker-2025", 21}};
    worker.secrets = {{"ci", "WORKER_SECRET", 22}};
    config::DeclaredFederated gha;
    gha.name = "gha-main";
    gha.issuer = "https://token.actions.githubusercontent.com";
    gha.subject = "repo:o/r:ref:refs/heads/main";
    gha.line = 23;
    worker.federated = {gha};
    worker.assignments = {{"API://orders", "Orders.Read", 24}};

    config::DeclaredApplication api;
    api.client_id = std::string(kApiId);
    api.name = "orders-api";
    api.identifier_uris = {"api://orders"};
    api.access_token_version = 2;
    api.assignment_required = true;
    api.roles = {{"Orders.Read", std::string(kReadRoleId), "Read orders", 31},
                 {"Orders.Write", "", "", 32}};
    api.line = 30;

    config::DeclaredTenant t;
    t.id = std::string(kTenant);
    t.name = "Contoso";
    t.aliases = {"contoso.example"};
    t.applications = {worker, api};
    t.line = 10;
    return {t};
  }

  Status apply(const std::vector<config::DeclaredTenant>& tenants) {
    auto lookup = [this](std::string_view name) {
      auto it = env_.find(std::string(name));
      return it == env_.end() ? std::string() : it->second;
    };
    return apply_declared_tenants(*dir_, tenants, lookup, base_dir_);
  }

  const Application& app(std::string_view client_id) {
    view_ = dir_->view();
    const Application* a = view_->application(kTenant, client_id);
    EXPECT_NE(a, nullptr) << client_id;
    if (!a) std::abort();
    return *a;
  }

  static test::TestPki* pki_;
  test::FixedClock clock_{test::TestPki::kDefaultNow};
  std::string base_dir_;
  std::map<std::string, std::string> env_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<Directory> dir_;
  std::shared_ptr<const DirectoryView> view_;
};
test::TestPki* DeclarativeTest::pki_ = nullptr;

TEST_F(DeclarativeTest, CreatesWhatIsDeclared) {
  auto s = apply(declared());
  ASSERT_TRUE(s) << s.error().message;
  auto view = dir_->view();
  const Tenant* t = view->tenant("contoso.example");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->id, kTenant);
  EXPECT_EQ(t->display_name, "Contoso");

  const Application& api = app(kApiId);
  EXPECT_EQ(api.display_name, "orders-api");
  EXPECT_EQ(api.identifier_uris, (std::vector<std::string>{"api://orders"}));
  EXPECT_EQ(api.access_token_version, 2);
  EXPECT_TRUE(api.assignment_required);
  ASSERT_EQ(api.roles.size(), 2u);
  EXPECT_EQ(api.roles[0].id, kReadRoleId);
  EXPECT_EQ(api.roles[0].display_name, "Read orders");
  EXPECT_EQ(api.roles[1].value, "Orders.Write");

  const Application& worker = app(kWorkerId);
  EXPECT_EQ(worker.display_name, "worker");
  ASSERT_EQ(worker.certificates.size(), 1u);
  EXPECT_EQ(worker.certificates[0].display_name, "worker-2025");
  EXPECT_EQ(worker.certificates[0].certificate_der, pki_->client().der());
  ASSERT_EQ(worker.secrets.size(), 1u);
  EXPECT_EQ(worker.secrets[0].display_name, "ci");
  EXPECT_EQ(worker.secrets[0].hint, "wor");
  EXPECT_EQ(worker.secrets[0].end - worker.secrets[0].start, kDeclaredSecretLifetime);
  EXPECT_TRUE(must(verify_secret(kSecretValue, worker.secrets[0].hash)));
  EXPECT_EQ(worker.secrets[0].hash.find(kSecretValue), std::string::npos);
  ASSERT_EQ(worker.federated.size(), 1u);
  EXPECT_EQ(worker.federated[0].audience, "api://AzureADTokenExchange");
  EXPECT_EQ(view_->roles_for(worker, *view_->application(kTenant, kApiId)),
            (std::vector<std::string>{"Orders.Read"}));
}

TEST_F(DeclarativeTest, ApplyingTwiceChangesNothing) {
  ASSERT_TRUE(apply(declared()));
  auto first = dir_->view();
  const auto secret_id = app(kWorkerId).secrets[0].key_id;
  auto s = apply(declared());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(dir_->view(), first);  // no write, no new snapshot
  EXPECT_EQ(app(kWorkerId).secrets.size(), 1u);
  EXPECT_EQ(app(kWorkerId).secrets[0].key_id, secret_id);
  EXPECT_EQ(app(kWorkerId).certificates.size(), 1u);
  EXPECT_EQ(dir_->view()->assignments().size(), 1u);
}

TEST_F(DeclarativeTest, ChangedFieldsAreUpdated) {
  ASSERT_TRUE(apply(declared()));
  const auto old_secret = app(kWorkerId).secrets[0].key_id;
  auto tenants = declared();
  tenants[0].name = "Contoso Ltd";
  tenants[0].aliases = {"contoso.test"};
  auto& worker = tenants[0].applications[0];
  auto& api = tenants[0].applications[1];
  api.name = "orders";
  api.access_token_version = 1;
  api.identifier_uris = {"api://orders", "https://orders.contoso.test"};
  api.roles[0].display_name = "Reads orders";
  worker.federated[0].subject = "repo:o/r:environment:prod";
  worker.certificates.push_back({base_dir_ + "/certs/second.der", "", 25});  // absolute path
  env_["WORKER_SECRET"] = "a-rotated-secret-value-987654321";

  auto s = apply(tenants);
  ASSERT_TRUE(s) << s.error().message;
  auto view = dir_->view();
  EXPECT_EQ(view->tenant(kTenant)->display_name, "Contoso Ltd");
  EXPECT_EQ(view->tenant("contoso.example"), nullptr);
  EXPECT_NE(view->tenant("contoso.test"), nullptr);
  EXPECT_EQ(app(kApiId).display_name, "orders");
  EXPECT_EQ(app(kApiId).access_token_version, 1);
  EXPECT_EQ(view->resource(kTenant, "https://orders.contoso.test"), &app(kApiId));
  EXPECT_EQ(app(kApiId).roles[0].display_name, "Reads orders");
  EXPECT_EQ(app(kApiId).roles[0].id, kReadRoleId);
  EXPECT_EQ(app(kWorkerId).federated[0].subject, "repo:o/r:environment:prod");
  EXPECT_EQ(app(kWorkerId).certificates.size(), 2u);
  // The secret was replaced: one of that name, holding the new value.
  const auto& secrets = app(kWorkerId).secrets;
  ASSERT_EQ(secrets.size(), 1u);
  EXPECT_NE(secrets[0].key_id, old_secret);
  EXPECT_TRUE(must(verify_secret("a-rotated-secret-value-987654321", secrets[0].hash)));
  EXPECT_EQ(view->assignments().size(), 1u);  // kept through the role's update
}

TEST_F(DeclarativeTest, ExpiredSecretIsRenewed) {
  ASSERT_TRUE(apply(declared()));
  const auto old_secret = app(kWorkerId).secrets[0].key_id;
  clock_.advance(kDeclaredSecretLifetime + 1);
  ASSERT_TRUE(apply(declared()));
  ASSERT_EQ(app(kWorkerId).secrets.size(), 1u);
  EXPECT_NE(app(kWorkerId).secrets[0].key_id, old_secret);
  EXPECT_GT(app(kWorkerId).secrets[0].end, clock_.now_unix());
}

TEST_F(DeclarativeTest, RoleRenamedByItsDeclaredId) {
  ASSERT_TRUE(apply(declared()));
  auto tenants = declared();
  tenants[0].applications[1].roles[0].value = "Orders.ReadAll";
  tenants[0].applications[0].assignments[0].role = "Orders.ReadAll";
  auto s = apply(tenants);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(app(kApiId).roles[0].id, kReadRoleId);
  EXPECT_EQ(app(kApiId).roles[0].value, "Orders.ReadAll");
  EXPECT_EQ(view_->roles_for(app(kWorkerId), *view_->application(kTenant, kApiId)),
            (std::vector<std::string>{"Orders.ReadAll"}));
}

TEST_F(DeclarativeTest, AdminMadeObjectsAreLeftAlone) {
  ASSERT_TRUE(apply(declared()));
  must(dir_->add_role(kTenant, kApiId, "Orders.Admin"));
  auto admin_secret = must(dir_->add_secret(kTenant, kWorkerId, "admin-made"));
  must(dir_->add_certificate(kTenant, kWorkerId, pki_->leaf().cert_pem()));
  must(dir_->add_federated(kTenant, kWorkerId,
                           FederatedCredential{{}, "admin-fic", "https://issuer", "sub", {}, {}}));
  NewApplication extra;
  extra.tenant_id = kTenant;
  extra.display_name = "admin-app";
  auto extra_app = must(dir_->create_application(extra));
  must(dir_->assign_role(kTenant, extra_app.client_id, "api://orders", "Orders.Write"));
  auto before = dir_->view();

  auto s = apply(declared());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(dir_->view(), before);
  EXPECT_EQ(app(kApiId).roles.size(), 3u);
  EXPECT_EQ(app(kWorkerId).secrets.size(), 2u);
  EXPECT_EQ(app(kWorkerId).certificates.size(), 2u);
  EXPECT_EQ(app(kWorkerId).federated.size(), 2u);
  EXPECT_NE(view_->application(kTenant, extra_app.client_id), nullptr);
  EXPECT_EQ(view_->assignments().size(), 2u);
  (void)admin_secret;
}

TEST_F(DeclarativeTest, MissingEnvironmentVariableIsNamed) {
  env_.erase("WORKER_SECRET");
  auto s = apply(declared());
  ASSERT_FALSE(s);
  const auto& m = s.error().message;
  EXPECT_EQ(s.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(m.find("WORKER_SECRET"), std::string::npos) << m;
  EXPECT_NE(m.find("is not set"), std::string::npos) << m;
  EXPECT_NE(m.find("tenant 'Contoso'"), std::string::npos) << m;
  EXPECT_NE(m.find("application 'worker'"), std::string::npos) << m;
  EXPECT_NE(m.find("secret 'ci' (line 22)"), std::string::npos) << m;
}

TEST_F(DeclarativeTest, ErrorsNeverShowTheSecretValue) {
  env_["WORKER_SECRET"] = "tooShortValue";
  auto s = apply(declared());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("16-256"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.find("tooShortValue"), std::string::npos) << s.error().message;
}

TEST_F(DeclarativeTest, ErrorsNameTheObject) {
  auto tenants = declared();
  tenants[0].applications[0].certificates[0].file = "certs/missing.pem";
  auto s = apply(tenants);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("certs/missing.pem"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("line 21"), std::string::npos) << s.error().message;

  tenants = declared();
  std::ofstream(base_dir_ + "/certs/garbage.pem") << "not a certificate";
  tenants[0].applications[0].certificates[0].file = "certs/garbage.pem";
  s = apply(tenants);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("garbage.pem"), std::string::npos) << s.error().message;

  tenants = declared();
  tenants[0].applications[0].assignments[0].role = "Orders.Delete";
  s = apply(tenants);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, ErrorKind::NotFound);
  EXPECT_NE(s.error().message.find("assignment of 'Orders.Delete' on 'API://orders' (line 24)"),
            std::string::npos)
      << s.error().message;

  tenants = declared();
  tenants[0].id = "not-a-guid";
  s = apply(tenants);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("identity.tenants: tenant id 'not-a-guid'"), std::string::npos)
      << s.error().message;
}

TEST_F(DeclarativeTest, DeclaredRoleIdMustMatchAnExistingRole) {
  ASSERT_TRUE(apply(declared()));
  auto tenants = declared();
  tenants[0].applications[1].roles[1].id = "dddddddd-0000-0000-0000-000000000004";
  auto s = apply(tenants);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, ErrorKind::Conflict);
  EXPECT_NE(s.error().message.find("role 'Orders.Write' (line 32): exists with id"),
            std::string::npos)
      << s.error().message;
}

TEST_F(DeclarativeTest, AliasOfAnotherTenantIsRefused) {
  must(dir_->create_tenant("Other", "11111111-2222-3333-4444-555555555555", {"shared"}));
  auto tenants = declared();
  tenants[0].applications.clear();
  ASSERT_TRUE(apply(tenants));
  tenants[0].aliases = {"shared"};
  auto s = apply(tenants);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, ErrorKind::Conflict);
  EXPECT_NE(s.error().message.find("'shared'"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace gh::identity
