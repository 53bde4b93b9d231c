// Fuzzes the Key Vault REST API (vault/keyvault_api.h): routing, query parsing, the bearer-token
// check and every JSON request body (secrets, attributes, tags, certificate policies, imports),
// against a real VaultStore, Directory and KeyRing on an in-memory database holding one secret.
// Input: "<METHOD> <target>\n<caller>\n<body>"; caller "admin" (Key Vault Administrator),
// "user" (Secrets User), "none" (no role), anything else sends that line as the Authorization
// header.
//
// Invariants: handle() answers (never throws) with a status Key Vault documents and never 500;
// every body parses as JSON; the seeded secret's value appears only in a 200 (a get), unless the
// request itself carried it (an error may name what it was sent, e.g. a secret name).

#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "identity/directory.h"
#include "identity/key_ring.h"
#include "identity/token_minter.h"
#include "store/database.h"
#include "vault/access.h"
#include "vault/audit.h"
#include "vault/keyvault_api.h"
#include "vault/vault_store.h"

namespace {

using namespace gh;
namespace json = boost::json;

constexpr int64_t kNow = 1'750'000'000;
constexpr std::string_view kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr std::string_view kAdmin = "11111111-2222-3333-4444-555555555555";
constexpr std::string_view kUser = "22222222-3333-4444-5555-666666666666";
constexpr std::string_view kNobody = "33333333-4444-5555-6666-777777777777";
constexpr std::string_view kSeededValue = "seeded-value-9f8e7d6c5b4a";

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

template <class T>
T must(Result<T> r) {
  if (!r) std::abort();
  return std::move(*r);
}

class FixedClock final : public core::Clock {
 public:
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
  }
};

struct World {
  FixedClock clock;
  std::shared_ptr<store::Database> db = must(store::Database::open(":memory:"));
  std::unique_ptr<identity::Directory> directory = must(identity::Directory::open(db, clock));
  std::unique_ptr<identity::KeyRing> keys;
  std::unique_ptr<vault::VaultStore> store;
  std::unique_ptr<vault::VaultAudit> audit = must(vault::VaultAudit::open("off"));
  std::unique_ptr<vault::KeyVaultApi> api;
  std::string admin_token, user_token, nobody_token;

  World() {
    config::IdentitySigning signing;
    signing.algorithm = "ES256";  // cheap to generate
    const auto master = must(identity::MasterKey::load("", std::string(64, '7')));
    keys = must(identity::KeyRing::open(db, master, signing, clock));
    store = must(vault::VaultStore::open(db, master, {}, clock));
    must(directory->create_tenant("Contoso", std::string(kTenant)));
    for (std::string_view id : {kAdmin, kUser, kNobody}) {
      identity::NewApplication app;
      app.tenant_id = kTenant;
      app.display_name = "app";
      app.client_id = id;
      must(directory->create_application(app));
    }
    must(vault::ensure_vault_application(*directory, kTenant, vault::kKeyVaultResource));
    must(directory->assign_role(kTenant, kAdmin, vault::kKeyVaultAppId, "KeyVault.Administrator"));
    must(directory->assign_role(kTenant, kUser, vault::kKeyVaultAppId, "KeyVault.Secrets.User"));
    vault::NewSecret seeded;
    seeded.name = "seeded";
    seeded.value = kSeededValue;
    must(store->set_secret(seeded));
    admin_token = "Bearer " + mint(kAdmin);
    user_token = "Bearer " + mint(kUser);
    nobody_token = "Bearer " + mint(kNobody);
    vault::KeyVaultApiOptions options;
    options.auth.tenant_id = kTenant;
    api = std::make_unique<vault::KeyVaultApi>(*store, *directory, *keys, *audit, options, clock);
  }

  std::string mint(std::string_view client) {
    auto view = directory->view();
    identity::MintRequest req;
    req.tenant = view->tenant(kTenant);
    req.client = view->application(kTenant, client);
    req.resource = view->application(kTenant, vault::kKeyVaultAppId);
    req.requested_resource = vault::kKeyVaultResource;
    req.method = identity::AuthMethod::Certificate;
    req.origin = "https://localhost:8443";
    req.now = kNow;
    return must(identity::TokenMinter(*keys).mint(req)).access_token;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool request_has_value = input.find(kSeededValue) != std::string_view::npos;
  const auto line = [&input] {
    const size_t nl = input.find('\n');
    const std::string_view l = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    return l;
  };
  const std::string_view request_line = line();
  const std::string_view caller = line();
  const size_t sp = request_line.find(' ');
  if (sp == std::string_view::npos) return 0;

  // Rebuilt only after a request that may have changed the store (a non-GET success).
  static std::unique_ptr<World> world;
  static bool dirty = true;
  if (dirty) {
    world.reset();
    world = std::make_unique<World>();
  }
  std::string_view authorization = caller;
  if (caller == "admin") authorization = world->admin_token;
  if (caller == "user") authorization = world->user_token;
  if (caller == "none") authorization = world->nobody_token;
  std::vector<http::HeaderField> headers;
  if (!authorization.empty()) headers.push_back({"Authorization", authorization});

  http::LocalRequest request;
  request.method = request_line.substr(0, sp);
  request.target = request_line.substr(sp + 1);
  const size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  request.query = q == std::string_view::npos ? std::string_view() : request.target.substr(q + 1);
  request.host = "vault.test:9443";
  request.tls = true;
  request.headers = headers;
  request.body = input;

  const http::LocalResponse r = world->api->handle(request);
  dirty = r.status < 300 && request.method != "GET";
  switch (r.status) {
    case 200:
    case 202:
    case 204:
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:
    case 409:
      break;
    default:
      std::fprintf(stderr, "unexpected status %u: %s\n", r.status, r.body.c_str());
      std::abort();
  }
  FUZZ_CHECK(r.status == 200 || request_has_value ||
             r.body.find(kSeededValue) == std::string::npos);
  if (r.status == 204) {
    FUZZ_CHECK(r.body.empty());
  } else {
    json::error_code ec;
    (void)json::parse(r.body, ec);
    FUZZ_CHECK(!ec);
  }
  return 0;
}
