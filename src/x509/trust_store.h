#pragma once

// A set of trust anchors plus the CRLs to check against: immutable once built.

#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "crypto/ossl_ptr.h"
#include "x509/certificate.h"

namespace gh::x509 {

/// Trust anchors and CRLs in an X509_STORE. Built once, then only read: OpenSSL locks the
/// store's lookups internally, so one TrustStore may serve verifications on several threads.
class TrustStore {
 public:
  /// A store trusting `anchors` (usually self-signed roots) and holding `crls`.
  static Result<TrustStore> create(std::span<const Certificate> anchors,
                                   std::vector<crypto::X509CrlPtr> crls = {});
  /// Loads anchors from a PEM/DER file and CRLs from PEM/DER files; errors name the file.
  static Result<TrustStore> load_files(const std::string& ca_file,
                                       const std::vector<std::string>& crl_files = {});

  X509_STORE* get() const noexcept { return store_.get(); }
  const std::vector<Certificate>& anchors() const noexcept { return anchors_; }
  size_t crl_count() const noexcept { return crl_count_; }

 private:
  TrustStore(crypto::X509StorePtr store, std::vector<Certificate> anchors, size_t crls)
      : store_(std::move(store)), anchors_(std::move(anchors)), crl_count_(crls) {}

  crypto::X509StorePtr store_;
  std::vector<Certificate> anchors_;
  size_t crl_count_ = 0;
};

}  // namespace gh::x509
