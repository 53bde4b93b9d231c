#include "x509/trust_store.h"

#include "crypto/key.h"
#include "crypto/openssl_error.h"
#include "x509/cert_loader.h"

namespace gh::x509 {

Result<TrustStore> TrustStore::create(std::span<const Certificate> anchors,
                                      std::vector<crypto::X509CrlPtr> crls) {
  if (anchors.empty()) {
    return unexpected(ErrorKind::InvalidArgument, "trust store needs at least one CA certificate");
  }
  crypto::X509StorePtr store(X509_STORE_new());
  if (!store) return unexpected(crypto::openssl_error("cannot create X509_STORE"));
  for (const auto& a : anchors) {
    // add_cert takes its own reference; adding a duplicate is harmless in OpenSSL 3.
    if (X509_STORE_add_cert(store.get(), a.get()) != 1) {
      return unexpected(crypto::openssl_error("cannot add trust anchor " + a.subject()));
    }
  }
  for (const auto& crl : crls) {
    if (X509_STORE_add_crl(store.get(), crl.get()) != 1) {
      return unexpected(crypto::openssl_error("cannot add CRL"));
    }
  }
  return TrustStore(std::move(store), std::vector<Certificate>(anchors.begin(), anchors.end()),
                    crls.size());
}

Result<TrustStore> TrustStore::load_files(const std::string& ca_file,
                                          const std::vector<std::string>& crl_files) {
  GH_TRY(auto ca_data, crypto::read_file(ca_file));
  auto anchors = load_certificates(ca_data);
  if (!anchors) return unexpected(anchors.error().with_context(ca_file));
  std::vector<crypto::X509CrlPtr> crls;
  for (const auto& path : crl_files) {
    GH_TRY(auto data, crypto::read_file(path));
    auto loaded = load_crls(data);
    if (!loaded) return unexpected(loaded.error().with_context(path));
    for (auto& c : *loaded)
      crls.push_back(std::move(c));
  }
  return create(*anchors, std::move(crls));
}

}  // namespace gh::x509
