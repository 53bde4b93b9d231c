#include "policy/revocation.h"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>

#include "core/encoding.h"
#include "core/event_log.h"
#include "core/strings.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/openssl_error.h"
#include "x509/cert_loader.h"
#include "x509/ocsp.h"
#include "x509/verify_error.h"

namespace gh::policy {
namespace {

constexpr size_t kShardCount = 16;

using CrlDistPointsPtr = std::unique_ptr<CRL_DIST_POINTS, crypto::OsslFree<&CRL_DIST_POINTS_free>>;

void free_string_stack(STACK_OF(OPENSSL_STRING) * s) noexcept {
  X509_email_free(s);  // frees a STACK_OF(OPENSSL_STRING) and its strings
}
using StringStackPtr =
    std::unique_ptr<STACK_OF(OPENSSL_STRING), crypto::OsslFree<&free_string_stack>>;

int64_t asn1_time_to_unix(const ASN1_TIME* t) noexcept {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

bool is_http_url(std::string_view url) noexcept {
  auto starts = [&](std::string_view p) {
    return url.size() > p.size() && core::iequals(url.substr(0, p.size()), p);
  };
  return starts("http://") || starts("https://");
}

// The OCSP responder URLs of the certificate's Authority Information Access extension.
std::vector<std::string> ocsp_urls(const x509::Certificate& cert, size_t max) {
  std::vector<std::string> out;
  StringStackPtr urls(X509_get1_ocsp(cert.get()));
  for (int i = 0; urls && i < sk_OPENSSL_STRING_num(urls.get()) && out.size() < max; ++i) {
    std::string_view url = sk_OPENSSL_STRING_value(urls.get(), i);
    if (is_http_url(url)) out.emplace_back(url);
  }
  return out;
}

// The http(s) URIs of the certificate's CRL distribution points (full names only; LDAP and
// relative names are not fetched).
std::vector<std::string> crl_urls(const x509::Certificate& cert, size_t max) {
  std::vector<std::string> out;
  CrlDistPointsPtr points(static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert.get(), NID_crl_distribution_points, nullptr, nullptr)));
  for (int i = 0; points && i < sk_DIST_POINT_num(points.get()) && out.size() < max; ++i) {
    const DIST_POINT* dp = sk_DIST_POINT_value(points.get(), i);
    if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;
    const GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names) && out.size() < max; ++j) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
      if (gn->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = gn->d.uniformResourceIdentifier;
      std::string_view url(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                           static_cast<size_t>(ASN1_STRING_length(uri)));
      if (is_http_url(url)) out.emplace_back(url);
    }
  }
  crypto::clear_openssl_errors();
  return out;
}

enum class CrlVerdict { NotApplicable, Stale, Invalid, Good, Revoked };

// What `crl` says about `cert`, issued by `issuer`, at `now`. `valid_until` gets the CRL's
// nextUpdate (or thisUpdate + max_ttl when it has none). Delta CRLs are not used.
CrlVerdict crl_verdict(X509_CRL* crl, const x509::Certificate& cert,
                       const x509::Certificate& issuer, int64_t now, int64_t skew, int64_t max_ttl,
                       int64_t* valid_until) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer.get())) != 0) {
    return CrlVerdict::NotApplicable;
  }
  if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) return CrlVerdict::NotApplicable;
  EVP_PKEY* key = X509_get0_pubkey(issuer.get());
  if (key == nullptr || X509_CRL_verify(crl, key) != 1) {
    crypto::clear_openssl_errors();
    return CrlVerdict::Invalid;
  }
  const int64_t this_update = asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl));
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
  const int64_t next_update = next ? asn1_time_to_unix(next) : this_update + max_ttl;
  if (valid_until) *valid_until = next_update;
  if (this_update > now + skew || now > next_update + skew) return CrlVerdict::Stale;
  X509_REVOKED* entry = nullptr;
  const int found = X509_CRL_get0_by_cert(crl, &entry, cert.get());
  return found == 1 ? CrlVerdict::Revoked : CrlVerdict::Good;
}

struct PairKeyHash {
  size_t operator()(const std::array<uint8_t, 40>& k) const noexcept {
    size_t h = 0;
    std::memcpy(&h, k.data(), sizeof h);  // a SHA-1 prefix: already uniform
    return h;
  }
};

