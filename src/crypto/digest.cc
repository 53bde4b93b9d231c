#include "crypto/digest.h"

#include <openssl/crypto.h>

#include <cstdlib>

#include "crypto/ossl_ptr.h"

namespace gh::crypto {
namespace {

struct FetchedDigests {
  EvpMdPtr sha1{EVP_MD_fetch(nullptr, "SHA1", nullptr)};
  EvpMdPtr sha256{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  EvpMdPtr sha384{EVP_MD_fetch(nullptr, "SHA384", nullptr)};
  EvpMdPtr sha512{EVP_MD_fetch(nullptr, "SHA512", nullptr)};
};

const FetchedDigests& digests() noexcept {
  static const FetchedDigests d;  // fetched once; EVP_MD objects are immutable and shareable
  return d;
}

// One context per thread, re-initialised for each digest: EVP_Digest would allocate and free a
// context (and its provider state) every time, and digests sit on the request path (a
// subscription key is hashed per request).
EVP_MD_CTX* thread_context() noexcept {
  thread_local const EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
  return ctx.get();
}

template <size_t N>
std::array<uint8_t, N> one_shot(const EVP_MD* m, std::span<const uint8_t> data) noexcept {
  std::array<uint8_t, N> out{};
  unsigned int len = 0;
  EVP_MD_CTX* ctx = thread_context();
  if (ctx == nullptr || EVP_DigestInit_ex2(ctx, m, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != N) {
    std::abort();  // a digest of in-memory data cannot fail unless OpenSSL is broken
  }
  return out;
}

}  // namespace

const EVP_MD* md(DigestAlg alg) noexcept {
  const auto& d = digests();
  switch (alg) {
    case DigestAlg::Sha1:
      return d.sha1.get();
    case DigestAlg::Sha256:
      return d.sha256.get();
    case DigestAlg::Sha384:
      return d.sha384.get();
    case DigestAlg::Sha512:
      return d.sha512.get();
  }
  return d.sha256.get();
}

size_t digest_size(DigestAlg alg) noexcept {
  switch (alg) {
    case DigestAlg::Sha1:
      return 20;
    case DigestAlg::Sha256:
      return 32;
    case DigestAlg::Sha384:
      return 48;
    case DigestAlg::Sha512:
      return 64;
  }
  return 0;
}

Sha1Digest sha1(std::span<const uint8_t> data) noexcept {
  return one_shot<20>(md(DigestAlg::Sha1), data);
}
Sha256Digest sha256(std::span<const uint8_t> data) noexcept {
  return one_shot<32>(md(DigestAlg::Sha256), data);
}

bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace gh::crypto
