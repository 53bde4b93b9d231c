// The `identity:` section of the configuration file (config/identity_config.h), parsed by
// proxy_config_parser.cc, and the files it references (check_referenced_files).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/proxy_config_loader.h"

namespace gh::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "in: " << (haystack)

// Lines 1-7; the identity section starts on line 8.
constexpr const char* kBase = R"(listeners:
  - name: public
    address: 127.0.0.1:8443
  - name: imds
    address: 127.0.0.1:8080
apis:
  - {name: all, backend_url: "http://127.0.0.1:9000"}
)";

std::string with_identity(std::string_view identity) {
  return std::string(kBase) + "identity:\n" + std::string(identity);
}

Result<ProxyConfig> parse(std::string_view text,
                          std::map<std::string, std::string, std::less<>> vars = {}) {
  return parse_proxy_config(text, "gatehouse.yaml", "/etc/gh", fixed_environment(std::move(vars)));
}

std::string error_of(std::string_view text,
                     std::map<std::string, std::string, std::less<>> vars = {}) {
  auto r = parse(text, std::move(vars));
  EXPECT_FALSE(r) << "expected an error for:\n" << text;
  return r ? std::string() : r.error().message;
}

constexpr const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr const char* kOrders = "11111111-2222-3333-4444-555555555555";
constexpr const char* kWorker = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

TEST(IdentityConfigParser, AbsentSectionMeansNoIdentityRole) {
  auto c = parse(kBase);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->identity);
}

