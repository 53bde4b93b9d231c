// Key Vault RBAC over the directory (vault/access.h): the built-in roles, the Key Vault resource
// application, and bearer tokens minted by the identity role's own minter on an in-memory
// directory and key ring.

#include "vault/access.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <string>
#include <vector>

#include "identity/directory.h"
#include "identity/key_ring.h"
#include "identity/token_minter.h"
#include "jose/jws.h"
#include "store/database.h"
#include "support/test_pki.h"

namespace gh::vault {
namespace {

constexpr std::string_view kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr std::string_view kOtherTenant = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
constexpr std::string_view kReader = "11111111-2222-3333-4444-555555555555";
constexpr std::string_view kStranger = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
constexpr std::string_view kOrigin = "https://localhost:8443";
constexpr int64_t kNow = 1'800'000'000;

identity::MasterKey master_key(uint8_t fill) {
  std::array<uint8_t, 32> bytes;
  bytes.fill(fill);
  bytes[0] = 0x01;
  return identity::MasterKey::from_bytes(bytes);
}

config::IdentitySigning signing() {
  config::IdentitySigning p;
  p.algorithm = "ES256";
  p.rotate_every = std::chrono::seconds(90 * 86400);
  p.publish_ahead = std::chrono::seconds(2 * 86400);
  p.retire_after = std::chrono::seconds(2 * 86400);
  return p;
}

template <class T>
T must(Result<T> r) {
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) std::abort();
  return std::move(*r);
}

TEST(VaultRoles, AreAzuresBuiltInDefinitions) {
  const auto& roles = vault_roles();
  ASSERT_EQ(roles.size(), 4u);
  EXPECT_EQ(roles[0].display_name, "Key Vault Secrets User");
  EXPECT_EQ(roles[0].value, "KeyVault.Secrets.User");
  EXPECT_EQ(roles[0].id, "4633458b-17de-408a-b874-0445c86b69e6");
  EXPECT_EQ(roles[1].id, "b86a8fe4-44ce-4948-aee5-eccb2c155cd7");
  EXPECT_EQ(roles[2].id, "a4417e6f-fecd-4de8-b567-7b0420556985");
  EXPECT_EQ(roles[3].id, "00482a5a-887f-4fb3-b363-3b7fe8e74483");

  auto caller = [](uint8_t permissions) {
    VaultCaller c;
    c.permissions = permissions;
    return c;
  };
  VaultCaller user = caller(roles[0].permissions);
  EXPECT_TRUE(user.allows(Permission::SecretsRead));
  EXPECT_FALSE(user.allows(Permission::SecretsWrite));
  EXPECT_FALSE(user.allows(Permission::CertificatesRead));
  VaultCaller officer = caller(roles[1].permissions);
  EXPECT_TRUE(officer.allows(Permission::SecretsWrite));
  EXPECT_FALSE(officer.allows(Permission::CertificatesWrite));
  VaultCaller certs = caller(roles[2].permissions);
  EXPECT_TRUE(certs.allows(Permission::CertificatesRead));
  EXPECT_TRUE(certs.allows(Permission::CertificatesWrite));
  EXPECT_FALSE(certs.allows(Permission::SecretsRead));
  VaultCaller admin = caller(roles[3].permissions);
  for (auto p : {Permission::SecretsRead, Permission::SecretsWrite, Permission::CertificatesRead,
                 Permission::CertificatesWrite})
    EXPECT_TRUE(admin.allows(p));
}

TEST(VaultRoles, FoundByDisplayNameOrValueInAnyCase) {
  ASSERT_NE(find_vault_role("key vault secrets officer"), nullptr);
  EXPECT_EQ(find_vault_role("key vault secrets officer")->value, "KeyVault.Secrets.Officer");
  ASSERT_NE(find_vault_role("KEYVAULT.ADMINISTRATOR"), nullptr);
  EXPECT_EQ(find_vault_role("KEYVAULT.ADMINISTRATOR")->display_name, "Key Vault Administrator");
  EXPECT_EQ(find_vault_role("Key Vault Reader"), nullptr);
  EXPECT_EQ(find_vault_role(""), nullptr);
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = must(store::Database::open(":memory:"));
    db_ = std::shared_ptr<store::Database>(std::move(db));
    directory_ = must(identity::Directory::open(db_, clock_));
    ring_ = must(identity::KeyRing::open(db_, master_key(0x42), signing(), clock_));
    must(directory_->create_tenant("Contoso", std::string(kTenant)));
    must(directory_->create_tenant("Fabrikam", std::string(kOtherTenant)));
    identity::NewApplication reader;
    reader.tenant_id = std::string(kTenant);
    reader.display_name = "orders-worker";
    reader.client_id = std::string(kReader);
    must(directory_->create_application(reader));
    identity::NewApplication stranger;
    stranger.tenant_id = std::string(kOtherTenant);
    stranger.display_name = "elsewhere";
    stranger.client_id = std::string(kStranger);
    must(directory_->create_application(stranger));
    EXPECT_EQ(must(ensure_vault_application(*directory_, kTenant, kKeyVaultResource)),
              kKeyVaultAppId);
    options_.tenant_id = std::string(kTenant);
  }

