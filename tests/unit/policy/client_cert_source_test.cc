#include "policy/client_cert_source.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cctype>
#include <cstdio>

#include "support/test_pki.h"

namespace gh::policy {
namespace {

using x509::ForwardedCertFormat;

// Independent encoders for building header values (not core::base64_encode).
std::string b64(const core::Bytes& der) {
  std::string out(4 * ((der.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), der.data(),
                          static_cast<int>(der.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string url_encode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

x509::Certificate cert_of(const test::TestCert& c) {
  return x509::Certificate(crypto::share(c.cert.get()));
}

class ClientCertSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  // The header value a front proxy of `format` writes for `c`.
  static std::string encode(ForwardedCertFormat format, const test::TestCert& c) {
    switch (format) {
      case ForwardedCertFormat::Rfc9440:
        return ":" + b64(c.der()) + ":";
      case ForwardedCertFormat::Base64Der:
        return b64(c.der());
      case ForwardedCertFormat::UrlEncodedPem:
        return url_encode(c.cert_pem());
      case ForwardedCertFormat::EnvoyXfcc:
        return "By=spiffe://front;Hash=00;Cert=\"" + url_encode(c.cert_pem()) +
               "\";Subject=\"CN=x\"";
    }
    return {};
  }

  static ClientCertSource source_for(ForwardedCertFormat format, const std::string& header,
                                     std::vector<std::string> from = {"10.0.0.0/8", "fd00::/8"},
                                     const std::string& chain_header = {}) {
    auto rule = make_forwarded_cert_rule(from, header, to_string(format), chain_header);
    EXPECT_TRUE(rule) << rule.error().message;
    auto source = ClientCertSource::create({*rule});
    EXPECT_TRUE(source) << source.error().message;
    return std::move(*source);
  }

  static std::string sha1(const test::TestCert& c) { return cert_of(c).thumbprint_sha1(); }

  static test::TestPki* pki_;
};
test::TestPki* ClientCertSourceTest::pki_ = nullptr;

TEST(IpAddress, ParsesV4V6MappedAndZones) {
  auto v4 = parse_ip_address("10.1.2.3");
  ASSERT_TRUE(v4);
  EXPECT_EQ((*v4)[10], 0xff);
  EXPECT_EQ((*v4)[12], 10);
  EXPECT_EQ((*v4)[15], 3);
  // A v4 client on a dual-stack socket is the same address.
  EXPECT_EQ(parse_ip_address("::ffff:10.1.2.3"), v4);
  auto v6 = parse_ip_address("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ((*v6)[0], 0x20);
  EXPECT_EQ((*v6)[15], 1);
  EXPECT_EQ(parse_ip_address("fe80::1%eth0"), parse_ip_address("fe80::1"));
  for (const char* bad :
       {"", "10.1.2", "10.1.2.256", "host.example", "::g", "1.2.3.4 ", "[::1]", "10.0.0.0/8"}) {
    EXPECT_FALSE(parse_ip_address(bad)) << bad;
  }
  EXPECT_FALSE(parse_ip_address(std::string(200, '1')));
}

TEST(IpNetwork, ContainsAcrossFamilies) {
  auto net = parse_ip_network("10.0.0.0/8");
  ASSERT_TRUE(net) << net.error().message;
  EXPECT_TRUE(net->contains(*parse_ip_address("10.255.1.2")));
  EXPECT_TRUE(net->contains(*parse_ip_address("::ffff:10.0.0.1")));
  EXPECT_FALSE(net->contains(*parse_ip_address("11.0.0.1")));
  EXPECT_FALSE(net->contains(*parse_ip_address("::a00:1")));  // not the mapped form

  auto odd = parse_ip_network("192.168.4.0/22");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(*parse_ip_address("192.168.7.255")));
  EXPECT_FALSE(odd->contains(*parse_ip_address("192.168.8.0")));

  auto v6 = parse_ip_network("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*parse_ip_address("fd12::1")));
  EXPECT_FALSE(v6->contains(*parse_ip_address("fe00::1")));
  EXPECT_FALSE(v6->contains(*parse_ip_address("10.0.0.1")));

  auto host = parse_ip_network("127.0.0.1");
  ASSERT_TRUE(host);
  EXPECT_TRUE(host->contains(*parse_ip_address("127.0.0.1")));
  EXPECT_FALSE(host->contains(*parse_ip_address("127.0.0.2")));

  auto all = parse_ip_network("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains(*parse_ip_address("203.0.113.9")));
  EXPECT_FALSE(all->contains(*parse_ip_address("2001:db8::1")));
}

TEST(IpNetwork, RejectsMalformedBlocks) {
  for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1",
                          "10.0.0.0/8/8", "fe80::%eth0/64", "nope/8", ""}) {
    auto net = parse_ip_network(bad);
    EXPECT_FALSE(net) << bad;
    if (!net) {
      EXPECT_EQ(net.error().kind, ErrorKind::InvalidArgument);
    }
  }
}

TEST(ForwardedCertRule, FormatsAndValidation) {
  for (auto f : {ForwardedCertFormat::Rfc9440, ForwardedCertFormat::Base64Der,
                 ForwardedCertFormat::UrlEncodedPem, ForwardedCertFormat::EnvoyXfcc}) {
    auto parsed = parse_forwarded_cert_format(to_string(f));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, f);
  }
  auto bad = parse_forwarded_cert_format("pem");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("rfc9440"), std::string::npos);

  const std::vector<std::string> from = {"10.0.0.0/8"};
  EXPECT_FALSE(
      make_forwarded_cert_rule(std::vector<std::string>{"10.0.0.1/8"}, "X-Cert", "base64-der"));
  EXPECT_FALSE(make_forwarded_cert_rule(from, "X-Cert", "der"));

  auto no_from = make_forwarded_cert_rule({}, "X-Cert", "base64-der");
  ASSERT_TRUE(no_from);
  EXPECT_FALSE(ClientCertSource::create({*no_from}));
  auto bad_header = make_forwarded_cert_rule(from, "X Cert", "base64-der");
  ASSERT_TRUE(bad_header);
  EXPECT_FALSE(ClientCertSource::create({*bad_header}));
  auto empty_header = make_forwarded_cert_rule(from, "", "base64-der");
  ASSERT_TRUE(empty_header);
  EXPECT_FALSE(ClientCertSource::create({*empty_header}));
  auto same = make_forwarded_cert_rule(from, "Client-Cert", "rfc9440", "client-cert");
  ASSERT_TRUE(same);
  EXPECT_FALSE(ClientCertSource::create({*same}));
  auto ok = make_forwarded_cert_rule(from, "X-Cert", "base64-der");
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ClientCertSource::create(std::vector<ForwardedCertRule>(65, *ok)));
  EXPECT_TRUE(ClientCertSource::create(std::vector<ForwardedCertRule>(64, *ok)));
}

TEST_F(ClientCertSourceTest, HandshakeCertificateWinsOverForwardedHeaders) {
  auto source = source_for(ForwardedCertFormat::Base64Der, "X-ARR-ClientCert");
  const std::string forwarded = encode(ForwardedCertFormat::Base64Der, pki_->leaf());
  const HeaderField headers[] = {{"X-ARR-ClientCert", forwarded}};
  ClientCertificate handshake{
      cert_of(pki_->client()), {}, ClientCertificate::Source::Handshake, true};
  auto r = source.resolve("10.0.0.5", headers, handshake);
  ASSERT_TRUE(r.certificate);
  EXPECT_EQ(r.certificate->source, ClientCertificate::Source::Handshake);
  EXPECT_TRUE(r.certificate->handshake_verified);
  EXPECT_EQ(r.certificate->leaf.thumbprint_sha1(), sha1(pki_->client()));
  EXPECT_TRUE(r.problem.empty());
  EXPECT_TRUE(r.header.empty());
}

// Each forwarded format: believed from a trusted proxy, ignored (and stripped) from anyone else.
TEST_F(ClientCertSourceTest, EachFormatFromTrustedAndUntrustedPeers) {
  struct Case {
    ForwardedCertFormat format;
    std::string header;
  };
  const std::vector<Case> cases = {
      {ForwardedCertFormat::Rfc9440, "Client-Cert"},
      {ForwardedCertFormat::Base64Der, "X-ARR-ClientCert"},
      {ForwardedCertFormat::UrlEncodedPem, "X-SSL-Client-Cert"},
      {ForwardedCertFormat::EnvoyXfcc, "X-Forwarded-Client-Cert"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.format)));
    auto source = source_for(c.format, c.header);
    const std::string value = encode(c.format, pki_->client());
    // Header names arrive in any case (HAProxy lower-cases them on HTTP/1).
    const std::string lower = core::to_lower(c.header);
    const HeaderField headers[] = {{"Host", "api.example"}, {lower, value}};

