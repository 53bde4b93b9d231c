#pragma once

// RAII for every OpenSSL object: one unique_ptr alias per type. Share refcounted objects with
// X509_up_ref / EVP_PKEY_up_ref, never with shared_ptr.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace gh::crypto {

template <auto F>
struct OsslFree {
  void operator()(auto* p) const noexcept { F(p); }
};

using BioPtr = std::unique_ptr<BIO, OsslFree<&BIO_free_all>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OsslFree<&EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslFree<&EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslFree<&EVP_MD_CTX_free>>;
using EvpMdPtr = std::unique_ptr<EVP_MD, OsslFree<&EVP_MD_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OsslFree<&EVP_CIPHER_CTX_free>>;
using EvpCipherPtr = std::unique_ptr<EVP_CIPHER, OsslFree<&EVP_CIPHER_free>>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, OsslFree<&EVP_MAC_free>>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, OsslFree<&EVP_MAC_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OsslFree<&X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OsslFree<&X509_CRL_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OsslFree<&X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OsslFree<&X509_STORE_CTX_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OsslFree<&X509_NAME_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OsslFree<&X509_REQ_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OsslFree<&X509_EXTENSION_free>>;
using X509VerifyParamPtr = std::unique_ptr<X509_VERIFY_PARAM, OsslFree<&X509_VERIFY_PARAM_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OsslFree<&GENERAL_NAMES_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OsslFree<&ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OsslFree<&ASN1_TIME_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslFree<&BN_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OsslFree<&SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OsslFree<&SSL_free>>;

inline void free_x509_stack(STACK_OF(X509) * s) noexcept {
  sk_X509_pop_free(s, X509_free);
}
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OsslFree<&free_x509_stack>>;

/// A new reference to `cert` (X509_up_ref), owned by the returned pointer.
inline X509Ptr share(X509* cert) noexcept {
  if (cert) X509_up_ref(cert);
  return X509Ptr(cert);
}
/// A new reference to `key` (EVP_PKEY_up_ref), owned by the returned pointer.
inline EvpPkeyPtr share(EVP_PKEY* key) noexcept {
  if (key) EVP_PKEY_up_ref(key);
  return EvpPkeyPtr(key);
}

}  // namespace gh::crypto