  void grant(std::string_view client, std::string_view role_value) {
    must(directory_->assign_role(kTenant, client, kKeyVaultAppId, role_value));
  }

  /// A token as the identity role mints it for `client` and the Key Vault app (v1 unless the
  /// resource is switched to v2).
  std::string mint(std::string_view tenant, std::string_view client, int token_version = 1,
                   std::string_view requested = "https://vault.azure.net") {
    auto view = directory_->view();
    const identity::Tenant* t = view->tenant(tenant);
    const identity::Application* c = view->application(tenant, client);
    const identity::Application* vault = view->application(kTenant, kKeyVaultAppId);
    EXPECT_TRUE(t && c && vault);
    identity::Application resource = *vault;
    resource.access_token_version = token_version;
    identity::MintRequest req;
    req.tenant = t;
    req.client = c;
    req.resource = &resource;
    req.requested_resource = requested;
    req.method = identity::AuthMethod::Certificate;
    req.origin = kOrigin;
    req.now = clock_.now_unix();
    identity::TokenMinter minter(*ring_);
    return must(minter.mint(req)).access_token;
  }

  /// A token with hand-written claims, signed by the ring's current key.
  std::string sign(const boost::json::object& claims) {
    const std::string payload = boost::json::serialize(claims);
    const auto keys = ring_->current();
    return must(
        jose::sign_compact(core::as_bytes(payload), *keys->signer(), keys->signer_info()->alg));
  }

  boost::json::object claims_for(std::string_view client) {
    auto view = directory_->view();
    boost::json::object c;
    c["aud"] = "https://vault.azure.net";
    c["iss"] = std::string(kOrigin) + "/" + std::string(kTenant) + "/";
    c["iat"] = kNow - 300;
    c["nbf"] = kNow - 300;
    c["exp"] = kNow + 3600;
    c["appid"] = client;
    c["oid"] = view->application(kTenant, client)->service_principal_id;
    c["tid"] = kTenant;
    return c;
  }

  Result<VaultCaller> authenticate(const std::string& authorization) {
    std::vector<http::HeaderField> headers;
    if (!authorization.empty()) headers.push_back({"Authorization", authorization});
    http::LocalRequest req;
    req.method = "GET";
    req.path = "/secrets";
    req.headers = headers;
    return authenticate_caller(req, *ring_->current(), *directory_->view(), options_,
                               clock_.now_unix());
  }

  test::FixedClock clock_{kNow};
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<identity::Directory> directory_;
  std::unique_ptr<identity::KeyRing> ring_;
  VaultAuthOptions options_;
};

