#include "policy/revocation.h"

#include <gtest/gtest.h>
#include <openssl/ocsp.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "revocation_fixtures.h"
#include "support/static_http_server.h"
#include "x509/cert_loader.h"

namespace gh::policy {
namespace {

using revocation_test::cert_of;
using revocation_test::FakeFetcher;
using revocation_test::run_check;
using revocation_test::with_revocation_urls;
using test::TestCert;
using test::TestOcspStatus;

constexpr char kOcspUrl[] = "http://ocsp.test/";
constexpr char kCrlUrl[] = "http://crl.test/issuing.crl";

class RevocationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override { fetcher_ = std::make_shared<FakeFetcher>(); }

  std::shared_ptr<RevocationChecker> checker(RevocationOptions options = leaf_only()) {
    return std::make_shared<RevocationChecker>(clock_, options, fetcher_);
  }
  static RevocationOptions leaf_only() {
    RevocationOptions o;
    o.scope = RevocationScope::Leaf;
    return o;
  }

  static std::vector<x509::Certificate> chain(const TestCert& leaf) {
    return {cert_of(leaf), cert_of(pki_->intermediate()), cert_of(pki_->root())};
  }
  static std::vector<crypto::X509CrlPtr> crls(const std::string& pem) {
    auto loaded = x509::load_crls(pem);
    EXPECT_TRUE(loaded) << loaded.error().message;
    return std::move(*loaded);
  }
  // A client certificate issued now by the intermediate, with the given revocation URLs.
  static TestCert client_with(const std::string& cn, const std::string& ocsp,
                              const std::string& crl) {
    TestCert issued = pki_->issue(&pki_->intermediate(), {.cn = cn, .ext_key_usage = "clientAuth"});
    return with_revocation_urls(std::move(issued), pki_->intermediate(), ocsp, crl);
  }
  core::Bytes ocsp(const TestCert& subject, TestOcspStatus status, int64_t next_update,
                   const TestCert* signer = nullptr) {
    return pki_->make_ocsp_response(subject, pki_->intermediate(),
                                    signer ? *signer : pki_->intermediate(), status,
                                    pki_->now() - 60, next_update);
  }

  static test::TestPki* pki_;
  test::FixedClock clock_{test::TestPki::kDefaultNow};
  std::shared_ptr<FakeFetcher> fetcher_;
};
test::TestPki* RevocationTest::pki_ = nullptr;

TEST_F(RevocationTest, LocalCrlsAnswerWithoutFetching) {
  auto c = checker(RevocationOptions{});  // whole chain: the root's CRL covers the intermediate
  c->set_local_crls(crls(pki_->crl_pem()));
  auto revoked = c->lookup(chain(pki_->revoked()));
  EXPECT_EQ(revoked.status, RevocationStatus::Revoked);
  EXPECT_EQ(revoked.reason, "revoked (local crl)");
  EXPECT_EQ(c->lookup(chain(pki_->client())).status, RevocationStatus::Good);
  EXPECT_EQ(c->lookup(chain(pki_->client())).status, RevocationStatus::Good);  // cached
  EXPECT_EQ(fetcher_->total(), 0u);
  EXPECT_FALSE(c->allows(RevocationStatus::Revoked));
}

TEST_F(RevocationTest, ReplacingLocalCrlsDropsTheirAnswers) {
  auto c = checker();
  c->set_local_crls(
      crls(pki_->make_crl(pki_->intermediate(), {}, pki_->now() - 60, pki_->now() + 86400)));
  EXPECT_EQ(c->lookup(chain(pki_->client())).status, RevocationStatus::Good);
  c->set_local_crls(crls(pki_->make_crl(pki_->intermediate(), {&pki_->client()}, pki_->now() - 60,
                                        pki_->now() + 86400)));
  EXPECT_EQ(c->lookup(chain(pki_->client())).status, RevocationStatus::Revoked);
}

TEST_F(RevocationTest, StaleOrForeignLocalCrlsDoNotCount) {
  auto c = checker();
  // Past nextUpdate, and a CRL by another CA: neither says anything about this certificate.
  c->set_local_crls(crls(pki_->make_crl(pki_->intermediate(), {&pki_->revoked()},
                                        pki_->now() - 10 * 86400, pki_->now() - 86400) +
                         pki_->make_crl(pki_->other_root(), {&pki_->revoked()}, pki_->now() - 60,
                                        pki_->now() + 86400)));
  auto r = c->lookup(chain(pki_->revoked()));
  EXPECT_EQ(r.status, RevocationStatus::Unknown);
  EXPECT_EQ(r.reason, "no revocation source");
}

TEST_F(RevocationTest, UnknownStatusFollowsTheFailMode) {
  auto soft = checker();
  auto r = soft->lookup(chain(pki_->client()));
  EXPECT_EQ(r.status, RevocationStatus::Unknown);
  EXPECT_TRUE(soft->allows(r.status));
  RevocationOptions hard_options = leaf_only();
  hard_options.fail_mode = RevocationFailMode::HardFail;
  auto hard = checker(hard_options);
  EXPECT_FALSE(hard->allows(hard->lookup(chain(pki_->client())).status));
  EXPECT_TRUE(hard->allows(RevocationStatus::Good));
  EXPECT_FALSE(soft->allows(RevocationStatus::Revoked));
  // A chain without an issuer cannot be checked at all.
  EXPECT_EQ(soft->lookup(std::vector<x509::Certificate>{cert_of(pki_->client())}).status,
            RevocationStatus::Unknown);
}

TEST_F(RevocationTest, OcspGoodIsFetchedOnceThenCached) {
  TestCert leaf = client_with("ocsp-good.test", kOcspUrl, "");
  fetcher_->set(kOcspUrl, ocsp(leaf, TestOcspStatus::Good, pki_->now() + 3600));
  auto c = checker();
  EXPECT_EQ(c->lookup(chain(leaf)).status, RevocationStatus::NeedsFetch);
  EXPECT_EQ(fetcher_->total(), 0u);  // lookup never fetches
  auto r = run_check(c, chain(leaf));
  EXPECT_EQ(r.status, RevocationStatus::Good);
  EXPECT_EQ(r.reason, "good (ocsp)");
  EXPECT_EQ(c->lookup(chain(leaf)).status, RevocationStatus::Good);
  EXPECT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Good);
  EXPECT_EQ(fetcher_->requests(kOcspUrl), 1u);
  EXPECT_EQ(c->fetch_count(), 1u);

