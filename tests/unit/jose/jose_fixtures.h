#pragma once

// Canned keys, clocks and helpers for the jose tests. Keys are generated once per test binary
// (RSA generation is slow); the RFC example keys live in tests/vectors/jose/.

#include <boost/json.hpp>
#include <string>

#include "core/clock.h"
#include "crypto/key.h"
#include "jose/jwk.h"
#include "jose/jwk_set.h"
#include "jose/jws.h"
#include "support/paths.h"

namespace gh::jose::test {

/// A clock that stands still until a test moves it.
class FakeClock final : public core::Clock {
 public:
  explicit FakeClock(double unix_seconds = 1'800'000'000) { set(unix_seconds); }
  std::chrono::system_clock::time_point now() const noexcept override { return now_; }
  void set(double unix_seconds) {
    now_ = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(unix_seconds)));
  }

 private:
  std::chrono::system_clock::time_point now_;
};

/// A JSON file under tests/vectors/jose/.
inline boost::json::object vector(const std::string& name) {
  return boost::json::parse(
             gh::test::read_file(gh::test::source_path("tests/vectors/jose/" + name)))
      .as_object();
}

/// A Wycheproof file under ../shared/testdata/wycheproof/.
inline boost::json::object wycheproof(const std::string& name) {
  return boost::json::parse(
             gh::test::read_file(std::string(GH_SHARED_DIR) + "/testdata/wycheproof/" + name))
      .as_object();
}

/// A private JWK built from a generated key (cached per kind, so tests share the cost).
inline Jwk private_jwk(std::string_view kind, std::string kid = "") {
  static const auto rsa = crypto::generate_rsa(2048);
  static const auto p256 = crypto::generate_ec("P-256");
  static const auto p384 = crypto::generate_ec("P-384");
  static const auto p521 = crypto::generate_ec("P-521");
  static const auto ed = crypto::generate_ed25519();
  const crypto::EvpPkeyPtr* src = kind == "RSA"     ? &*rsa
                                  : kind == "P-256" ? &*p256
                                  : kind == "P-384" ? &*p384
                                  : kind == "P-521" ? &*p521
                                                    : &*ed;
  JwkMetadata meta;
  meta.kid = std::move(kid);
  return std::move(*Jwk::from_pkey(crypto::share(src->get()), std::move(meta)));
}

/// The public half of `k` as a new Jwk (what a verifier gets from a JWKS).
inline Jwk public_of(const Jwk& k) {
  return std::move(*Jwk::from_json(*k.to_public_json()));
}

/// Verify options allowing exactly `algs`.
inline JwsVerifyOptions allow(AlgSet algs) {
  JwsVerifyOptions o;
  o.allowed_algs = algs;
  return o;
}

inline JwkSet set_of(Jwk k) {
  std::vector<Jwk> v;
  v.push_back(std::move(k));
  return std::move(*JwkSet::from_keys(std::move(v)));
}

}  // namespace gh::jose::test
