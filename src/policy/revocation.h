#pragma once

// Revocation status of client certificates (validate-client-certificate validate-revocation,
// apim-policies.md §4.1), process-wide: one RevocationChecker in Services, shared by all
// workers and kept across configuration reloads.
//
// Sources, in order, for each certificate of a verified chain (except the trust anchor):
//   1. local CRLs (the files configured with the client-certificate trust store): no I/O;
//   2. OCSP (RFC 6960) at the certificate's AIA responder URL, POSTed;
//   3. CRLs at the certificate's CRL distribution points (RFC 5280 §4.2.1.13), GETted.
// Answers are cached per (certificate, issuer) until the source's nextUpdate, never longer
// than a maximum TTL; fetched CRLs are cached per URL the same way. Failures are remembered for
// a short retry interval, so that an unreachable responder costs one fetch per interval, not
// one per request. At most one fetch per URL is in flight in the whole process however many
// requests wait for it.
//
// What an undeterminable status means is the operator's choice: SoftFail allows the
// certificate (logged), HardFail refuses it. A revoked certificate is always refused.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "crypto/ossl_ptr.h"
#include "http/url_fetch.h"
#include "net/asio.h"
#include "x509/certificate.h"

namespace gh::policy {

/// What a lookup found for a chain.
enum class RevocationStatus : uint8_t {
  Good,        // every checked certificate is known not to be revoked
  Revoked,     // a certificate of the chain is revoked
  Unknown,     // not determinable now (no source, responder unreachable, bad answer)
  NeedsFetch,  // lookup() only: an answer needs network I/O; call check()
};
std::string_view to_string(RevocationStatus s) noexcept;  // "good", "revoked", ...

enum class RevocationFailMode : uint8_t {
  SoftFail,  // Unknown allows the certificate (Kong's IGNORE_CA_ERROR, browsers)
  HardFail,  // Unknown refuses it (.NET's online revocation check, so APIM; nginx ssl_ocsp)
};

/// Which certificates of a verified chain are checked.
enum class RevocationScope : uint8_t {
  Chain,  // every certificate but the trust anchor (.NET's X509RevocationFlag.ExcludeRoot)
  Leaf,   // the client certificate only (nginx `ssl_ocsp leaf`)
};

struct RevocationOptions {
  RevocationFailMode fail_mode = RevocationFailMode::SoftFail;
  RevocationScope scope = RevocationScope::Chain;
  bool use_ocsp = true;
  bool use_crl_distribution_points = true;
  /// Good and revoked answers are cached until the source's nextUpdate, at most this long.
  std::chrono::seconds max_ttl{std::chrono::hours(24)};
  /// OCSP answers are cached at most this long (responders update more often than CRLs).
  std::chrono::seconds max_ocsp_ttl{std::chrono::hours(1)};
  /// After a failed fetch (or an unusable answer) the status stays Unknown this long before a
  /// new fetch is tried.
  std::chrono::seconds retry_after_failure{std::chrono::seconds(60)};
  /// Tolerated clock difference with CRL issuers and OCSP responders.
  std::chrono::seconds max_skew{std::chrono::minutes(5)};
  /// Timeout of one fetch; requests waiting for it wait at most this long.
  std::chrono::milliseconds fetch_timeout{std::chrono::seconds(5)};
  size_t max_crl_bytes = 8 * 1024 * 1024;
  size_t max_ocsp_response_bytes = 64 * 1024;
  size_t max_cached_answers = 100'000;  // (certificate, issuer) pairs, all shards together
  size_t max_cached_crls = 256;         // fetched CRLs (by URL)
  size_t max_urls_per_certificate = 3;  // AIA / CDP URLs tried per certificate
};

/// The answer for a chain, with the reason in log terms when not Good.
struct RevocationResult {
  RevocationStatus status = RevocationStatus::Unknown;
  /// A short stable text for the log ("revoked (ocsp)", "no revocation source", ...): static
  /// storage, never a URL or certificate data.
  std::string_view reason;
};

/// How the checker reaches CRL distribution points and OCSP responders; injectable for tests.
class RevocationFetcher {
 public:
  virtual ~RevocationFetcher() = default;
  /// Sends `request` (GET for CRLs, POST for OCSP) and returns the whole response.
  virtual net::awaitable<Result<http::FetchedDocument>> fetch(http::FetchRequest request,
                                                              http::FetchOptions options) = 0;
};

/// The real fetcher: http::send_request.
std::shared_ptr<RevocationFetcher> make_http_revocation_fetcher();

class RevocationChecker : public std::enable_shared_from_this<RevocationChecker> {
 public:
  /// `fetcher` null = make_http_revocation_fetcher(). Must be owned by a shared_ptr (check()
  /// keeps the checker alive while its fetches run).
  RevocationChecker(const core::Clock& clock, RevocationOptions options = {},
                    std::shared_ptr<RevocationFetcher> fetcher = nullptr);
  ~RevocationChecker();
  RevocationChecker(const RevocationChecker&) = delete;
  RevocationChecker& operator=(const RevocationChecker&) = delete;