    for (const char* trusted : {"10.1.2.3", "::ffff:10.1.2.3", "fd00::7"}) {
      SCOPED_TRACE(trusted);
      const PeerTrust peer = source.peer_trust(trusted);
      EXPECT_TRUE(peer.trusted());
      auto r = source.resolve(peer, headers, std::nullopt);
      ASSERT_TRUE(r.certificate) << r.problem;
      EXPECT_EQ(r.certificate->source, ClientCertificate::Source::Forwarded);
      EXPECT_FALSE(r.certificate->handshake_verified);
      EXPECT_EQ(r.certificate->leaf.thumbprint_sha1(), sha1(pki_->client()));
      EXPECT_EQ(r.header, c.header);
      EXPECT_TRUE(r.problem.empty());
      // The trusted proxy's own header goes on to the backend.
      EXPECT_FALSE(source.must_strip(lower, peer));
      EXPECT_FALSE(source.any_to_strip(headers, peer));
    }

    for (const char* spoofer : {"192.0.2.10", "11.0.0.1", "fe80::1", "not-an-ip", ""}) {
      SCOPED_TRACE(spoofer);
      const PeerTrust peer = source.peer_trust(spoofer);
      EXPECT_FALSE(peer.trusted());
      auto r = source.resolve(peer, headers, std::nullopt);
      EXPECT_FALSE(r.certificate);
      EXPECT_TRUE(r.problem.empty());  // not looked at, so nothing to report
      EXPECT_TRUE(source.must_strip(lower, peer));
      EXPECT_TRUE(source.any_to_strip(headers, peer));
    }
  }
}

