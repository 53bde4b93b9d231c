// JOSE verification cost: full JWT verify (parse + signature + claims) against the raw OpenSSL
// verify of the same signing input with the same key, and the verified-token cache hit.
//
//   ./build/bench/jose_bench --benchmark_min_time=1

#include <benchmark/benchmark.h>

#include <boost/json.hpp>
#include <string>

#include "core/clock.h"
#include "core/encoding.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/ossl_ptr.h"
#include "jose/jwk_set.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "jose/token_cache.h"

namespace {

using namespace gh;

constexpr int64_t kIat = 1'800'000'000;

class FixedClock final : public core::Clock {
 public:
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(kIat + 60));
  }
};

// An Entra-like access token body (v2.0 claims, ~700 bytes once signed with RS256).
std::string claims() {
  return R"({"aud":"api://gatehouse-orders","iss":"https://login.microsoftonline.com/)"
         R"(72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0","iat":1800000000,"nbf":1800000000,)"
         R"("exp":1800003600,"azp":"3f0d2a6c-1111-4a3b-9c55-0a1b2c3d4e5f","azpacr":"1",)"
         R"("oid":"5a1c0e2b-2222-4c5d-8e9f-123456789abc","roles":["Orders.Read","Orders.Write"],)"
         R"("sub":"5a1c0e2b-2222-4c5d-8e9f-123456789abc","tid":"72f988bf-86f1-41af-91ab-)"
         R"(2d7cd011db47","uti":"AbCdEfGhIjKlMnOpQrStUv","ver":"2.0"})";
}

struct Setup {
  jose::JwkSet keys;
  std::string token;
  jose::JwtVerifyOptions options;
  crypto::EvpPkeyPtr pkey;  // the same public key, for the raw OpenSSL baseline
  const EVP_MD* md;
  bool ecdsa_der;  // raw baseline needs DER for ECDSA

  static Setup make(std::string_view kind) {
    auto priv = kind == "RSA" ? crypto::generate_rsa(2048) : crypto::generate_ec("P-256");
    jose::JwkMetadata meta;
    meta.kid = "bench";
    auto jwk = std::move(*jose::Jwk::from_pkey(crypto::share(priv->get()), std::move(meta)));
    const auto alg = kind == "RSA" ? jose::JwsAlg::RS256 : jose::JwsAlg::ES256;
    const std::string body = claims();
    std::string token = *jose::sign_compact(core::as_bytes(body), jwk, alg);
    std::vector<jose::Jwk> pub;
    pub.push_back(std::move(*jose::Jwk::from_json(*jwk.to_public_json())));
    Setup s{std::move(*jose::JwkSet::from_keys(std::move(pub))),
            std::move(token),
            {},
            crypto::share(priv->get()),
            crypto::md(crypto::DigestAlg::Sha256),
            kind != "RSA"};
    s.options.claims.audiences = {"api://gatehouse-orders"};
    s.options.claims.issuers = {
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"};
    s.options.claims.required_claims.push_back(
        {"roles", jose::ClaimRequirement::Match::Any, "", {"Orders.Read"}});
    return s;
  }
};

const Setup& rsa() {
  static const Setup s = Setup::make("RSA");
  return s;
}
const Setup& ec() {
  static const Setup s = Setup::make("P-256");
  return s;
}

void full_verify(benchmark::State& state, const Setup& s) {
  FixedClock clock;
  for (auto _ : state) {
    auto r = jose::verify_jwt(s.token, s.keys, s.options, clock);
    if (!r) state.SkipWithError(r.error().message.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::to_string(s.token.size()) + "-byte token");
}

// EVP_DigestVerifyInit + EVP_DigestVerify on the signing input: what any verifier must pay.
void raw_verify(benchmark::State& state, const Setup& s) {
  const auto dot = s.token.rfind('.');
  const std::string input = s.token.substr(0, dot);
  core::Bytes sig = *core::base64url_decode(std::string_view(s.token).substr(dot + 1));
  if (s.ecdsa_der) {
    // Convert outside the loop so the baseline is pure OpenSSL.
    crypto::BignumPtr r(BN_bin2bn(sig.data(), 32, nullptr));
    crypto::BignumPtr ss(BN_bin2bn(sig.data() + 32, 32, nullptr));
    ECDSA_SIG* es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, r.release(), ss.release());
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(es, &der);
    sig.assign(der, der + len);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
  }
  for (auto _ : state) {
    crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_DigestVerifyInit(ctx.get(), nullptr, s.md, nullptr, s.pkey.get());
    const int rc =
        EVP_DigestVerify(ctx.get(), sig.data(), sig.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size());
    if (rc != 1) state.SkipWithError("raw verify failed");
    benchmark::DoNotOptimize(rc);
  }
}

void BM_FullVerify_RS256(benchmark::State& state) {
  full_verify(state, rsa());
}
void BM_RawOpenSSLVerify_RS256(benchmark::State& state) {
  raw_verify(state, rsa());
}
void BM_FullVerify_ES256(benchmark::State& state) {
  full_verify(state, ec());
}
void BM_RawOpenSSLVerify_ES256(benchmark::State& state) {
  raw_verify(state, ec());
}

// Parse + claims only (no signature): the overhead the JOSE layer adds on top of OpenSSL.
void BM_DecodeAndClaims_RS256(benchmark::State& state) {
  const Setup& s = rsa();
  FixedClock clock;
  for (auto _ : state) {
    auto d = jose::decode_compact(s.token);
    auto c = jose::parse_strict_json_object(core::as_string_view(d->payload));
    auto ok = jose::validate_claims(*c, s.options.claims, clock);
    benchmark::DoNotOptimize(ok);
  }
}

jose::VerifiedTokenCache& shared_cache() {
  static FixedClock clock;
  static jose::VerifiedTokenCache cache(clock);
  return cache;
}

// A reused token: SHA-256 of the token, shard lookup, alg and claims re-check.
void BM_CachedVerify_RS256(benchmark::State& state) {
  const Setup& s = rsa();
  FixedClock clock;
  auto& cache = shared_cache();
  (void)jose::verify_jwt_cached(s.token, s.keys, s.options, clock, cache);
  for (auto _ : state) {
    auto r = jose::verify_jwt_cached(s.token, s.keys, s.options, clock, cache);
    if (!r) state.SkipWithError(r.error().message.c_str());
    benchmark::DoNotOptimize(r);
  }
}

// The lookup alone (SHA-256 + shard lock + find), without re-checking claims.
void BM_CacheLookup_RS256(benchmark::State& state) {
  const Setup& s = rsa();
  FixedClock clock;
  auto& cache = shared_cache();
  (void)jose::verify_jwt_cached(s.token, s.keys, s.options, clock, cache);
  for (auto _ : state)
    benchmark::DoNotOptimize(cache.find(s.keys.id(), s.token));
}

BENCHMARK(BM_FullVerify_RS256);
BENCHMARK(BM_RawOpenSSLVerify_RS256);
BENCHMARK(BM_FullVerify_ES256);
BENCHMARK(BM_RawOpenSSLVerify_ES256);
BENCHMARK(BM_DecodeAndClaims_RS256);
BENCHMARK(BM_CachedVerify_RS256)->Threads(1)->Threads(2);
BENCHMARK(BM_CacheLookup_RS256);

}  // namespace

BENCHMARK_MAIN();