bool make_pair_key(const x509::Certificate& cert, const x509::Certificate& issuer,
                   std::array<uint8_t, 40>& key) noexcept {
  unsigned len = 0;
  const EVP_MD* sha1 = crypto::md(crypto::DigestAlg::Sha1);
  // X509_digest answers SHA-1 from the certificate's cached fingerprint: no hashing here.
  if (X509_digest(cert.get(), sha1, key.data(), &len) != 1 || len != 20) return false;
  if (X509_digest(issuer.get(), sha1, key.data() + 20, &len) != 1 || len != 20) return false;
  return true;
}

class HttpRevocationFetcher final : public RevocationFetcher {
 public:
  net::awaitable<Result<http::FetchedDocument>> fetch(http::FetchRequest request,
                                                      http::FetchOptions options) override {
    co_return co_await http::send_request(std::move(request), std::move(options));
  }
};

RevocationResult combine(RevocationResult acc, RevocationResult next) noexcept {
  auto rank = [](RevocationStatus s) {
    switch (s) {
      case RevocationStatus::Revoked:
        return 3;
      case RevocationStatus::NeedsFetch:
        return 2;
      case RevocationStatus::Unknown:
        return 1;
      case RevocationStatus::Good:
        return 0;
    }
    return 0;
  };
  return acc.reason.empty() || rank(next.status) > rank(acc.status) ? next : acc;
}

}  // namespace

std::string_view to_string(RevocationStatus s) noexcept {
  switch (s) {
    case RevocationStatus::Good:
      return "good";
    case RevocationStatus::Revoked:
      return "revoked";
    case RevocationStatus::Unknown:
      return "unknown";
    case RevocationStatus::NeedsFetch:
      return "needs-fetch";
  }
  return "unknown";
}

std::shared_ptr<RevocationFetcher> make_http_revocation_fetcher() {
  return std::make_shared<HttpRevocationFetcher>();
}

struct RevocationChecker::Answer {
  RevocationStatus status = RevocationStatus::Unknown;
  int64_t expires = 0;
  std::string_view reason;  // static text
  bool from_local = false;  // dropped when the local CRLs change
};

struct RevocationChecker::Shard {
  mutable std::shared_mutex mutex;  // guards answers
  std::unordered_map<PairKey, Answer, PairKeyHash> answers;
};

struct RevocationChecker::LocalCrls {
  std::vector<crypto::X509CrlPtr> crls;
};

struct RevocationChecker::CachedCrl {
  crypto::X509CrlPtr crl;  // null: the last fetch failed (remembered until `expires`)
  int64_t expires = 0;
};

struct RevocationChecker::Flight {
  std::mutex mutex;  // guards everything below
  bool done = false;
  Result<std::string> body = unexpected(ErrorKind::Unavailable, "fetch abandoned");
  std::vector<std::shared_ptr<net::SteadyTimer>> waiters;
};

RevocationChecker::RevocationChecker(const core::Clock& clock, RevocationOptions options,
                                     std::shared_ptr<RevocationFetcher> fetcher)
    : clock_(clock),
      options_(std::move(options)),
      fetcher_(fetcher ? std::move(fetcher) : make_http_revocation_fetcher()),
      shards_(new Shard[kShardCount]),
      local_(std::make_shared<const LocalCrls>()) {}

RevocationChecker::~RevocationChecker() = default;

RevocationChecker::Shard& RevocationChecker::shard_for(const PairKey& key) const noexcept {
  return shards_[key[0] % kShardCount];
}

void RevocationChecker::set_local_crls(std::vector<crypto::X509CrlPtr> crls) {
  auto snapshot = std::make_shared<LocalCrls>();
  snapshot->crls = std::move(crls);
  local_.store(std::move(snapshot));
  for (size_t i = 0; i < kShardCount; ++i) {
    std::unique_lock lock(shards_[i].mutex);
    std::erase_if(shards_[i].answers, [](const auto& kv) { return kv.second.from_local; });
  }
}

Status RevocationChecker::load_local_crl_files(const std::vector<std::string>& paths) {
  std::vector<crypto::X509CrlPtr> all;
  for (const auto& path : paths) {
    GH_TRY(auto data, crypto::read_file(path));
    auto crls = x509::load_crls(data);
    if (!crls) return unexpected(crls.error().with_context(path));
    for (auto& c : *crls)
      all.push_back(std::move(c));
  }
  set_local_crls(std::move(all));
  return {};
}

