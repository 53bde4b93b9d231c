// Token issuance cost: TokenMinter::mint() (claims JSON, base64url, RS256 signature, uti)
// against the raw OpenSSL RSA-2048 signature of a signing input of the same size, with the
// same key. The target is mint >= 95% of the raw signing rate: a token costs barely more than
// its signature.
//
//   ./build/bench/token_mint_bench --benchmark_min_time=2
//
// BM_RawSign_Prepared is the baseline (SHA-256 + EVP_PKEY_sign on a context initialised
// once, what crypto::PreparedSigner does); BM_RawSign_InitPerCall shows what per-call
// EVP_DigestSignInit (crypto::sign_data) would add. The /threads:2 variants share one key and
// show whether anything serialises signers (OpenSSL's RSA blinding lock would).

#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "crypto/digest.h"
#include "crypto/ossl_ptr.h"
#include "identity/key_ring.h"
#include "identity/token_minter.h"
#include "jose/jwk.h"
#include "store/database.h"

namespace {

using namespace gh;

constexpr int64_t kNow = 1'800'000'000;

class FixedClock final : public core::Clock {
 public:
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
  }
};

struct Setup {
  FixedClock clock;
  std::unique_ptr<identity::KeyRing> ring;
  std::unique_ptr<identity::TokenMinter> minter;
  identity::Tenant tenant;
  identity::Application client;
  identity::Application resource_v1;
  identity::Application resource_v2;
  std::string signing_input;  // the size of a real token's header.payload

  Setup() {
    auto db = store::Database::open(":memory:");
    std::array<uint8_t, 32> master{};
    master.fill(7);
    config::IdentitySigning policy;  // RS256, as Entra
    auto r = identity::KeyRing::open(std::shared_ptr<store::Database>(std::move(*db)),
                                     identity::MasterKey::from_bytes(master), policy, clock);
    if (!r) std::abort();
    ring = std::move(*r);
    minter = std::make_unique<identity::TokenMinter>(*ring);
    tenant.id = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    client.client_id = "3f0d2a6c-1111-4a3b-9c55-0a1b2c3d4e5f";
    client.service_principal_id = "5a1c0e2b-2222-4c5d-8e9f-123456789abc";
    resource_v1.client_id = "925bff9f-0c55-4c42-8a3c-6a2f0b4b1f0d";
    resource_v1.access_token_version = 1;
    resource_v2 = resource_v1;
    resource_v2.access_token_version = 2;
    auto token = minter->mint(request(true));
    if (!token) std::abort();
    signing_input = token->access_token.substr(0, token->access_token.rfind('.'));
  }

  identity::MintRequest request(bool v2) const {
    identity::MintRequest req;
    req.tenant = &tenant;
    req.client = &client;
    req.resource = v2 ? &resource_v2 : &resource_v1;
    req.requested_resource = "api://gatehouse-orders";
    req.method = identity::AuthMethod::Certificate;
    req.roles = {"Orders.Read", "Orders.Write"};
    req.origin = "https://login.gatehouse.example:8443";
    req.now = kNow;
    return req;
  }

  const EVP_PKEY* key() const { return ring->current()->signer()->pkey(); }
};

Setup& setup() {
  static Setup s;
  return s;
}

void BM_Mint(benchmark::State& state) {
  auto& s = setup();
  const auto req = s.request(state.range(0) == 2);
  size_t bytes = 0;
  for (auto _ : state) {
    auto token = s.minter->mint(req);
    if (!token) state.SkipWithError("mint failed");
    bytes = token->access_token.size();
    benchmark::DoNotOptimize(token);
  }
  state.counters["token_bytes"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_Mint)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Mint)->Arg(2)->Threads(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The baseline: hash + sign with a context set up once per thread, on a private copy of the
// key (the fairest raw OpenSSL figure; anything mint adds is on top of this).
void BM_RawSign_Prepared(benchmark::State& state) {
  auto& s = setup();
  crypto::EvpPkeyPtr key(EVP_PKEY_dup(const_cast<EVP_PKEY*>(s.key())));
  crypto::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), crypto::md(crypto::DigestAlg::Sha256)) != 1) {
    state.SkipWithError("init failed");
    return;
  }
  const auto* data = reinterpret_cast<const uint8_t*>(s.signing_input.data());
  uint8_t sig[512];
  for (auto _ : state) {
    const auto digest = crypto::sha256(std::span<const uint8_t>(data, s.signing_input.size()));
    size_t len = sizeof sig;
    if (EVP_PKEY_sign(ctx.get(), sig, &len, digest.data(), digest.size()) != 1) {
      state.SkipWithError("sign failed");
    }
    benchmark::DoNotOptimize(sig);
  }
  state.counters["input_bytes"] = benchmark::Counter(static_cast<double>(s.signing_input.size()),
                                                     benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_RawSign_Prepared)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RawSign_Prepared)->Threads(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

// EVP_DigestSignInit + EVP_DigestSign per signature, as crypto::sign_data does, on the shared
// key object.
void BM_RawSign_InitPerCall(benchmark::State& state) {
  auto& s = setup();
  auto* key = const_cast<EVP_PKEY*>(s.key());
  const auto* data = reinterpret_cast<const uint8_t*>(s.signing_input.data());
  uint8_t sig[512];
  for (auto _ : state) {
    crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    size_t len = sizeof sig;
    if (EVP_DigestSignInit(ctx.get(), nullptr, crypto::md(crypto::DigestAlg::Sha256), nullptr,
                           key) != 1 ||
        EVP_DigestSign(ctx.get(), sig, &len, data, s.signing_input.size()) != 1) {
      state.SkipWithError("sign failed");
    }
    benchmark::DoNotOptimize(sig);
  }
}
BENCHMARK(BM_RawSign_InitPerCall)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RawSign_InitPerCall)->Threads(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
