#include "crypto/prepared_signer.h"

#include <openssl/rsa.h>

#include <cstring>

#include "crypto/openssl_error.h"

namespace gh::crypto {

Result<PreparedSigner> PreparedSigner::make(const EVP_PKEY* key, SignatureAlg alg) {
  if (alg.scheme == SignatureScheme::Ed25519) {
    return unexpected(ErrorKind::InvalidArgument, "Ed25519 cannot sign a pre-computed digest");
  }
  if (!key_matches_scheme(key, alg.scheme)) {
    return unexpected(ErrorKind::InvalidArgument, "key type does not match signature algorithm");
  }
  PreparedSigner s;
  s.alg_ = alg;
  s.key_.reset(EVP_PKEY_dup(const_cast<EVP_PKEY*>(key)));
  if (!s.key_) return unexpected(openssl_error("cannot copy the signing key"));
  s.pkey_ctx_.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, s.key_.get(), nullptr));
  if (!s.pkey_ctx_ || EVP_PKEY_sign_init(s.pkey_ctx_.get()) != 1) {
    return unexpected(openssl_error("cannot initialise signing"));
  }
  EVP_PKEY_CTX* pctx = s.pkey_ctx_.get();
  const EVP_MD* digest = md(alg.digest);
  bool ok = EVP_PKEY_CTX_set_signature_md(pctx, digest) == 1;
  if (ok && alg.scheme == SignatureScheme::RsaPss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, static_cast<int>(digest_size(alg.digest))) == 1;
  }
  if (!ok) return unexpected(openssl_error("cannot configure signing"));
  s.md_ctx_.reset(EVP_MD_CTX_new());
  if (!s.md_ctx_) return unexpected(openssl_error("EVP_MD_CTX_new"));
  if (alg.scheme == SignatureScheme::EcdsaP1363) {
    s.scalar_size_ = ecdsa_scalar_size(s.key_.get());
    s.max_size_ = 2 * s.scalar_size_;
  } else {
    s.max_size_ = static_cast<size_t>(EVP_PKEY_get_size(s.key_.get()));
  }
  // One signature now, so that a key without its private half fails here and not per request.
  uint8_t probe[8] = {};
  core::Bytes sig(s.max_size_);
  GH_TRY(size_t len, s.sign(probe, sig));
  (void)len;
  return s;
}

Result<size_t> PreparedSigner::sign(std::span<const uint8_t> data,
                                    std::span<uint8_t> out) noexcept {
  if (out.size() < max_size_) {
    return unexpected(ErrorKind::InvalidArgument, "signature buffer too small");
  }
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_DigestInit_ex2(md_ctx_.get(), md(alg_.digest), nullptr) != 1 ||
      EVP_DigestUpdate(md_ctx_.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(md_ctx_.get(), digest, &digest_len) != 1) {
    return unexpected(openssl_error("digest failed"));
  }
  if (alg_.scheme != SignatureScheme::EcdsaP1363) {
    size_t len = out.size();
    if (EVP_PKEY_sign(pkey_ctx_.get(), out.data(), &len, digest, digest_len) != 1) {
      return unexpected(openssl_error("signing failed"));
    }
    return len;
  }
  // ECDSA: OpenSSL produces DER; JOSE wants r||s. DER is at most 2 * scalar + 9 bytes.
  uint8_t der[2 * 66 + 16];
  size_t der_len = sizeof der;
  if (EVP_PKEY_sign(pkey_ctx_.get(), der, &der_len, digest, digest_len) != 1) {
    return unexpected(openssl_error("signing failed"));
  }
  auto p1363 = ecdsa_der_to_p1363({der, der_len}, scalar_size_);
  if (!p1363) return unexpected(std::move(p1363).error());
  std::memcpy(out.data(), p1363->data(), p1363->size());
  return p1363->size();
}

}  // namespace gh::crypto