  // The request is an RFC 6960 POST for exactly this certificate.
  ASSERT_EQ(fetcher_->log().size(), 1u);
  const http::FetchRequest& sent = fetcher_->log()[0];
  EXPECT_EQ(sent.method, "POST");
  bool content_type = false;
  for (const auto& [name, value] : sent.headers)
    content_type |= name == "Content-Type" && value == "application/ocsp-request";
  EXPECT_TRUE(content_type);
  const auto* p = reinterpret_cast<const unsigned char*>(sent.body.data());
  OCSP_REQUEST* req = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(sent.body.size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(OCSP_request_onereq_count(req), 1);
  OCSP_REQUEST_free(req);
}

TEST_F(RevocationTest, OcspRevokedByDelegatedResponder) {
  TestCert leaf = client_with("ocsp-revoked.test", kOcspUrl, "");
  fetcher_->set(kOcspUrl,
                ocsp(leaf, TestOcspStatus::Revoked, pki_->now() + 3600, &pki_->ocsp_responder()));
  auto c = checker();
  auto r = run_check(c, chain(leaf));
  EXPECT_EQ(r.status, RevocationStatus::Revoked);
  EXPECT_EQ(r.reason, "revoked (ocsp)");
  EXPECT_EQ(c->lookup(chain(leaf)).status, RevocationStatus::Revoked);
  EXPECT_EQ(fetcher_->total(), 1u);
}

TEST_F(RevocationTest, OcspSignedByAStrangerIsUnusable) {
  TestCert leaf = client_with("ocsp-forged.test", kOcspUrl, "");
  // Signed by a certificate the issuer never authorised for OCSP.
  fetcher_->set(kOcspUrl, ocsp(leaf, TestOcspStatus::Revoked, pki_->now() + 3600, &pki_->client()));
  auto r = run_check(checker(), chain(leaf));
  EXPECT_EQ(r.status, RevocationStatus::Unknown);
}

TEST_F(RevocationTest, OcspAnswerIsCachedUntilNextUpdateAtMostMaxTtl) {
  TestCert leaf = client_with("ocsp-ttl.test", kOcspUrl, "");
  fetcher_->set(kOcspUrl, ocsp(leaf, TestOcspStatus::Good, pki_->now() + 600));
  auto c = checker();
  ASSERT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Good);
  clock_.advance(599);
  EXPECT_EQ(c->lookup(chain(leaf)).status, RevocationStatus::Good);
  clock_.advance(2);
  EXPECT_EQ(c->lookup(chain(leaf)).status, RevocationStatus::NeedsFetch);

