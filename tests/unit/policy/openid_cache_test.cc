#include "policy/openid_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "jwt_fixtures.h"
#include "support/static_http_server.h"
#include "support/wait.h"

namespace gh::policy {
namespace {

using ::gh::test::wait_until;
using test::FetchGate;
using test::ManualClock;
using test::MemoryDocuments;

constexpr const char* kMetadataUrl = "https://idp.test/.well-known/openid-configuration";
constexpr const char* kJwksUrl = "https://idp.test/keys";

// Returns once `source` has no fetch in flight: the keys are published a moment before the
// fetch is marked done, so seeing new keys does not yet mean a new attempt may be judged.
void wait_until_idle(OpenIdSource& source) {
  net::asio::io_context io(1);
  net::asio::co_spawn(io.get_executor(), source.wait(), net::asio::detached);
  io.run();
}

TEST(OpenIdMetadata, ParsesIssuerAndJwksUri) {
  auto m = parse_openid_metadata(
      R"({"issuer":"https://idp.test/","jwks_uri":"https://idp.test/keys","x":[1,{"y":2}]})");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->issuer, "https://idp.test/");
  EXPECT_EQ(m->jwks_uri, "https://idp.test/keys");
}

TEST(OpenIdMetadata, RejectsWhatCannotBeTrusted) {
  EXPECT_FALSE(parse_openid_metadata("not json"));
  EXPECT_FALSE(parse_openid_metadata("[]"));
  EXPECT_FALSE(parse_openid_metadata(R"({"jwks_uri":"https://idp.test/keys"})"));
  EXPECT_FALSE(parse_openid_metadata(R"({"issuer":"","jwks_uri":"https://idp.test/keys"})"));
  EXPECT_FALSE(parse_openid_metadata(R"({"issuer":5,"jwks_uri":"https://idp.test/keys"})"));
  EXPECT_FALSE(parse_openid_metadata(R"({"issuer":"a\nb","jwks_uri":"https://idp.test/keys"})"));
  EXPECT_FALSE(parse_openid_metadata(R"({"issuer":"https://idp.test/"})"));
  // Keys in clear text over a network could be replaced by anyone on the path.
  auto plain = parse_openid_metadata(R"({"issuer":"i","jwks_uri":"http://idp.test/keys"})");
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message.find("jwks_uri"), std::string::npos);
  // Duplicate members are refused (two parsers could pick different ones).
  EXPECT_FALSE(
      parse_openid_metadata(R"({"issuer":"a","issuer":"b","jwks_uri":"https://idp.test/keys"})"));
}

TEST(OpenIdMetadata, FetchableUrls) {
  EXPECT_TRUE(is_fetchable_url("https://login.microsoftonline.com/t/v2.0/.well-known/x"));
  EXPECT_TRUE(is_fetchable_url("HTTPS://idp.test"));
  EXPECT_TRUE(is_fetchable_url("http://127.0.0.1:8443/x"));
  EXPECT_TRUE(is_fetchable_url("http://localhost/x"));
  EXPECT_TRUE(is_fetchable_url("http://[::1]:80/x"));
  EXPECT_FALSE(is_fetchable_url("http://idp.test/x"));
  EXPECT_FALSE(is_fetchable_url("http://10.0.0.1/x"));
  EXPECT_FALSE(is_fetchable_url("ftp://idp.test/x"));
  EXPECT_FALSE(is_fetchable_url("https://"));
  EXPECT_FALSE(is_fetchable_url("https://user@idp.test/"));
  EXPECT_FALSE(is_fetchable_url("https://idp.test/a b"));
  EXPECT_EQ(redact_url("https://idp.test/x?secret=1#f"), "https://idp.test/x");
}

class OpenIdCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    docs_->set(kMetadataUrl, test::metadata_of("https://idp.test/", kJwksUrl));
    docs_->set(kJwksUrl, test::jwks_of({&key_a_}));
  }
  std::unique_ptr<OpenIdCache> make_cache() {
    return std::make_unique<OpenIdCache>(clock_, OpenIdCache::Options{},
                                         test::memory_fetcher(docs_, gate_));
  }

  ManualClock clock_;
  std::shared_ptr<MemoryDocuments> docs_ = std::make_shared<MemoryDocuments>();
  std::shared_ptr<FetchGate> gate_ = std::make_shared<FetchGate>();
  jose::Jwk key_a_ = test::signing_key("rsa-a", "a");
  jose::Jwk key_b_ = test::signing_key("rsa-b", "b");
};

TEST_F(OpenIdCacheTest, FetchesAtRegistrationOverHttp) {
  gh::test::StaticHttpServer server;
  const std::string url = server.origin() + "/tenant/.well-known/openid-configuration";
  server.set("/tenant/.well-known/openid-configuration",
             test::metadata_of("https://idp.test/tenant", server.origin() + "/tenant/keys"));
  server.set("/tenant/keys", test::jwks_of({&key_a_, &key_b_}));

  OpenIdCache cache(clock_);  // the default fetcher: http::fetch_url
  auto source = cache.source(url);
  EXPECT_EQ(cache.source(url), source);  // one source per URL
  ASSERT_TRUE(cache.wait_for_first_fetches(std::chrono::seconds(30)));
  auto config = source->current(clock_.unix());
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->issuer, "https://idp.test/tenant");
  EXPECT_NE(config->keys->find("a"), nullptr);
  EXPECT_NE(config->keys->find("b"), nullptr);
  EXPECT_EQ(source->fetches(), 1u);
  EXPECT_EQ(source->failures(), 0u);
  EXPECT_EQ(server.requests("/tenant/.well-known/openid-configuration"), 1u);
  EXPECT_EQ(server.requests("/tenant/keys"), 1u);
}

TEST_F(OpenIdCacheTest, RefetchesAtMostOncePerMinInterval) {
  auto cache = make_cache();
  auto source = cache->source(kMetadataUrl);
  ASSERT_TRUE(cache->wait_for_first_fetches(std::chrono::seconds(30)));
  const auto first = source->current(clock_.unix());
  ASSERT_NE(first, nullptr);

  // An unknown kid right after a fetch: no new fetch for 5 minutes, however often asked.
  clock_.advance(299);
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(source->start_fetch(clock_.unix()));
  EXPECT_FALSE(source->fetch_possible(clock_.unix()));
  EXPECT_EQ(source->fetches(), 1u);

  docs_->set(kJwksUrl, test::jwks_of({&key_a_, &key_b_}));
  clock_.advance(1);
  EXPECT_TRUE(source->fetch_possible(clock_.unix()));
  EXPECT_TRUE(source->start_fetch(clock_.unix()));
  wait_until([&] { return source->current(clock_.unix()) != first; });
  EXPECT_EQ(source->fetches(), 2u);
  EXPECT_NE(source->current(clock_.unix())->keys->find("b"), nullptr);
  EXPECT_EQ(docs_->requests(kMetadataUrl), 2u);
}

TEST_F(OpenIdCacheTest, RefreshesHourlyWhileServingTheCurrentKeys) {
  auto cache = make_cache();
  auto source = cache->source(kMetadataUrl);
  ASSERT_TRUE(cache->wait_for_first_fetches(std::chrono::seconds(30)));
  const auto first = source->current(clock_.unix());

  clock_.advance(3599);
  source->refresh_if_due(clock_.unix());
  EXPECT_EQ(source->fetches(), 1u);

  gate_->open = false;  // the refresh is slow: requests keep the keys they have meanwhile
  clock_.advance(1);
  source->refresh_if_due(clock_.unix());
  source->refresh_if_due(clock_.unix());
  EXPECT_EQ(source->fetches(), 2u);
  EXPECT_EQ(source->current(clock_.unix()), first);
  gate_->open = true;
  wait_until([&] { return source->current(clock_.unix()) != first; });
  EXPECT_EQ(source->fetches(), 2u);
}

TEST_F(OpenIdCacheTest, OutageServesLastGoodKeysUntilMaxStaleness) {
  auto cache = make_cache();
  auto source = cache->source(kMetadataUrl);
  ASSERT_TRUE(cache->wait_for_first_fetches(std::chrono::seconds(30)));
  const auto good = source->current(clock_.unix());
  ASSERT_NE(good, nullptr);

  docs_->make_unreachable(kMetadataUrl);
  clock_.advance(3600);
  source->refresh_if_due(clock_.unix());
  wait_until([&] { return source->failures() == 1; });
  EXPECT_EQ(source->current(clock_.unix()), good);

  // Failed attempts are retried once per min interval, not per request.
  for (int i = 0; i < 10; ++i)
    source->refresh_if_due(clock_.unix());
  EXPECT_EQ(source->fetches(), 2u);
  clock_.advance(300);
  source->refresh_if_due(clock_.unix());
  wait_until([&] { return source->failures() == 2; });
  EXPECT_EQ(source->current(clock_.unix()), good);
  EXPECT_EQ(cache->failures(), 2u);

  // A day after the last good fetch the keys are too old to trust.
  clock_.advance(86400 - 3600 - 300);
  EXPECT_EQ(source->current(clock_.unix()), good);
  clock_.advance(1);
  EXPECT_EQ(source->current(clock_.unix()), nullptr);
}

TEST_F(OpenIdCacheTest, BadDocumentsAreFailuresNotKeys) {
  auto cache = make_cache();
  docs_->set(kJwksUrl, R"({"keys":[]})");
  auto source = cache->source(kMetadataUrl);
  ASSERT_TRUE(cache->wait_for_first_fetches(std::chrono::seconds(30)));
  EXPECT_EQ(source->current(clock_.unix()), nullptr);
  EXPECT_EQ(source->failures(), 1u);

  docs_->set(kJwksUrl, test::jwks_of({&key_a_}), 503);
  clock_.advance(300);
  ASSERT_TRUE(source->start_fetch(clock_.unix()));
  wait_until([&] { return source->failures() == 2; });
  EXPECT_EQ(source->current(clock_.unix()), nullptr);
}

// At start the IdP (or the front before it) may not answer yet: while no keys were ever
// fetched, a request is never refused for want of an attempt; the source schedules the next
// one retry_without_keys (1 s) away, and every request waiting joins that one attempt.
TEST_F(OpenIdCacheTest, WithoutKeysARequestWaitsForTheNextAttempt) {
  auto cache = make_cache();
  docs_->make_unreachable(kMetadataUrl);
  auto source = cache->source(kMetadataUrl);
  ASSERT_TRUE(cache->wait_for_first_fetches(std::chrono::seconds(30)));
  ASSERT_EQ(source->current(clock_.unix()), nullptr);
  EXPECT_EQ(source->failures(), 1u);
  // In the same second as the failed attempt: no fetch may start now, yet a request may wait
  // for the one the source schedules; a second request joins it rather than adding another.
  EXPECT_FALSE(source->start_fetch(clock_.unix()));
  EXPECT_TRUE(source->fetch_possible(clock_.unix()));
  docs_->set(kMetadataUrl, test::metadata_of("https://idp.test/", kJwksUrl));
  EXPECT_TRUE(source->request_attempt(clock_.unix()));
  EXPECT_TRUE(source->request_attempt(clock_.unix()));
  EXPECT_EQ(source->fetches(), 1u);
  // The manual clock never moves: the scheduled attempt does not depend on it.
  wait_until([&] { return source->current(clock_.unix()) != nullptr; });
  wait_until_idle(*source);
  EXPECT_EQ(source->fetches(), 2u);
  // With keys, the ordinary 5-minute interval applies again.
  EXPECT_FALSE(source->fetch_possible(clock_.unix()));
  EXPECT_FALSE(source->request_attempt(clock_.unix()));
}

// Waits as a request does, and notes how many attempts had been made when it resumed.
net::awaitable<void> wait_and_note(std::shared_ptr<OpenIdSource> source, int64_t now,
                                   std::atomic<int>* resumed, std::atomic<uint64_t>* fetches_seen) {
  source->request_attempt(now);
  co_await source->wait();
  fetches_seen->store(source->fetches());
  resumed->fetch_add(1);
}

// One request waiting for keys on its own thread (and event loop), as a worker's would.
struct WaitingRequest {
  std::atomic<int> resumed{0};
  std::atomic<uint64_t> fetches_seen{0};
  net::asio::io_context io{1};
  std::thread thread;

  WaitingRequest(std::shared_ptr<OpenIdSource> source, int64_t now) {
    thread = std::thread([this, source, now] {
      net::asio::co_spawn(io.get_executor(), wait_and_note(source, now, &resumed, &fetches_seen),
                          net::asio::detached);
      io.run();
    });
  }
  ~WaitingRequest() {
    if (thread.joinable()) thread.join();
  }
};

// A request that waited for an attempt which failed (no keys yet) waits for one more attempt,
// not for ever: the second failure resumes it without keys.
TEST_F(OpenIdCacheTest, WithoutKeysAWaiterIsCarriedToOneMoreAttempt) {
  gate_->open = false;
  docs_->make_unreachable(kMetadataUrl);
  auto cache = make_cache();
  auto source = cache->source(kMetadataUrl);
  WaitingRequest request(source, clock_.unix());
  wait_until([&] { return source->waiting() == 1; });
  gate_->open = true;  // both attempts fail
  request.thread.join();
  EXPECT_EQ(request.resumed.load(), 1);
  EXPECT_EQ(request.fetches_seen.load(), 2u);  // not resumed by the first failure
  EXPECT_EQ(source->failures(), 2u);
  EXPECT_EQ(source->current(clock_.unix()), nullptr);
  EXPECT_EQ(source->waiting(), 0u);
}

// The same, with the IdP up by the second attempt: the waiter resumes with keys.
TEST_F(OpenIdCacheTest, WithoutKeysACarriedWaiterFindsTheKeysOfTheNextAttempt) {
  gate_->open = false;
  docs_->fail_next(kMetadataUrl, 1);
  auto cache = make_cache();
  auto source = cache->source(kMetadataUrl);
  WaitingRequest request(source, clock_.unix());
  wait_until([&] { return source->waiting() == 1; });
  gate_->open = true;
  request.thread.join();
  EXPECT_EQ(request.resumed.load(), 1);
  EXPECT_EQ(request.fetches_seen.load(), 2u);
  EXPECT_EQ(source->failures(), 1u);
  EXPECT_NE(source->current(clock_.unix()), nullptr);
}

// Many requests on two worker threads wait for the same kid: one fetch, and every waiter is
// resumed on its own thread.
net::awaitable<void> wait_for_keys(std::shared_ptr<OpenIdSource> source, int64_t now,
                                   std::thread::id expected, std::atomic<int>* resumed,
                                   std::atomic<int>* on_own_thread) {
  source->start_fetch(now);
  co_await source->wait();
  resumed->fetch_add(1);
  if (std::this_thread::get_id() == expected) on_own_thread->fetch_add(1);
}

TEST_F(OpenIdCacheTest, ConcurrentWaitersOnTwoThreadsShareOneFetch) {
  auto cache = make_cache();
  auto source = cache->source(kMetadataUrl);
  ASSERT_TRUE(cache->wait_for_first_fetches(std::chrono::seconds(30)));
  ASSERT_EQ(source->fetches(), 1u);

  docs_->set(kJwksUrl, test::jwks_of({&key_a_, &key_b_}));
  gate_->open = false;
  clock_.advance(300);
  constexpr int kPerThread = 50;
  std::atomic<int> resumed{0}, on_own_thread{0};
  net::asio::io_context io1(1), io2(1);
  std::thread t1, t2;
  auto start = [&](net::asio::io_context& io, std::thread& t) {
    t = std::thread([&io, &resumed, &on_own_thread, &source, this] {
      for (int i = 0; i < kPerThread; ++i) {
        net::asio::co_spawn(io.get_executor(),
                            wait_for_keys(source, clock_.unix(), std::this_thread::get_id(),
                                          &resumed, &on_own_thread),
                            net::asio::detached);
      }
      io.run();
    });
  };
  start(io1, t1);
  start(io2, t2);
  wait_until([&] { return source->waiting() == 2 * kPerThread; });
  EXPECT_EQ(resumed.load(), 0);
  gate_->open = true;
  t1.join();
  t2.join();
  EXPECT_EQ(resumed.load(), 2 * kPerThread);
  EXPECT_EQ(on_own_thread.load(), 2 * kPerThread);
  EXPECT_EQ(source->fetches(), 2u);
  EXPECT_EQ(docs_->requests(kMetadataUrl), 2u);
  EXPECT_EQ(docs_->requests(kJwksUrl), 2u);
  EXPECT_NE(source->current(clock_.unix())->keys->find("b"), nullptr);
}

TEST_F(OpenIdCacheTest, WaitWithoutFetchInFlightReturnsAtOnce) {
  auto cache = make_cache();
  auto source = cache->source(kMetadataUrl);
  ASSERT_TRUE(cache->wait_for_first_fetches(std::chrono::seconds(30)));
  std::atomic<int> resumed{0}, on_own_thread{0};
  net::asio::io_context io(1);
  net::asio::co_spawn(
      io.get_executor(),
      wait_for_keys(source, clock_.unix(), std::this_thread::get_id(), &resumed, &on_own_thread),
      net::asio::detached);
  io.run();
  EXPECT_EQ(resumed.load(), 1);
  EXPECT_EQ(source->fetches(), 1u);  // within the min interval: start_fetch did not fetch
}

TEST_F(OpenIdCacheTest, WaitersAreResumedWhenTheCacheGoesAway) {
  gate_->open = false;  // the first fetch never finishes
  auto cache = make_cache();
  auto source = cache->source(kMetadataUrl);
  std::atomic<int> resumed{0}, on_own_thread{0};
  net::asio::io_context io(1);
  std::thread worker([&] {
    net::asio::co_spawn(
        io.get_executor(),
        wait_for_keys(source, clock_.unix(), std::this_thread::get_id(), &resumed, &on_own_thread),
        net::asio::detached);
    io.run();
  });
  wait_until([&] { return source->waiting() == 1; });
  cache.reset();
  worker.join();  // would hang if the waiter kept its loop's work
  EXPECT_EQ(resumed.load(), 1);
  EXPECT_EQ(source->current(clock_.unix()), nullptr);
  clock_.advance(3600);
  EXPECT_FALSE(source->start_fetch(clock_.unix()));
  EXPECT_FALSE(source->fetch_possible(clock_.unix()));
}

}  // namespace
}  // namespace gh::policy
