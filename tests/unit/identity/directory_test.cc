#include "identity/directory.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/encoding.h"
#include "crypto/digest.h"
#include "identity/secret_hash.h"
#include "support/test_pki.h"

namespace gh::identity {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr std::string_view kOther = "11111111-2222-3333-4444-555555555555";
constexpr std::string_view kApiId = "aaaaaaaa-0000-0000-0000-000000000001";
constexpr std::string_view kClientId = "bbbbbbbb-0000-0000-0000-000000000002";

template <class T>
T must(Result<T> r) {
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) std::abort();  // the rest of the test would read garbage
  return std::move(*r);
}

void expect_ok(const Status& s) {
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
}

template <class R>
void expect_error(const R& r, ErrorKind kind, std::string_view fragment) {
  ASSERT_FALSE(r) << "expected an error containing '" << fragment << "'";
  EXPECT_EQ(r.error().kind, kind) << r.error().message;
  EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
}

class DirectoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override {
    db_ = std::shared_ptr<store::Database>(must(store::Database::open(":memory:")));
    dir_ = must(Directory::open(db_, clock_));
  }

  // A tenant with an API app (two roles) and a client app.
  void make_basic() {
    must(dir_->create_tenant("Contoso", std::string(kTenant), {"contoso.example"}));
    NewApplication api;
    api.tenant_id = kTenant;
    api.display_name = "orders-api";
    api.client_id = kApiId;
    api.identifier_uris = {"api://orders", "https://orders.contoso.example/"};
    must(dir_->create_application(api));
    must(dir_->add_role(kTenant, kApiId, "Orders.Read"));
    must(dir_->add_role(kTenant, kApiId, "Orders.Write"));
    NewApplication client;
    client.tenant_id = kTenant;
    client.display_name = "worker";
    client.client_id = kClientId;
    must(dir_->create_application(client));
  }

  const Application& app(std::string_view client_id) {
    const Application* a = dir_->view()->application(kTenant, client_id);
    EXPECT_NE(a, nullptr);
    if (!a) std::abort();
    return *a;
  }

  static test::TestPki* pki_;
  test::FixedClock clock_{test::TestPki::kDefaultNow};
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<Directory> dir_;
};
test::TestPki* DirectoryTest::pki_ = nullptr;

