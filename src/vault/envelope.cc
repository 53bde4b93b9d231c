#include "vault/envelope.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

#include "crypto/openssl_error.h"
#include "crypto/ossl_ptr.h"
#include "crypto/random.h"

namespace gh::vault {
namespace {

constexpr size_t kDataKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

const EVP_CIPHER* aes_256_gcm() noexcept {
  static const crypto::EvpCipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  return cipher.get();
}

// Wipes a data key or plaintext buffer when it goes out of scope.
template <class Buffer>
struct Wipe {
  Buffer& buffer;
  ~Wipe() {
    if (!buffer.empty()) OPENSSL_cleanse(buffer.data(), buffer.size());
  }
};

Status check_fingerprint(const identity::MasterKey& master, const SealedValue& sealed) {
  const std::string mine = master.fingerprint();
  if (sealed.fingerprint != mine) {
    return unexpected(ErrorKind::Crypto, "value was sealed under master key " + sealed.fingerprint +
                                             ", not the current master key " + mine);
  }
  return {};
}

// The data key, unwrapped and checked for size.
Result<core::Bytes> unwrap_key(const identity::MasterKey& master, const SealedValue& sealed,
                               std::string_view aad) {
  GH_TRY_STATUS(check_fingerprint(master, sealed));
  GH_TRY(core::Bytes key, master.open(sealed.wrapped_key, aad));
  if (key.size() != kDataKeyBytes) {
    OPENSSL_cleanse(key.data(), key.size());
    return unexpected(ErrorKind::Crypto, "wrapped data key has the wrong size");
  }
  return key;
}

}  // namespace

std::string envelope_aad(std::string_view name, std::string_view version) {
  std::string aad = "secrets/";
  aad.append(name).append("/").append(version);
  return aad;
}

Result<SealedValue> seal_value(const identity::MasterKey& master, std::span<const uint8_t> plain,
                               std::string_view aad) {
  std::array<uint8_t, kDataKeyBytes> key{};
  Wipe<std::array<uint8_t, kDataKeyBytes>> wipe_key{key};
  crypto::random_bytes(key);

  SealedValue out;
  out.ciphertext.resize(kNonceBytes + plain.size() + kTagBytes);
  uint8_t* nonce = out.ciphertext.data();
  uint8_t* ct = nonce + kNonceBytes;
  crypto::random_bytes(std::span<uint8_t>(nonce, kNonceBytes));
  crypto::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int final_len = 0;
  if (!ctx || !aes_256_gcm() ||
      EVP_EncryptInit_ex2(ctx.get(), aes_256_gcm(), key.data(), nonce, nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, plain.data(), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + plain.size()) != 1) {
    return unexpected(crypto::openssl_error("cannot seal a vault value"));
  }
  GH_TRY(out.wrapped_key, master.seal(key, aad));
  out.fingerprint = master.fingerprint();
  return out;
}

Result<std::string> open_value(const identity::MasterKey& master, const SealedValue& sealed,
                               std::string_view aad) {
  if (sealed.ciphertext.size() < kNonceBytes + kTagBytes) {
    return unexpected(ErrorKind::Crypto, "sealed value is too short");
  }
  GH_TRY(core::Bytes key, unwrap_key(master, sealed, aad));
  Wipe<core::Bytes> wipe_key{key};

  const uint8_t* nonce = sealed.ciphertext.data();
  const size_t ct_len = sealed.ciphertext.size() - kNonceBytes - kTagBytes;
  const uint8_t* ct = nonce + kNonceBytes;
  std::string plain(ct_len, '\0');
  crypto::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const bool setup =
      ctx && aes_256_gcm() &&
      EVP_DecryptInit_ex2(ctx.get(), aes_256_gcm(), key.data(), nonce, nullptr) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<uint8_t*>(plain.data()), &len, ct,
                        static_cast<int>(ct_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          const_cast<uint8_t*>(ct + ct_len)) == 1;
  uint8_t final_block[16];
  if (!setup || EVP_DecryptFinal_ex(ctx.get(), final_block, &len) != 1) {
    // Nothing of the unauthenticated plaintext may escape.
    if (!plain.empty()) OPENSSL_cleanse(plain.data(), plain.size());
    crypto::clear_openssl_errors();
    return unexpected(ErrorKind::Crypto, "sealed value does not authenticate (altered data)");
  }
  return plain;
}

Result<SealedValue> rewrap_value(const identity::MasterKey& from, const identity::MasterKey& to,
                                 SealedValue sealed, std::string_view aad) {
  GH_TRY(core::Bytes key, unwrap_key(from, sealed, aad));
  Wipe<core::Bytes> wipe_key{key};
  GH_TRY(sealed.wrapped_key, to.seal(key, aad));
  sealed.fingerprint = to.fingerprint();
  return sealed;
}

}  // namespace gh::vault
