#pragma once

// A signer for a hot path (the token endpoint): everything that does not depend on the data is
// done once, in make(), instead of per signature as sign_data() does.
//   * EVP_DigestSignInit per signature fetches the algorithm, exports the key to the provider and
//     allocates contexts: several microseconds in OpenSSL 3.0. Here the EVP_PKEY_CTX is
//     initialised once and EVP_PKEY_sign() is called on the digest, which a reused EVP_MD_CTX
//     computes with the pre-fetched EVP_MD.
//   * The key is duplicated (EVP_PKEY_dup): OpenSSL's RSA private operation takes a write lock
//     on the RSA object to find its blinding state, and threads other than the one that created
//     that state share one locked "mt_blinding". A private copy per signer means no two threads
//     ever touch the same RSA object.
// So a PreparedSigner is NOT thread-safe: make one per thread (they are cheap to make compared
// with one RSA signature, and live as long as the key signs).

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/result.h"
#include "crypto/ossl_ptr.h"
#include "crypto/signature.h"

namespace gh::crypto {

class PreparedSigner {
 public:
  PreparedSigner(PreparedSigner&&) noexcept = default;
  PreparedSigner& operator=(PreparedSigner&&) noexcept = default;

  /// For RSASSA-PKCS1-v1_5, RSASSA-PSS (salt = digest length, MGF1 with the same digest) and
  /// ECDSA (r||s output). InvalidArgument for Ed25519 (it signs the message, not a digest) and
  /// for a key that cannot carry `alg` or is not private.
  static Result<PreparedSigner> make(const EVP_PKEY* key, SignatureAlg alg);

  /// Upper bound on a signature's length (the RSA modulus size; 2 * scalar size for ECDSA).
  size_t max_size() const noexcept { return max_size_; }

  /// Signs `data` into `out` (at least max_size() bytes) and returns the signature's length.
  /// Crypto error when OpenSSL fails, InvalidArgument when `out` is too small.
  Result<size_t> sign(std::span<const uint8_t> data, std::span<uint8_t> out) noexcept;

  SignatureAlg alg() const noexcept { return alg_; }

 private:
  PreparedSigner() = default;

  EvpPkeyPtr key_;          // this signer's own copy
  EvpPkeyCtxPtr pkey_ctx_;  // sign-initialised once, with padding and digest set
  EvpMdCtxPtr md_ctx_;      // reused for every digest
  SignatureAlg alg_{};
  size_t max_size_ = 0;
  size_t scalar_size_ = 0;  // ECDSA only
};

}  // namespace gh::crypto
