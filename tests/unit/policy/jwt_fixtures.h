#pragma once

// Keys, tokens, clocks and documents for the validate-jwt, validate-azure-ad-token and OpenID
// cache tests. Every token is signed here, with keys generated once per test binary.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/encoding.h"
#include "crypto/key.h"
#include "http/url_fetch.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "net/asio.h"
#include "policy/document.h"
#include "policy/openid_cache.h"
#include "policy/policy.h"

namespace gh::policy::test {

namespace json = boost::json;

/// A clock that stands still until a test moves it; safe to read from the cache's thread.
class ManualClock final : public core::Clock {
 public:
  explicit ManualClock(int64_t unix_seconds = 1'800'000'000) : now_(unix_seconds) {}
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(now_.load()));
  }
  void advance(int64_t seconds) noexcept { now_ += seconds; }
  int64_t unix() const noexcept { return now_.load(); }

 private:
  std::atomic<int64_t> now_;
};

/// Private keys by name ("rsa-a", "rsa-b", "rsa-c", "p256"), generated once, with `kid`.
inline jose::Jwk signing_key(std::string_view name, std::string kid = "") {
  static const auto rsa_a = crypto::generate_rsa(2048);
  static const auto rsa_b = crypto::generate_rsa(2048);
  static const auto rsa_c = crypto::generate_rsa(2048);
  static const auto p256 = crypto::generate_ec("P-256");
  const crypto::EvpPkeyPtr* key = name == "rsa-a"   ? &*rsa_a
                                  : name == "rsa-b" ? &*rsa_b
                                  : name == "rsa-c" ? &*rsa_c
                                                    : &*p256;
  jose::JwkMetadata meta;
  meta.kid = std::move(kid);
  return std::move(*jose::Jwk::from_pkey(crypto::share(key->get()), std::move(meta)));
}

/// An HMAC key of 32 bytes, the same every time.
inline core::Bytes hmac_secret() {
  core::Bytes s(32);
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<uint8_t>(0xA0 + i);
  return s;
}

inline jose::Jwk hmac_key(std::string kid = "") {
  jose::JwkMetadata meta;
  meta.kid = std::move(kid);
  return std::move(*jose::Jwk::from_secret(hmac_secret(), std::move(meta)));
}

/// Signs `claims` with `key` and `alg`; `header` adds members (e.g. a kid of another key).
inline std::string sign(const json::object& claims, const jose::Jwk& key, jose::JwsAlg alg,
                        const json::object& header = {}) {
  const std::string payload = json::serialize(claims);
  auto token = jose::sign_compact(core::as_bytes(payload), key, alg, header);
  EXPECT_TRUE(token) << token.error().message;
  return *token;
}

/// A JWKS document with the public halves of `keys`.
inline std::string jwks_of(const std::vector<const jose::Jwk*>& keys) {
  json::array list;
  for (const jose::Jwk* k : keys)
    list.push_back(*k->to_public_json());
  return json::serialize(json::object{{"keys", std::move(list)}});
}

inline std::string metadata_of(std::string_view issuer, std::string_view jwks_uri) {
  return json::serialize(json::object{{"issuer", issuer},
                                      {"jwks_uri", jwks_uri},
                                      {"id_token_signing_alg_values_supported", {"RS256"}}});
}

/// The first child of <policies> in `xml`, which is the body of a <policies> document.
inline Element element_of(const std::string& xml) {
  auto doc = parse_policy_document("<policies>" + xml + "</policies>", "test.xml", {});
  EXPECT_TRUE(doc) << doc.error().message;
  if (!doc || doc->children.empty()) return {};
  return doc->children.front();
}

/// Runs the policy's apply_async to completion on a private event loop.
inline Flow run_async(const Policy& policy, RequestContext& ctx) {
  net::asio::io_context io;
  std::optional<Flow> out;
  net::asio::co_spawn(io.get_executor(), policy.apply_async(ctx),
                      [&out](std::exception_ptr e, Flow f) {
                        if (!e) out = f;
                      });
  io.run();
  EXPECT_TRUE(out.has_value());
  return out.value_or(Flow::Error);
}

/// Documents served from memory, with per-URL request counts; a URL can be made to fail.
class MemoryDocuments {
 public:
  void set(const std::string& url, std::string body, unsigned status = 200) {
    std::lock_guard lock(mutex_);
    docs_[url] = http::FetchedDocument{status, "application/json", std::move(body)};
    unreachable_.erase(url);
  }
  void make_unreachable(const std::string& url) {
    std::lock_guard lock(mutex_);
    unreachable_[url] = true;
  }
  /// The next `times` requests for `url` fail as an unreachable host does; later ones succeed.
  void fail_next(const std::string& url, size_t times) {
    std::lock_guard lock(mutex_);
    failures_left_[url] = times;
  }
  size_t requests(const std::string& url) const {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(url);
    return it == counts_.end() ? 0 : it->second;
  }
  Result<http::FetchedDocument> get(const std::string& url) {
    std::lock_guard lock(mutex_);
    ++counts_[url];
    size_t& failures_left = failures_left_[url];
    const bool fail_now = failures_left > 0;
    if (fail_now) --failures_left;
    if (unreachable_.count(url) != 0 || fail_now) {
      return unexpected(ErrorKind::Unavailable, url + ": cannot connect: Connection refused");
    }
    auto it = docs_.find(url);
    if (it == docs_.end()) return http::FetchedDocument{404, "text/plain", "not found"};
    return it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, http::FetchedDocument> docs_;
  std::map<std::string, bool> unreachable_;
  std::map<std::string, size_t> failures_left_;
  std::map<std::string, size_t> counts_;
};

/// Lets a test hold fetches until it opens the gate.
struct FetchGate {
  std::atomic<bool> open{true};
};

inline net::awaitable<Result<http::FetchedDocument>> fetch_from_memory(
    std::shared_ptr<MemoryDocuments> docs, std::shared_ptr<FetchGate> gate, std::string url) {
  while (!gate->open.load()) {
    net::SteadyTimer timer(co_await net::asio::this_coro::executor, std::chrono::milliseconds(1));
    co_await timer.async_wait(net::use_tuple);
  }
  co_return docs->get(url);
}

inline DocumentFetcher memory_fetcher(std::shared_ptr<MemoryDocuments> docs,
                                      std::shared_ptr<FetchGate> gate) {
  return [docs, gate](std::string url) { return fetch_from_memory(docs, gate, std::move(url)); };
}

}  // namespace gh::policy::test
