#pragma once

// Shared by the revocation and validate-client-certificate tests: certificates with OCSP / CRL
// distribution point URLs, and a RevocationFetcher that serves canned responses from memory.

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/asio.h"
#include "policy/revocation.h"
#include "support/test_pki.h"
#include "x509/certificate.h"

namespace gh::policy::revocation_test {

inline x509::Certificate cert_of(const test::TestCert& c) {
  return x509::Certificate(crypto::share(c.cert.get()));
}

/// `cert` (freshly issued by `issuer`) with an AIA OCSP URL and/or a CRL distribution point,
/// re-signed, and re-parsed so that no cached fingerprint of the old encoding survives.
inline test::TestCert with_revocation_urls(test::TestCert cert, const test::TestCert& issuer,
                                           const std::string& ocsp_url,
                                           const std::string& crl_url) {
  X509* x = cert.cert.get();
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer.cert.get(), x, nullptr, nullptr, 0);
  if (!ocsp_url.empty()) {
    crypto::X509ExtensionPtr ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_info_access, ("OCSP;URI:" + ocsp_url).c_str()));
    if (!ext || X509_add_ext(x, ext.get(), -1) != 1) std::abort();
  }
  if (!crl_url.empty()) {
    crypto::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, NID_crl_distribution_points,
                                                     ("URI:" + crl_url).c_str()));
    if (!ext || X509_add_ext(x, ext.get(), -1) != 1) std::abort();
  }
  if (X509_sign(x, issuer.key.get(), EVP_sha256()) <= 0) std::abort();
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  const unsigned char* p = der;
  test::TestCert out{crypto::X509Ptr(d2i_X509(nullptr, &p, len)), crypto::share(cert.key.get())};
  OPENSSL_free(der);
  if (!out.cert) std::abort();
  return out;
}

/// Serves canned responses by URL; counts requests; can hold every fetch until released.
class FakeFetcher final : public RevocationFetcher {
 public:
  struct Response {
    unsigned status = 200;
    std::string body;
    bool fail = false;  // answer with a transport error instead
  };

  void set(const std::string& url, std::string body, unsigned status = 200) {
    responses_[url] = Response{status, std::move(body), false};
  }
  void set(const std::string& url, const core::Bytes& body, unsigned status = 200) {
    set(url, std::string(body.begin(), body.end()), status);
  }
  void fail(const std::string& url) { responses_[url] = Response{0, {}, true}; }

  /// While held, fetches wait until release() (driven by the test on the fetch's executor).
  void hold() { held_ = true; }
  void release() {
    held_ = false;
    for (auto& t : gates_)
      net::asio::post(t->get_executor(), [t] { t->cancel(); });
    gates_.clear();
  }

  size_t requests(const std::string& url) const {
    auto it = counts_.find(url);
    return it == counts_.end() ? 0 : it->second;
  }
  size_t total() const {
    size_t n = 0;
    for (const auto& [url, c] : counts_)
      n += c;
    return n;
  }
  const std::vector<http::FetchRequest>& log() const { return log_; }

  net::awaitable<Result<http::FetchedDocument>> fetch(http::FetchRequest request,
                                                      http::FetchOptions options) override {
    ++counts_[request.url];
    log_.push_back(request);
    if (held_) {
      auto gate = std::make_shared<net::SteadyTimer>(co_await net::asio::this_coro::executor,
                                                     std::chrono::hours(1));
      gates_.push_back(gate);
      co_await gate->async_wait(net::use_tuple);
    }
    auto it = responses_.find(request.url);
    if (it == responses_.end() || it->second.fail) {
      co_return unexpected(ErrorKind::Unavailable, "connection refused");
    }
    if (it->second.body.size() > options.max_body) {
      co_return unexpected(ErrorKind::LimitExceeded, "too large");
    }
    http::FetchedDocument doc;
    doc.status = it->second.status;
    doc.body = it->second.body;
    co_return doc;
  }

 private:
  std::map<std::string, Response> responses_;
  std::map<std::string, size_t> counts_;
  std::vector<http::FetchRequest> log_;
  std::vector<std::shared_ptr<net::SteadyTimer>> gates_;
  bool held_ = false;
};

/// Runs `checker.check(chain)` to completion on a private event loop.
inline RevocationResult run_check(const std::shared_ptr<RevocationChecker>& checker,
                                  std::vector<x509::Certificate> chain) {
  net::asio::io_context ioc(1);
  RevocationResult out{RevocationStatus::NeedsFetch, "not run"};
  net::asio::co_spawn(ioc.get_executor(), checker->check(std::move(chain)),
                      [&out](std::exception_ptr e, RevocationResult r) {
                        if (e) std::rethrow_exception(e);
                        out = r;
                      });
  ioc.run();
  return out;
}

}  // namespace gh::policy::revocation_test