  // A week-long nextUpdate is still re-asked after max_ocsp_ttl (1 hour).
  fetcher_->set(kOcspUrl, ocsp(leaf, TestOcspStatus::Good, clock_.now_unix() + 7 * 86400));
  ASSERT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Good);
  EXPECT_EQ(fetcher_->requests(kOcspUrl), 2u);
  clock_.advance(3599);
  EXPECT_EQ(c->lookup(chain(leaf)).status, RevocationStatus::Good);
  clock_.advance(2);
  EXPECT_EQ(c->lookup(chain(leaf)).status, RevocationStatus::NeedsFetch);
}

TEST_F(RevocationTest, UnreachableResponderIsRetriedOnlyAfterTheInterval) {
  TestCert leaf = client_with("ocsp-down.test", kOcspUrl, "");
  fetcher_->fail(kOcspUrl);
  auto c = checker();
  EXPECT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Unknown);
  EXPECT_EQ(c->lookup(chain(leaf)).status, RevocationStatus::Unknown);
  EXPECT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Unknown);
  EXPECT_EQ(fetcher_->requests(kOcspUrl), 1u);  // no storm while it is down
  clock_.advance(61);
  EXPECT_EQ(c->lookup(chain(leaf)).status, RevocationStatus::NeedsFetch);
  fetcher_->set(kOcspUrl, ocsp(leaf, TestOcspStatus::Good, clock_.now_unix() + 3600));
  EXPECT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Good);
  EXPECT_EQ(fetcher_->requests(kOcspUrl), 2u);
}

TEST_F(RevocationTest, HttpErrorsAndGarbageAreUnknown) {
  TestCert a = client_with("ocsp-500.test", "http://ocsp.test/500", "");
  TestCert b = client_with("ocsp-junk.test", "http://ocsp.test/junk", "");
  fetcher_->set("http://ocsp.test/500", ocsp(a, TestOcspStatus::Good, pki_->now() + 3600), 500);
  fetcher_->set("http://ocsp.test/junk", std::string("<html>not ocsp</html>"));
  auto c = checker();
  EXPECT_EQ(run_check(c, chain(a)).status, RevocationStatus::Unknown);
  EXPECT_EQ(run_check(c, chain(b)).status, RevocationStatus::Unknown);
}

TEST_F(RevocationTest, CrlDistributionPointAfterOcspFailureAndSharedAcrossCertificates) {
  TestCert first = client_with("both.test", kOcspUrl, kCrlUrl);
  TestCert second = client_with("crl-only.test", "", kCrlUrl);
  fetcher_->fail(kOcspUrl);
  fetcher_->set(kCrlUrl, pki_->make_crl(pki_->intermediate(), {&pki_->revoked()}, pki_->now() - 60,
                                        pki_->now() + 86400));
  auto c = checker();
  auto r = run_check(c, chain(first));
  EXPECT_EQ(r.status, RevocationStatus::Good);
  EXPECT_EQ(r.reason, "good (crl)");
  EXPECT_EQ(fetcher_->requests(kOcspUrl), 1u);
  EXPECT_EQ(fetcher_->requests(kCrlUrl), 1u);
  // The CRL is cached by URL: another certificate it covers needs no fetch at all.
  EXPECT_EQ(c->lookup(chain(second)).status, RevocationStatus::Good);
  EXPECT_EQ(fetcher_->total(), 2u);
}

TEST_F(RevocationTest, CrlDistributionPointRevokesAndExpires) {
  TestCert leaf = client_with("crl-revoked.test", "", kCrlUrl);
  fetcher_->set(
      kCrlUrl, pki_->make_crl(pki_->intermediate(), {&leaf}, pki_->now() - 60, pki_->now() + 3600));
  auto c = checker();
  EXPECT_EQ(c->lookup(chain(leaf)).status, RevocationStatus::NeedsFetch);
  EXPECT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Revoked);

  TestCert other = client_with("crl-good.test", "", kCrlUrl);
  EXPECT_EQ(c->lookup(chain(other)).status, RevocationStatus::Good);
  clock_.advance(3601);  // past the CRL's nextUpdate: fetched again
  TestCert later = client_with("crl-later.test", "", kCrlUrl);
  EXPECT_EQ(c->lookup(chain(later)).status, RevocationStatus::NeedsFetch);
}

