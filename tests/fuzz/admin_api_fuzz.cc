// Fuzzes the identity admin REST API (admin/identity_api.h): routing, percent-decoding of the
// path and query, the bearer-token check and every JSON request body, against a real Directory
// and KeyRing on an in-memory database holding one tenant, two apps and one role before every
// input, so that runs do not depend on each other. Input: "<METHOD>
// <target>\n<Authorization>\n<body>"; an empty Authorization line sends the bootstrap admin token.
//
// Invariants: handle() answers (never throws), with a status the API documents and never 500;
// JSON responses parse; no response carries a secret hash or the admin token.
// Creating a client secret runs scrypt at full cost (~100 ms under ASan), so POSTs to a path
// with "secrets" in it are skipped; their body parser is the one every other route uses.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "admin/admin_auth.h"
#include "admin/identity_api.h"
#include "identity/directory.h"
#include "identity/key_ring.h"
#include "store/database.h"

namespace {

using namespace gh;
namespace json = boost::json;

constexpr int64_t kNow = 1'750'000'000;
constexpr std::string_view kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr std::string_view kApi = "11111111-2222-3333-4444-555555555555";
constexpr std::string_view kWorker = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
constexpr std::string_view kAdminToken = "fuzz-admin-token-0123456789abcdefghijklmnop";

// Aborts (a finding) naming the broken invariant.
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

// The path with %XX decoded, for the skip rule only.
std::string decoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const auto hex = [](char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
      };
      if (hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
        out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

struct World {
  FixedClock clock;
  std::shared_ptr<store::Database> db = must(store::Database::open(":memory:"));
  std::unique_ptr<identity::Directory> directory = must(identity::Directory::open(db, clock));
  std::unique_ptr<identity::KeyRing> keys;
  std::unique_ptr<admin::IdentityApi> api;

  World() {
    config::IdentitySigning signing;
    signing.algorithm = "ES256";  // cheap to generate
    keys = must(identity::KeyRing::open(
        db, must(identity::MasterKey::load("", std::string(64, '7'))), signing, clock));
    must(directory->create_tenant("Contoso", std::string(kTenant), {"contoso.example"}));
    identity::NewApplication api_app;
    api_app.tenant_id = kTenant;
    api_app.display_name = "orders-api";
    api_app.client_id = kApi;
    api_app.identifier_uris = {"api://orders"};
    api_app.access_token_version = 2;
    must(directory->create_application(api_app));
    identity::NewApplication worker;
    worker.tenant_id = kTenant;
    worker.display_name = "orders-worker";
    worker.client_id = kWorker;
    must(directory->create_application(worker));
    must(directory->add_role(kTenant, kApi, "Orders.Read"));
    api = std::make_unique<admin::IdentityApi>(
        *directory, *keys, admin::AdminCredential::from_tokens({std::string(kAdminToken)}), clock);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto line = [&input] {
    const size_t nl = input.find('\n');
    const std::string_view l = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    return l;
  };
  const std::string_view request_line = line();
  const std::string_view authorization = line();
  const size_t sp = request_line.find(' ');
  if (sp == std::string_view::npos) return 0;

  admin::AdminRequest request;
  request.method = request_line.substr(0, sp);
  request.target = request_line.substr(sp + 1);
  const std::string bootstrap = "Bearer " + std::string(kAdminToken);
  request.authorization = authorization.empty() ? std::string_view(bootstrap) : authorization;
  request.body = input;
  if (request.method == "POST" && decoded(request.target).find("secrets") != std::string::npos) {
    return 0;
  }

  // A fresh world costs ~10 ms; most inputs are refused and change nothing, so the world is
  // rebuilt only after a request that may have changed it (a mutation's 2xx).
  static std::unique_ptr<World> world;
  static bool dirty = true;
  if (dirty) {
    world.reset();
    world = std::make_unique<World>();
  }
  const admin::AdminResponse r = world->api->handle(request);
  dirty = r.status == 201 || r.status == 204 || (r.status == 200 && request.method != "GET");
  switch (r.status) {
    case 200:
    case 201:
    case 204:
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:
    case 409:
    case 413:
      break;
    default:  // 500: an error the API did not map, or an exception
      std::fprintf(stderr, "unexpected status %u: %s\n", r.status, r.body.c_str());
      std::abort();
  }
  // (Unless the request itself put them there, e.g. as a display name.)
  const std::string_view whole(reinterpret_cast<const char*>(data), size);
  for (std::string_view secret : {std::string_view("$scrypt$"), kAdminToken}) {
    FUZZ_CHECK(r.body.find(secret) == std::string::npos || whole.find(secret) != std::string::npos);
  }
  if (r.content_type == "application/json") {
    json::error_code ec;
    (void)json::parse(r.body, ec);
    FUZZ_CHECK(!ec);
  } else {
    FUZZ_CHECK(r.status == 204 && r.body.empty());
  }
  return 0;
}
