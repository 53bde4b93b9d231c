#include "policy/validate_client_certificate.h"

#include <gtest/gtest.h>

#include "core/encoding.h"
#include "policy/certificates.h"
#include "policy/client_cert_source.h"
#include "policy/registry.h"
#include "policy/revocation.h"
#include "policy/services.h"
#include "revocation_fixtures.h"
#include "x509/cert_loader.h"
#include "x509/trust_store.h"

namespace gh::policy {
namespace {

using revocation_test::cert_of;
using revocation_test::FakeFetcher;
using revocation_test::with_revocation_urls;
using test::TestCert;

constexpr char kInvalidBody[] =
    "{ \"statusCode\": 401, \"message\": \"Invalid client certificate\" }";

class ValidateClientCertificateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override {
    auto trust = x509::TrustStore::create(std::vector<x509::Certificate>{cert_of(pki_->root())});
    ASSERT_TRUE(trust) << trust.error().message;
    trust_.emplace(std::move(*trust));
    fetcher_ = std::make_shared<FakeFetcher>();
    use_revocation(RevocationFailMode::SoftFail);
    add_entity("issuing-ca", pki_->intermediate());
    add_entity("root-ca", pki_->root());
  }

  void use_revocation(RevocationFailMode mode) {
    RevocationOptions options;
    options.fail_mode = mode;
    options.scope = RevocationScope::Leaf;
    services_.revocation = std::make_shared<RevocationChecker>(clock_, options, fetcher_);
  }

  void add_entity(const std::string& id, const TestCert& c) {
    auto entity = std::make_shared<CertificateEntity>(
        CertificateEntity{id, cert_of(c), {}, id + ".pem", "", cert_of(c).thumbprint_sha1()});
    catalog_.add(entity);
  }

  // Builds the policy from one element (as written inside <inbound>).
  Result<std::unique_ptr<Policy>> make(const std::string& xml, bool lint = false,
                                       bool with_trust = true, bool with_services = true) {
    auto doc = parse_policy_document("<policies><inbound>\n" + xml + "\n</inbound></policies>",
                                     "api.xml", {});
    EXPECT_TRUE(doc) << doc.error().message;
    if (!doc) return unexpected(doc.error());
    docs_.push_back(std::make_unique<Element>(std::move(*doc)));
    const Element& element = docs_.back()->child("inbound")->children.at(0);
    LoadContext load;
    load.scope = Scope::Api;
    load.lint = lint;
    if (!lint) {
      load.services = with_services ? &services_ : nullptr;
      load.certificates = &catalog_;
      load.client_trust = with_trust ? &*trust_ : nullptr;
    }
    return make_validate_client_certificate(element, load);
  }

  std::unique_ptr<Policy> must_make(const std::string& xml) {
    auto p = make(xml);
    EXPECT_TRUE(p) << p.error().message;
    return p ? std::move(*p) : nullptr;
  }

  static ClientCertificate alone(const TestCert& leaf, std::vector<x509::Certificate> chain = {}) {
    return ClientCertificate{cert_of(leaf), std::move(chain), ClientCertificate::Source::Handshake,
                             false};
  }
  static ClientCertificate presented(const TestCert& leaf, bool with_intermediate = true) {
    ClientCertificate c{cert_of(leaf), {}, ClientCertificate::Source::Handshake, false};
    if (with_intermediate) c.chain.push_back(cert_of(pki_->intermediate()));
    return c;
  }

  // Runs the policy as the pipeline runner does: apply, and apply_async when it must wait.
  Flow run(const Policy& policy, RequestContext& ctx, bool* awaited = nullptr) {
    Flow flow = policy.apply(ctx);
    if (awaited) *awaited = flow == Flow::Await;
    if (flow != Flow::Await) return flow;
    net::asio::io_context ioc(1);
    net::asio::co_spawn(ioc.get_executor(), policy.apply_async(ctx),
                        [&flow](std::exception_ptr e, Flow f) {
                          if (e) std::rethrow_exception(e);
                          flow = f;
                        });
    ioc.run();
    return flow;
  }