TEST_F(ClientCertSourceTest, UndecodableHeaderFromTrustedPeerIsAProblemNotACertificate) {
  auto source = source_for(ForwardedCertFormat::Rfc9440, "Client-Cert");
  for (const std::string& bad : {std::string(""), std::string(":AAAA:"), std::string("garbage"),
                                 ":" + b64(pki_->client().der()), std::string(40 * 1024, 'A')}) {
    const HeaderField headers[] = {{"Client-Cert", bad}};
    auto r = source.resolve("10.0.0.1", headers, std::nullopt);
    EXPECT_FALSE(r.certificate);
    EXPECT_EQ(r.header, "Client-Cert");
    EXPECT_NE(r.problem.find("Client-Cert"), std::string::npos) << r.problem;
    // The problem never quotes the header value.
    if (bad.size() > 8) {
      EXPECT_EQ(r.problem.find(bad.substr(0, 8)), std::string::npos);
    }
  }
}

TEST_F(ClientCertSourceTest, DuplicateSingleValuedHeaderIsRefused) {
  auto source = source_for(ForwardedCertFormat::Base64Der, "X-ARR-ClientCert");
  const std::string good = encode(ForwardedCertFormat::Base64Der, pki_->client());
  const std::string spoofed = encode(ForwardedCertFormat::Base64Der, pki_->leaf());
  const HeaderField headers[] = {{"X-ARR-ClientCert", spoofed}, {"x-arr-clientcert", good}};
  auto r = source.resolve("10.0.0.1", headers, std::nullopt);
  EXPECT_FALSE(r.certificate);
  EXPECT_NE(r.problem.find("more than once"), std::string::npos);
}

TEST_F(ClientCertSourceTest, XfccTakesTheNearestProxysElementAcrossLines) {
  auto source = source_for(ForwardedCertFormat::EnvoyXfcc, "X-Forwarded-Client-Cert");
  const std::string first = encode(ForwardedCertFormat::EnvoyXfcc, pki_->leaf());
  const std::string last = encode(ForwardedCertFormat::EnvoyXfcc, pki_->client());
  const HeaderField headers[] = {{"X-Forwarded-Client-Cert", first},
                                 {"X-Forwarded-Client-Cert", last}};
  auto r = source.resolve("10.0.0.1", headers, std::nullopt);
  ASSERT_TRUE(r.certificate) << r.problem;
  EXPECT_EQ(r.certificate->leaf.thumbprint_sha1(), sha1(pki_->client()));
}

TEST_F(ClientCertSourceTest, Rfc9440ChainHeaderSuppliesIntermediates) {
  auto source =
      source_for(ForwardedCertFormat::Rfc9440, "Client-Cert", {"10.0.0.0/8"}, "Client-Cert-Chain");
  const std::string leaf = encode(ForwardedCertFormat::Rfc9440, pki_->client());
  const std::string chain = ":" + b64(pki_->intermediate().der()) +
                            ":, :" + b64(pki_->client().der()) +
                            ":";  // a proxy that repeats the leaf
  const HeaderField headers[] = {{"Client-Cert", leaf}, {"Client-Cert-Chain", chain}};
  auto r = source.resolve("10.0.0.1", headers, std::nullopt);
  ASSERT_TRUE(r.certificate) << r.problem;
  ASSERT_EQ(r.certificate->chain.size(), 1u);
  EXPECT_EQ(r.certificate->chain[0].thumbprint_sha1(), sha1(pki_->intermediate()));

  // Without the chain header: no intermediates, still a certificate.
  const HeaderField only_leaf[] = {{"Client-Cert", leaf}};
  auto bare = source.resolve("10.0.0.1", only_leaf, std::nullopt);
  ASSERT_TRUE(bare.certificate);
  EXPECT_TRUE(bare.certificate->chain.empty());

  // A malformed chain makes the whole forwarded certificate unusable.
  const HeaderField broken[] = {{"Client-Cert", leaf}, {"Client-Cert-Chain", ":!!:"}};
  auto refused = source.resolve("10.0.0.1", broken, std::nullopt);
  EXPECT_FALSE(refused.certificate);
  EXPECT_NE(refused.problem.find("Client-Cert-Chain"), std::string::npos);
}