TEST(IdentityConfigParser, EmptySectionGetsDefaultsResolvedAgainstTheConfigDirectory) {
  auto c = parse(std::string(kBase) + "identity: {}\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->identity);
  const IdentityConfig& id = *c->identity;
  EXPECT_EQ(id.line, 8);
  EXPECT_EQ(id.data_dir, "/etc/gh/gatehouse-data");
  EXPECT_EQ(id.admin_token_file, "/etc/gh/gatehouse-data/admin.token");
  EXPECT_EQ(id.master_key_file, "");
  EXPECT_EQ(id.master_key_env, "GATEHOUSE_MASTER_KEY");
  EXPECT_EQ(id.audit_log, "stderr");
  EXPECT_EQ(id.public_url, "");
  EXPECT_TRUE(id.listeners.empty());
  EXPECT_EQ(id.tokens.lifetime, hours(1));
  EXPECT_EQ(id.tokens.managed_identity_lifetime, hours(24));
  EXPECT_EQ(id.signing.algorithm, "RS256");
  EXPECT_EQ(id.signing.rotate_every, hours(24 * 90));
  EXPECT_TRUE(id.tenants.empty());
}

TEST(IdentityConfigParser, FullExample) {
  auto c = parse(with_identity(R"(  data_dir: /var/lib/gatehouse
  public_url: https://login.example.com:8443/
  listeners: [public]
  master_key_file: keys/master.key
  master_key_env: MY_MASTER
  admin_token_file: admin.token
  audit_log: logs/audit.log
  tokens:
    lifetime: 30m
    managed_identity_lifetime: 12h
    clock_skew: 2m
    max_assertion_lifetime: 10m
    max_federated_lifetime: 2d
  signing:
    algorithm: ES256
    rotate_every: 30d
    publish_ahead: 3d
    retire_after: 36h
  managed_identities:
    - name: orders-worker
      tenant: 72F988BF-86F1-41AF-91AB-2D7CD011DB47
      client_id: aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee
      resource_id: /subscriptions/x/orders-worker
      source_cidrs: [10.0.0.7, "fd00::/64"]
      local_uids: [1001, 0]
      identity_header_env: ORDERS_IDENTITY_HEADER
  managed_identity_listeners: [imds]
  tenants:
    - id: 72f988bf-86f1-41af-91ab-2d7cd011db47
      name: Contoso
      aliases: [Contoso.Example]
      applications:
        - client_id: 11111111-2222-3333-4444-555555555555
          name: orders-api
          identifier_uris: [api://orders]
          access_token_version: 2
          assignment_required: true
          roles:
            - {value: Orders.Read, id: 99999999-8888-7777-6666-555555555555}
            - {value: Orders.Write, display_name: Write orders}
        - client_id: aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee
          name: orders-worker
          strict_assertion_replay: true
          certificates: [{file: certs/partner.pem, name: partner-2026}]
          secrets: [{name: ci, value_env: ORDERS_CI_SECRET}]
          federated:
            - name: gha
              issuer: https://token.actions.githubusercontent.com
              subject: repo:x/y:ref:refs/heads/main
              description: deploys
          assignments:
            - {resource: api://orders, role: Orders.Read}
            - {resource: "11111111-2222-3333-4444-555555555555", role: Orders.Write}
)"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->identity);
  const IdentityConfig& id = *c->identity;
  EXPECT_EQ(id.data_dir, "/var/lib/gatehouse");
  EXPECT_EQ(id.public_url, "https://login.example.com:8443");
  EXPECT_EQ(id.listeners, std::vector<std::string>{"public"});
  EXPECT_EQ(id.master_key_file, "/etc/gh/keys/master.key");
  EXPECT_EQ(id.master_key_env, "MY_MASTER");
  EXPECT_EQ(id.admin_token_file, "/etc/gh/admin.token");
  EXPECT_EQ(id.audit_log, "/etc/gh/logs/audit.log");
  EXPECT_EQ(id.tokens.lifetime, minutes(30));
  EXPECT_EQ(id.tokens.managed_identity_lifetime, hours(12));
  EXPECT_EQ(id.tokens.clock_skew, minutes(2));
  EXPECT_EQ(id.tokens.max_assertion_lifetime, minutes(10));
  EXPECT_EQ(id.tokens.max_federated_lifetime, hours(48));
  EXPECT_EQ(id.signing.algorithm, "ES256");
  EXPECT_EQ(id.signing.rotate_every, hours(24 * 30));
  EXPECT_EQ(id.signing.publish_ahead, hours(72));
  EXPECT_EQ(id.signing.retire_after, hours(36));
  ASSERT_EQ(id.managed_identities.size(), 1u);
  const ManagedIdentityConfig& mi = id.managed_identities[0];
  EXPECT_EQ(mi.name, "orders-worker");
  EXPECT_EQ(mi.tenant, kTenant);  // lower-cased
  EXPECT_EQ(mi.client_id, kWorker);
  EXPECT_EQ(mi.resource_id, "/subscriptions/x/orders-worker");
  EXPECT_EQ(mi.source_cidrs, (std::vector<std::string>{"10.0.0.7/32", "fd00::/64"}));
  EXPECT_EQ(mi.local_uids, (std::vector<uint32_t>{1001, 0}));
  EXPECT_EQ(mi.identity_header_env, "ORDERS_IDENTITY_HEADER");
  EXPECT_EQ(mi.line, 28);
  EXPECT_EQ(id.managed_identity_listeners, std::vector<std::string>{"imds"});
  ASSERT_EQ(id.tenants.size(), 1u);
  const DeclaredTenant& t = id.tenants[0];
  EXPECT_EQ(t.id, kTenant);
  EXPECT_EQ(t.name, "Contoso");
  EXPECT_EQ(t.aliases, std::vector<std::string>{"contoso.example"});
  EXPECT_EQ(t.line, 37);
  ASSERT_EQ(t.applications.size(), 2u);
  const DeclaredApplication& api = t.applications[0];
  EXPECT_EQ(api.client_id, kOrders);
  EXPECT_EQ(api.name, "orders-api");
  EXPECT_EQ(api.identifier_uris, std::vector<std::string>{"api://orders"});
  EXPECT_EQ(api.access_token_version, 2);
  EXPECT_TRUE(api.assignment_required);
  EXPECT_FALSE(api.strict_assertion_replay);
  EXPECT_EQ(api.line, 41);
  ASSERT_EQ(api.roles.size(), 2u);
  EXPECT_EQ(api.roles[0].value, "Orders.Read");
  EXPECT_EQ(api.roles[0].id, "99999999-8888-7777-6666-555555555555");
  EXPECT_EQ(api.roles[1].display_name, "Write orders");
  EXPECT_EQ(api.roles[1].id, "");
  const DeclaredApplication& worker = t.applications[1];
  EXPECT_EQ(worker.access_token_version, 1);
  EXPECT_TRUE(worker.strict_assertion_replay);
  ASSERT_EQ(worker.certificates.size(), 1u);
  EXPECT_EQ(worker.certificates[0].file, "/etc/gh/certs/partner.pem");
  EXPECT_EQ(worker.certificates[0].name, "partner-2026");
  EXPECT_EQ(worker.certificates[0].line, 52);
  ASSERT_EQ(worker.secrets.size(), 1u);
  EXPECT_EQ(worker.secrets[0].name, "ci");
  EXPECT_EQ(worker.secrets[0].value_env, "ORDERS_CI_SECRET");
  ASSERT_EQ(worker.federated.size(), 1u);
  EXPECT_EQ(worker.federated[0].name, "gha");
  EXPECT_EQ(worker.federated[0].issuer, "https://token.actions.githubusercontent.com");
  EXPECT_EQ(worker.federated[0].subject, "repo:x/y:ref:refs/heads/main");
  EXPECT_EQ(worker.federated[0].audience, "api://AzureADTokenExchange");
  EXPECT_EQ(worker.federated[0].description, "deploys");
  ASSERT_EQ(worker.assignments.size(), 2u);
  EXPECT_EQ(worker.assignments[0].resource, "api://orders");
  EXPECT_EQ(worker.assignments[0].role, "Orders.Read");
  EXPECT_EQ(worker.assignments[1].line, 61);
}

TEST(IdentityConfigParser, UnknownKeysAreRejectedWithSuggestions) {
  EXPECT_CONTAINS(error_of(with_identity("  data_dri: x\n")),
                  "gatehouse.yaml:9: unknown key 'data_dri' in identity (did you mean "
                  "'data_dir'?)");
  EXPECT_CONTAINS(error_of(with_identity("  tokens:\n    lifetme: 1h\n")),
                  "gatehouse.yaml:10: unknown key 'lifetme' in identity.tokens (did you mean "
                  "'lifetime'?)");
  EXPECT_CONTAINS(error_of(with_identity(std::string("  tenants:\n    - id: ") + kTenant +
                                         "\n      applications:\n        - client_id: " + kOrders +
                                         "\n          secret: [x]\n")),
                  "gatehouse.yaml:13: unknown key 'secret' in "
                  "identity.tenants[0].applications[0] (did you mean 'secrets'?)");
  EXPECT_CONTAINS(error_of(std::string(kBase) + "identity: [a]\n"),
                  "gatehouse.yaml:8: identity: expected a map, found a list");
}

TEST(IdentityConfigParser, DurationsUseDaysAndRanges) {
  EXPECT_CONTAINS(error_of(with_identity("  tokens:\n    lifetime: 1m\n")),
                  "gatehouse.yaml:10: identity.tokens.lifetime '1m': must be at least 5m");
  EXPECT_CONTAINS(error_of(with_identity("  tokens:\n    lifetime: 2d\n")),
                  "gatehouse.yaml:10: identity.tokens.lifetime '2d': duration must be at most 24h");
  EXPECT_CONTAINS(error_of(with_identity("  tokens:\n    clock_skew: 1500ms\n")),
                  "gatehouse.yaml:10: identity.tokens.clock_skew '1500ms': must be a whole "
                  "number of seconds");
  EXPECT_CONTAINS(error_of(with_identity("  signing:\n    rotate_every: 90 days\n")),
                  "gatehouse.yaml:10: identity.signing.rotate_every '90 days': expected a "
                  "duration");
  EXPECT_CONTAINS(error_of(with_identity("  signing:\n    publish_ahead: 12h\n")),
                  "gatehouse.yaml:10: identity.signing.publish_ahead '12h': must be at least 24h");
  EXPECT_CONTAINS(error_of(with_identity("  signing:\n    rotate_every: 2d\n")),
                  "gatehouse.yaml:10: identity.signing.rotate_every: must be longer than "
                  "publish_ahead (2d)");
  EXPECT_CONTAINS(error_of(with_identity("  signing:\n    retire_after: 12h\n")),
                  "gatehouse.yaml:10: identity.signing.retire_after: must be at least the "
                  "longest token lifetime (24h)");
  EXPECT_CONTAINS(error_of(with_identity("  signing:\n    algorithm: HS256\n")),
                  "gatehouse.yaml:10: identity.signing.algorithm 'HS256': expected RS256");
  auto c = parse(with_identity("  signing:\n    rotate_every: 3650d\n"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->identity->signing.rotate_every, hours(24 * 3650));
}

TEST(IdentityConfigParser, GuidsAreValidated) {
  EXPECT_CONTAINS(error_of(with_identity("  tenants:\n    - id: contoso\n")),
                  "gatehouse.yaml:10: identity.tenants[0].id 'contoso': expected a GUID");
  EXPECT_CONTAINS(error_of(with_identity("  tenants:\n    - name: Contoso\n")),
                  "gatehouse.yaml:10: identity.tenants[0]: missing required key 'id'");
  EXPECT_CONTAINS(error_of(with_identity(std::string("  tenants:\n    - id: ") + kTenant +
                                         "\n      applications:\n        - client_id: "
                                         "\"{11111111-2222-3333-4444-555555555555}\"\n")),
                  "gatehouse.yaml:12: identity.tenants[0].applications[0].client_id "
                  "'{11111111-2222-3333-4444-555555555555}': expected a GUID");
  EXPECT_CONTAINS(error_of(with_identity(std::string("  tenants:\n    - id: ") + kTenant +
                                         "\n      applications:\n        - name: x\n")),
                  "gatehouse.yaml:12: identity.tenants[0].applications[0]: missing required key "
                  "'client_id'");
  EXPECT_CONTAINS(
      error_of(with_identity(std::string("  tenants:\n    - id: ") + kTenant +
                             "\n      applications:\n        - client_id: " + kOrders +
                             "\n          roles: [{value: A, id: 1234}]\n")),
      "gatehouse.yaml:13: identity.tenants[0].applications[0].roles[0].id '1234': expected a "
      "GUID");
  // A value from the environment is not echoed.
  const std::string e = error_of(with_identity("  tenants:\n    - id: ${TENANT}\n"),
                                 {{"TENANT", "not-a-guid-secret"}});
  EXPECT_CONTAINS(e, "gatehouse.yaml:10: identity.tenants[0].id: expected a GUID");
  EXPECT_EQ(e.find("not-a-guid-secret"), std::string::npos);
}

TEST(IdentityConfigParser, ListenersMustExist) {
  EXPECT_CONTAINS(error_of(with_identity("  listeners: [publik]\n")),
                  "gatehouse.yaml:9: identity.listeners[0] 'publik': no listener with this name "
                  "in listeners (did you mean 'public'?)");
  EXPECT_CONTAINS(error_of(with_identity("  managed_identity_listeners: [imds, imds]\n")),
                  "gatehouse.yaml:9: identity.managed_identity_listeners[1] 'imds': listed twice");
}

TEST(IdentityConfigParser, PublicUrlIsAnOrigin) {
  EXPECT_CONTAINS(error_of(with_identity("  public_url: https://h/tenant\n")),
                  "gatehouse.yaml:9: identity.public_url 'https://h/tenant': must be "
                  "scheme://host[:port] without a path");
  EXPECT_CONTAINS(error_of(with_identity("  public_url: login.example.com\n")),
                  "gatehouse.yaml:9: identity.public_url 'login.example.com': expected an "
                  "absolute URL");
}

TEST(IdentityConfigParser, ManagedIdentityErrors) {
  EXPECT_CONTAINS(
      error_of(with_identity(std::string("  managed_identities:\n    - name: w\n      tenant: ") +
                             kTenant + "\n      client_id: " + kWorker + "\n")),
      "gatehouse.yaml:10: identity.managed_identities[0]: give source_cidrs, local_uids or "
      "identity_header_env");
  EXPECT_CONTAINS(
      error_of(with_identity(std::string("  managed_identities:\n    - name: w\n      tenant: ") +
                             kTenant + "\n      client_id: " + kWorker +
                             "\n      source_cidrs: [10.0.0.1/24]\n")),
      "gatehouse.yaml:13: identity.managed_identities[0].source_cidrs[0] '10.0.0.1/24': the "
      "address has bits set beyond the prefix length");
  EXPECT_CONTAINS(
      error_of(with_identity(std::string("  managed_identities:\n    - name: w\n      tenant: ") +
                             kTenant + "\n      client_id: " + kWorker +
                             "\n      local_uids: [-1]\n      identity_header_env: 1BAD\n")),
      "gatehouse.yaml:13: identity.managed_identities[0].local_uids[0] '-1': expected an "
      "integer");
  EXPECT_CONTAINS(
      error_of(with_identity(std::string("  managed_identities:\n    - name: w\n      tenant: ") +
                             kTenant + "\n      client_id: " + kWorker +
                             "\n      identity_header_env: 1BAD\n")),
      "gatehouse.yaml:13: identity.managed_identities[0].identity_header_env '1BAD': expected an "
      "environment variable name");
  const std::string mi = std::string("    - {name: w, tenant: ") + kTenant +
                         ", client_id: " + kWorker + ", local_uids: [1]}\n";
  EXPECT_CONTAINS(error_of(with_identity("  managed_identities:\n" + mi + mi)),
                  "gatehouse.yaml:11: identity.managed_identities[1].name: duplicate name (also "
                  "used by identity.managed_identities[0] on line 10)");
}

TEST(IdentityConfigParser, TenantAndApplicationConflicts) {
  const std::string tenant = std::string("    - id: ") + kTenant + "\n";
  EXPECT_CONTAINS(error_of(with_identity("  tenants:\n" + tenant + tenant)),
                  "gatehouse.yaml:11: identity.tenants[1].id: the same tenant as "
                  "identity.tenants[0] on line 10");
  EXPECT_CONTAINS(error_of(with_identity("  tenants:\n" + tenant + "      aliases: [common]\n")),
                  "gatehouse.yaml:11: identity.tenants[0].aliases[0] 'common': 'common', "
                  "'organizations' and 'consumers' are reserved");
  const std::string app = std::string("        - client_id: ") + kOrders +
                          "\n          identifier_uris: [api://orders]\n";
  EXPECT_CONTAINS(
      error_of(with_identity("  tenants:\n" + tenant + "      applications:\n" + app + app)),
      "gatehouse.yaml:14: identity.tenants[0].applications[1].client_id: also used "
      "by identity.tenants[0].applications[0] on line 12");
  EXPECT_CONTAINS(
      error_of(with_identity("  tenants:\n" + tenant + "      applications:\n" + app + app)),
      "identity.tenants[0].applications[1].identifier_uris: 'api://orders' is also "
      "used by identity.tenants[0].applications[0]");
  EXPECT_CONTAINS(error_of(with_identity("  tenants:\n" + tenant + "      applications:\n" +
                                         "        - client_id: " + kOrders +
                                         "\n          identifier_uris: [orders]\n")),
                  "gatehouse.yaml:13: identity.tenants[0].applications[0].identifier_uris[0] "
                  "'orders': an identifier URI needs a scheme");
  EXPECT_CONTAINS(error_of(with_identity("  tenants:\n" + tenant + "      applications:\n" +
                                         "        - client_id: " + kOrders +
                                         "\n          access_token_version: 3\n")),
                  "gatehouse.yaml:13: identity.tenants[0].applications[0].access_token_version "
                  "'3': expected an integer from 1 to 2");
}

TEST(IdentityConfigParser, CredentialAndRoleErrors) {
  const std::string head = std::string("  tenants:\n    - id: ") + kTenant +
                           "\n      applications:\n        - client_id: " + kOrders + "\n";
  // Line of the first key after `head` is 13.
  EXPECT_CONTAINS(error_of(with_identity(head + "          roles: [{value: Orders Read}]\n")),
                  "gatehouse.yaml:13: identity.tenants[0].applications[0].roles[0].value 'Orders "
                  "Read': must not contain spaces");
  EXPECT_CONTAINS(
      error_of(with_identity(head + "          roles: [{value: A}, {value: A}]\n")),
      "gatehouse.yaml:13: identity.tenants[0].applications[0].roles[1].value: role 'A' is "
      "declared twice");
  EXPECT_CONTAINS(error_of(with_identity(head + "          certificates: [{name: x}]\n")),
                  "gatehouse.yaml:13: identity.tenants[0].applications[0].certificates[0]: "
                  "missing required key 'file'");
  EXPECT_CONTAINS(error_of(with_identity(head + "          secrets: [{value: hunter2}]\n")),
                  "gatehouse.yaml:13: unknown key 'value' in "
                  "identity.tenants[0].applications[0].secrets[0]");
  EXPECT_CONTAINS(error_of(with_identity(head + "          federated: [{name: ab, issuer: "
                                                "https://i, subject: s}]\n")),
                  "gatehouse.yaml:13: identity.tenants[0].applications[0].federated[0].name "
                  "'ab': must be 3 to 120");
  EXPECT_CONTAINS(error_of(with_identity(head + "          federated: [{name: gha, issuer: "
                                                "token.actions, subject: s}]\n")),
                  "federated[0].issuer 'token.actions': expected an https:// issuer URL");
  EXPECT_CONTAINS(
      error_of(with_identity(head + "          identifier_uris: [api://orders]\n"
                                    "          roles: [{value: Orders.Read}]\n"
                                    "          assignments: [{resource: api://orders, role: "
                                    "Orders.Write}]\n")),
      "gatehouse.yaml:15: identity.tenants[0].applications[0].assignments: "
      "application '11111111-2222-3333-4444-555555555555' declares no role "
      "'Orders.Write'");
  // A resource that is not declared here may exist in the database: not checked.
  auto c = parse(
      with_identity(head + "          assignments: [{resource: api://elsewhere, role: R}]\n"));
  ASSERT_TRUE(c) << c.error().message;
}

// ----- referenced files -----

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "gh-identity-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& content) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  fs::path path_;
};

std::string files_config() {
  return with_identity(std::string("  master_key_file: master.key\n"
                                   "  audit_log: logs/audit.log\n"
                                   "  tenants:\n    - id: ") +
                       kTenant + "\n      applications:\n        - client_id: " + kOrders +
                       "\n          certificates: [{file: certs/partner.pem}]\n");
}

TEST(IdentityReferencedFiles, RelativeToTheConfigFile) {
  TempDir dir;
  dir.write("master.key", "k");
  dir.write("certs/partner.pem", "c");
  fs::create_directories(dir.path() / "logs");
  auto c = load_proxy_config(dir.write("g.yaml", files_config()).string(), fixed_environment({}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->identity->data_dir, (dir.path() / "gatehouse-data").string());
  EXPECT_EQ(c->identity->master_key_file, (dir.path() / "master.key").string());
  EXPECT_EQ(c->identity->tenants[0].applications[0].certificates[0].file,
            (dir.path() / "certs/partner.pem").string());
  // The admin token does not exist yet: it is created at start, so that is not an error.
  const Status s = check_referenced_files(*c);
  EXPECT_TRUE(s) << s.error().message;
}

TEST(IdentityReferencedFiles, MissingFilesNameKeyAndLine) {
  TempDir dir;
  const fs::path config = dir.write("g.yaml", files_config());
  fs::create_directories(dir.path() / "gatehouse-data" / "admin.token");  // not a file
  auto c = load_proxy_config(config.string(), fixed_environment({}));
  ASSERT_TRUE(c) << c.error().message;
  const Status s = check_referenced_files(*c);
  ASSERT_FALSE(s);
  const std::string& e = s.error().message;
  const std::string file = config.string();
  EXPECT_CONTAINS(e, file + ":9: identity.master_key_file: cannot read the file (No such file");
  EXPECT_CONTAINS(e, file +
                         ":9: identity.admin_token_file: cannot read the file (not a regular "
                         "file)");
  EXPECT_CONTAINS(e, file +
                         ":15: identity.tenants[0].applications[0].certificates[0].file: "
                         "cannot read the file");
  EXPECT_CONTAINS(e, file + ": identity.audit_log: the log file's directory is missing");
}

}  // namespace
}  // namespace gh::config