bool RevocationChecker::allows(RevocationStatus status) const noexcept {
  switch (status) {
    case RevocationStatus::Good:
      return true;
    case RevocationStatus::Revoked:
      return false;
    case RevocationStatus::Unknown:
    case RevocationStatus::NeedsFetch:
      return options_.fail_mode == RevocationFailMode::SoftFail;
  }
  return false;
}

void RevocationChecker::store_answer(const PairKey& key, RevocationStatus status, int64_t expires,
                                     std::string_view reason, bool from_local) const {
  Shard& shard = shard_for(key);
  const size_t cap = std::max<size_t>(16, options_.max_cached_answers / kShardCount);
  const int64_t now = clock_.now_unix();
  std::unique_lock lock(shard.mutex);
  if (shard.answers.size() >= cap && shard.answers.find(key) == shard.answers.end()) {
    std::erase_if(shard.answers, [now](const auto& kv) { return kv.second.expires <= now; });
    if (shard.answers.size() >= cap) shard.answers.erase(shard.answers.begin());
  }
  shard.answers[key] = Answer{status, expires, reason, from_local};
}

RevocationResult RevocationChecker::lookup_pair(const x509::Certificate& cert,
                                                const x509::Certificate& issuer,
                                                const PairKey& key) const {
  const int64_t now = clock_.now_unix();
  {
    const Shard& shard = shard_for(key);
    std::shared_lock lock(shard.mutex);
    auto it = shard.answers.find(key);
    if (it != shard.answers.end() && it->second.expires > now) {
      return {it->second.status, it->second.reason};
    }
  }
  // A miss: work out what can be known without I/O, and remember it.
  const int64_t skew = options_.max_skew.count();
  const int64_t max_ttl = options_.max_ttl.count();
  const auto local = local_.load();
  for (const auto& crl : local->crls) {
    int64_t valid_until = 0;
    const CrlVerdict v = crl_verdict(crl.get(), cert, issuer, now, skew, max_ttl, &valid_until);
    if (v == CrlVerdict::Good || v == CrlVerdict::Revoked) {
      const bool revoked = v == CrlVerdict::Revoked;
      const int64_t expires = revoked ? now + max_ttl : std::min(valid_until, now + max_ttl);
      const std::string_view reason = revoked ? "revoked (local crl)" : "good (local crl)";
      const auto status = revoked ? RevocationStatus::Revoked : RevocationStatus::Good;
      store_answer(key, status, std::max(expires, now + 1), reason, true);
      return {status, reason};
    }
  }
  const std::vector<std::string> crl_sources =
      options_.use_crl_distribution_points ? crl_urls(cert, options_.max_urls_per_certificate)
                                           : std::vector<std::string>{};
  for (const auto& url : crl_sources) {
    std::shared_ptr<const CachedCrl> cached;
    {
      std::shared_lock lock(crls_mutex_);
      auto it = crls_.find(url);
      if (it != crls_.end()) cached = it->second;
    }
    if (!cached || !cached->crl || cached->expires <= now) continue;
    int64_t valid_until = 0;
    const CrlVerdict v =
        crl_verdict(cached->crl.get(), cert, issuer, now, skew, max_ttl, &valid_until);
    if (v == CrlVerdict::Good || v == CrlVerdict::Revoked) {
      const bool revoked = v == CrlVerdict::Revoked;
      const int64_t expires = revoked ? now + max_ttl : std::min(valid_until, now + max_ttl);
      const std::string_view reason = revoked ? "revoked (crl)" : "good (crl)";
      const auto status = revoked ? RevocationStatus::Revoked : RevocationStatus::Good;
      store_answer(key, status, std::max(expires, now + 1), reason, false);
      return {status, reason};
    }
  }
  const bool has_ocsp =
      options_.use_ocsp && !ocsp_urls(cert, options_.max_urls_per_certificate).empty();
  if (has_ocsp || !crl_sources.empty()) return {RevocationStatus::NeedsFetch, "needs fetch"};
  // Nothing will ever say more about this certificate until the local CRLs change.
  constexpr std::string_view kNoSource = "no revocation source";
  store_answer(key, RevocationStatus::Unknown, now + max_ttl, kNoSource, true);
  core::log_event(
      "warn", "certificate has no revocation source (no local CRL, OCSP or CRL URL)",
      {{"thumbprint", cert.thumbprint_sha1()},
       {"fail_mode",
        options_.fail_mode == RevocationFailMode::HardFail ? "hard-fail" : "soft-fail"}});
  return {RevocationStatus::Unknown, kNoSource};
}

