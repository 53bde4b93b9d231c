#pragma once

// Asymmetric signatures over in-memory data: RSASSA-PKCS1-v1_5, RSASSA-PSS, ECDSA with the fixed
// length r||s encoding (IEEE P1363, the form JOSE uses) and Ed25519. Digests are the pre-fetched
// EVP_MDs of crypto/digest.h, so no call does an implicit algorithm fetch for the digest.

#include <openssl/evp.h>

#include <cstdint>
#include <span>

#include "core/encoding.h"
#include "core/result.h"
#include "crypto/digest.h"
#include "crypto/ossl_ptr.h"

namespace gh::crypto {

enum class SignatureScheme : uint8_t { RsaPkcs1, RsaPss, EcdsaP1363, Ed25519 };

/// A signature algorithm: scheme plus digest (the digest is ignored for Ed25519). For RSASSA-PSS
/// the MGF1 digest equals `digest` and the salt length equals the digest length (RFC 7518 §3.5).
struct SignatureAlg {
  SignatureScheme scheme;
  DigestAlg digest;
};

/// True when `key`'s type can carry `alg` (RSA for PKCS#1/PSS, EC for ECDSA, Ed25519).
bool key_matches_scheme(const EVP_PKEY* key, SignatureScheme scheme) noexcept;

/// Verifies `sig` over `data` with the public part of `key`. False for any mismatch, a malformed
/// or wrong-length signature, or a key of the wrong type. Thread-safe: `key` is only read.
bool verify_signature(const EVP_PKEY* key, SignatureAlg alg, std::span<const uint8_t> data,
                      std::span<const uint8_t> sig) noexcept;

/// A verifier bound to one public key and algorithm whose OpenSSL context is initialised once:
/// EVP_DigestVerifyInit (provider and algorithm lookup, key export) costs several microseconds
/// in OpenSSL 3.0, as much as parsing a whole token, while duplicating a ready context is cheap.
/// verify() duplicates the template and never modifies it, so one PreparedVerifier is shared by
/// all threads.
class PreparedVerifier {
 public:
  /// Fails (Crypto/InvalidArgument) when `key` cannot verify `alg`.
  static Result<PreparedVerifier> make(const EVP_PKEY* key, SignatureAlg alg);

  /// Same contract as verify_signature(key, alg, data, sig). Thread-safe.
  bool verify(std::span<const uint8_t> data, std::span<const uint8_t> sig) const noexcept;

  SignatureAlg alg() const noexcept { return alg_; }

 private:
  PreparedVerifier(EvpPkeyPtr key, SignatureAlg alg, EvpMdCtxPtr ctx)
      : key_(std::move(key)), alg_(alg), template_(std::move(ctx)) {}

  EvpPkeyPtr key_;  // keeps the key alive for the template and for the fallback path
  SignatureAlg alg_;
  EvpMdCtxPtr template_;
};

/// Signs `data` with the private `key`; ECDSA output is r||s of fixed length. Crypto error when
/// the key cannot sign with `alg`.
Result<core::Bytes> sign_data(const EVP_PKEY* key, SignatureAlg alg, std::span<const uint8_t> data);

/// Byte length of one ECDSA coordinate / scalar for `key`'s curve (32, 48, 66), 0 if not EC.
size_t ecdsa_scalar_size(const EVP_PKEY* key) noexcept;

/// Converts r||s (each `scalar_size` bytes) to DER. Fails when the length is wrong, or r or s is
/// zero or not below the group order of the curve with that scalar size (P-256/384/521).
Result<core::Bytes> ecdsa_p1363_to_der(std::span<const uint8_t> sig, size_t scalar_size);

/// Converts a DER ECDSA signature to r||s with each half left-padded to `scalar_size` bytes.
Result<core::Bytes> ecdsa_der_to_p1363(std::span<const uint8_t> der, size_t scalar_size);

}  // namespace gh::crypto
