#pragma once

// TLS contexts built once from config and shared read-only by every worker's connections:
// listener side (SNI over several certificates, ALPN http/1.1, client-certificate modes) and
// backend side (trust store, hostname, pinned leaf, client certificate for backend mTLS).

#include <memory>
#include <string>
#include <vector>

#include "config/proxy_config.h"
#include "core/result.h"
#include "crypto/ossl_ptr.h"
#include "net/asio.h"

namespace gh::net {

class ServerTls {
 public:
  /// Loads every certificate/key pair and the client CA; fails naming the file that is wrong.
  static Result<std::shared_ptr<const ServerTls>> create(const config::ListenerTls& cfg);

  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  /// The context new connections are created from (the first certificate, with the SNI callback).
  ssl::context& context() const noexcept { return *main_; }
  config::ClientCertMode client_cert_mode() const noexcept { return mode_; }

 private:
  ServerTls() = default;
  static int on_servername(SSL* ssl, int* alert, void* arg);

  struct SniEntry {
    std::vector<std::string> names;  // lower-case DNS SANs / CN; "*.x" wildcards kept as written
    crypto::SslCtxPtr ctx;
  };
  std::unique_ptr<ssl::context> main_;
  std::vector<SniEntry> sni_;  // index 0 is the default certificate
  config::ClientCertMode mode_ = config::ClientCertMode::None;
};

class BackendTls {
 public:
  /// Builds the client context for one backend: CA file (or the system store), client
  /// certificate, pin. `server_name` is the SNI/hostname to check.
  static Result<std::shared_ptr<const BackendTls>> create(const config::BackendTls& cfg,
                                                          const std::string& default_host);

  BackendTls(const BackendTls&) = delete;
  BackendTls& operator=(const BackendTls&) = delete;

  ssl::context& context() const noexcept { return *ctx_; }
  /// Sets SNI and the expected hostname on a new connection's SSL object.
  Result<void> prepare(SSL* ssl) const;

 private:
  BackendTls() = default;
  static int on_verify(int preverified, X509_STORE_CTX* store);

  std::unique_ptr<ssl::context> ctx_;
  std::string server_name_;
  bool server_name_is_ip_ = false;
  bool verify_ = true;
  std::vector<uint8_t> pin_;  // SHA-256 of the leaf's DER, empty when not pinned
};

/// SHA-1 thumbprint (upper-case hex, the APIM form) of a DER/X509 certificate.
std::string sha1_thumbprint(X509* cert);

/// The certificates the peer sent after its own (its intermediates), in the order sent; empty
/// without a peer certificate. SSL_get_peer_cert_chain() differs by side: a server's view leaves
/// the client's certificate out, a client's view starts with the server's. This hides that.
std::vector<crypto::X509Ptr> peer_intermediates(SSL* ssl);

}  // namespace gh::net