RevocationResult RevocationChecker::lookup(std::span<const x509::Certificate> chain) const {
  if (chain.empty()) return {RevocationStatus::Unknown, "empty chain"};
  if (chain.size() == 1) return {RevocationStatus::Unknown, "issuer unknown"};
  const size_t pairs = options_.scope == RevocationScope::Leaf ? 1 : chain.size() - 1;
  RevocationResult out{RevocationStatus::Good, {}};  // the first pair's answer replaces it
  for (size_t i = 0; i < pairs; ++i) {
    PairKey key;
    if (!make_pair_key(chain[i], chain[i + 1], key)) {
      out = combine(out, {RevocationStatus::Unknown, "certificate digest failed"});
      continue;
    }
    out = combine(out, lookup_pair(chain[i], chain[i + 1], key));
    if (out.status == RevocationStatus::Revoked) break;
  }
  return out;
}

net::awaitable<RevocationResult> RevocationChecker::check(std::vector<x509::Certificate> chain) {
  auto self = shared_from_this();  // alive until the last fetch of this check is done
  if (chain.size() < 2) co_return lookup(chain);
  const size_t pairs = options_.scope == RevocationScope::Leaf ? 1 : chain.size() - 1;
  RevocationResult out{RevocationStatus::Good, {}};  // the first pair's answer replaces it
  for (size_t i = 0; i < pairs; ++i) {
    PairKey key;
    if (!make_pair_key(chain[i], chain[i + 1], key)) {
      out = combine(out, {RevocationStatus::Unknown, "certificate digest failed"});
      continue;
    }
    RevocationResult r = lookup_pair(chain[i], chain[i + 1], key);
    if (r.status == RevocationStatus::NeedsFetch)
      r = co_await resolve_pair(chain[i], chain[i + 1], key);
    out = combine(out, r);
    if (out.status == RevocationStatus::Revoked) break;
  }
  co_return out;
}

net::awaitable<RevocationResult> RevocationChecker::resolve_pair(x509::Certificate cert,
                                                                 x509::Certificate issuer,
                                                                 PairKey key) {
  if (options_.use_ocsp) {
    for (const auto& url : ocsp_urls(cert, options_.max_urls_per_certificate)) {
      auto r = co_await try_ocsp(cert, issuer, key, url);
      if (r.status == RevocationStatus::Good || r.status == RevocationStatus::Revoked) co_return r;
    }
  }
  if (options_.use_crl_distribution_points) {
    for (const auto& url : crl_urls(cert, options_.max_urls_per_certificate)) {
      auto r = co_await try_crl(cert, issuer, key, url);
      if (r.status == RevocationStatus::Good || r.status == RevocationStatus::Revoked) co_return r;
    }
  }
  constexpr std::string_view kFailed = "revocation sources unreachable or unusable";
  const int64_t now = clock_.now_unix();
  store_answer(key, RevocationStatus::Unknown, now + options_.retry_after_failure.count(), kFailed,
               false);
  co_return RevocationResult{RevocationStatus::Unknown, kFailed};
}