TEST_F(RevocationTest, ForgedCrlIsUnusable) {
  // Same issuer name as the intermediate, another key.
  TestCert impostor = pki_->issue(nullptr, {.cn = "Gatehouse Test Issuing CA", .is_ca = true});
  TestCert leaf = client_with("crl-forged.test", "", kCrlUrl);
  fetcher_->set(kCrlUrl, pki_->make_crl(impostor, {&leaf}, pki_->now() - 60, pki_->now() + 3600));
  auto c = checker();
  EXPECT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Unknown);
  // Remembered as a failure: no refetch within the retry interval.
  EXPECT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Unknown);
  EXPECT_EQ(fetcher_->requests(kCrlUrl), 1u);
}

TEST_F(RevocationTest, ChainScopeChecksIntermediatesToo) {
  const std::string leaf_crl =
      pki_->make_crl(pki_->intermediate(), {}, pki_->now() - 60, pki_->now() + 86400);
  auto leaf_scope = checker(leaf_only());
  leaf_scope->set_local_crls(crls(leaf_crl));
  EXPECT_EQ(leaf_scope->lookup(chain(pki_->client())).status, RevocationStatus::Good);

  auto chain_scope = checker(RevocationOptions{});
  chain_scope->set_local_crls(crls(leaf_crl));
  // Nothing says anything about the intermediate.
  EXPECT_EQ(chain_scope->lookup(chain(pki_->client())).status, RevocationStatus::Unknown);
  chain_scope->set_local_crls(
      crls(leaf_crl + pki_->make_crl(pki_->root(), {&pki_->intermediate()}, pki_->now() - 60,
                                     pki_->now() + 86400)));
  EXPECT_EQ(chain_scope->lookup(chain(pki_->client())).status, RevocationStatus::Revoked);
}

// Requests on two workers (two event loops) for the same certificate: one fetch, everyone
// gets its answer, each on its own loop.
TEST_F(RevocationTest, OneFetchInFlightAcrossWorkers) {
  TestCert leaf = client_with("ocsp-flight.test", kOcspUrl, "");
  fetcher_->set(kOcspUrl, ocsp(leaf, TestOcspStatus::Good, pki_->now() + 3600));
  fetcher_->hold();
  auto c = checker();
  net::asio::io_context worker_a(1), worker_b(1);
  std::vector<RevocationResult> results;
  auto collect = [&results](std::exception_ptr e, RevocationResult r) {
    if (e) std::rethrow_exception(e);
    results.push_back(r);
  };
  for (int i = 0; i < 3; ++i) {
    net::asio::co_spawn(worker_a.get_executor(), c->check(chain(leaf)), collect);
    net::asio::co_spawn(worker_b.get_executor(), c->check(chain(leaf)), collect);
  }
  worker_a.poll();
  worker_b.poll();
  EXPECT_EQ(fetcher_->requests(kOcspUrl), 1u);
  EXPECT_EQ(c->fetch_count(), 1u);
  EXPECT_TRUE(results.empty());  // everyone is waiting for the one fetch
  fetcher_->release();
  worker_a.run();
  worker_b.run();
  ASSERT_EQ(results.size(), 6u);
  for (const auto& r : results)
    EXPECT_EQ(r.status, RevocationStatus::Good);
  EXPECT_EQ(fetcher_->requests(kOcspUrl), 1u);
}

// The real fetcher, over a loopback socket.
TEST_F(RevocationTest, FetchesCrlOverHttp) {
  test::StaticHttpServer server;
  const std::string url = server.origin() + "/issuing.crl";
  TestCert leaf = client_with("crl-http.test", "", url);
  server.set("/issuing.crl",
             pki_->make_crl(pki_->intermediate(), {&leaf}, pki_->now() - 60, pki_->now() + 3600),
             200, "application/pkix-crl");
  auto c = std::make_shared<RevocationChecker>(clock_, leaf_only());
  EXPECT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Revoked);
  EXPECT_EQ(run_check(c, chain(leaf)).status, RevocationStatus::Revoked);
  EXPECT_EQ(server.requests("/issuing.crl"), 1u);
}

TEST_F(RevocationTest, LoadsLocalCrlFiles) {
  char path[] = "/tmp/gh-revocation-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << pki_->crl_pem();
  }
  auto c = checker();
  ASSERT_TRUE(c->load_local_crl_files({path}));
  EXPECT_EQ(c->lookup(chain(pki_->revoked())).status, RevocationStatus::Revoked);
  std::remove(path);
  auto missing = c->load_local_crl_files({path});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find(path), std::string::npos);
}

}  // namespace
}  // namespace gh::policy
