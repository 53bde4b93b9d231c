#include "crypto/hmac.h"

#include <openssl/core_names.h>

#include <iterator>

#include "crypto/openssl_error.h"
#include "crypto/ossl_ptr.h"

namespace gh::crypto {
namespace {

const EVP_MAC* hmac_mac() noexcept {
  static const EvpMacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));  // fetched once
  return mac.get();
}

const char* digest_name(DigestAlg alg) noexcept {
  switch (alg) {
    case DigestAlg::Sha1:
      return "SHA1";
    case DigestAlg::Sha256:
      return "SHA256";
    case DigestAlg::Sha384:
      return "SHA384";
    case DigestAlg::Sha512:
      return "SHA512";
  }
  return "SHA256";
}

// One context per thread and digest, with the digest set once: setting it by name on every
// call makes OpenSSL fetch the digest (a method-store lookup under a lock) per MAC, which
// showed up on the token endpoint's secret path. Re-initialising with a new key is cheap.
EVP_MAC_CTX* thread_context(DigestAlg alg) noexcept {
  thread_local EvpMacCtxPtr contexts[4];
  const auto i = static_cast<size_t>(alg);
  if (i >= std::size(contexts)) return nullptr;
  if (!contexts[i]) {
    const EVP_MAC* mac = hmac_mac();
    if (mac == nullptr) return nullptr;
    EvpMacCtxPtr ctx(EVP_MAC_CTX_new(const_cast<EVP_MAC*>(mac)));
    if (!ctx) return nullptr;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                            const_cast<char*>(digest_name(alg)), 0),
                           OSSL_PARAM_END};
    if (EVP_MAC_CTX_set_params(ctx.get(), params) != 1) return nullptr;
    contexts[i] = std::move(ctx);
  }
  return contexts[i].get();
}

// Computes the MAC into `out` (at least 64 bytes); returns its length, 0 on failure.
size_t compute(DigestAlg alg, std::span<const uint8_t> key, std::span<const uint8_t> data,
               uint8_t* out, size_t out_size) noexcept {
  EVP_MAC_CTX* ctx = thread_context(alg);
  if (ctx == nullptr) return 0;
  // An empty key is passed as a one-byte buffer of length 0: EVP_MAC_init treats a null key as
  // "reuse the previous key".
  static const uint8_t kEmpty = 0;
  const uint8_t* k = key.empty() ? &kEmpty : key.data();
  size_t len = 0;
  if (EVP_MAC_init(ctx, k, key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx, data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx, out, &len, out_size) != 1) {
    return 0;
  }
  return len;
}

}  // namespace

Result<core::Bytes> hmac(DigestAlg alg, std::span<const uint8_t> key,
                         std::span<const uint8_t> data) {
  core::Bytes out(EVP_MAX_MD_SIZE);
  const size_t len = compute(alg, key, data, out.data(), out.size());
  if (len == 0) return unexpected(openssl_error("HMAC failed"));
  out.resize(len);
  return out;
}

bool hmac_verify(DigestAlg alg, std::span<const uint8_t> key, std::span<const uint8_t> data,
                 std::span<const uint8_t> mac) noexcept {
  uint8_t buf[EVP_MAX_MD_SIZE];
  const size_t len = compute(alg, key, data, buf, sizeof buf);
  if (len == 0) {
    clear_openssl_errors();
    return false;
  }
  const bool ok = constant_time_equal({buf, len}, mac);
  OPENSSL_cleanse(buf, sizeof buf);
  return ok;
}

}  // namespace gh::crypto
