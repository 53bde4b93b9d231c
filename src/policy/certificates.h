#pragma once

// Certificate entities (apim-policies.md §8.1) by id: configuration `certificates:`, referenced
// by validate-jwt `certificate-id`, validate-client-certificate `issuer-certificate-id`,
// authentication-certificate and backends. Immutable once built; rebuilt on reload (files are
// re-read then, so a renewed certificate is picked up).

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/ossl_ptr.h"
#include "x509/certificate.h"

namespace gh::policy {

struct CertificateEntity {
  std::string id;
  x509::Certificate certificate;
  std::vector<x509::Certificate> chain;  // further certificates from the same PEM file
  std::string cert_file;
  std::string key_file;         // "" for a public-only (CER) entity
  std::string thumbprint_sha1;  // upper-case hex
};

class CertificateCatalog {
 public:
  void add(std::shared_ptr<const CertificateEntity> entity);
  /// By id, or null.
  const CertificateEntity* find(std::string_view id) const noexcept;
  /// By SHA-1 thumbprint (any case), or null.
  const CertificateEntity* find_by_thumbprint(std::string_view sha1_hex) const noexcept;
  const std::vector<std::shared_ptr<const CertificateEntity>>& all() const noexcept { return all_; }

 private:
  std::vector<std::shared_ptr<const CertificateEntity>> all_;
  std::map<std::string, size_t, std::less<>> by_id_;
};

}  // namespace gh::policy
