#include "crypto/key.h"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

#include "core/references.h"
#include "crypto/openssl_error.h"

namespace gh::crypto {
namespace {

using DecoderCtxPtr = std::unique_ptr<OSSL_DECODER_CTX, OsslFree<&OSSL_DECODER_CTX_free>>;
using EncoderCtxPtr = std::unique_ptr<OSSL_ENCODER_CTX, OsslFree<&OSSL_ENCODER_CTX_free>>;

Result<EvpPkeyPtr> decode(std::string_view data, int selection, std::string_view password,
                          std::string_view what) {
  EVP_PKEY* raw = nullptr;
  DecoderCtxPtr ctx(
      OSSL_DECODER_CTX_new_for_pkey(&raw, nullptr, nullptr, nullptr, selection, nullptr, nullptr));
  if (!ctx) return unexpected(openssl_error("cannot create key decoder"));
  if (!password.empty()) {
    OSSL_DECODER_CTX_set_passphrase(
        ctx.get(), reinterpret_cast<const unsigned char*>(password.data()), password.size());
  }
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t len = data.size();
  if (OSSL_DECODER_from_data(ctx.get(), &p, &len) != 1 || raw == nullptr) {
    clear_openssl_errors();  // reasons may quote input; give our own message
    return unexpected(ErrorKind::InvalidArgument,
                      std::string("not a readable ") + std::string(what) +
                          (password.empty() ? " (PEM or DER; encrypted keys need a password)"
                                            : " (or wrong password)"));
  }
  return EvpPkeyPtr(raw);
}

Result<std::string> encode(const EVP_PKEY* key, int selection, const char* structure) {
  EncoderCtxPtr ctx(OSSL_ENCODER_CTX_new_for_pkey(key, selection, "PEM", structure, nullptr));
  if (!ctx) return unexpected(openssl_error("cannot create key encoder"));
  unsigned char* out = nullptr;
  size_t len = 0;
  if (OSSL_ENCODER_to_data(ctx.get(), &out, &len) != 1) {
    return unexpected(openssl_error("cannot encode key"));
  }
  std::string pem(reinterpret_cast<char*>(out), len);
  OPENSSL_clear_free(out, len);
  return pem;
}

Result<EvpPkeyPtr> keygen(const char* alg, OSSL_PARAM* params) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, alg, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) {
    return unexpected(openssl_error("key generation init failed"));
  }
  if (params && EVP_PKEY_CTX_set_params(ctx.get(), params) != 1) {
    return unexpected(openssl_error("key generation parameters rejected"));
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1)
    return unexpected(openssl_error("key generation failed"));
  return EvpPkeyPtr(raw);
}

}  // namespace

Result<EvpPkeyPtr> load_private_key(std::string_view pem_or_der, std::string_view password) {
  return decode(pem_or_der, OSSL_KEYMGMT_SELECT_KEYPAIR, password, "private key");
}

Result<EvpPkeyPtr> load_public_key(std::string_view pem_or_der) {
  return decode(pem_or_der, OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS, {},
                "public key");
}

Result<std::string> read_file(const std::string& path) {
  if (core::is_reference(path)) return core::read_reference(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(ErrorKind::Io, "cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return unexpected(ErrorKind::Io, "cannot read " + path);
  return ss.str();
}

KeyType key_type(const EVP_PKEY* key) noexcept {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return KeyType::Rsa;
    case EVP_PKEY_RSA_PSS:
      return KeyType::RsaPss;
    case EVP_PKEY_EC:
      return KeyType::Ec;
    case EVP_PKEY_ED25519:
      return KeyType::Ed25519;
    default:
      return KeyType::Other;
  }
}

int key_bits(const EVP_PKEY* key) noexcept {
  return EVP_PKEY_get_bits(key);
}

std::string ec_curve_name(const EVP_PKEY* key) {
  if (key_type(key) != KeyType::Ec) return {};
  char name[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) !=
      1) {
    clear_openssl_errors();
    return {};
  }
  std::string_view n(name, len);
  if (n == "prime256v1" || n == "P-256") return "P-256";
  if (n == "secp384r1" || n == "P-384") return "P-384";
  if (n == "secp521r1" || n == "P-521") return "P-521";
  return std::string(n);
}

Result<std::string> public_key_pem(const EVP_PKEY* key) {
  return encode(key, OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS,
                "SubjectPublicKeyInfo");
}

Result<std::string> private_key_pem(const EVP_PKEY* key) {
  return encode(key, OSSL_KEYMGMT_SELECT_KEYPAIR | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS,
                "PrivateKeyInfo");
}

Result<EvpPkeyPtr> generate_rsa(int bits) {
  if (bits < 2048 || bits > 8192) {
    return unexpected(ErrorKind::InvalidArgument, "RSA key size must be 2048..8192 bits");
  }
  size_t b = static_cast<size_t>(bits);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &b), OSSL_PARAM_END};
  return keygen("RSA", params);
}

Result<EvpPkeyPtr> generate_ec(std::string_view curve) {
  const char* group = curve == "P-256"   ? "P-256"
                      : curve == "P-384" ? "P-384"
                      : curve == "P-521" ? "P-521"
                                         : nullptr;
  if (!group)
    return unexpected(ErrorKind::InvalidArgument, "unsupported curve (P-256, P-384, P-521)");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_END};
  return keygen("EC", params);
}

Result<EvpPkeyPtr> generate_ed25519() {
  return keygen("ED25519", nullptr);
}

}  // namespace gh::crypto