  Flow run_with(const Policy& policy, std::optional<ClientCertificate> cert, RequestContext& ctx,
                bool* awaited = nullptr) {
    ctx.client_certificate = std::move(cert);
    return run(policy, ctx, awaited);
  }

  // Expects a 401 with `reason` and LastError `message`.
  static void expect_refused(const RequestContext& ctx, Flow flow, std::string_view reason,
                             std::string_view message, std::string_view body = kInvalidBody) {
    EXPECT_EQ(flow, Flow::Error);
    ASSERT_TRUE(ctx.last_error);
    EXPECT_EQ(ctx.last_error->source, "validate-client-certificate");
    EXPECT_EQ(ctx.last_error->reason, reason);
    EXPECT_EQ(ctx.last_error->message, message);
    ASSERT_TRUE(ctx.response);
    EXPECT_EQ(ctx.response->status, 401);
    EXPECT_EQ(ctx.response->body, body);
  }

  bool identity_matches(const std::string& identity, const TestCert& leaf) {
    auto policy =
        must_make("<validate-client-certificate validate-revocation=\"false\"><identities>" +
                  identity + "</identities></validate-client-certificate>");
    if (!policy) return false;
    RequestContext ctx(clock_);
    const Flow flow = run_with(*policy, presented(leaf), ctx);
    if (flow == Flow::Error) {
      EXPECT_EQ(ctx.last_error->reason, kClientCertificateIdentityNotMatched);
    }
    return flow == Flow::Continue;
  }