TEST_F(ClientCertSourceTest, RulesApplyOnlyToTheirOwnProxies) {
  auto agw = make_forwarded_cert_rule(std::vector<std::string>{"10.1.0.0/16"}, "X-ARR-ClientCert",
                                      "base64-der");
  auto envoy = make_forwarded_cert_rule(std::vector<std::string>{"10.2.0.0/16"},
                                        "X-Forwarded-Client-Cert", "xfcc");
  ASSERT_TRUE(agw && envoy);
  auto source = ClientCertSource::create({*agw, *envoy});
  ASSERT_TRUE(source) << source.error().message;
  const std::string arr = encode(ForwardedCertFormat::Base64Der, pki_->leaf());
  const std::string xfcc = encode(ForwardedCertFormat::EnvoyXfcc, pki_->client());
  const HeaderField headers[] = {{"X-ARR-ClientCert", arr}, {"X-Forwarded-Client-Cert", xfcc}};
  // The Envoy proxy's address: only XFCC is believed; the ARR header is a client's spoof.
  const PeerTrust from_envoy = source->peer_trust("10.2.3.4");
  auto r = source->resolve(from_envoy, headers, std::nullopt);
  ASSERT_TRUE(r.certificate) << r.problem;
  EXPECT_EQ(r.certificate->leaf.thumbprint_sha1(), sha1(pki_->client()));
  EXPECT_TRUE(source->must_strip("X-ARR-ClientCert", from_envoy));
  EXPECT_FALSE(source->must_strip("X-Forwarded-Client-Cert", from_envoy));
  EXPECT_TRUE(source->must_strip("Client-Cert", from_envoy));  // well-known, no rule for it

  const PeerTrust from_agw = source->peer_trust("10.1.0.9");
  auto a = source->resolve(from_agw, headers, std::nullopt);
  ASSERT_TRUE(a.certificate) << a.problem;
  EXPECT_EQ(a.certificate->leaf.thumbprint_sha1(), sha1(pki_->leaf()));
  EXPECT_FALSE(source->must_strip("x-arr-clientcert", from_agw));
  EXPECT_TRUE(source->must_strip("x-forwarded-client-cert", from_agw));
}

TEST_F(ClientCertSourceTest, HeaderNamesListWellKnownAndConfiguredOnce) {
  auto custom = make_forwarded_cert_rule(std::vector<std::string>{"10.0.0.0/8"}, "X-My-Cert",
                                         "base64-der", "X-My-Chain");
  auto arr = make_forwarded_cert_rule(std::vector<std::string>{"10.0.0.0/8"}, "X-ARR-ClientCert",
                                      "base64-der");
  ASSERT_TRUE(custom && arr);
  auto source = ClientCertSource::create({*custom, *arr});
  ASSERT_TRUE(source);
  std::vector<std::string> names(source->header_names().begin(), source->header_names().end());
  for (auto known : kWellKnownClientCertHeaders) {
    EXPECT_EQ(std::count(names.begin(), names.end(), std::string(known)), 1) << known;
  }
  EXPECT_EQ(std::count(names.begin(), names.end(), "x-my-cert"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "x-my-chain"), 1);
  EXPECT_EQ(names.size(), std::size(kWellKnownClientCertHeaders) + 2);
  for (const auto& n : names)
    EXPECT_EQ(n, core::to_lower(n));
}

TEST_F(ClientCertSourceTest, WithoutRulesEveryPeerIsUntrustedAndWellKnownHeadersAreStripped) {
  ClientCertSource source;
  EXPECT_FALSE(source.peer_trust("10.0.0.1").trusted());
  const HeaderField plain[] = {{"Host", "a"}, {"Accept", "*/*"}, {"Client-Certificate", "x"}};
  EXPECT_FALSE(source.any_to_strip(plain, {}));
  const HeaderField spoofed[] = {{"Host", "a"}, {"CLIENT-CERT", ":AAAA:"}};
  EXPECT_TRUE(source.any_to_strip(spoofed, {}));
  EXPECT_FALSE(source.resolve("10.0.0.1", spoofed, std::nullopt).certificate);
  for (auto name : kWellKnownClientCertHeaders)
    EXPECT_TRUE(source.must_strip(name, {})) << name;
  EXPECT_FALSE(source.must_strip("Authorization", {}));
}

}  // namespace
}  // namespace gh::policy
