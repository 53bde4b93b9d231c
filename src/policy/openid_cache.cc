#include "policy/openid_cache.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <limits>

#include "core/event_log.h"
#include "core/strings.h"
#include "jose/json.h"

namespace gh::policy {
namespace {

namespace asio = net::asio;
namespace json = boost::json;

// Discovery documents are a few KiB (Entra's ~2 KiB); nesting is shallow.
constexpr jose::JsonLimits kMetadataLimits{256 * 1024, 16};
constexpr size_t kMaxIssuerLength = 2048;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

bool is_printable(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
}

bool is_loopback_host(std::string_view host) {
  if (core::iequals(host, "localhost")) return true;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

bool is_success(unsigned status) noexcept {
  return status >= 200 && status < 300;
}

// A fetch error names the URL it failed for, query included: keep only the redacted form.
std::string scrub(std::string message, std::string_view url) {
  const std::string redacted = redact_url(url);
  if (redacted.size() == url.size()) return message;
  for (size_t at = message.find(url); at != std::string::npos;
       at = message.find(url, at + redacted.size())) {
    message.replace(at, url.size(), redacted);
  }
  return message;
}

// Text from a fetched document (a JWK's reason for being skipped) kept printable and short.
std::string printable_excerpt(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 200; ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    out += u >= 0x20 && u < 0x7f ? s[i] : '?';
  }
  if (s.size() > 200) out += "...";
  return out;
}

core::Unexpected fetch_failed(std::string message) {
  return unexpected(ErrorKind::Unavailable, std::move(message));
}

}  // namespace

bool is_fetchable_url(std::string_view url) noexcept {
  if (url.empty() || !is_printable(url) || url.find(' ') != std::string_view::npos) return false;
  bool tls = false;
  std::string_view rest;
  if (url.size() > 8 && core::iequals(url.substr(0, 8), "https://")) {
    tls = true;
    rest = url.substr(8);
  } else if (url.size() > 7 && core::iequals(url.substr(0, 7), "http://")) {
    rest = url.substr(7);
  } else {
    return false;
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  if (tls) return true;
  std::string_view host = authority;
  if (host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    host = host.substr(1, close - 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return is_loopback_host(host);
}

std::string redact_url(std::string_view url) {
  return std::string(url.substr(0, url.find_first_of("?#")));
}

Result<OpenIdMetadata> parse_openid_metadata(std::string_view text) {
  auto doc = jose::parse_strict_json_object(text, kMetadataLimits);
  if (!doc) {
    return unexpected(ErrorKind::InvalidArgument, "the discovery document is not a JSON object");
  }
  const json::value* issuer = doc->if_contains("issuer");
  if (issuer == nullptr || !issuer->is_string() || issuer->get_string().empty()) {
    return unexpected(ErrorKind::InvalidArgument, "the discovery document has no issuer");
  }
  const std::string_view issuer_text = issuer->get_string();
  if (issuer_text.size() > kMaxIssuerLength || !is_printable(issuer_text)) {
    return unexpected(ErrorKind::InvalidArgument,
                      "the discovery document's issuer is not printable text of at most 2048 "
                      "characters");
  }
  const json::value* jwks_uri = doc->if_contains("jwks_uri");
  if (jwks_uri == nullptr || !jwks_uri->is_string()) {
    return unexpected(ErrorKind::InvalidArgument, "the discovery document has no jwks_uri");
  }
  if (!is_fetchable_url(jwks_uri->get_string())) {
    return unexpected(ErrorKind::InvalidArgument,
                      "the discovery document's jwks_uri is not an https:// URL (or http:// to a "
                      "loopback host)");
  }
  return OpenIdMetadata{std::string(issuer_text), std::string(jwks_uri->get_string())};
}

// ---------------------------------------------------------------------------------------------

OpenIdSource::OpenIdSource(OpenIdCache& cache, const OpenIdCacheOptions& options, std::string url)
    : options_(options), url_(std::move(url)), cache_(&cache) {}

std::shared_ptr<const OpenIdConfiguration> OpenIdSource::current(int64_t now) const noexcept {
  auto config = current_.load(std::memory_order_acquire);
  if (config && now - config->fetched_at > options_.max_staleness.count()) return nullptr;
  return config;
}

int64_t OpenIdSource::min_interval() const noexcept {
  if (current_.load(std::memory_order_relaxed)) return options_.min_refetch_interval.count();
  return std::min(options_.min_refetch_interval, options_.retry_without_keys).count();
}

void OpenIdSource::retry_if_missing(int64_t now) {
  if (current_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard lock(mutex_);
    if (in_flight_) return;
    last_attempt_ = INT64_MIN / 2;
  }
  start_fetch(now);
}

bool OpenIdSource::fetch_possible(int64_t now) const {
  std::lock_guard lock(mutex_);
  if (in_flight_ || retry_scheduled_) return true;
  if (cache_ == nullptr) return false;
  // Without keys a request waits for the next attempt (at most retry_without_keys away) rather
  // than being refused: at start the IdP (or a front before it) may come up a moment later.
  if (!current_.load(std::memory_order_acquire)) return true;
  return now - last_attempt_ >= min_interval();
}

bool OpenIdSource::request_attempt(int64_t now) {
  std::lock_guard lock(mutex_);
  if (in_flight_ || retry_scheduled_) return true;
  if (cache_ == nullptr) return false;
  if (now - last_attempt_ >= min_interval()) {
    begin_fetch_locked(now);
    return true;
  }
  if (current_.load(std::memory_order_acquire)) return false;
  schedule_retry_locked();
  return true;
}

bool OpenIdSource::start_fetch(int64_t now) {
  std::lock_guard lock(mutex_);
  if (in_flight_) return true;
  if (cache_ == nullptr) return false;
  if (now - last_attempt_ < min_interval()) return false;
  begin_fetch_locked(now);
  return true;
}

void OpenIdSource::begin_fetch_locked(int64_t now) {
  in_flight_ = true;
  retry_scheduled_ = false;
  last_attempt_ = now;
  next_refresh_at_.store(kNever, std::memory_order_relaxed);
  fetches_.fetch_add(1, std::memory_order_relaxed);
  // Under the lock, so that the cache cannot go away in between (abandon() takes it too).
  cache_->spawn_fetch(shared_from_this(), now);
}

void OpenIdSource::schedule_retry_locked() {
  retry_scheduled_ = true;
  cache_->spawn_retry(shared_from_this());
}

void OpenIdSource::retry_due() {
  std::lock_guard lock(mutex_);
  if (!retry_scheduled_ || in_flight_ || cache_ == nullptr) return;
  // Whatever the clock says of the last attempt: this is the attempt the waiters wait for.
  begin_fetch_locked(cache_->clock().now_unix());
}

size_t OpenIdSource::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

net::awaitable<void> OpenIdSource::wait() {
  co_await net::park(this);
}

void OpenIdSource::enqueue(net::Parked parked) {
  {
    std::lock_guard lock(mutex_);
    if (in_flight_ || retry_scheduled_) {
      waiters_.push_back({std::move(parked)});
      return;
    }
  }
  // Nothing to wait for: resume through the executor, never inline inside the initiation.
  std::move(parked).resume();
}

void OpenIdSource::abandon() {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    cache_ = nullptr;
    in_flight_ = false;
    retry_scheduled_ = false;
    waiters.swap(waiters_);
  }
  for (Waiter& w : waiters)
    std::move(w.parked).resume();
}

void OpenIdSource::finish(Result<std::shared_ptr<const OpenIdConfiguration>> fetched,
                          int64_t attempted_at) {
  const auto& options = options_;
  int64_t next_refresh = attempted_at + options.min_refetch_interval.count();
  const bool ok = fetched.has_value();
  if (ok) {
    next_refresh =
        std::max(next_refresh, (*fetched)->fetched_at + options.refresh_interval.count());
    // Published before the waiters are resumed, so that they see it.
    current_.store(std::move(*fetched), std::memory_order_release);
  }
  std::vector<Waiter> waiters;  // to resume now
  bool first = false;
  OpenIdCache* cache = nullptr;
  {
    std::lock_guard lock(mutex_);
    cache = cache_;
    in_flight_ = false;
    // Without keys (the IdP, or the front before it, still starting): who waited for this
    // attempt waits for one more, retry_without_keys later, rather than being refused at once.
    if (!ok && cache_ != nullptr && !current_.load(std::memory_order_relaxed)) {
      std::vector<Waiter> carried;
      for (Waiter& w : waiters_) {
        auto& to = w.carried ? waiters : carried;
        to.push_back(std::move(w));
        to.back().carried = true;
      }
      waiters_.swap(carried);
      if (!waiters_.empty()) schedule_retry_locked();
    } else {
      waiters.swap(waiters_);
    }
    first = !first_done_;
    first_done_ = true;
    next_refresh_at_.store(next_refresh, std::memory_order_relaxed);
  }
  if (!ok) {
    // The attempt made while the configuration loads fails as a matter of course when the
    // issuer is this process's own identity role (not listening yet), and the server tries
    // again as soon as it listens: only failures after that are worth a warning.
    const bool serving = current_.load(std::memory_order_relaxed) != nullptr;
    core::log_event(
        first ? "info" : "warn",
        first ? "openid-config not reachable at load, retrying" : "openid-config fetch failed",
        {{"url", redact_url(url_)},
         {"error", fetched.error().message},
         {"keys", serving ? "serving the last good keys" : "no keys yet"}});
    // Counted once the source is ready for the next attempt (tests wait on the counters).
    failures_.fetch_add(1, std::memory_order_relaxed);
  }
  for (Waiter& w : waiters)
    std::move(w.parked).resume();
  // finish() runs on the cache's thread, which the cache joins before it goes away.
  if (first && cache != nullptr) cache->first_fetch_done();
}

// ---------------------------------------------------------------------------------------------

OpenIdCache::OpenIdCache(const core::Clock& clock, Options options, DocumentFetcher fetcher)
    : clock_(clock),
      options_(std::move(options)),
      fetcher_(std::move(fetcher)),
      work_(asio::make_work_guard(io_.get_executor())) {
  if (!fetcher_) {
    fetcher_ = [fetch_options = options_.fetch](std::string url) {
      return http::fetch_url(std::move(url), fetch_options);
    };
  }
  thread_ = std::thread([this] { io_.run(); });
}

OpenIdCache::~OpenIdCache() {
  work_.reset();
  io_.stop();
  thread_.join();
  // A waiter's handler holds work on its worker's loop: leaving it queued would keep that loop
  // from ever finishing.
  std::lock_guard lock(sources_mutex_);
  for (const auto& [url, source] : sources_)
    source->abandon();
}

std::shared_ptr<OpenIdSource> OpenIdCache::source(const std::string& url) {
  std::shared_ptr<OpenIdSource> created;
  {
    std::lock_guard lock(sources_mutex_);
    auto it = sources_.find(url);
    if (it != sources_.end()) return it->second;
    created = std::make_shared<OpenIdSource>(*this, options_, url);
    sources_.emplace(url, created);
  }
  {
    std::lock_guard lock(first_mutex_);
    ++first_pending_;
  }
  created->start_fetch(clock_.now_unix());
  return created;
}

bool OpenIdCache::wait_for_first_fetches(std::chrono::milliseconds timeout) {
  std::unique_lock lock(first_mutex_);
  return first_cv_.wait_for(lock, timeout, [this] { return first_pending_ == 0; });
}

void OpenIdCache::first_fetch_done() {
  std::lock_guard lock(first_mutex_);
  if (first_pending_ > 0) --first_pending_;
  first_cv_.notify_all();
}

void OpenIdCache::refetch_missing() {
  std::vector<std::shared_ptr<OpenIdSource>> sources;
  {
    std::lock_guard lock(sources_mutex_);
    for (const auto& [url, source] : sources_)
      sources.push_back(source);
  }
  for (const auto& s : sources)
    s->retry_if_missing(clock_.now_unix());
}

uint64_t OpenIdCache::fetches() const {
  std::lock_guard lock(sources_mutex_);
  uint64_t n = 0;
  for (const auto& [url, source] : sources_)
    n += source->fetches();
  return n;
}

uint64_t OpenIdCache::failures() const {
  std::lock_guard lock(sources_mutex_);
  uint64_t n = 0;
  for (const auto& [url, source] : sources_)
    n += source->failures();
  return n;
}

void OpenIdCache::spawn_fetch(std::shared_ptr<OpenIdSource> source, int64_t attempted_at) {
  // Posted, never run inline: the caller holds the source's lock, and on this thread (a
  // scheduled retry) co_spawn would start the fetch at once, and a fetch that completes
  // without suspending would reach finish(), which takes that lock again.
  asio::post(io_, [this, source = std::move(source), attempted_at]() mutable {
    asio::co_spawn(io_, run_fetch(std::move(source), attempted_at), asio::detached);
  });
}

void OpenIdCache::spawn_retry(std::shared_ptr<OpenIdSource> source) {
  asio::co_spawn(io_, run_retry(std::move(source), options_.retry_without_keys), asio::detached);
}

net::awaitable<void> OpenIdCache::run_retry(std::shared_ptr<OpenIdSource> source,
                                            std::chrono::seconds delay) {
  net::SteadyTimer timer(co_await asio::this_coro::executor, delay);
  auto [ec] = co_await timer.async_wait(net::use_tuple);
  if (!ec) source->retry_due();
}

net::awaitable<void> OpenIdCache::run_fetch(std::shared_ptr<OpenIdSource> source,
                                            int64_t attempted_at) {
  auto fetched = co_await fetch_configuration(source->url());
  source->finish(std::move(fetched), attempted_at);
}

net::awaitable<Result<std::shared_ptr<const OpenIdConfiguration>>> OpenIdCache::fetch_configuration(
    std::string url) {
  auto metadata_doc = co_await fetcher_(url);
  if (!metadata_doc)
    co_return fetch_failed("metadata: " + scrub(metadata_doc.error().message, url));
  if (!is_success(metadata_doc->status)) {
    co_return fetch_failed("metadata answered HTTP " + std::to_string(metadata_doc->status));
  }
  auto metadata = parse_openid_metadata(metadata_doc->body);
  if (!metadata) co_return fetch_failed(metadata.error().message);

  const std::string jwks_uri = metadata->jwks_uri;
  auto jwks_doc = co_await fetcher_(jwks_uri);
  if (!jwks_doc) co_return fetch_failed("jwks: " + scrub(jwks_doc.error().message, jwks_uri));
  if (!is_success(jwks_doc->status)) {
    co_return fetch_failed("jwks_uri answered HTTP " + std::to_string(jwks_doc->status));
  }
  auto set_doc = jose::parse_strict_json_object(jwks_doc->body, jose::kJwkSetLimits);
  if (!set_doc) co_return fetch_failed("the JWKS is not a JSON object");
  // Bounded work per token without kid, and per JWKS parse: keep the first max_keys keys.
  if (json::value* list = set_doc->if_contains("keys"); list != nullptr && list->is_array()) {
    json::array& keys = list->get_array();
    if (keys.size() > options_.max_keys) {
      keys.erase(keys.begin() + static_cast<std::ptrdiff_t>(options_.max_keys), keys.end());
    }
  }
  auto set = jose::JwkSet::parse(json::serialize(*set_doc));
  if (!set)
    co_return fetch_failed("no usable key in the JWKS: " + printable_excerpt(set.error().message));

  auto config = std::make_shared<OpenIdConfiguration>();
  config->issuer = std::move(metadata->issuer);
  config->jwks_uri = jwks_uri;
  config->keys = std::make_shared<const jose::JwkSet>(std::move(*set));
  config->fetched_at = clock_.now_unix();
  co_return std::shared_ptr<const OpenIdConfiguration>(std::move(config));
}

}  // namespace gh::policy