  static test::TestPki* pki_;
  test::FixedClock clock_{test::TestPki::kDefaultNow};
  std::optional<x509::TrustStore> trust_;
  std::shared_ptr<FakeFetcher> fetcher_;
  Services services_{clock_};
  CertificateCatalog catalog_;
  std::vector<std::unique_ptr<Element>> docs_;
};
test::TestPki* ValidateClientCertificateTest::pki_ = nullptr;

TEST_F(ValidateClientCertificateTest, IsRegisteredForInbound) {
  const PolicyKind* kind = find_policy_kind("validate-client-certificate");
  ASSERT_NE(kind, nullptr);
  EXPECT_EQ(kind->sections, kInbound);
  EXPECT_EQ(kind->scopes, kAnyScope);
}

TEST_F(ValidateClientCertificateTest, MissingCertificate) {
  auto policy = must_make("<validate-client-certificate id=\"mtls\" />");
  RequestContext ctx(clock_);
  const Flow flow = run(*policy, ctx);
  expect_refused(ctx, flow, "ClientCertificateMissing", "Client certificate missing",
                 "{ \"statusCode\": 401, \"message\": \"Client certificate missing\" }");
  EXPECT_EQ(ctx.last_error->policy_id, "mtls");
  EXPECT_EQ(ctx.response->headers.at(0).second, "application/json");
}

TEST_F(ValidateClientCertificateTest, TrustedClientPasses) {
  auto policy = must_make("<validate-client-certificate validate-revocation=\"false\" />");
  RequestContext ctx(clock_);
  EXPECT_EQ(run_with(*policy, presented(pki_->client()), ctx), Flow::Continue);
  EXPECT_FALSE(ctx.response);
  EXPECT_FALSE(ctx.last_error);
}

TEST_F(ValidateClientCertificateTest, UntrustedChainsAreRefused) {
  auto policy = must_make("<validate-client-certificate validate-revocation=\"false\" />");
  const std::string message = "A certificate chain could not be built to a trusted root authority.";
  {
    RequestContext ctx(clock_);
    ClientCertificate other = alone(pki_->untrusted_leaf(), {cert_of(pki_->other_root())});
    expect_refused(ctx, run_with(*policy, other, ctx), "ClientCertificateNotTrusted", message);
  }
  {
    // The intermediate was not presented and the store has only the root.
    RequestContext ctx(clock_);
    expect_refused(ctx, run_with(*policy, presented(pki_->client(), false), ctx),
                   "ClientCertificateNotTrusted", message);
  }
  {
    // A server certificate (EKU serverAuth only) is not a client certificate.
    RequestContext ctx(clock_);
    expect_refused(ctx, run_with(*policy, presented(pki_->leaf()), ctx),
                   "ClientCertificateNotTrusted", message);
  }
}

// A verified chain is remembered for a few minutes by the leaf's thumbprint: the leaf is known
// to chain to a trust anchor, so a later request is not re-verified (nor refused for leaving out
// its intermediates).
TEST_F(ValidateClientCertificateTest, VerifiedChainsAreRememberedForFiveMinutes) {
  auto policy = must_make("<validate-client-certificate validate-revocation=\"false\" />");
  {
    RequestContext ctx(clock_);
    EXPECT_EQ(run_with(*policy, presented(pki_->client(), false), ctx), Flow::Error);
  }
  {
    RequestContext ctx(clock_);
    EXPECT_EQ(run_with(*policy, presented(pki_->client()), ctx), Flow::Continue);
  }
  clock_.advance(299);
  {
    RequestContext ctx(clock_);
    EXPECT_EQ(run_with(*policy, presented(pki_->client(), false), ctx), Flow::Continue);
  }
  clock_.advance(2);
  RequestContext ctx(clock_);
  EXPECT_EQ(run_with(*policy, presented(pki_->client(), false), ctx), Flow::Error);
}

TEST_F(ValidateClientCertificateTest, ValidityDates) {
  auto policy = must_make("<validate-client-certificate validate-revocation=\"false\" />");
  {
    RequestContext ctx(clock_);
    expect_refused(ctx, run_with(*policy, presented(pki_->expired()), ctx),
                   "ClientCertificateExpired", "Certificate has expired.");
  }
  {
    RequestContext ctx(clock_);
    expect_refused(ctx, run_with(*policy, presented(pki_->not_yet_valid()), ctx),
                   "ClientCertificateNotYetValid", "Certificate is not yet valid.");
  }
  // Switched off, the date is ignored for the chain check too.
  auto lenient = must_make(
      "<validate-client-certificate validate-revocation=\"false\" validate-not-after=\"false\" "
      "validate-not-before=\"false\" />");
  for (const TestCert* c : {&pki_->expired(), &pki_->not_yet_valid()}) {
    RequestContext ctx(clock_);
    EXPECT_EQ(run_with(*lenient, presented(*c), ctx), Flow::Continue);
  }
  // Only not-after switched off: a not-yet-valid certificate still fails.
  auto half = must_make(
      "<validate-client-certificate validate-revocation=\"false\" validate-not-after=\"false\"/>");
  RequestContext ctx(clock_);
  expect_refused(ctx, run_with(*half, presented(pki_->not_yet_valid()), ctx),
                 "ClientCertificateNotYetValid", "Certificate is not yet valid.");
}

TEST_F(ValidateClientCertificateTest, WithoutTrustValidationAnyChainPasses) {
  auto policy = must_make(
      "<validate-client-certificate validate-revocation=\"false\" validate-trust=\"false\" />");
  RequestContext ctx(clock_);
  EXPECT_EQ(run_with(*policy, alone(pki_->untrusted_leaf()), ctx), Flow::Continue);
}

TEST_F(ValidateClientCertificateTest, IgnoreErrorContinuesWithoutAResponse) {
  auto policy = must_make(
      "<validate-client-certificate validate-revocation=\"false\" ignore-error=\"true\" />");
  RequestContext ctx(clock_);
  EXPECT_EQ(run_with(*policy, alone(pki_->untrusted_leaf()), ctx), Flow::Continue);
  EXPECT_FALSE(ctx.response);
  EXPECT_FALSE(ctx.last_error);
}

TEST_F(ValidateClientCertificateTest, IdentityAttributes) {
  const x509::Certificate client = cert_of(pki_->client());
  const x509::Certificate issuing = cert_of(pki_->intermediate());
  const std::string sha1 = client.thumbprint_sha1();
  std::string sha1_colons;
  for (size_t i = 0; i < sha1.size(); i += 2)
    sha1_colons += (i ? ":" : "") + core::to_lower(sha1.substr(i, 2));
  struct Case {
    std::string identity;
    bool matches;
  };
  const std::vector<Case> cases = {
      {"thumbprint=\"" + sha1 + "\"", true},
      {"thumbprint=\"" + core::to_lower(sha1) + "\"", true},
      {"thumbprint=\"" + sha1_colons + "\"", true},
      {"thumbprint=\"\xE2\x80\x8E" + sha1 + "\"", true},  // pasted from the Windows dialog
      {"thumbprint=\"" + client.thumbprint_sha256() + "\"", true},
      {"thumbprint=\"" + issuing.thumbprint_sha1() + "\"", false},
      {"serial-number=\"" + client.serial_hex() + "\"", true},
      {"serial-number=\"00" + core::to_lower(client.serial_hex()) + "\"", true},
      {"serial-number=\"" + issuing.serial_hex() + "\"", false},
      {"common-name=\"CLIENT.test\"", true},
      {"common-name=\"client\"", false},
      {"subject=\"CN=client.test, O=Gatehouse Tests\"", true},
      {"subject=\"CN=client.test,O=Gatehouse Tests\"", true},
      {"subject=\"/O=Gatehouse Tests/CN=client.test\"", true},
      {"subject=\"O=Gatehouse Tests, CN=client.test\"", false},
      {"subject=\"CN=client.test\"", false},
      {"issuer-subject=\"CN=Gatehouse Test Issuing CA, O=Gatehouse Tests\"", true},
      {"issuer-subject=\"CN=Gatehouse Test Root CA, O=Gatehouse Tests\"", false},
      {"issuer-thumbprint=\"" + issuing.thumbprint_sha1() + "\"", true},
      {"issuer-thumbprint=\"" + issuing.thumbprint_sha256() + "\"", true},
      {"issuer-thumbprint=\"" + cert_of(pki_->root()).thumbprint_sha1() + "\"", false},
      {"issuer-certificate-id=\"issuing-ca\"", true},
      {"issuer-certificate-id=\"root-ca\"", false},
      // Attributes of one identity are AND-ed...
      {"common-name=\"client.test\" issuer-certificate-id=\"issuing-ca\"", true},
      {"thumbprint=\"" + sha1 + "\" common-name=\"someone-else\"", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(identity_matches("<identity " + c.identity + " />", pki_->client()), c.matches)
        << c.identity;
  }
  // ...identities are OR-ed.
  EXPECT_TRUE(identity_matches(
      "<identity common-name=\"nobody\"/><identity thumbprint=\"" + sha1 + "\"/>", pki_->client()));
  EXPECT_FALSE(identity_matches(
      "<identity common-name=\"nobody\"/><identity common-name=\"nobody-else\"/>", pki_->client()));
}

TEST_F(ValidateClientCertificateTest, DnsNameMatchesSubjectAlternativeNames) {
  TestCert svc = pki_->issue(
      &pki_->intermediate(),
      {.cn = "svc", .dns = {"svc.example.com", "*.wild.example"}, .ext_key_usage = "clientAuth"});
  EXPECT_TRUE(identity_matches("<identity dns-name=\"SVC.example.com\"/>", svc));
  EXPECT_TRUE(identity_matches("<identity dns-name=\"svc.example.com.\"/>", svc));
  EXPECT_TRUE(identity_matches("<identity dns-name=\"*.wild.example\"/>", svc));
  EXPECT_FALSE(identity_matches("<identity dns-name=\"a.wild.example\"/>", svc));
  EXPECT_FALSE(identity_matches("<identity dns-name=\"svc\"/>", svc));  // the CN is not a SAN
  EXPECT_FALSE(identity_matches("<identity dns-name=\"svc.example.com\"/>", pki_->client()));
}

TEST_F(ValidateClientCertificateTest, IdentityMismatchResponse) {
  auto policy = must_make(
      "<validate-client-certificate validate-revocation=\"false\"><identities>"
      "<identity common-name=\"someone-else\"/></identities></validate-client-certificate>");
  RequestContext ctx(clock_);
  expect_refused(ctx, run_with(*policy, presented(pki_->client()), ctx),
                 "ClientCertificateIdentityNotMatched",
                 "Certificate does not match any of allowed identities.");
}

// Without trust validation, a presented chain still cannot vouch for an issuer: the issuer
// must have signed the leaf.
TEST_F(ValidateClientCertificateTest, IssuerIdentitiesAreNotFooledByAPresentedChain) {
  TestCert impostor = pki_->issue(nullptr, {.cn = "Gatehouse Test Issuing CA", .is_ca = true});
  TestCert forged = pki_->issue(&impostor, {.cn = "client.test", .ext_key_usage = "clientAuth"});
  const std::string issuing_sha1 = cert_of(pki_->intermediate()).thumbprint_sha1();
  for (const std::string& identity : {"issuer-thumbprint=\"" + issuing_sha1 + "\"",
                                      std::string("issuer-certificate-id=\"issuing-ca\"")}) {
    auto policy = must_make(
        "<validate-client-certificate validate-revocation=\"false\" validate-trust=\"false\">"
        "<identities><identity " +
        identity + "/></identities></validate-client-certificate>");
    {
      RequestContext ctx(clock_);
      expect_refused(ctx, run_with(*policy, presented(forged), ctx),
                     "ClientCertificateIdentityNotMatched",
                     "Certificate does not match any of allowed identities.");
    }
    {
      RequestContext ctx(clock_);
      EXPECT_EQ(run_with(*policy, presented(pki_->client()), ctx), Flow::Continue) << identity;
    }
  }
}

TEST_F(ValidateClientCertificateTest, RevokedByLocalCrl) {
  auto crls = x509::load_crls(pki_->crl_pem());
  ASSERT_TRUE(crls);
  services_.revocation->set_local_crls(std::move(*crls));
  auto policy = must_make("<validate-client-certificate />");
  {
    RequestContext ctx(clock_);
    bool awaited = true;
    expect_refused(ctx, run_with(*policy, presented(pki_->revoked()), ctx, &awaited),
                   "ClientCertificateRevoked", "Certificate has been revoked.");
    EXPECT_FALSE(awaited);
  }
  RequestContext ctx(clock_);
  EXPECT_EQ(run_with(*policy, presented(pki_->client()), ctx), Flow::Continue);
  EXPECT_EQ(fetcher_->total(), 0u);
}

TEST_F(ValidateClientCertificateTest, OcspLookupAwaitsOnceThenAnswersFromCache) {
  const std::string url = "http://ocsp.test/";
  TestCert good = with_revocation_urls(
      pki_->issue(&pki_->intermediate(), {.cn = "good.test", .ext_key_usage = "clientAuth"}),
      pki_->intermediate(), url, "");
  TestCert bad = with_revocation_urls(
      pki_->issue(&pki_->intermediate(), {.cn = "bad.test", .ext_key_usage = "clientAuth"}),
      pki_->intermediate(), "http://ocsp.test/bad", "");
  fetcher_->set(url, pki_->make_ocsp_response(good, pki_->intermediate(), pki_->intermediate(),
                                              test::TestOcspStatus::Good, pki_->now() - 60,
                                              pki_->now() + 3600));
  fetcher_->set("http://ocsp.test/bad",
                pki_->make_ocsp_response(bad, pki_->intermediate(), pki_->intermediate(),
                                         test::TestOcspStatus::Revoked, pki_->now() - 60,
                                         pki_->now() + 3600));
  auto policy = must_make("<validate-client-certificate />");
  bool awaited = false;
  {
    RequestContext ctx(clock_);
    EXPECT_EQ(run_with(*policy, presented(good), ctx, &awaited), Flow::Continue);
    EXPECT_TRUE(awaited);
  }
  {
    RequestContext ctx(clock_);
    EXPECT_EQ(run_with(*policy, presented(good), ctx, &awaited), Flow::Continue);
    EXPECT_FALSE(awaited);  // answered from the process-wide cache
  }
  EXPECT_EQ(fetcher_->requests(url), 1u);
  RequestContext ctx(clock_);
  expect_refused(ctx, run_with(*policy, presented(bad), ctx, &awaited), "ClientCertificateRevoked",
                 "Certificate has been revoked.");
  EXPECT_TRUE(awaited);
}

TEST_F(ValidateClientCertificateTest, UnknownRevocationStatusFollowsTheFailMode) {
  // The test client certificate names no OCSP responder or CRL, and no CRL is loaded.
  auto soft = must_make("<validate-client-certificate />");
  {
    RequestContext ctx(clock_);
    EXPECT_EQ(run_with(*soft, presented(pki_->client()), ctx), Flow::Continue);
  }
  use_revocation(RevocationFailMode::HardFail);
  auto hard = must_make("<validate-client-certificate />");
  RequestContext ctx(clock_);
  expect_refused(ctx, run_with(*hard, presented(pki_->client()), ctx),
                 "ClientCertificateRevocationUnknown",
                 "Certificate revocation status could not be determined.");
}

// An untrusted certificate's revocation URLs are never fetched (they are the sender's choice).
TEST_F(ValidateClientCertificateTest, UntrustedCertificatesTriggerNoRevocationFetch) {
  TestCert rogue = with_revocation_urls(
      pki_->issue(&pki_->other_root(), {.cn = "rogue.test", .ext_key_usage = "clientAuth"}),
      pki_->other_root(), "http://169.254.169.254/latest/", "http://10.0.0.1/internal.crl");
  use_revocation(RevocationFailMode::HardFail);
  auto policy = must_make("<validate-client-certificate validate-trust=\"false\" />");
  RequestContext ctx(clock_);
  bool awaited = true;
  expect_refused(ctx, run_with(*policy, alone(rogue), ctx, &awaited),
                 "ClientCertificateRevocationUnknown",
                 "Certificate revocation status could not be determined.");
  EXPECT_FALSE(awaited);
  EXPECT_EQ(fetcher_->total(), 0u);
}

// The certificate a spoofing client puts into a forwarded header never reaches the policy.
TEST_F(ValidateClientCertificateTest, ForwardedCertificatesOnlyFromTrustedProxies) {
  auto rule = make_forwarded_cert_rule(std::vector<std::string>{"10.0.0.0/8"}, "X-ARR-ClientCert",
                                       "base64-der", "");
  ASSERT_TRUE(rule);
  auto source = ClientCertSource::create({*rule});
  ASSERT_TRUE(source);
  auto policy = must_make("<validate-client-certificate validate-revocation=\"false\" />");
  const std::string value = core::base64_encode(pki_->client().der());
  const HeaderField headers[] = {{"X-ARR-ClientCert", value}};
  {
    RequestContext ctx(clock_);
    auto resolved = source->resolve("203.0.113.7", headers, std::nullopt);
    expect_refused(ctx, run_with(*policy, std::move(resolved.certificate), ctx),
                   "ClientCertificateMissing", "Client certificate missing",
                   "{ \"statusCode\": 401, \"message\": \"Client certificate missing\" }");
  }
  RequestContext ctx(clock_);
  auto resolved = source->resolve("10.20.30.40", headers, std::nullopt);
  ASSERT_TRUE(resolved.certificate);
  resolved.certificate->chain.push_back(cert_of(pki_->intermediate()));
  EXPECT_EQ(run_with(*policy, std::move(resolved.certificate), ctx), Flow::Continue);
}

TEST_F(ValidateClientCertificateTest, LoadErrorsNameTheLineAndTheProblem) {
  struct Case {
    std::string xml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"<validate-client-certificate validate-trust=\"maybe\"/>", "must be true or false"},
      {"<validate-client-certificate validate-trust=\"@(true)\"/>",
       "does not accept policy expressions"},
      {"<validate-client-certificate colour=\"red\"/>", "unknown attribute 'colour'"},
      {"<validate-client-certificate><other/></validate-client-certificate>",
       "unknown child element <other>"},
      {"<validate-client-certificate><identities/></validate-client-certificate>",
       "needs at least one <identity>"},
      {"<validate-client-certificate><identities><identities/></identities>"
       "</validate-client-certificate>",
       "expected <identity>"},
      {"<validate-client-certificate><identities><identity/></identities>"
       "</validate-client-certificate>",
       "at least one attribute"},
      {"<validate-client-certificate><identities><identity colour=\"red\"/></identities>"
       "</validate-client-certificate>",
       "unknown attribute 'colour'"},
      {"<validate-client-certificate><identities><identity thumbprint=\"XYZ\"/></identities>"
       "</validate-client-certificate>",
       "40 (SHA-1) or 64 (SHA-256)"},
      {"<validate-client-certificate><identities><identity serial-number=\"0x12\"/>"
       "</identities></validate-client-certificate>",
       "serial-number"},
      {"<validate-client-certificate><identities><identity subject=\"CN\"/></identities>"
       "</validate-client-certificate>",
       "subject: distinguished name"},
      {"<validate-client-certificate><identities><identity common-name=\"@(context.Request."
       "Certificate.Subject)\"/></identities></validate-client-certificate>",
       "does not accept policy expressions"},
      {"<validate-client-certificate><identities><identity issuer-certificate-id=\"issuing-ca\" "
       "issuer-subject=\"CN=x\"/></identities></validate-client-certificate>",
       "cannot be combined"},
      {"<validate-client-certificate><identities><identity issuer-certificate-id=\"nope\"/>"
       "</identities></validate-client-certificate>",
       "'nope' is not a configured certificate"},
  };
  for (const auto& c : cases) {
    auto p = make(c.xml);
    ASSERT_FALSE(p) << c.xml;
    EXPECT_NE(p.error().message.find(c.expected), std::string::npos) << c.xml << "\n"
                                                                     << p.error().message;
    EXPECT_NE(p.error().message.find("api.xml:2"), std::string::npos) << p.error().message;
  }
}

TEST_F(ValidateClientCertificateTest, NeedsTheTrustStoreAndRevocationCheckerUnlessLinting) {
  auto no_trust = make("<validate-client-certificate />", false, false);
  ASSERT_FALSE(no_trust);
  EXPECT_NE(no_trust.error().message.find("validate-trust is true"), std::string::npos);
  EXPECT_TRUE(
      make("<validate-client-certificate validate-trust=\"false\" "
           "validate-revocation=\"false\"/>",
           false, false));
  auto no_revocation = make("<validate-client-certificate />", false, true, false);
  ASSERT_FALSE(no_revocation);
  EXPECT_NE(no_revocation.error().message.find("revocation"), std::string::npos);
  // Lint resolves no ids and needs no gateway state.
  EXPECT_TRUE(
      make("<validate-client-certificate><identities><identity "
           "issuer-certificate-id=\"not-loaded\"/></identities>"
           "</validate-client-certificate>",
           true));
}

}  // namespace
}  // namespace gh::policy