  /// Replaces the local CRLs (from the trust store's CRL files; on reload). Thread-safe.
  /// Cached answers that came from the previous local CRLs are dropped.
  void set_local_crls(std::vector<crypto::X509CrlPtr> crls);
  /// Loads PEM or DER CRL files and sets them; errors name the file.
  Status load_local_crl_files(const std::vector<std::string>& paths);

  /// The cached answer for `chain` (leaf first, trust anchor last, as x509::verify_chain returns
  /// it): never waits, never does I/O. NeedsFetch when an answer needs a fetch: call check().
  /// Thread-safe; shared locks only.
  RevocationResult lookup(std::span<const x509::Certificate> chain) const;

  /// The answer for `chain`, fetching what lookup() lacks (one fetch per URL in flight for the
  /// whole process; others wait for it, at most fetch_timeout). Never returns NeedsFetch.
  /// Runs on the caller's executor.
  net::awaitable<RevocationResult> check(std::vector<x509::Certificate> chain);

  /// Applies fail_mode: true when `status` lets the certificate through.
  bool allows(RevocationStatus status) const noexcept;

  const RevocationOptions& options() const noexcept { return options_; }
  /// Fetches started so far (for tests and metrics).
  uint64_t fetch_count() const noexcept { return fetches_.load(std::memory_order_relaxed); }

 private:
  struct Answer;
  struct CachedCrl;
  struct LocalCrls;
  struct Flight;
  struct Shard;
  using PairKey = std::array<uint8_t, 40>;  // SHA-1 of the certificate, SHA-1 of its issuer

  RevocationResult lookup_pair(const x509::Certificate& cert, const x509::Certificate& issuer,
                               const PairKey& key) const;
  net::awaitable<RevocationResult> resolve_pair(x509::Certificate cert, x509::Certificate issuer,
                                                PairKey key);
  net::awaitable<RevocationResult> try_ocsp(const x509::Certificate& cert,
                                            const x509::Certificate& issuer, const PairKey& key,
                                            const std::string& url);
  net::awaitable<RevocationResult> try_crl(const x509::Certificate& cert,
                                           const x509::Certificate& issuer, const PairKey& key,
                                           const std::string& url);
  /// The body fetched for `flight_key`: the first caller starts the fetch (detached from its
  /// request), every caller waits for it on its own executor, at most fetch_timeout + 1 s.
  net::awaitable<Result<std::string>> single_flight(std::string flight_key,
                                                    http::FetchRequest request, size_t max_body);
  net::awaitable<void> run_flight(std::shared_ptr<RevocationChecker> self,
                                  std::shared_ptr<Flight> flight, std::string flight_key,
                                  http::FetchRequest request, size_t max_body);

  void store_answer(const PairKey& key, RevocationStatus status, int64_t expires,
                    std::string_view reason, bool from_local) const;
  Shard& shard_for(const PairKey& key) const noexcept;

  const core::Clock& clock_;
  RevocationOptions options_;
  std::shared_ptr<RevocationFetcher> fetcher_;
  std::unique_ptr<Shard[]> shards_;
  // Local CRLs: an immutable snapshot swapped on reload.
  std::atomic<std::shared_ptr<const LocalCrls>> local_;
  // Fetched CRLs by URL, and fetches in flight by key. Both are touched only on the slow
  // (fetching) path, so one mutex each is enough.
  mutable std::shared_mutex crls_mutex_;  // guards crls_
  std::unordered_map<std::string, std::shared_ptr<const CachedCrl>> crls_;
  std::mutex flights_mutex_;  // guards flights_
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
  std::atomic<uint64_t> fetches_{0};
};

}  // namespace gh::policy
