// peer_intermediates(): the certificates a TLS peer sent after its own, on both sides of an
// in-memory handshake (a BIO pair, no sockets).

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "crypto/ossl_ptr.h"
#include "net/tls_context.h"
#include "support/test_pki.h"

namespace gh::net {
namespace {

using test::TestCert;
using test::TestPki;

int accept_any(int, X509_STORE_CTX*) {
  return 1;
}

// A context presenting `cert` followed by `chain`, asking the peer for its certificate.
crypto::SslCtxPtr make_ctx(bool server, const TestCert* cert,
                           const std::vector<const TestCert*>& chain) {
  crypto::SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (cert) {
    EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), cert->cert.get()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), cert->key.get()), 1);
    for (const TestCert* c : chain)  // add1: the context takes its own reference
      EXPECT_EQ(SSL_CTX_add1_chain_cert(ctx.get(), c->cert.get()), 1);
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, accept_any);
  return ctx;
}

struct Handshake {
  crypto::SslPtr client, server;
};

// Runs a handshake between the two contexts; both SSL objects are returned connected.
Handshake handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  Handshake h{crypto::SslPtr(SSL_new(client_ctx)), crypto::SslPtr(SSL_new(server_ctx))};
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  EXPECT_EQ(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0), 1);
  SSL_set_bio(h.client.get(), client_bio, client_bio);  // each SSL owns its end
  SSL_set_bio(h.server.get(), server_bio, server_bio);
  SSL_set_connect_state(h.client.get());
  SSL_set_accept_state(h.server.get());
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
    if (!client_done) client_done = SSL_do_handshake(h.client.get()) == 1;
    if (!server_done) server_done = SSL_do_handshake(h.server.get()) == 1;
  }
  EXPECT_TRUE(client_done && server_done) << "handshake did not complete";
  return h;
}

std::string cn(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

std::vector<std::string> names(const std::vector<crypto::X509Ptr>& certs) {
  std::vector<std::string> out;
  for (const auto& c : certs)
    out.push_back(cn(c.get()));
  return out;
}

// Parameter: the TLS version (the client's certificate message differs between 1.2 and 1.3).
// Verification is off (accept_any: the PKI's fixed instant is in the past); only what was sent
// matters here.
class PeerIntermediatesTest : public ::testing::TestWithParam<int> {
 protected:
  void limit(SSL_CTX* ctx) const {
    SSL_CTX_set_min_proto_version(ctx, GetParam());
    SSL_CTX_set_max_proto_version(ctx, GetParam());
  }
  std::string cn(const TestCert& c) const { return net::cn(c.cert.get()); }
  TestPki pki_;
};

TEST_P(PeerIntermediatesTest, ServerSeesTheClientsIntermediatesOnly) {
  auto server_ctx = make_ctx(true, &pki_.leaf(), {&pki_.intermediate()});
  auto client_ctx = make_ctx(false, &pki_.client(), {&pki_.intermediate(), &pki_.root()});
  limit(server_ctx.get());
  limit(client_ctx.get());
  Handshake h = handshake(client_ctx.get(), server_ctx.get());
  ASSERT_NE(SSL_get0_peer_certificate(h.server.get()), nullptr);

  EXPECT_EQ(names(peer_intermediates(h.server.get())),
            (std::vector<std::string>{cn(pki_.intermediate()), cn(pki_.root())}));
  EXPECT_EQ(names(peer_intermediates(h.client.get())),
            (std::vector<std::string>{cn(pki_.intermediate())}));
}

TEST_P(PeerIntermediatesTest, LeafAloneGivesNoIntermediates) {
  auto server_ctx = make_ctx(true, &pki_.leaf(), {});
  auto client_ctx = make_ctx(false, &pki_.client(), {});
  limit(server_ctx.get());
  limit(client_ctx.get());
  Handshake h = handshake(client_ctx.get(), server_ctx.get());
  ASSERT_NE(SSL_get0_peer_certificate(h.server.get()), nullptr);
  EXPECT_TRUE(peer_intermediates(h.server.get()).empty());
  EXPECT_TRUE(peer_intermediates(h.client.get()).empty());
}

TEST_P(PeerIntermediatesTest, NoClientCertificate) {
  auto server_ctx = make_ctx(true, &pki_.leaf(), {&pki_.intermediate()});
  auto client_ctx = make_ctx(false, nullptr, {});
  limit(server_ctx.get());
  limit(client_ctx.get());
  Handshake h = handshake(client_ctx.get(), server_ctx.get());
  EXPECT_EQ(SSL_get0_peer_certificate(h.server.get()), nullptr);
  EXPECT_TRUE(peer_intermediates(h.server.get()).empty());
}

INSTANTIATE_TEST_SUITE_P(TlsVersions, PeerIntermediatesTest,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION), [](const auto& info) {
                           return std::string(info.param == TLS1_3_VERSION ? "Tls13" : "Tls12");
                         });

}  // namespace
}  // namespace gh::net
