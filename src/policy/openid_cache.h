#pragma once

// OpenID Connect metadata and signing keys per openid-config URL, shared by every worker
// (validate-jwt, validate-azure-ad-token; apim-policies.md §2.5).
//
// One OpenIdSource per URL for the whole process. Its current configuration (issuer, jwks_uri,
// JwkSet) is an immutable snapshot behind std::atomic<std::shared_ptr>: the request path reads
// it with one atomic load and never waits for a lock held across I/O.
//
// When fetches happen (all times from the injected core::Clock, so tests need no sleeping):
//  * at registration (source()), in the background;
//  * when the snapshot is older than refresh_interval (1 h, APIM's), started by the first request
//    that notices, which goes on with the keys it has (stale-while-revalidate);
//  * when a token names a kid no snapshot has, or no snapshot exists yet: then the request waits.
// Whatever the trigger, a URL has at most one fetch in flight, and a new one starts at most once
// per min_refetch_interval (5 min, APIM's), so tokens with made-up kids cannot make Gatehouse
// hammer an IdP. Requests that wait for a fetch are resumed on their own executor when it ends.
//
// A failed fetch keeps the last good snapshot, which keeps serving until it is max_staleness old:
// an IdP outage does not turn into a 401 storm. Each failed attempt is logged once (URL without
// its query, never a document's content).
//
// Fetches run on the cache's own thread and event loop; the fetcher is injectable (tests serve
// documents from a loopback server or from memory). The cache lives in policy::Services for the
// life of the process; a source that outlives it (a policy destroyed later) serves what it has
// and fetches nothing, and requests waiting when the cache goes away are resumed.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/url_fetch.h"
#include "jose/jwk_set.h"
#include "net/asio.h"
#include "net/parked.h"

namespace gh::policy {

/// What validate-jwt needs from an OpenID Provider Metadata document (OpenID Connect Discovery
/// 1.0 §3).
struct OpenIdMetadata {
  std::string issuer;
  std::string jwks_uri;
};

/// Parses a discovery document: a strict JSON object with a non-empty string `issuer` (printable,
/// at most 2048 characters) and a `jwks_uri` that is_fetchable_url() accepts. Other members are
/// ignored. InvalidArgument with a message that never quotes the document.
Result<OpenIdMetadata> parse_openid_metadata(std::string_view json);

/// https:// with a host, or http:// to a loopback host (127.0.0.0/8, [::1], localhost): metadata
/// and keys are never fetched in clear text over a network.
bool is_fetchable_url(std::string_view url) noexcept;

/// `url` without its query and fragment, for log lines (a query may carry a secret).
std::string redact_url(std::string_view url);

/// One fetched configuration: immutable, shared by every request that uses it.
struct OpenIdConfiguration {
  std::string issuer;
  std::string jwks_uri;
  std::shared_ptr<const jose::JwkSet> keys;
  int64_t fetched_at = 0;  // Unix seconds (the cache's clock)
};

/// GETs a URL: http::fetch_url by default.
using DocumentFetcher =
    std::function<net::awaitable<Result<http::FetchedDocument>>(std::string url)>;

class OpenIdCache;

struct OpenIdCacheOptions {
  std::chrono::seconds refresh_interval{3600};     // APIM: every hour
  std::chrono::seconds min_refetch_interval{300};  // APIM: at most once per 5 min
  /// While no keys were ever fetched (the IdP was down at start, or is this process's own
  /// identity role, not yet listening), a new attempt may start this soon after a failed one.
  std::chrono::seconds retry_without_keys{1};
  std::chrono::seconds max_staleness{86400};  // serve last good keys this long at most
  size_t max_keys = 100;                      // keys kept from a JWKS (Entra keeps 100)
  http::FetchOptions fetch;                   // for the default fetcher
};

/// The cache entry of one openid-config URL. Thread-safe.
class OpenIdSource : public std::enable_shared_from_this<OpenIdSource> {
 public:
  OpenIdSource(OpenIdCache& cache, const OpenIdCacheOptions& options, std::string url);
  OpenIdSource(const OpenIdSource&) = delete;
  OpenIdSource& operator=(const OpenIdSource&) = delete;

  const std::string& url() const noexcept { return url_; }

  /// The last good configuration if it is at most max_staleness old at `now`, else null.
  /// One atomic load; no lock.
  std::shared_ptr<const OpenIdConfiguration> current(int64_t now) const noexcept;

  /// Starts a background refresh when the snapshot is due (refresh_interval) or a failed attempt
  /// may be retried. One relaxed atomic load when nothing is due.
  void refresh_if_due(int64_t now) noexcept {
    if (now >= next_refresh_at_.load(std::memory_order_relaxed)) start_fetch(now);
  }

  /// Whether a request waiting now would see an attempt finish: one is in flight or scheduled,
  /// or one may start (min_refetch_interval since the last attempt), or no keys were ever
  /// fetched (request_attempt() then schedules one).
  bool fetch_possible(int64_t now) const;
  /// For a request that needs keys this source may not have: starts a fetch when one may
  /// start; while no keys were ever fetched and the last attempt is too recent, schedules the
  /// next one retry_without_keys away (one timer, however many requests). True when wait()
  /// will see an attempt finish.
  bool request_attempt(int64_t now);
  /// Forgets the last failed attempt when there are no keys, then starts a fetch.
  void retry_if_missing(int64_t now);
  /// The minimum time between attempts now: shorter while nothing was ever fetched.
  int64_t min_interval() const noexcept;

