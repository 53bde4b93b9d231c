#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <boost/asio/ip/address.hpp>

#include "core/encoding.h"
#include "core/strings.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/openssl_error.h"

namespace gh::net {
namespace {

constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnHttp11, sizeof kAlpnHttp11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;  // no overlap: carry on without ALPN rather than fail
}

// Accepts any presented client certificate (mode optional): the handshake records the verify
// result and policies decide; an absent certificate is fine too.
int accept_any_client_cert(int, X509_STORE_CTX*) {
  return 1;
}

Result<std::vector<crypto::X509Ptr>> load_chain(const std::string& path) {
  GH_TRY(std::string pem, crypto::read_file(path));
  crypto::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<crypto::X509Ptr> chain;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    chain.emplace_back(cert);
  crypto::clear_openssl_errors();  // the loop ends on a "no start line" error
  if (chain.empty()) {
    return unexpected(ErrorKind::InvalidArgument, path + ": no PEM certificate found");
  }
  return chain;
}

Result<void> use_cert_and_key(SSL_CTX* ctx, const std::string& cert_path,
                              const std::string& key_path) {
  GH_TRY(auto chain, load_chain(cert_path));
  if (SSL_CTX_use_certificate(ctx, chain[0].get()) != 1) {
    return unexpected(crypto::openssl_error(cert_path + ": certificate rejected"));
  }
  SSL_CTX_clear_chain_certs(ctx);
  for (size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      return unexpected(crypto::openssl_error(cert_path + ": chain certificate rejected"));
    }
  }
  GH_TRY(std::string key_pem, crypto::read_file(key_path));
  auto key = crypto::load_private_key(key_pem);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (!key) return unexpected(key.error().with_context(key_path));
  if (SSL_CTX_use_PrivateKey(ctx, key->get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    crypto::clear_openssl_errors();
    return unexpected(ErrorKind::InvalidArgument,
                      key_path + ": private key does not match certificate " + cert_path);
  }
  return {};
}

std::vector<std::string> names_of(X509* cert) {
  std::vector<std::string> names;
  crypto::GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type != GEN_DNS) continue;
      const ASN1_STRING* s = gn->d.dNSName;
      names.push_back(
          core::to_lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                          static_cast<size_t>(ASN1_STRING_length(s)))));
    }
  }
  if (names.empty()) {  // RFC 6125 fallback to the CN only without DNS SANs
    char cn[256];
    int len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    if (len > 0) names.push_back(core::to_lower(std::string_view(cn, static_cast<size_t>(len))));
  }
  return names;
}

// Asio keeps its own verify callback in the SSL_CTX app data, so ours lives in a private index.
int backend_tls_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool name_matches(std::string_view pattern, std::string_view host) {
  if (pattern == host) return true;
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    auto dot = host.find('.');
    return dot != std::string_view::npos && dot > 0 && host.substr(dot) == pattern.substr(1);
  }
  return false;
}

crypto::SslCtxPtr new_server_ctx(const config::ListenerTls& cfg) {
  crypto::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return ctx;
  SSL_CTX_set_min_proto_version(
      ctx.get(), cfg.min_version == config::TlsVersion::V1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_alpn, nullptr);
  static const unsigned char kSessionContext[] = "gatehouse";
  SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
  return ctx;
}

}  // namespace

std::string sha1_thumbprint(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return {};
  auto digest = crypto::sha1({der, static_cast<size_t>(len)});
  OPENSSL_free(der);
  return core::hex_encode_upper(digest);
}

std::vector<crypto::X509Ptr> peer_intermediates(SSL* ssl) {
  std::vector<crypto::X509Ptr> out;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  if (SSL_get0_peer_certificate(ssl) == nullptr || chain == nullptr) return out;
  for (int i = SSL_is_server(ssl) ? 0 : 1; i < sk_X509_num(chain); ++i)
    out.push_back(crypto::share(sk_X509_value(chain, i)));
  return out;
}