TEST_F(AccessTest, EnsureCreatesTheKeyVaultApplicationWithAzuresRoles) {
  auto view = directory_->view();
  const identity::Application* app = view->application(kTenant, kKeyVaultAppId);
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->display_name, "Azure Key Vault");
  EXPECT_EQ(app->identifier_uris, std::vector<std::string>{"https://vault.azure.net"});
  EXPECT_EQ(app->access_token_version, 1);
  ASSERT_EQ(app->roles.size(), 4u);
  for (const auto& want : vault_roles()) {
    bool found = false;
    for (const auto& r : app->roles) {
      if (r.id != want.id) continue;
      found = true;
      EXPECT_EQ(r.value, want.value);
      EXPECT_EQ(r.display_name, want.display_name);
      EXPECT_TRUE(r.enabled);
      EXPECT_TRUE(r.allow_applications);
    }
    EXPECT_TRUE(found) << want.display_name;
  }
  EXPECT_EQ(view->resource(kTenant, "https://vault.azure.net"), app);
}

TEST_F(AccessTest, EnsureIsIdempotent) {
  const std::string object_id = directory_->view()->application(kTenant, kKeyVaultAppId)->object_id;
  auto before = directory_->view();
  EXPECT_EQ(must(ensure_vault_application(*directory_, kTenant, kKeyVaultResource)),
            kKeyVaultAppId);
  auto after = directory_->view();
  EXPECT_EQ(before, after) << "nothing changed, so no new directory view";
  EXPECT_EQ(after->application(kTenant, kKeyVaultAppId)->object_id, object_id);
}

TEST_F(AccessTest, EnsureCompletesAnAlteredApplication) {
  // An operator disabled a role and the configuration moved the resource.
  identity::AppRole user = directory_->view()->application(kTenant, kKeyVaultAppId)->roles[0];
  user.enabled = false;
  ASSERT_TRUE(directory_->update_role(kTenant, kKeyVaultAppId, user));
  ASSERT_TRUE(directory_->remove_role(kTenant, kKeyVaultAppId, user.id));
  must(ensure_vault_application(*directory_, kTenant, "https://vault.contoso.test"));
  auto view = directory_->view();
  const identity::Application* app = view->application(kTenant, kKeyVaultAppId);
  EXPECT_EQ(app->roles.size(), 4u);
  EXPECT_EQ(app->identifier_uris.size(), 2u);
  EXPECT_EQ(view->resource(kTenant, "https://vault.contoso.test"), app);
}

TEST_F(AccessTest, EnsureNamesAMissingTenant) {
  auto r = ensure_vault_application(*directory_, "00000000-0000-0000-0000-000000000001",
                                    kKeyVaultResource);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::NotFound);
}

TEST_F(AccessTest, MissingOrNonBearerCredentialsAreUnauthenticated) {
  for (const std::string& h : {std::string(), std::string("Basic dXNlcjpwYXNz"),
                               std::string("Bearer"), std::string("Bearer   ")}) {
    auto r = authenticate(h);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error().kind, ErrorKind::Unauthenticated) << h;
  }
}

TEST_F(AccessTest, V1TokenGivesTheGrantedPermissions) {
  grant(kReader, "KeyVault.Secrets.User");
  auto r = authenticate("Bearer " + mint(kTenant, kReader));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->tenant_id, kTenant);
  EXPECT_EQ(r->client_id, kReader);
  EXPECT_EQ(r->object_id, directory_->view()->application(kTenant, kReader)->service_principal_id);
  EXPECT_TRUE(r->allows(Permission::SecretsRead));
  EXPECT_FALSE(r->allows(Permission::SecretsWrite));
  EXPECT_FALSE(r->allows(Permission::CertificatesRead));
}

TEST_F(AccessTest, V2TokenWithTheAppIdAudience) {
  grant(kReader, "KeyVault.Secrets.Officer");
  grant(kReader, "KeyVault.Certificates.Officer");
  auto r = authenticate("bearer " + mint(kTenant, kReader, 2));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->client_id, kReader);  // from azp
  EXPECT_TRUE(r->allows(Permission::SecretsWrite));
  EXPECT_TRUE(r->allows(Permission::CertificatesWrite));
}

TEST_F(AccessTest, AudienceWithTrailingSlashIsAccepted) {
  auto c = claims_for(kReader);
  c["aud"] = "https://vault.azure.net/";
  EXPECT_TRUE(authenticate("Bearer " + sign(c)));
}