  /// Starts a fetch unless one is in flight or the last attempt is less than
  /// min_refetch_interval old. True when a fetch is in flight after the call.
  bool start_fetch(int64_t now);

  /// Completes when no fetch is in flight (at once when none is), on the caller's executor.
  net::awaitable<void> wait();

  /// Fetches started and failed so far (tests, metrics).
  uint64_t fetches() const noexcept { return fetches_.load(std::memory_order_relaxed); }
  uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
  /// Requests waiting for the fetch in flight (tests).
  size_t waiting() const;

 private:
  friend class OpenIdCache;
  template <typename>
  friend struct net::detail::ParkInitiation;
  struct Waiter {
    net::Parked parked;
    bool carried = false;  // already moved from a failed attempt to the next one
  };

  /// net::park's hand-over: keeps the request waiting for the attempt in progress or scheduled.
  void enqueue(net::Parked parked);
  /// With mutex_ held: starts the fetch (the caller checked that one may start).
  void begin_fetch_locked(int64_t now);
  /// With mutex_ held: has the cache start an attempt retry_without_keys from now.
  void schedule_retry_locked();
  /// Called on the cache's thread when a scheduled retry is due.
  void retry_due();
  /// At shutdown: no fetch will finish any more; resumes whoever waits (they find no new keys).
  void abandon();
  /// Called on the cache's thread when a fetch ends.
  void finish(Result<std::shared_ptr<const OpenIdConfiguration>> fetched, int64_t attempted_at);

  const OpenIdCacheOptions options_;
  const std::string url_;
  std::atomic<std::shared_ptr<const OpenIdConfiguration>> current_;
  std::atomic<int64_t> next_refresh_at_{0};  // INT64_MAX while a fetch is in flight
  std::atomic<uint64_t> fetches_{0};
  std::atomic<uint64_t> failures_{0};

  // Held only to start or finish a fetch and to queue a waiter, never across I/O; the request
  // path takes it only when it has to wait anyway.
  mutable std::mutex mutex_;
  bool in_flight_ = false;                // guarded by mutex_
  bool retry_scheduled_ = false;          // guarded by mutex_
  int64_t last_attempt_ = INT64_MIN / 2;  // guarded by mutex_
  bool first_done_ = false;               // guarded by mutex_
  std::vector<Waiter> waiters_;           // guarded by mutex_
  OpenIdCache* cache_;  // guarded by mutex_; null once the cache is gone (shutdown)
};

class OpenIdCache {
 public:
  using Options = OpenIdCacheOptions;

  /// `fetcher` null: http::fetch_url with options.fetch. Starts the fetch thread.
  OpenIdCache(const core::Clock& clock, Options options, DocumentFetcher fetcher = nullptr);
  explicit OpenIdCache(const core::Clock& clock) : OpenIdCache(clock, Options{}) {}
  /// Stops the fetch thread; fetches in flight are abandoned and their waiters resumed.
  ~OpenIdCache();
  OpenIdCache(const OpenIdCache&) = delete;
  OpenIdCache& operator=(const OpenIdCache&) = delete;

  /// The source for `url` (exact string), created on first use with a fetch started at once.
  /// Callers check is_fetchable_url() first.
  std::shared_ptr<OpenIdSource> source(const std::string& url);

  /// Blocks until no source has its first fetch in flight, or `timeout` passes: for start-up,
  /// so the first requests find keys. True when none is left in flight.
  bool wait_for_first_fetches(std::chrono::milliseconds timeout);

  /// Starts a new attempt at once for every source that has no keys yet, whatever the retry
  /// interval: for when the server has just started listening (a source may be this process's
  /// own identity role, unreachable while the configuration was loading).
  void refetch_missing();

  const core::Clock& clock() const noexcept { return clock_; }
  const Options& options() const noexcept { return options_; }
  /// Totals over every source (metrics).
  uint64_t fetches() const;
  uint64_t failures() const;

 private:
  friend class OpenIdSource;
  void spawn_fetch(std::shared_ptr<OpenIdSource> source, int64_t attempted_at);
  void spawn_retry(std::shared_ptr<OpenIdSource> source);
  void first_fetch_done();
  net::awaitable<void> run_fetch(std::shared_ptr<OpenIdSource> source, int64_t attempted_at);
  static net::awaitable<void> run_retry(std::shared_ptr<OpenIdSource> source,
                                        std::chrono::seconds delay);
  net::awaitable<Result<std::shared_ptr<const OpenIdConfiguration>>> fetch_configuration(
      std::string url);

  const core::Clock& clock_;
  const Options options_;
  DocumentFetcher fetcher_;
  net::asio::io_context io_{1};
  net::asio::executor_work_guard<net::Executor> work_;
  std::thread thread_;

  mutable std::mutex sources_mutex_;  // guards sources_ (registration only, never per request)
  std::map<std::string, std::shared_ptr<OpenIdSource>, std::less<>> sources_;

  std::mutex first_mutex_;  // guards first_pending_; first_cv_ signals it reaching 0
  std::condition_variable first_cv_;
  size_t first_pending_ = 0;
};

}  // namespace gh::policy