Result<std::shared_ptr<const ServerTls>> ServerTls::create(const config::ListenerTls& cfg) {
  if (cfg.certificates.empty()) {
    return unexpected(ErrorKind::InvalidArgument, "tls: at least one certificate is required");
  }
  std::shared_ptr<ServerTls> tls(new ServerTls());
  tls->mode_ = cfg.client_certificate;
  for (const auto& files : cfg.certificates) {
    SniEntry entry;
    entry.ctx = new_server_ctx(cfg);
    if (!entry.ctx) return unexpected(crypto::openssl_error("cannot create TLS context"));
    GH_TRY_STATUS(use_cert_and_key(entry.ctx.get(), files.cert, files.key));
    entry.names = names_of(SSL_CTX_get0_certificate(entry.ctx.get()));
    tls->sni_.push_back(std::move(entry));
  }
  // The main context is the first certificate's; asio's context takes ownership of one reference.
  SSL_CTX* first = tls->sni_[0].ctx.get();
  SSL_CTX_up_ref(first);
  tls->main_ = std::make_unique<ssl::context>(first);

  if (cfg.client_certificate != config::ClientCertMode::None) {
    for (auto& entry : tls->sni_) {
      SSL_CTX* ctx = entry.ctx.get();
      if (SSL_CTX_load_verify_locations(ctx, cfg.client_ca.c_str(), nullptr) != 1) {
        return unexpected(crypto::openssl_error(cfg.client_ca + ": cannot load client CA bundle"));
      }
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.client_ca.c_str());
      if (!names) return unexpected(crypto::openssl_error(cfg.client_ca + ": no CA names"));
      SSL_CTX_set_client_CA_list(ctx, names);
      if (cfg.client_certificate == config::ClientCertMode::Require) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_client_cert);
      }
      SSL_CTX_set_verify_depth(ctx, 8);
    }
  }
  if (tls->sni_.size() > 1) {
    SSL_CTX_set_tlsext_servername_callback(first, on_servername);
    SSL_CTX_set_tlsext_servername_arg(first, tls.get());
  }
  return std::shared_ptr<const ServerTls>(std::move(tls));
}

int ServerTls::on_servername(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const ServerTls*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_OK;  // no SNI: default certificate
  std::string host = core::to_lower(name);
  for (size_t i = 1; i < self->sni_.size(); ++i) {
    for (const auto& pattern : self->sni_[i].names) {
      if (name_matches(pattern, host)) {
        SSL_set_SSL_CTX(ssl, self->sni_[i].ctx.get());
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_OK;
}

Result<std::shared_ptr<const BackendTls>> BackendTls::create(const config::BackendTls& cfg,
                                                             const std::string& default_host) {
  std::shared_ptr<BackendTls> tls(new BackendTls());
  crypto::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return unexpected(crypto::openssl_error("cannot create TLS client context"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpnHttp11, sizeof kAlpnHttp11);
  tls->verify_ = cfg.verify;
  tls->server_name_ = cfg.server_name.empty() ? default_host : cfg.server_name;
  error_code ec;
  asio::ip::make_address(tls->server_name_, ec);
  tls->server_name_is_ip_ = !ec;
  if (!cfg.pinned_sha256.empty()) {
    GH_TRY(auto pin, core::hex_decode(cfg.pinned_sha256));
    if (pin.size() != 32) {
      return unexpected(ErrorKind::InvalidArgument, "pinned_sha256 must be 32 bytes of hex");
    }
    tls->pin_ = std::move(pin);
  }
  if (cfg.verify || !tls->pin_.empty()) {
    if (!cfg.ca.empty()) {
      if (SSL_CTX_load_verify_locations(ctx.get(), cfg.ca.c_str(), nullptr) != 1) {
        return unexpected(crypto::openssl_error(cfg.ca + ": cannot load CA bundle"));
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return unexpected(crypto::openssl_error("cannot load the system trust store"));
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, on_verify);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (!cfg.client_cert.empty()) {
    GH_TRY_STATUS(use_cert_and_key(ctx.get(), cfg.client_cert, cfg.client_key));
  }
  SSL_CTX_set_ex_data(ctx.get(), backend_tls_index(), tls.get());
  tls->ctx_ = std::make_unique<ssl::context>(ctx.release());
  return std::shared_ptr<const BackendTls>(std::move(tls));
}

Result<void> BackendTls::prepare(SSL* ssl) const {
  if (!server_name_is_ip_ && !server_name_.empty() &&
      SSL_set_tlsext_host_name(ssl, server_name_.c_str()) != 1) {
    return unexpected(crypto::openssl_error("cannot set SNI"));
  }
  if (verify_ && pin_.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    int ok = server_name_is_ip_ ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name_.c_str())
                                : X509_VERIFY_PARAM_set1_host(param, server_name_.c_str(), 0);
    if (ok != 1) return unexpected(crypto::openssl_error("cannot set expected backend name"));
  }
  return {};
}

// With a pin, the leaf's SHA-256 decides alone (chain errors are ignored: the pin is the trust);
// without one, OpenSSL's chain and hostname verdict stands.
int BackendTls::on_verify(int preverified, X509_STORE_CTX* store) {
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* self = static_cast<const BackendTls*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), backend_tls_index()));
  if (!self || self->pin_.empty()) return preverified;
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  unsigned char* der = nullptr;
  int len = i2d_X509(leaf, &der);
  if (len <= 0) return 0;
  auto digest = crypto::sha256({der, static_cast<size_t>(len)});
  OPENSSL_free(der);
  bool match = crypto::constant_time_equal(digest, self->pin_);
  if (match) X509_STORE_CTX_set_error(store, X509_V_OK);
  return match ? 1 : 0;
}

}  // namespace gh::net
