#include "x509/cert_loader.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include <cstring>

#include "crypto/openssl_error.h"

namespace gh::x509 {
namespace {

using Pkcs12Ptr = std::unique_ptr<PKCS12, crypto::OsslFree<&PKCS12_free>>;

core::Unexpected load_error(LoadError code, std::string message,
                            ErrorKind kind = ErrorKind::InvalidArgument) {
  crypto::clear_openssl_errors();  // reasons may quote input bytes; we give our own message
  return unexpected(kind, std::move(message), static_cast<int>(code));
}

crypto::BioPtr memory_bio(std::string_view data) {
  return crypto::BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

void free_pem_block(char* name, char* header, unsigned char* data) {
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
}

// Walks PEM blocks in order, calling `on_block(name, der)` for each. Stops at the first
// malformed block (bad base64 between armour lines is an error, not silently skipped).
template <typename F>
Status for_each_pem_block(std::string_view pem, F&& on_block) {
  crypto::BioPtr bio = memory_bio(pem);
  if (!bio) return load_error(LoadError::Malformed, "out of memory");
  for (int index = 0;; ++index) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      unsigned long err = ERR_peek_last_error();
      free_pem_block(name, header, data);
      if (ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;  // end of input
      return load_error(LoadError::Malformed,
                        "PEM block " + std::to_string(index + 1) + " is malformed");
    }
    Status s = on_block(std::string_view(name), std::span<const uint8_t>(data, len), index);
    free_pem_block(name, header, data);
    if (!s) return s;
  }
  crypto::clear_openssl_errors();
  return {};
}

Result<Certificate> cert_from_der(std::span<const uint8_t> der, std::string_view what) {
  auto cert = Certificate::from_der(der);
  if (!cert)
    return load_error(LoadError::Malformed, std::string(what) + ": " + cert.error().message);
  return cert;
}

}  // namespace

bool looks_like_pem(std::string_view data) noexcept {
  return data.find("-----BEGIN ") != std::string_view::npos;
}

Result<std::vector<Certificate>> load_certificates(std::string_view pem_or_der) {
  if (pem_or_der.size() > kMaxCredentialBytes) {
    return load_error(LoadError::TooLarge, "certificate data larger than 4 MiB");
  }
  std::vector<Certificate> out;
  if (looks_like_pem(pem_or_der)) {
    GH_TRY_STATUS(for_each_pem_block(
        pem_or_der, [&](std::string_view name, std::span<const uint8_t> der, int index) -> Status {
          if (name != PEM_STRING_X509 && name != PEM_STRING_X509_OLD) return {};
          GH_TRY(auto cert,
                 cert_from_der(der, "PEM block " + std::to_string(index + 1) + " (CERTIFICATE)"));
          out.push_back(std::move(cert));
          return {};
        }));
    if (out.empty()) return load_error(LoadError::NoCertificate, "no CERTIFICATE block in PEM");
    return out;
  }
  if (pem_or_der.empty()) return load_error(LoadError::NoCertificate, "empty certificate data");
  GH_TRY(auto cert, cert_from_der(core::as_bytes(pem_or_der), "DER"));
  out.push_back(std::move(cert));
  return out;
}

Result<std::vector<crypto::X509CrlPtr>> load_crls(std::string_view pem_or_der) {
  if (pem_or_der.size() > kMaxCredentialBytes) {
    return load_error(LoadError::TooLarge, "CRL data larger than 4 MiB");
  }
  std::vector<crypto::X509CrlPtr> out;
  auto parse = [](std::span<const uint8_t> der) -> crypto::X509CrlPtr {
    const unsigned char* p = der.data();
    crypto::X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
    if (crl && p != der.data() + der.size()) crl.reset();
    return crl;
  };
  if (looks_like_pem(pem_or_der)) {
    GH_TRY_STATUS(for_each_pem_block(
        pem_or_der, [&](std::string_view name, std::span<const uint8_t> der, int index) -> Status {
          if (name != PEM_STRING_X509_CRL) return {};
          auto crl = parse(der);
          if (!crl) {
            return load_error(LoadError::Malformed,
                              "PEM block " + std::to_string(index + 1) + " is not a valid CRL");
          }
          out.push_back(std::move(crl));
          return {};
        }));
    if (out.empty()) return load_error(LoadError::NoCertificate, "no X509 CRL block in PEM");
    return out;
  }
  auto crl = parse(core::as_bytes(pem_or_der));
  if (!crl) return load_error(LoadError::Malformed, "not a DER X.509 CRL");
  out.push_back(std::move(crl));
  return out;
}

Result<Pkcs12Bundle> load_pkcs12(std::span<const uint8_t> der, std::string_view password) {
  if (der.size() > kMaxCredentialBytes) {
    return load_error(LoadError::TooLarge, "PKCS#12 data larger than 4 MiB");
  }
  const unsigned char* p = der.data();
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  if (!p12) return load_error(LoadError::Malformed, "not a PKCS#12 (PFX) file");
  if (PKCS12_mac_present(p12.get())) {
    // A hostile file can ask for billions of MAC iterations; real tools use 1 to ~600k.
    const ASN1_INTEGER* iter = nullptr;
    PKCS12_get0_mac(nullptr, nullptr, nullptr, &iter, p12.get());
    int64_t count = 1;
    if (iter != nullptr &&
        (ASN1_INTEGER_get_int64(&count, iter) != 1 || count > kMaxPkcs12Iterations)) {
      return load_error(LoadError::Malformed, "PKCS#12 MAC iteration count is unreasonably high");
    }
  }
  // An empty password may have been encoded either as "" or as absent (NULL); try both.
  const std::string pass(password);
  const char* pass_arg = pass.c_str();
  if (PKCS12_mac_present(p12.get())) {
    if (PKCS12_verify_mac(p12.get(), pass.c_str(), static_cast<int>(pass.size())) != 1) {
      if (!pass.empty() || PKCS12_verify_mac(p12.get(), nullptr, 0) != 1) {
        return load_error(LoadError::WrongPassword, "PKCS#12 MAC check failed: wrong password",
                          ErrorKind::Unauthenticated);
      }
      pass_arg = nullptr;
    }
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  if (PKCS12_parse(p12.get(), pass_arg, &key, &cert, &ca) != 1) {
    return load_error(LoadError::Malformed, "PKCS#12 contents cannot be decrypted or parsed");
  }
  Pkcs12Bundle bundle;
  bundle.key.reset(key);
  if (cert) bundle.cert.emplace(crypto::X509Ptr(cert));
  crypto::X509StackPtr chain(ca);
  for (int i = 0; chain && i < sk_X509_num(chain.get()); ++i) {
    bundle.ca_chain.emplace_back(crypto::share(sk_X509_value(chain.get(), i)));
  }
  return bundle;
}

Result<std::vector<Certificate>> load_any_certificates(std::string_view data,
                                                       std::string_view password) {
  if (looks_like_pem(data)) return load_certificates(data);
  if (auto der = load_certificates(data)) return der;
  auto p12 = load_pkcs12(core::as_bytes(data), password);
  if (!p12) {
    if (p12.error().detail == static_cast<int>(LoadError::Malformed)) {
      return load_error(LoadError::Malformed, "not a PEM, DER or PKCS#12 certificate file");
    }
    return unexpected(std::move(p12).error());
  }
  std::vector<Certificate> out;
  if (p12->cert) out.push_back(*p12->cert);
  for (auto& c : p12->ca_chain)
    out.push_back(std::move(c));
  if (out.empty()) return load_error(LoadError::NoCertificate, "PKCS#12 holds no certificate");
  return out;
}

Result<core::Bytes> make_pkcs12(const EVP_PKEY* key, const Certificate& cert,
                                std::span<const Certificate> chain, std::string_view password,
                                std::string_view friendly_name) {
  crypto::X509StackPtr ca(sk_X509_new_null());
  if (!ca) return unexpected(crypto::openssl_error("cannot allocate certificate stack"));
  for (const auto& c : chain) {
    crypto::X509Ptr ref = c.share();
    if (sk_X509_push(ca.get(), ref.get()) <= 0) {
      return unexpected(crypto::openssl_error("cannot build PKCS#12 chain"));
    }
    ref.release();  // now owned by the stack
  }
  const std::string pass(password);
  const std::string name(friendly_name);
  // nid 0 / iter 0 / mac_iter 0 select OpenSSL 3's defaults (AES-256-CBC, PBKDF2, SHA-256).
  Pkcs12Ptr p12(PKCS12_create(pass.c_str(), name.empty() ? nullptr : name.c_str(),
                              const_cast<EVP_PKEY*>(key), cert.get(), ca.get(), 0, 0, 0, 0, 0));
  if (!p12) return unexpected(crypto::openssl_error("cannot create PKCS#12"));
  unsigned char* out = nullptr;
  int len = i2d_PKCS12(p12.get(), &out);
  if (len <= 0) return unexpected(crypto::openssl_error("cannot encode PKCS#12"));
  core::Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

}  // namespace gh::x509