TEST(Guid, Format) {
  EXPECT_TRUE(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
  EXPECT_TRUE(is_guid("72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
  EXPECT_FALSE(is_guid(""));
  EXPECT_FALSE(is_guid("72f988bf86f141af91ab2d7cd011db47"));
  EXPECT_FALSE(is_guid("{72f988bf-86f1-41af-91ab-2d7cd011db47}"));
  EXPECT_FALSE(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db4g"));
  EXPECT_FALSE(is_guid("72f988bf-86f1-41af-91ab_2d7cd011db47"));
  EXPECT_FALSE(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db471"));
}

TEST(CaseInsensitiveIndex, FindsAnyCaseWithAStringView) {
  CaseInsensitiveIndex index;
  index.emplace("Api://Orders", 7);
  std::string_view probe = "API://orders";
  auto it = index.find(probe);
  ASSERT_NE(it, index.end());
  EXPECT_EQ(it->second, 7u);
  EXPECT_EQ(index.find(std::string_view("api://order")), index.end());
  EXPECT_EQ(CaseInsensitiveHash{}("AbC"), CaseInsensitiveHash{}("aBc"));
}

// ---- tenants ---------------------------------------------------------------------------------

TEST_F(DirectoryTest, OpenMigratesAnEmptyDirectory) {
  auto view = dir_->view();
  ASSERT_NE(view, nullptr);
  EXPECT_TRUE(view->tenants().empty());
  auto migrated = must(db_->prepare(
      "SELECT MAX(version) FROM schema_migrations WHERE component = 'identity'", "check"));
  ASSERT_TRUE(*migrated.step());
  EXPECT_EQ(migrated.integer(0), 2);
  // Opening again on the same database is a no-op migration.
  auto again = Directory::open(db_, clock_);
  ASSERT_TRUE(again) << again.error().message;
}

TEST_F(DirectoryTest, CreateTenantGeneratesOrNormalisesItsId) {
  auto generated = must(dir_->create_tenant("Fabrikam"));
  EXPECT_TRUE(is_guid(generated.id));
  EXPECT_EQ(generated.created_at, clock_.now_unix());
  auto fixed = must(dir_->create_tenant("Contoso", "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
                                        {"Contoso.Example", "contoso"}));
  EXPECT_EQ(fixed.id, kTenant);
  EXPECT_EQ(fixed.aliases, (std::vector<std::string>{"contoso.example", "contoso"}));

  auto view = dir_->view();
  ASSERT_EQ(view->tenants().size(), 2u);
  for (std::string_view name : {kTenant, std::string_view("72F988BF-86F1-41AF-91AB-2D7CD011DB47"),
                                std::string_view("contoso.example"),
                                std::string_view("CONTOSO.EXAMPLE"), std::string_view("contoso")}) {
    const Tenant* t = view->tenant(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->id, kTenant);
    EXPECT_EQ(t->display_name, "Contoso");
  }
  EXPECT_EQ(view->tenant("fabrikam"), nullptr);
  EXPECT_EQ(view->tenant(""), nullptr);
}

TEST_F(DirectoryTest, CreateTenantValidation) {
  must(dir_->create_tenant("Contoso", std::string(kTenant), {"contoso.example"}));
  expect_error(dir_->create_tenant("Again", std::string(kTenant)), ErrorKind::Conflict,
               "already exists");
  expect_error(dir_->create_tenant("Bad", "not-a-guid"), ErrorKind::InvalidArgument,
               "is not a GUID");
  expect_error(dir_->create_tenant("", std::string(kOther)), ErrorKind::InvalidArgument,
               "display name");
  expect_error(dir_->create_tenant(std::string(300, 'x')), ErrorKind::InvalidArgument,
               "longer than");
  expect_error(dir_->create_tenant("X", {}, {"has space"}), ErrorKind::InvalidArgument,
               "may contain only");
  expect_error(dir_->create_tenant("X", {}, {"a/b"}), ErrorKind::InvalidArgument,
               "may contain only");
  expect_error(dir_->create_tenant("X", {}, {""}), ErrorKind::InvalidArgument, "1-253");
  expect_error(dir_->create_tenant("X", {}, {std::string(kOther)}), ErrorKind::InvalidArgument,
               "must not be a GUID");
  expect_error(dir_->create_tenant("X", {}, {"Common"}), ErrorKind::InvalidArgument, "reserved");
  expect_error(dir_->create_tenant("X", {}, {"organizations"}), ErrorKind::InvalidArgument,
               "reserved");
  expect_error(dir_->create_tenant("X", {}, {"a.example", "A.example"}), ErrorKind::InvalidArgument,
               "listed twice");
  expect_error(dir_->create_tenant("X", {}, {"CONTOSO.example"}), ErrorKind::Conflict,
               "already used by tenant");
  EXPECT_EQ(dir_->view()->tenants().size(), 1u);  // nothing half-created
}

TEST_F(DirectoryTest, UpdateTenantReplacesNameAndAliases) {
  must(dir_->create_tenant("Contoso", std::string(kTenant), {"contoso.example"}));
  must(dir_->create_tenant("Other", std::string(kOther), {"other.example"}));
  expect_ok(dir_->update_tenant({std::string(kTenant), "Contoso Ltd", {"contoso.test"}}));
  auto view = dir_->view();
  EXPECT_EQ(view->tenant(kTenant)->display_name, "Contoso Ltd");
  EXPECT_EQ(view->tenant("contoso.example"), nullptr);
  EXPECT_NE(view->tenant("contoso.test"), nullptr);

  // Nothing to change: no new view.
  expect_ok(dir_->update_tenant({std::string(kTenant), "Contoso Ltd", {"contoso.test"}}));
  EXPECT_EQ(dir_->view(), view);
  // Addressed by alias, keeping its own alias.
  expect_ok(dir_->update_tenant({"contoso.test", "Contoso", {"contoso.test"}}));
  EXPECT_EQ(dir_->view()->tenant(kTenant)->display_name, "Contoso");

  expect_error(dir_->update_tenant({"missing.example", "X", {}}), ErrorKind::NotFound,
               "tenant 'missing.example' not found");
  expect_error(dir_->update_tenant({std::string(kTenant), "Contoso", {"other.example"}}),
               ErrorKind::Conflict, "already used by tenant");
  expect_error(dir_->update_tenant({std::string(kTenant), "", {}}), ErrorKind::InvalidArgument,
               "display name");
}

TEST_F(DirectoryTest, DeleteTenantRemovesEverythingInIt) {
  make_basic();
  must(dir_->assign_role(kTenant, kClientId, "api://orders", "Orders.Read"));
  expect_ok(dir_->delete_tenant("contoso.example"));
  auto view = dir_->view();
  EXPECT_TRUE(view->tenants().empty());
  EXPECT_TRUE(view->applications().empty());
  EXPECT_TRUE(view->assignments().empty());
  expect_error(dir_->delete_tenant(kTenant), ErrorKind::NotFound, "not found");
}

// ---- applications ----------------------------------------------------------------------------

TEST_F(DirectoryTest, CreateApplicationGeneratesIds) {
  must(dir_->create_tenant("Contoso", std::string(kTenant)));
  NewApplication spec;
  spec.tenant_id = kTenant;
  spec.display_name = "generated";
  auto a = must(dir_->create_application(spec));
  EXPECT_TRUE(is_guid(a.client_id));
  EXPECT_TRUE(is_guid(a.object_id));
  EXPECT_TRUE(is_guid(a.service_principal_id));
  EXPECT_NE(a.service_principal_id, a.object_id);
  EXPECT_NE(a.service_principal_id, a.client_id);
  EXPECT_EQ(a.tenant_id, kTenant);
  EXPECT_EQ(a.access_token_version, 1);
  EXPECT_TRUE(a.enabled);

  auto b = must(dir_->create_application(spec));
  EXPECT_NE(a.service_principal_id, b.service_principal_id);  // one per app
  EXPECT_EQ(dir_->view()->applications().size(), 2u);
}

TEST_F(DirectoryTest, CreateApplicationKeepsFieldsAndNormalisesClientId) {
  must(dir_->create_tenant("Contoso", std::string(kTenant), {"contoso.example"}));
  NewApplication spec;
  spec.tenant_id = "contoso.example";
  spec.display_name = "orders-api";
  spec.client_id = "AAAAAAAA-0000-0000-0000-000000000001";
  spec.identifier_uris = {"api://Orders"};
  spec.access_token_version = 2;
  spec.assignment_required = true;
  spec.strict_assertion_replay = true;
  auto a = must(dir_->create_application(spec));
  EXPECT_EQ(a.client_id, kApiId);
  EXPECT_EQ(a.tenant_id, kTenant);

  auto view = dir_->view();
  const Application* found =
      view->application("CONTOSO.example", "AAAAAAAA-0000-0000-0000-000000000001");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->client_id, kApiId);
  EXPECT_EQ(found->display_name, "orders-api");
  EXPECT_EQ(found->identifier_uris, (std::vector<std::string>{"api://Orders"}));
  EXPECT_EQ(found->access_token_version, 2);
  EXPECT_TRUE(found->assignment_required);
  EXPECT_TRUE(found->strict_assertion_replay);
  EXPECT_EQ(found->service_principal_id, a.service_principal_id);
  EXPECT_EQ(view->application(kOther, kApiId), nullptr);
  EXPECT_EQ(view->application(kTenant, kClientId), nullptr);
}

TEST_F(DirectoryTest, CreateApplicationValidation) {
  make_basic();
  must(dir_->create_tenant("Other", std::string(kOther)));
  auto spec = [](std::string tenant, std::string name, std::string client_id,
                 std::vector<std::string> uris = {}) {
    NewApplication s;
    s.tenant_id = std::move(tenant);
    s.display_name = std::move(name);
    s.client_id = std::move(client_id);
    s.identifier_uris = std::move(uris);
    return s;
  };
  const std::string t(kTenant);
  expect_error(dir_->create_application(spec("missing.example", "x", "")), ErrorKind::NotFound,
               "tenant 'missing.example' not found");
  expect_error(dir_->create_application(spec(t, "x", "nope")), ErrorKind::InvalidArgument,
               "client id 'nope' is not a GUID");
  expect_error(dir_->create_application(spec(t, "", "")), ErrorKind::InvalidArgument,
               "display name");
  expect_error(dir_->create_application(spec(t, "dup", "AAAAAAAA-0000-0000-0000-000000000001")),
               ErrorKind::Conflict, "is already used by application 'orders-api'");
  auto bad_version = spec(t, "v3", "");
  bad_version.access_token_version = 3;
  expect_error(dir_->create_application(bad_version), ErrorKind::InvalidArgument,
               "version must be 1 or 2");
  for (std::string uri : {"orders", "://x", "1api://x", "api://has space", "api://*", "api:"}) {
    expect_error(dir_->create_application(spec(t, "u", "", {uri})), ErrorKind::InvalidArgument,
                 "identifier URI");
  }
  expect_error(dir_->create_application(spec(t, "u", "", {"api://" + std::string(2043, 'a')})),
               ErrorKind::InvalidArgument, "1-2048");
  expect_error(dir_->create_application(spec(t, "u", "", {"api://a", "API://A"})),
               ErrorKind::InvalidArgument, "listed twice");
  // An identifier may name only one app in a tenant, compared case-insensitively.
  expect_error(dir_->create_application(spec(t, "u", "", {"API://ORDERS"})), ErrorKind::Conflict,
               "already used by application 'orders-api'");
  EXPECT_EQ(dir_->view()->applications().size(), 2u);
  // Client ids are unique across tenants (as Entra's appId)...
  expect_error(dir_->create_application(spec(std::string(kOther), "copy", std::string(kApiId))),
               ErrorKind::Conflict, "in tenant '" + std::string(kTenant) + "'");
  // ...identifier URIs only within one.
  must(dir_->create_application(spec(std::string(kOther), "copy", "", {"api://orders"})));
  // "https://x" and "https://x/" are different identifiers.
  must(dir_->create_application(spec(t, "no-slash", "", {"https://orders.contoso.example"})));
}

TEST_F(DirectoryTest, ResourceLookupByClientIdAndIdentifier) {
  make_basic();
  auto view = dir_->view();
  const Application* api = view->application(kTenant, kApiId);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(view->resource(kTenant, kApiId), api);
  EXPECT_EQ(view->resource(kTenant, "AAAAAAAA-0000-0000-0000-000000000001"), api);
  EXPECT_EQ(view->resource("contoso.example", "api://orders"), api);
  EXPECT_EQ(view->resource(kTenant, "API://Orders"), api);
  EXPECT_EQ(view->resource(kTenant, "https://ORDERS.contoso.example/"), api);
  // "https://x" does not match the identifier "https://x/"...
  EXPECT_EQ(view->resource(kTenant, "https://orders.contoso.example"), nullptr);
  // ...while "api://orders/" falls back to "api://orders".
  EXPECT_EQ(view->resource(kTenant, "api://orders/"), api);
  EXPECT_EQ(view->resource(kTenant, "api://orders//"), nullptr);
  EXPECT_EQ(view->resource(kTenant, "api://order"), nullptr);
  EXPECT_EQ(view->resource(kOther, "api://orders"), nullptr);
  EXPECT_EQ(view->resource(kTenant, ""), nullptr);
  EXPECT_EQ(view->resource(kTenant, "/"), nullptr);
}

TEST_F(DirectoryTest, UpdateApplication) {
  make_basic();
  Application changed = app(kApiId);
  changed.display_name = "orders";
  changed.identifier_uris = {"api://orders-v2"};
  changed.access_token_version = 2;
  changed.assignment_required = true;
  changed.strict_assertion_replay = true;
  changed.enabled = false;
  expect_ok(dir_->update_application(changed));
  auto view = dir_->view();
  const Application* a = view->application(kTenant, kApiId);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->display_name, "orders");
  EXPECT_EQ(a->identifier_uris, (std::vector<std::string>{"api://orders-v2"}));
  EXPECT_EQ(a->access_token_version, 2);
  EXPECT_TRUE(a->assignment_required);
  EXPECT_TRUE(a->strict_assertion_replay);
  EXPECT_FALSE(a->enabled);
  EXPECT_EQ(a->roles.size(), 2u);  // untouched
  EXPECT_EQ(view->resource(kTenant, "api://orders"), nullptr);
  EXPECT_EQ(view->resource(kTenant, "api://orders-v2"), a);

  expect_ok(dir_->update_application(*a));  // no change
  EXPECT_EQ(dir_->view(), view);

  Application clash = app(kClientId);
  clash.identifier_uris = {"API://orders-v2"};
  expect_error(dir_->update_application(clash), ErrorKind::Conflict, "already used by");
  Application bad = app(kClientId);
  bad.access_token_version = 0;
  expect_error(dir_->update_application(bad), ErrorKind::InvalidArgument, "1 or 2");
  bad = app(kClientId);
  bad.display_name.clear();
  expect_error(dir_->update_application(bad), ErrorKind::InvalidArgument, "display name");
  bad = app(kClientId);
  bad.identifier_uris = {"no-scheme"};
  expect_error(dir_->update_application(bad), ErrorKind::InvalidArgument, "needs a scheme");
  Application missing = app(kClientId);
  missing.client_id = std::string(kOther);
  expect_error(dir_->update_application(missing), ErrorKind::NotFound,
               "application '11111111-2222-3333-4444-555555555555' not found");
}

TEST_F(DirectoryTest, DeleteApplicationRemovesItsAssignmentsBothWays) {
  make_basic();
  NewApplication third;
  third.tenant_id = kTenant;
  third.display_name = "billing-api";
  third.identifier_uris = {"api://billing"};
  const auto billing = must(dir_->create_application(third));
  must(dir_->add_role(kTenant, billing.client_id, "Billing.Read"));
  must(dir_->add_role(kTenant, kClientId, "Worker.Call"));
  must(dir_->assign_role(kTenant, kClientId, "api://orders", "Orders.Read"));
  must(dir_->assign_role(kTenant, kClientId, "api://billing", "Billing.Read"));
  must(dir_->assign_role(kTenant, billing.client_id, kClientId, "Worker.Call"));
  ASSERT_EQ(dir_->view()->assignments().size(), 3u);

  expect_ok(dir_->delete_application(kTenant, kClientId));  // client of two, resource of one
  auto view = dir_->view();
  EXPECT_EQ(view->application(kTenant, kClientId), nullptr);
  EXPECT_TRUE(view->assignments().empty());
  EXPECT_EQ(view->applications().size(), 2u);

  must(dir_->assign_role(kTenant, billing.client_id, "api://orders", "Orders.Read"));
  expect_ok(dir_->delete_application("contoso.example", kApiId));  // as resource
  EXPECT_TRUE(dir_->view()->assignments().empty());
  expect_error(dir_->delete_application(kTenant, kApiId), ErrorKind::NotFound, "not found");
  expect_error(dir_->delete_application(kOther, kApiId), ErrorKind::NotFound, "tenant");
}

// ---- roles -----------------------------------------------------------------------------------

TEST_F(DirectoryTest, AddRole) {
  make_basic();
  auto role = must(dir_->add_role(kTenant, kApiId, "Orders.Admin", "Admins", "Full access"));
  EXPECT_TRUE(is_guid(role.id));
  EXPECT_TRUE(role.enabled);
  EXPECT_TRUE(role.allow_applications);
  const auto& roles = app(kApiId).roles;
  ASSERT_EQ(roles.size(), 3u);
  EXPECT_EQ(roles[0].value, "Orders.Read");
  EXPECT_EQ(roles[0].display_name, "Orders.Read");  // defaults to the value
  EXPECT_EQ(roles[2].id, role.id);
  EXPECT_EQ(roles[2].display_name, "Admins");
  EXPECT_EQ(roles[2].description, "Full access");

  AppRole fixed;
  fixed.id = "CCCCCCCC-0000-0000-0000-000000000003";
  fixed.value = "Orders.Audit";
  fixed.allow_applications = false;
  auto kept = must(dir_->add_role(kTenant, kApiId, fixed));
  EXPECT_EQ(kept.id, "cccccccc-0000-0000-0000-000000000003");
  EXPECT_FALSE(app(kApiId).roles.back().allow_applications);
}

TEST_F(DirectoryTest, AddRoleValidation) {
  make_basic();
  for (std::string bad :
       std::vector<std::string>{"", "Orders Read", "Orders\tRead", ".hidden", std::string(250, 'r'),
                                std::string("caf\xc3\xa9")}) {
    expect_error(dir_->add_role(kTenant, kApiId, bad), ErrorKind::InvalidArgument, "role value");
  }
  expect_error(dir_->add_role(kTenant, kApiId, "orders.read"), ErrorKind::Conflict,
               "already exists on application 'orders-api'");
  AppRole same_id;
  same_id.id = app(kApiId).roles[0].id;
  same_id.value = "Orders.Other";
  expect_error(dir_->add_role(kTenant, kApiId, same_id), ErrorKind::Conflict, "already used");
  AppRole bad_id;
  bad_id.id = "x";
  bad_id.value = "Orders.Other";
  expect_error(dir_->add_role(kTenant, kApiId, bad_id), ErrorKind::InvalidArgument, "not a GUID");
  expect_error(dir_->add_role(kTenant, kOther, "Orders.Other"), ErrorKind::NotFound, "not found");
  // A value may repeat on another app.
  must(dir_->add_role(kTenant, kClientId, "Orders.Read"));
}

TEST_F(DirectoryTest, UpdateAndRemoveRole) {
  make_basic();
  must(dir_->assign_role(kTenant, kClientId, "api://orders", "Orders.Write"));
  AppRole role = app(kApiId).roles[1];
  role.value = "Orders.ReadWrite";
  role.description = "read and write";
  expect_ok(dir_->update_role(kTenant, kApiId, role));
  EXPECT_EQ(app(kApiId).roles[1].value, "Orders.ReadWrite");
  EXPECT_EQ(app(kApiId).roles[1].description, "read and write");
  EXPECT_EQ(dir_->view()->roles_for(app(kClientId), app(kApiId)),
            (std::vector<std::string>{"Orders.ReadWrite"}));

  auto before = dir_->view();
  expect_ok(dir_->update_role(kTenant, kApiId, role));  // unchanged
  EXPECT_EQ(dir_->view(), before);

  AppRole clash = role;
  clash.value = "ORDERS.READ";
  expect_error(dir_->update_role(kTenant, kApiId, clash), ErrorKind::Conflict, "already exists");
  AppRole missing = role;
  missing.id = std::string(kOther);
  expect_error(dir_->update_role(kTenant, kApiId, missing), ErrorKind::NotFound, "not found");
  AppRole spaced = role;
  spaced.value = "a b";
  expect_error(dir_->update_role(kTenant, kApiId, spaced), ErrorKind::InvalidArgument, "spaces");

  // Removing an enabled role is refused; disabled, it goes with its assignments.
  expect_error(dir_->remove_role(kTenant, kApiId, "Orders.ReadWrite"), ErrorKind::Conflict,
               "disable it before removing it");
  role.enabled = false;
  expect_ok(dir_->update_role(kTenant, kApiId, role));
  EXPECT_EQ(dir_->view()->assignments().size(), 1u);
  expect_ok(dir_->remove_role(kTenant, kApiId, role.id));
  EXPECT_EQ(app(kApiId).roles.size(), 1u);
  EXPECT_TRUE(dir_->view()->assignments().empty());
  expect_error(dir_->remove_role(kTenant, kApiId, "Orders.ReadWrite"), ErrorKind::NotFound,
               "not found");
}

// ---- certificates ----------------------------------------------------------------------------

TEST_F(DirectoryTest, AddCertificateFromPemStoresThumbprintsAndValidity) {
  make_basic();
  const auto& leaf = pki_->leaf();
  auto key = must(dir_->add_certificate(kTenant, kClientId, leaf.cert_pem(), "partner"));
  const auto der = leaf.der();
  const auto sha1 = crypto::sha1(der);
  const auto sha256 = crypto::sha256(der);
  EXPECT_TRUE(is_guid(key.key_id));
  EXPECT_EQ(key.display_name, "partner");
  EXPECT_EQ(key.certificate_der, der);
  EXPECT_EQ(key.thumbprint_sha1, core::Bytes(sha1.begin(), sha1.end()));
  EXPECT_EQ(key.thumbprint_sha256, core::Bytes(sha256.begin(), sha256.end()));
  EXPECT_EQ(key.start, pki_->now() - 3600);      // notBefore
  EXPECT_EQ(key.end, pki_->now() + 30 * 86400);  // notAfter

  auto view = dir_->view();
  const Application& client = app(kClientId);
  ASSERT_EQ(client.certificates.size(), 1u);
  EXPECT_EQ(view->certificate_by_sha1(client, sha1), &client.certificates[0]);
  EXPECT_EQ(view->certificate_by_sha256(client, sha256), &client.certificates[0]);
  EXPECT_EQ(view->certificate_by_sha1(client, std::span(sha256).first(20)), nullptr);
  EXPECT_EQ(view->certificate_by_sha256(client, std::span(sha1)), nullptr);
  EXPECT_EQ(view->certificate_by_sha1(app(kApiId), sha1), nullptr);
}

TEST_F(DirectoryTest, AddCertificateFromDerWithWindowAndDefaultName) {
  make_basic();
  const auto& client_cert = pki_->client();
  const auto der = client_cert.der();
  auto key = must(dir_->add_certificate(kTenant, kClientId, core::as_string_view(der), {},
                                        pki_->now(), pki_->now() + 86400));
  EXPECT_EQ(key.start, pki_->now());
  EXPECT_EQ(key.end, pki_->now() + 86400);
  EXPECT_NE(key.display_name.find("CN=client.test"), std::string::npos) << key.display_name;
}

TEST_F(DirectoryTest, AddCertificateValidation) {
  make_basic();
  const auto pem = pki_->leaf().cert_pem();
  expect_error(dir_->add_certificate(kTenant, kClientId, "not a certificate"),
               ErrorKind::InvalidArgument, "cannot be parsed");
  expect_error(dir_->add_certificate(kTenant, kClientId, pem, {}, pki_->now() - 7200),
               ErrorKind::InvalidArgument, "within the certificate's validity");
  expect_error(dir_->add_certificate(kTenant, kClientId, pem, {}, {}, pki_->now() + 31 * 86400),
               ErrorKind::InvalidArgument, "within the certificate's validity");
  expect_error(dir_->add_certificate(kTenant, kClientId, pem, {}, pki_->now(), pki_->now()),
               ErrorKind::InvalidArgument, "start < end");
  expect_error(dir_->add_certificate(kTenant, kOther, pem), ErrorKind::NotFound, "not found");
  must(dir_->add_certificate(kTenant, kClientId, pem));
  expect_error(dir_->add_certificate(kTenant, kClientId, pem), ErrorKind::Conflict,
               "already registered");
  // The same certificate may serve another app.
  must(dir_->add_certificate(kTenant, kApiId, pem));
}

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST_F(DirectoryTest, RemoveCertificateByKeyIdOrThumbprint) {
  make_basic();
  auto a = must(dir_->add_certificate(kTenant, kClientId, pki_->leaf().cert_pem()));
  auto b = must(dir_->add_certificate(kTenant, kClientId, pki_->client().cert_pem()));
  auto c = must(dir_->add_certificate(kTenant, kClientId, pki_->expired().cert_pem()));
  expect_ok(dir_->remove_certificate(kTenant, kClientId, upper(a.key_id)));
  expect_ok(
      dir_->remove_certificate(kTenant, kClientId, core::hex_encode_upper(b.thumbprint_sha1)));
  EXPECT_EQ(app(kClientId).certificates.size(), 1u);
  expect_error(dir_->remove_certificate(kTenant, kClientId, a.key_id), ErrorKind::NotFound,
               "not found");
  expect_ok(dir_->remove_certificate(kTenant, kClientId, core::hex_encode(c.thumbprint_sha256)));
  EXPECT_TRUE(app(kClientId).certificates.empty());
}

// ---- secrets ---------------------------------------------------------------------------------

TEST_F(DirectoryTest, AddSecretStoresOnlyAHash) {
  make_basic();
  auto created = must(dir_->add_secret(kTenant, kClientId, "ci", 3600));
  ASSERT_EQ(created.value.size(), 40u);
  const auto& cred = created.credential;
  EXPECT_TRUE(is_guid(cred.key_id));
  EXPECT_EQ(cred.display_name, "ci");
  EXPECT_EQ(cred.hint, created.value.substr(0, 3));
  EXPECT_EQ(cred.start, clock_.now_unix());
  EXPECT_EQ(cred.end, clock_.now_unix() + 3600);
  EXPECT_EQ(cred.hash.find(created.value), std::string::npos);
  EXPECT_TRUE(must(verify_secret(created.value, cred.hash)));

  const Application& client = app(kClientId);
  ASSERT_EQ(client.secrets.size(), 1u);
  EXPECT_EQ(client.secrets[0].hash, cred.hash);
  // Nothing in the database holds the value.
  auto rows =
      must(db_->prepare("SELECT COUNT(*) FROM password_credentials WHERE hash LIKE ?1", "search"));
  rows.bind(1, "%" + created.value + "%");
  ASSERT_TRUE(*rows.step());
  EXPECT_EQ(rows.integer(0), 0);

  auto second = must(dir_->add_secret(kTenant, kClientId));
  EXPECT_NE(second.value, created.value);
  EXPECT_EQ(second.credential.end - second.credential.start, 180 * 86400);
  EXPECT_EQ(app(kClientId).secrets.size(), 2u);
}

TEST_F(DirectoryTest, SecretValidationAndRemoval) {
  make_basic();
  expect_error(dir_->add_secret(kTenant, kClientId, "x", 0), ErrorKind::InvalidArgument,
               "lifetime");
  expect_error(dir_->add_secret(kTenant, kOther, "x"), ErrorKind::NotFound, "not found");
  auto too_short = dir_->add_secret_with_value(kTenant, kClientId, "s", "short-value");
  expect_error(too_short, ErrorKind::InvalidArgument, "16-256");
  EXPECT_EQ(too_short.error().message.find("short-value"), std::string::npos);

  auto chosen = must(
      dir_->add_secret_with_value(kTenant, kClientId, "declared", "a-declared-secret-value", 60));
  EXPECT_EQ(chosen.hint, "a-d");
  EXPECT_TRUE(must(verify_secret("a-declared-secret-value", chosen.hash)));
  expect_ok(dir_->remove_secret(kTenant, kClientId, chosen.key_id));
  EXPECT_TRUE(app(kClientId).secrets.empty());
  expect_error(dir_->remove_secret(kTenant, kClientId, chosen.key_id), ErrorKind::NotFound,
               "not found");
}

// ---- federated credentials -------------------------------------------------------------------

FederatedCredential fic(std::string name, std::string subject) {
  FederatedCredential f;
  f.name = std::move(name);
  f.issuer = "https://token.actions.githubusercontent.com";
  f.subject = std::move(subject);
  return f;
}

TEST_F(DirectoryTest, AddFederatedCredential) {
  make_basic();
  auto f = must(dir_->add_federated(kTenant, kClientId, fic("gha-main", "repo:o/r:ref:main")));
  EXPECT_TRUE(is_guid(f.id));
  EXPECT_EQ(f.audience, "api://AzureADTokenExchange");
  const auto& stored = app(kClientId).federated;
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].name, "gha-main");
  EXPECT_EQ(stored[0].issuer, "https://token.actions.githubusercontent.com");
  EXPECT_EQ(stored[0].subject, "repo:o/r:ref:main");
  EXPECT_EQ(stored[0].audience, "api://AzureADTokenExchange");
}

TEST_F(DirectoryTest, FederatedCredentialValidation) {
  make_basic();
  must(dir_->add_federated(kTenant, kClientId, fic("gha-main", "repo:o/r:ref:main")));
  must(dir_->add_federated(kTenant, kClientId, fic("-gha.v2~x_", "repo:o/r:ref:v2")));
  for (std::string name : std::vector<std::string>{"ab", std::string(121, 'a'), "has space", "a/b",
                                                   "a+b", "caf\xc3\xa9"}) {
    expect_error(dir_->add_federated(kTenant, kClientId, fic(name, "s")),
                 ErrorKind::InvalidArgument, "name");
  }
  auto f = fic("no-issuer", "s");
  f.issuer.clear();
  expect_error(dir_->add_federated(kTenant, kClientId, f), ErrorKind::InvalidArgument, "issuer");
  f = fic("spaced", "sub ject");
  expect_error(dir_->add_federated(kTenant, kClientId, f), ErrorKind::InvalidArgument, "subject");
  f = fic("long-aud", "s");
  f.audience = std::string(601, 'a');
  expect_error(dir_->add_federated(kTenant, kClientId, f), ErrorKind::InvalidArgument, "audience");
  f = fic("long-desc", "s");
  f.description = std::string(601, 'd');
  expect_error(dir_->add_federated(kTenant, kClientId, f), ErrorKind::InvalidArgument,
               "description");
  expect_error(dir_->add_federated(kTenant, kClientId, fic("GHA-MAIN", "other")),
               ErrorKind::Conflict, "already exists");
  expect_error(dir_->add_federated(kTenant, kClientId, fic("gha-copy", "repo:o/r:ref:main")),
               ErrorKind::Conflict, "already has issuer");
  // Issuer + subject are per app: another app may use the same pair.
  must(dir_->add_federated(kTenant, kApiId, fic("gha-main", "repo:o/r:ref:main")));
  expect_error(dir_->add_federated(kTenant, kOther, fic("gha-x", "s")), ErrorKind::NotFound,
               "not found");
}

TEST_F(DirectoryTest, AtMostTwentyFederatedCredentials) {
  make_basic();
  for (int i = 0; i < 20; ++i) {
    must(dir_->add_federated(kTenant, kClientId,
                             fic("fic-" + std::to_string(i), "subject-" + std::to_string(i))));
  }
  expect_error(dir_->add_federated(kTenant, kClientId, fic("fic-20", "subject-20")),
               ErrorKind::LimitExceeded, "maximum of 20");
  EXPECT_EQ(app(kClientId).federated.size(), 20u);
}

TEST_F(DirectoryTest, UpdateAndRemoveFederatedCredential) {
  make_basic();
  must(dir_->add_federated(kTenant, kClientId, fic("gha-main", "repo:o/r:ref:main")));
  must(dir_->add_federated(kTenant, kClientId, fic("gha-dev", "repo:o/r:ref:dev")));
  auto changed = fic("GHA-MAIN", "repo:o/r:environment:prod");
  changed.audience = "api://custom";
  changed.description = "prod deploys";
  expect_ok(dir_->update_federated(kTenant, kClientId, changed));
  const auto& f = app(kClientId).federated[0];
  EXPECT_EQ(f.name, "gha-main");  // names are immutable
  EXPECT_EQ(f.subject, "repo:o/r:environment:prod");
  EXPECT_EQ(f.audience, "api://custom");
  EXPECT_EQ(f.description, "prod deploys");

  auto before = dir_->view();
  expect_ok(dir_->update_federated(kTenant, kClientId, changed));
  EXPECT_EQ(dir_->view(), before);

  expect_error(dir_->update_federated(kTenant, kClientId, fic("gha-main", "repo:o/r:ref:dev")),
               ErrorKind::Conflict, "already has issuer");
  expect_error(dir_->update_federated(kTenant, kClientId, fic("missing", "x")), ErrorKind::NotFound,
               "not found");
  expect_ok(dir_->remove_federated(kTenant, kClientId, "Gha-Dev"));
  EXPECT_EQ(app(kClientId).federated.size(), 1u);
  expect_error(dir_->remove_federated(kTenant, kClientId, "gha-dev"), ErrorKind::NotFound,
               "not found");
}

// ---- role assignments ------------------------------------------------------------------------

TEST_F(DirectoryTest, AssignRoleByIdentifierOrClientIdAndIdempotent) {
  make_basic();
  auto first = must(dir_->assign_role(kTenant, kClientId, "API://orders", "Orders.Read"));
  EXPECT_TRUE(is_guid(first.id));
  EXPECT_EQ(first.tenant_id, kTenant);
  EXPECT_EQ(first.client_id, kClientId);
  EXPECT_EQ(first.resource_id, kApiId);
  EXPECT_EQ(first.role_id, app(kApiId).roles[0].id);
  EXPECT_EQ(first.created_at, clock_.now_unix());

  auto before = dir_->view();
  auto again = must(dir_->assign_role("contoso.example", "BBBBBBBB-0000-0000-0000-000000000002",
                                      kApiId, app(kApiId).roles[0].id));
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(dir_->view(), before);  // nothing written, nothing published

  must(dir_->assign_role(kTenant, kClientId, "https://orders.contoso.example/", "orders.write"));
  auto view = dir_->view();
  EXPECT_EQ(view->assignments().size(), 2u);
  const Application& client = *view->application(kTenant, kClientId);
  const Application& api = *view->application(kTenant, kApiId);
  EXPECT_EQ(view->roles_for(client, api),
            (std::vector<std::string>{"Orders.Read", "Orders.Write"}));
  EXPECT_TRUE(view->has_assignment(client, api));
  EXPECT_FALSE(view->has_assignment(api, client));
  EXPECT_TRUE(view->roles_for(api, client).empty());
  // A copy of an Application is found by its ids.
  Application copy = client;
  EXPECT_EQ(view->role_values(copy, api).size(), 2u);
}

TEST_F(DirectoryTest, AssignRoleValidation) {
  make_basic();
  expect_error(dir_->assign_role(kTenant, kOther, "api://orders", "Orders.Read"),
               ErrorKind::NotFound, "application");
  expect_error(dir_->assign_role(kTenant, kClientId, "api://nothing", "Orders.Read"),
               ErrorKind::NotFound, "resource 'api://nothing' not found");
  expect_error(dir_->assign_role(kTenant, kClientId, "api://orders", "Orders.Delete"),
               ErrorKind::NotFound, "role 'Orders.Delete' not found");
  AppRole disabled;
  disabled.value = "Orders.Old";
  disabled.enabled = false;
  must(dir_->add_role(kTenant, kApiId, disabled));
  expect_error(dir_->assign_role(kTenant, kClientId, "api://orders", "Orders.Old"),
               ErrorKind::InvalidArgument, "is disabled");
  AppRole users_only;
  users_only.value = "Orders.User";
  users_only.allow_applications = false;
  must(dir_->add_role(kTenant, kApiId, users_only));
  expect_error(dir_->assign_role(kTenant, kClientId, "api://orders", "Orders.User"),
               ErrorKind::InvalidArgument, "cannot be assigned to applications");
  EXPECT_TRUE(dir_->view()->assignments().empty());
}

TEST_F(DirectoryTest, RolesForExcludesDisabledAndNonApplicationRoles) {
  make_basic();
  must(dir_->add_role(kTenant, kApiId, "Orders.Audit"));
  for (auto value : {"Orders.Read", "Orders.Write", "Orders.Audit"}) {
    must(dir_->assign_role(kTenant, kClientId, "api://orders", value));
  }
  AppRole write = app(kApiId).roles[1];
  write.enabled = false;
  expect_ok(dir_->update_role(kTenant, kApiId, write));
  AppRole audit = app(kApiId).roles[2];
  audit.allow_applications = false;
  expect_ok(dir_->update_role(kTenant, kApiId, audit));
  auto view = dir_->view();
  EXPECT_EQ(view->assignments().size(), 3u);  // still stored
  EXPECT_EQ(view->roles_for(app(kClientId), app(kApiId)),
            (std::vector<std::string>{"Orders.Read"}));

  AppRole read = app(kApiId).roles[0];
  read.enabled = false;
  expect_ok(dir_->update_role(kTenant, kApiId, read));
  EXPECT_TRUE(dir_->view()->roles_for(app(kClientId), app(kApiId)).empty());
  EXPECT_FALSE(dir_->view()->has_assignment(app(kClientId), app(kApiId)));
}

TEST_F(DirectoryTest, UnassignRole) {
  make_basic();
  auto a = must(dir_->assign_role(kTenant, kClientId, "api://orders", "Orders.Read"));
  must(dir_->create_tenant("Other", std::string(kOther)));
  expect_error(dir_->unassign_role(kOther, a.id), ErrorKind::NotFound, "not found in tenant");
  expect_ok(dir_->unassign_role(kTenant, a.id));
  EXPECT_TRUE(dir_->view()->assignments().empty());
  expect_error(dir_->unassign_role(kTenant, a.id), ErrorKind::NotFound, "not found");
}

// ---- snapshots, persistence and reload -------------------------------------------------------

TEST_F(DirectoryTest, OldViewsStayValidAfterChanges) {
  make_basic();
  auto old_view = dir_->view();
  const Application* old_api = old_view->application(kTenant, kApiId);
  expect_ok(dir_->delete_application(kTenant, kApiId));
  EXPECT_EQ(dir_->view()->application(kTenant, kApiId), nullptr);
  ASSERT_NE(old_view->application(kTenant, kApiId), nullptr);
  EXPECT_EQ(old_api->display_name, "orders-api");
}

TEST_F(DirectoryTest, ReadersSeeWholeSnapshotsWhileWritersChangeThings) {
  make_basic();
  std::atomic<bool> done{false};
  std::atomic<int> inconsistent{0};
  auto reader = [&] {
    while (!done.load()) {
      auto view = dir_->view();
      const Application* api = view->resource("contoso.example", "api://orders");
      const Application* worker = view->application(kTenant, kClientId);
      if (!api || !worker) {
        ++inconsistent;
        continue;
      }
      // Within one snapshot, the granted roles always match the stored assignments.
      const size_t granted = view->role_values(*worker, *api).size();
      if (granted != view->assignments().size()) ++inconsistent;
    }
  };
  std::thread a(reader), b(reader);
  for (int i = 0; i < 25; ++i) {
    auto assigned = dir_->assign_role(kTenant, kClientId, "api://orders", "Orders.Read");
    ASSERT_TRUE(assigned);
    expect_ok(dir_->unassign_role(kTenant, assigned->id));
  }
  done = true;
  a.join();
  b.join();
  EXPECT_EQ(inconsistent.load(), 0);
}

class TempDb {
 public:
  TempDb() {
    std::string tmpl = (fs::temp_directory_path() / "gh-dir-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  ~TempDb() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path() const { return dir_ + "/gatehouse.db"; }

 private:
  std::string dir_;
};

TEST_F(DirectoryTest, PersistsAcrossReopen) {
  TempDb file;
  std::string secret_hash;
  {
    auto db = std::shared_ptr<store::Database>(must(store::Database::open(file.path())));
    auto dir = must(Directory::open(db, clock_));
    must(dir->create_tenant("Contoso", std::string(kTenant), {"contoso.example"}));
    NewApplication spec;
    spec.tenant_id = kTenant;
    spec.display_name = "orders-api";
    spec.client_id = kApiId;
    spec.identifier_uris = {"api://orders"};
    must(dir->create_application(spec));
    must(dir->add_role(kTenant, kApiId, "Orders.Read"));
    must(dir->add_certificate(kTenant, kApiId, pki_->leaf().cert_pem()));
    secret_hash = must(dir->add_secret(kTenant, kApiId, "s")).credential.hash;
    must(dir->add_federated(kTenant, kApiId, fic("gha", "repo:x")));
    must(dir->assign_role(kTenant, kApiId, kApiId, "Orders.Read"));
  }
  auto db = std::shared_ptr<store::Database>(must(store::Database::open(file.path())));
  auto dir = must(Directory::open(db, clock_));
  auto view = dir->view();
  const Application* a = view->resource("contoso.example", "api://orders");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->roles.size(), 1u);
  ASSERT_EQ(a->certificates.size(), 1u);
  EXPECT_EQ(a->certificates[0].certificate_der, pki_->leaf().der());
  ASSERT_EQ(a->secrets.size(), 1u);
  EXPECT_EQ(a->secrets[0].hash, secret_hash);
  EXPECT_EQ(a->federated.size(), 1u);
  EXPECT_EQ(view->roles_for(*a, *a), (std::vector<std::string>{"Orders.Read"}));
}

TEST_F(DirectoryTest, ReloadPicksUpAnotherConnectionsCommits) {
  TempDb file;
  auto db_a = std::shared_ptr<store::Database>(must(store::Database::open(file.path())));
  auto db_b = std::shared_ptr<store::Database>(must(store::Database::open(file.path())));
  auto writer = must(Directory::open(db_a, clock_));
  auto reader = must(Directory::open(db_b, clock_));

  auto initial = reader->view();
  expect_ok(reader->reload_if_changed());
  EXPECT_EQ(reader->view(), initial);  // nothing changed: same snapshot

  must(writer->create_tenant("Contoso", std::string(kTenant), {"contoso.example"}));
  EXPECT_EQ(reader->view()->tenant(kTenant), nullptr);
  expect_ok(reader->reload_if_changed());
  ASSERT_NE(reader->view()->tenant("contoso.example"), nullptr);

  // The reader's own write starts from the latest committed state, not its stale view.
  must(writer->create_tenant("Other", std::string(kOther)));
  NewApplication spec;
  spec.tenant_id = kOther;
  spec.display_name = "made-by-reader";
  must(reader->create_application(spec));
  EXPECT_EQ(reader->view()->tenants().size(), 2u);
  expect_ok(writer->reload_if_changed());
  EXPECT_EQ(writer->view()->applications().size(), 1u);
  auto settled = writer->view();
  expect_ok(writer->reload_if_changed());
  EXPECT_EQ(writer->view(), settled);
}

}  // namespace
}  // namespace gh::identity
