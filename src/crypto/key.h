#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "core/result.h"
#include "crypto/ossl_ptr.h"

namespace gh::crypto {

enum class KeyType : uint8_t { Rsa, RsaPss, Ec, Ed25519, Other };

/// Loads a private key from PEM (PKCS#8, traditional, encrypted PKCS#8 when `password` is given)
/// or DER. Fails with InvalidArgument naming the problem, never echoing key material.
Result<EvpPkeyPtr> load_private_key(std::string_view pem_or_der, std::string_view password = {});

/// Loads a public key from PEM/DER SubjectPublicKeyInfo ("PUBLIC KEY"), or PKCS#1 "RSA PUBLIC KEY".
Result<EvpPkeyPtr> load_public_key(std::string_view pem_or_der);

/// Reads a whole file (keys, certificates, configs), or what a reference such as
/// "vault:secrets/NAME" stands for (core/references.h). Io error names the path.
Result<std::string> read_file(const std::string& path);

KeyType key_type(const EVP_PKEY* key) noexcept;
/// Key size in bits (modulus for RSA, field for EC).
int key_bits(const EVP_PKEY* key) noexcept;
/// EC curve short name ("P-256", "P-384", "P-521"), or empty when not an EC key.
std::string ec_curve_name(const EVP_PKEY* key);

/// The SubjectPublicKeyInfo PEM of `key` (public part only).
Result<std::string> public_key_pem(const EVP_PKEY* key);
/// Unencrypted PKCS#8 PEM of a private key. Only for writing key files the user asked for.
Result<std::string> private_key_pem(const EVP_PKEY* key);

/// Generates RSA (bits 2048..4096), EC P-256/P-384/P-521 (`curve` "P-256"...), or Ed25519.
Result<EvpPkeyPtr> generate_rsa(int bits);
Result<EvpPkeyPtr> generate_ec(std::string_view curve);
Result<EvpPkeyPtr> generate_ed25519();

}  // namespace gh::crypto