TEST_F(AccessTest, NoGrantMeansNoPermissionButAnIdentity) {
  auto r = authenticate("Bearer " + mint(kTenant, kReader));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->permissions, 0);
}

TEST_F(AccessTest, GrantsAreReadLiveNotFromTheToken) {
  grant(kReader, "KeyVault.Administrator");
  const std::string token = mint(kTenant, kReader);
  ASSERT_EQ(must(authenticate("Bearer " + token)).permissions, vault_roles()[3].permissions);
  for (const auto& a : directory_->view()->assignments())
    ASSERT_TRUE(directory_->unassign_role(kTenant, a.id));
  EXPECT_EQ(must(authenticate("Bearer " + token)).permissions, 0);
}

TEST_F(AccessTest, WrongAudienceIsUnauthenticated) {
  auto c = claims_for(kReader);
  c["aud"] = "api://orders";
  auto r = authenticate("Bearer " + sign(c));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Unauthenticated);
}

TEST_F(AccessTest, ExpiryHonoursTheSkew) {
  grant(kReader, "KeyVault.Secrets.User");
  const std::string token = mint(kTenant, kReader);  // exp = now + 3600
  clock_.advance(3600 + 200);
  EXPECT_TRUE(authenticate("Bearer " + token));
  clock_.advance(200);
  auto r = authenticate("Bearer " + token);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Unauthenticated);
  EXPECT_EQ(r.error().message.find(token), std::string::npos);
}

TEST_F(AccessTest, NotYetValidIsUnauthenticated) {
  auto c = claims_for(kReader);
  c["nbf"] = kNow + 3000;
  auto r = authenticate("Bearer " + sign(c));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Unauthenticated);
}

TEST_F(AccessTest, ForeignSignatureIsUnauthenticated) {
  auto other = must(store::Database::open(":memory:"));
  auto other_ring = must(identity::KeyRing::open(std::shared_ptr<store::Database>(std::move(other)),
                                                 master_key(0x17), signing(), clock_));
  const auto keys = other_ring->current();
  const std::string payload = boost::json::serialize(claims_for(kReader));
  const std::string token =
      must(jose::sign_compact(core::as_bytes(payload), *keys->signer(), keys->signer_info()->alg));
  auto r = authenticate("Bearer " + token);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Unauthenticated);
}

TEST_F(AccessTest, IssuerMustNameTheTokensTenant) {
  auto c = claims_for(kReader);
  c["iss"] = "https://localhost:8443/common/oauth2";
  EXPECT_EQ(authenticate("Bearer " + sign(c)).error().kind, ErrorKind::Unauthenticated);
  c["iss"] = std::string(kOrigin) + "/" + std::string(kOtherTenant) + "/";
  EXPECT_EQ(authenticate("Bearer " + sign(c)).error().kind, ErrorKind::Unauthenticated)
      << "tid and iss disagree";
  c["iss"] = std::string(kOrigin) + "/" + std::string(kTenant) + "/v2.0";
  EXPECT_TRUE(authenticate("Bearer " + sign(c)));
}

TEST_F(AccessTest, AnotherTenantsTokenIsDenied) {
  auto r = authenticate("Bearer " + mint(kOtherTenant, kStranger));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::PermissionDenied);
}

TEST_F(AccessTest, DisabledOrUnknownClientIsDenied) {
  grant(kReader, "KeyVault.Secrets.User");
  const std::string token = mint(kTenant, kReader);
  identity::Application app = *directory_->view()->application(kTenant, kReader);
  app.enabled = false;
  ASSERT_TRUE(directory_->update_application(app));
  auto r = authenticate("Bearer " + token);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::PermissionDenied);

  ASSERT_TRUE(directory_->delete_application(kTenant, kReader));
  r = authenticate("Bearer " + token);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::PermissionDenied);
}

TEST_F(AccessTest, TokenWithoutClientIsUnauthenticated) {
  auto c = claims_for(kReader);
  c.erase("appid");
  EXPECT_EQ(authenticate("Bearer " + sign(c)).error().kind, ErrorKind::Unauthenticated);
}

}  // namespace
}  // namespace gh::vault