net::awaitable<RevocationResult> RevocationChecker::try_ocsp(const x509::Certificate& cert,
                                                             const x509::Certificate& issuer,
                                                             const PairKey& key,
                                                             const std::string& url) {
  const RevocationResult unusable{RevocationStatus::Unknown, "ocsp unusable"};
  auto der = x509::build_ocsp_request(cert, issuer);
  if (!der) co_return unusable;
  http::FetchRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = {{"Content-Type", "application/ocsp-request"},
                     {"Accept", "application/ocsp-response"}};
  request.body.assign(der->begin(), der->end());
  // One request per (responder, certificate): requests for other certificates differ.
  std::string flight_key = "ocsp " + url + " " + core::hex_encode(key);
  auto body = co_await single_flight(std::move(flight_key), std::move(request),
                                     options_.max_ocsp_response_bytes);
  // Another waiter of the same flight may have stored the answer meanwhile.
  {
    const Shard& shard = shard_for(key);
    std::shared_lock lock(shard.mutex);
    auto it = shard.answers.find(key);
    if (it != shard.answers.end() && it->second.expires > clock_.now_unix() &&
        it->second.status != RevocationStatus::Unknown) {
      co_return RevocationResult{it->second.status, it->second.reason};
    }
  }
  if (!body) co_return unusable;
  x509::OcspOptions check_options;
  check_options.max_skew_seconds = options_.max_skew.count();
  check_options.max_age_without_next_update = options_.max_ocsp_ttl.count();
  const auto* bytes = reinterpret_cast<const uint8_t*>(body->data());
  auto good = x509::check_ocsp_response({bytes, body->size()}, cert, issuer, clock_, check_options);
  const int64_t now = clock_.now_unix();
  if (good) {
    const int64_t until = good->next_update > 0 ? good->next_update
                                                : good->this_update + options_.max_ocsp_ttl.count();
    const int64_t expires = std::max(std::min(until, now + options_.max_ocsp_ttl.count()), now + 1);
    store_answer(key, RevocationStatus::Good, expires, "good (ocsp)", false);
    co_return RevocationResult{RevocationStatus::Good, "good (ocsp)"};
  }
  if (good.error().detail == static_cast<int>(x509::VerifyError::Revoked)) {
    store_answer(key, RevocationStatus::Revoked, now + options_.max_ttl.count(), "revoked (ocsp)",
                 false);
    co_return RevocationResult{RevocationStatus::Revoked, "revoked (ocsp)"};
  }
  if (good.error().detail == static_cast<int>(x509::VerifyError::OcspUnknown)) {
    co_return RevocationResult{RevocationStatus::Unknown, "ocsp responder does not know it"};
  }
  co_return unusable;
}

net::awaitable<RevocationResult> RevocationChecker::try_crl(const x509::Certificate& cert,
                                                            const x509::Certificate& issuer,
                                                            const PairKey& key,
                                                            const std::string& url) {
  const RevocationResult unusable{RevocationStatus::Unknown, "crl unusable"};
  std::shared_ptr<const CachedCrl> cached;
  {
    std::shared_lock lock(crls_mutex_);
    auto it = crls_.find(url);
    if (it != crls_.end()) cached = it->second;
  }
  if (!cached || cached->expires <= clock_.now_unix()) {
    http::FetchRequest request;
    request.url = url;
    request.headers = {{"Accept", "application/pkix-crl"}};
    auto body = co_await single_flight("crl " + url, std::move(request), options_.max_crl_bytes);
    // The first waiter to resume parses the CRL; the others find it cached.
    {
      std::shared_lock lock(crls_mutex_);
      auto it = crls_.find(url);
      if (it != crls_.end() && it->second->expires > clock_.now_unix()) cached = it->second;
    }
    if (!cached || cached->expires <= clock_.now_unix()) {
      auto fresh = std::make_shared<CachedCrl>();
      const int64_t now = clock_.now_unix();
      fresh->expires = now + options_.retry_after_failure.count();
      if (body) {
        auto crls = x509::load_crls(*body);
        if (crls && !crls->empty()) {
          crypto::X509CrlPtr crl = std::move(crls->front());
          int64_t valid_until = 0;
          const CrlVerdict v = crl_verdict(crl.get(), cert, issuer, now, options_.max_skew.count(),
                                           options_.max_ttl.count(), &valid_until);
          // Keep only a CRL that is usable now; a stale or forged one counts as a failure.
          if (v == CrlVerdict::Good || v == CrlVerdict::Revoked) {
            fresh->expires =
                std::max(std::min(valid_until, now + options_.max_ttl.count()), now + 1);
            fresh->crl = std::move(crl);
          }
        }
      }
      std::unique_lock lock(crls_mutex_);
      if (crls_.size() >= options_.max_cached_crls && crls_.find(url) == crls_.end()) {
        std::erase_if(crls_, [now](const auto& kv) { return kv.second->expires <= now; });
        if (crls_.size() >= options_.max_cached_crls) crls_.erase(crls_.begin());
      }
      crls_[url] = fresh;
      cached = std::move(fresh);
    }
  }
  if (!cached->crl) co_return unusable;
  const int64_t now = clock_.now_unix();
  int64_t valid_until = 0;
  const CrlVerdict v = crl_verdict(cached->crl.get(), cert, issuer, now, options_.max_skew.count(),
                                   options_.max_ttl.count(), &valid_until);
  if (v == CrlVerdict::Revoked) {
    store_answer(key, RevocationStatus::Revoked, now + options_.max_ttl.count(), "revoked (crl)",
                 false);
    co_return RevocationResult{RevocationStatus::Revoked, "revoked (crl)"};
  }
  if (v == CrlVerdict::Good) {
    const int64_t expires =
        std::max(std::min(valid_until, now + options_.max_ttl.count()), now + 1);
    store_answer(key, RevocationStatus::Good, expires, "good (crl)", false);
    co_return RevocationResult{RevocationStatus::Good, "good (crl)"};
  }
  co_return unusable;
}

