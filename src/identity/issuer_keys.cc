#include "identity/issuer_keys.h"

#include <boost/json/serialize.hpp>

#include "core/strings.h"
#include "identity/assertion_checks.h"
#include "identity/entra_error.h"
#include "jose/json.h"

namespace gh::identity {
namespace {

namespace json = boost::json;

// The reason may quote the issuer's documents (a JWK's kty, a fetch error): printable() keeps
// what the issuer serves from putting control characters or megabytes into our messages.
core::Unexpected oidc_failed(std::string_view issuer, std::string_view reason) {
  return unexpected(entra_error(aadsts::kExternalOidcFailed,
                                "Request to External OIDC endpoint failed. Issuer: '" +
                                    printable(issuer) + "'. Reason: " + printable(reason)));
}

// https, or plain http to a loopback host (local test issuers); nothing else is fetched.
bool fetchable(std::string_view url) {
  return (url.size() > 8 && core::iequals(url.substr(0, 8), "https://")) ||
         is_loopback_http_url(url);
}

bool is_success(unsigned status) {
  return status >= 200 && status < 300;
}

}  // namespace

IssuerKeyCache::IssuerKeyCache(DocumentFetcher fetch, Options options, const core::Clock& clock)
    : fetch_(std::move(fetch)), options_(options), clock_(clock) {}

IssuerKeyCache::~IssuerKeyCache() = default;

uint64_t IssuerKeyCache::fetches() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

net::awaitable<Result<std::shared_ptr<const jose::JwkSet>>> IssuerKeyCache::keys(std::string issuer,
                                                                                 bool unknown_kid) {
  const int64_t now = clock_.now_unix();
  {
    std::lock_guard lock(mutex_);
    Entry& e = entries_[issuer];
    if (e.keys) {
      const bool fresh = now - e.fetched_at < options_.ttl.count();
      const bool may_refetch = now - e.attempted_at >= options_.refresh_interval.count();
      // Fresh and no unknown kid: use it. Otherwise refetch, but at most once per interval
      // (also after a failed refresh of a stale set, which keeps being used meanwhile).
      if ((fresh && !unknown_kid) || !may_refetch) co_return e.keys;
    }
    // Without any key set there is nothing to fall back on: always try.
    e.attempted_at = now;
    ++fetches_;
  }
  auto fetched = co_await fetch(issuer);
  std::lock_guard lock(mutex_);
  Entry& e = entries_[issuer];
  if (fetched) {
    e.keys = std::move(*fetched);
    e.fetched_at = now;
    co_return e.keys;
  }
  if (e.keys) co_return e.keys;  // last good set
  co_return unexpected(std::move(fetched).error());
}

net::awaitable<Result<std::shared_ptr<const jose::JwkSet>>> IssuerKeyCache::fetch(
    std::string issuer) {
  if (!fetchable(issuer)) {
    co_return oidc_failed(issuer, "the issuer is not an https:// URL");
  }
  // OpenID Connect Discovery 1.0 §4: a terminating '/' of the issuer is removed before
  // appending the well-known path.
  std::string_view base = issuer;
  if (base.ends_with('/')) base.remove_suffix(1);
  const std::string metadata_url = std::string(base) + "/.well-known/openid-configuration";

  auto metadata = co_await fetch_(metadata_url);
  if (!metadata) co_return oidc_failed(issuer, "metadata: " + metadata.error().message);
  if (!is_success(metadata->status)) {
    co_return oidc_failed(issuer, "metadata answered HTTP " + std::to_string(metadata->status));
  }
  auto doc = jose::parse_strict_json_object(metadata->body, jose::kJwkSetLimits);
  if (!doc) co_return oidc_failed(issuer, "metadata is not a JSON object");
  // OpenID Connect Discovery 1.0 §4.3: the document's issuer must be the issuer it was fetched
  // for, or another issuer's keys could be served under this name.
  const json::value* doc_issuer = doc->if_contains("issuer");
  if (doc_issuer == nullptr || !doc_issuer->is_string() || doc_issuer->get_string() != issuer) {
    co_return oidc_failed(issuer, "the metadata's issuer is not the token's issuer");
  }
  const json::value* jwks_uri = doc->if_contains("jwks_uri");
  if (jwks_uri == nullptr || !jwks_uri->is_string()) {
    co_return oidc_failed(issuer, "the metadata has no jwks_uri");
  }
  const std::string jwks_url(jwks_uri->get_string());
  if (!fetchable(jwks_url)) co_return oidc_failed(issuer, "jwks_uri is not an https:// URL");

  auto jwks = co_await fetch_(jwks_url);
  if (!jwks) co_return oidc_failed(issuer, "jwks: " + jwks.error().message);
  if (!is_success(jwks->status)) {
    co_return oidc_failed(issuer, "jwks_uri answered HTTP " + std::to_string(jwks->status));
  }
  auto set_doc = jose::parse_strict_json_object(jwks->body, jose::kJwkSetLimits);
  if (!set_doc) co_return oidc_failed(issuer, "the JWKS is not a JSON object");
  // Entra "stores only the first 100 signing keys" (workload-identity-federation docs).
  if (json::value* list = set_doc->if_contains("keys"); list != nullptr && list->is_array()) {
    json::array& arr = list->get_array();
    if (arr.size() > options_.max_keys) arr.erase(arr.begin() + options_.max_keys, arr.end());
  }
  auto set = jose::JwkSet::parse(json::serialize(*set_doc));
  if (!set) co_return oidc_failed(issuer, "no usable key in the JWKS: " + set.error().message);
  co_return std::make_shared<const jose::JwkSet>(std::move(*set));
}

}  // namespace gh::identity