net::awaitable<Result<std::string>> RevocationChecker::single_flight(std::string flight_key,
                                                                     http::FetchRequest request,
                                                                     size_t max_body) {
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard lock(flights_mutex_);
    auto& slot = flights_[flight_key];
    if (!slot) {
      slot = std::make_shared<Flight>();
      leader = true;
    }
    flight = slot;
  }
  auto executor = co_await net::asio::this_coro::executor;
  if (leader) {
    fetches_.fetch_add(1, std::memory_order_relaxed);
    // Detached from this request: a client that goes away does not abandon the others.
    net::asio::co_spawn(
        executor,
        run_flight(shared_from_this(), flight, std::move(flight_key), std::move(request), max_body),
        net::asio::detached);
  }
  auto timer = std::make_shared<net::SteadyTimer>(executor,
                                                  options_.fetch_timeout + std::chrono::seconds(1));
  bool wait = false;
  {
    std::lock_guard lock(flight->mutex);
    if (!flight->done) {
      flight->waiters.push_back(timer);
      wait = true;
    }
  }
  if (wait) co_await timer->async_wait(net::use_tuple);
  std::lock_guard lock(flight->mutex);
  if (!flight->done) co_return unexpected(ErrorKind::Timeout, "revocation fetch timed out");
  co_return flight->body;
}

namespace {

// Completes a flight however its coroutine ends: normally, or destroyed with its event loop
// (shutdown). Only a normal end wakes the waiters: during shutdown their loops may be gone
// already, and they wake on their own timers anyway.
class FlightCompletion {
 public:
  explicit FlightCompletion(std::function<void(Result<std::string>, bool wake)> finish)
      : finish_(std::move(finish)) {}
  ~FlightCompletion() { finish_(std::move(result), finished); }
  FlightCompletion(const FlightCompletion&) = delete;
  FlightCompletion& operator=(const FlightCompletion&) = delete;

  Result<std::string> result = unexpected(ErrorKind::Unavailable, "fetch abandoned");
  bool finished = false;

 private:
  std::function<void(Result<std::string>, bool)> finish_;
};

}  // namespace

net::awaitable<void> RevocationChecker::run_flight(std::shared_ptr<RevocationChecker> self,
                                                   std::shared_ptr<Flight> flight,
                                                   std::string flight_key,
                                                   http::FetchRequest request, size_t max_body) {
  FlightCompletion completion([self, flight, flight_key](Result<std::string> result, bool wake) {
    std::vector<std::shared_ptr<net::SteadyTimer>> waiters;
    {
      std::lock_guard lock(flight->mutex);
      flight->done = true;
      flight->body = std::move(result);
      waiters.swap(flight->waiters);
    }
    {
      std::lock_guard lock(self->flights_mutex_);
      auto it = self->flights_.find(flight_key);
      if (it != self->flights_.end() && it->second == flight) self->flights_.erase(it);
    }
    if (!wake) return;
    for (auto& timer : waiters) {
      // Timers are not thread-safe: cancel each on its own worker's loop.
      net::asio::post(timer->get_executor(), [timer] { timer->cancel(); });
    }
  });
  http::FetchOptions fetch_options;
  fetch_options.timeout = options_.fetch_timeout;
  fetch_options.max_body = max_body;
  const std::string url = request.url;
  auto fetched = co_await fetcher_->fetch(std::move(request), std::move(fetch_options));
  if (!fetched) {
    core::log_event("warn", "revocation fetch failed",
                    {{"url", url}, {"error", fetched.error().message}});
    completion.result = unexpected(fetched.error());
  } else if (fetched->status != 200) {
    core::log_event("warn", "revocation fetch failed",
                    {{"url", url}, {"status", std::to_string(fetched->status)}});
    completion.result =
        unexpected(ErrorKind::Unavailable, "HTTP status " + std::to_string(fetched->status));
  } else {
    completion.result = std::move(fetched->body);
  }
  completion.finished = true;
}

}  // namespace gh::policy
