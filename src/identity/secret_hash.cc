#include "identity/secret_hash.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <array>
#include <charconv>
#include <memory>

#include "crypto/digest.h"
#include "crypto/openssl_error.h"
#include "crypto/ossl_ptr.h"
#include "crypto/random.h"

namespace gh::identity {
namespace {

using EvpKdfPtr = std::unique_ptr<EVP_KDF, crypto::OsslFree<&EVP_KDF_free>>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, crypto::OsslFree<&EVP_KDF_CTX_free>>;

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
constexpr std::string_view kPrefix = "$scrypt$";

// Fetched once (explicit fetching; EVP_KDF objects are immutable and shareable).
const EVP_KDF* scrypt_kdf() noexcept {
  static const EvpKdfPtr kdf{EVP_KDF_fetch(nullptr, "SCRYPT", nullptr)};
  return kdf.get();
}

// PHC strings use standard base64 without padding.
std::string b64_unpadded(std::span<const uint8_t> data) {
  std::string s = core::base64_encode(data);
  while (!s.empty() && s.back() == '=')
    s.pop_back();
  return s;
}

Error malformed(std::string_view why) {
  return Error(ErrorKind::InvalidArgument, "secret hash: malformed: " + std::string(why));
}

bool parse_int(std::string_view text, int& out) {
  if (text.empty() || text.size() > 3) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "ln=15,r=8,p=1" in exactly that order (the only form hash_secret writes).
bool parse_params(std::string_view text, ScryptParams& params) {
  auto take = [&](std::string_view key, int& out) {
    if (text.substr(0, key.size()) != key) return false;
    text.remove_prefix(key.size());
    const size_t comma = text.find(',');
    std::string_view value = text.substr(0, comma);
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    return parse_int(value, out);
  };
  return take("ln=", params.log2_n) && take("r=", params.r) && take("p=", params.p) && text.empty();
}

Result<core::Bytes> decode_b64_field(std::string_view text, std::string_view what) {
  if (text.empty() || text.find('=') != std::string_view::npos) {
    return unexpected(malformed(std::string(what) + " is not unpadded base64"));
  }
  auto bytes = core::base64_decode(text, /*allow_missing_padding=*/true);
  if (!bytes) return unexpected(malformed(std::string(what) + " is not unpadded base64"));
  return std::move(*bytes);
}

}  // namespace

bool scrypt_params_allowed(const ScryptParams& params) noexcept {
  if (params.log2_n < 10 || params.log2_n > 20 || params.r < 1 || params.r > 32 || params.p < 1 ||
      params.p > 16) {
    return false;
  }
  // Each range alone is harmless; their product is not (ln=20,r=32 needs 4 GiB for V).
  constexpr uint64_t kMaxMemory = uint64_t{256} << 20;
  constexpr uint64_t kMaxWork = uint64_t{1} << 22;  // 16 x ln=15,r=8,p=1
  const uint64_t n = uint64_t{1} << params.log2_n;
  const auto r = static_cast<uint64_t>(params.r);
  const auto p = static_cast<uint64_t>(params.p);
  return 128 * r * n <= kMaxMemory && n * r * p <= kMaxWork;
}

Result<core::Bytes> scrypt(std::string_view secret, std::span<const uint8_t> salt,
                           const ScryptParams& params, size_t length) {
  const EVP_KDF* kdf = scrypt_kdf();
  if (!kdf) return unexpected(crypto::openssl_error("scrypt: KDF not available"));
  if (params.log2_n < 1 || params.log2_n > 40 || params.r < 1 || params.p < 1) {
    return unexpected(ErrorKind::InvalidArgument, "scrypt: parameters out of range");
  }
  EvpKdfCtxPtr ctx{EVP_KDF_CTX_new(const_cast<EVP_KDF*>(kdf))};
  if (!ctx) return unexpected(crypto::openssl_error("scrypt: context"));

  uint64_t n = uint64_t{1} << params.log2_n;
  uint32_t r = static_cast<uint32_t>(params.r);
  uint32_t p = static_cast<uint32_t>(params.p);
  // OpenSSL's default cap (1 GiB) suffices for ln=15,r=8 (32 MiB), but set the exact need
  // (V: 128*r*N, B: 128*r*p, XY: 256*r) plus slack so larger stored parameters still verify.
  uint64_t maxmem = 128ULL * r * n + 128ULL * r * p + 256ULL * r + (1ULL << 20);
  const std::array<OSSL_PARAM, 7> ossl_params{
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  core::Bytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), ossl_params.data()) != 1) {
    return unexpected(crypto::openssl_error("scrypt: derive"));
  }
  return out;
}

Result<std::string> hash_secret(std::string_view secret, const ScryptParams& params) {
  if (!scrypt_params_allowed(params)) {
    return unexpected(ErrorKind::InvalidArgument, "secret hash: scrypt parameters out of range");
  }
  std::array<uint8_t, kSaltBytes> salt{};
  crypto::random_bytes(salt);
  GH_TRY(auto hash, scrypt(secret, salt, params, kHashBytes));
  std::string phc(kPrefix);
  phc += "ln=" + std::to_string(params.log2_n) + ",r=" + std::to_string(params.r) +
         ",p=" + std::to_string(params.p) + "$";
  phc += b64_unpadded(salt);
  phc += '$';
  phc += b64_unpadded(hash);
  return phc;
}

Result<PhcHash> parse_phc(std::string_view phc) {
  if (phc.substr(0, kPrefix.size()) != kPrefix) {
    return unexpected(malformed("not a $scrypt$ string"));
  }
  std::string_view rest = phc.substr(kPrefix.size());
  const size_t d1 = rest.find('$');
  if (d1 == std::string_view::npos) return unexpected(malformed("missing salt"));
  const size_t d2 = rest.find('$', d1 + 1);
  if (d2 == std::string_view::npos) return unexpected(malformed("missing hash"));
  if (rest.find('$', d2 + 1) != std::string_view::npos) {
    return unexpected(malformed("too many fields"));
  }
  PhcHash out;
  if (!parse_params(rest.substr(0, d1), out.params)) {
    return unexpected(malformed("parameters are not ln=N,r=N,p=N"));
  }
  if (!scrypt_params_allowed(out.params)) {
    return unexpected(malformed("scrypt parameters out of range"));
  }
  GH_TRY(out.salt, decode_b64_field(rest.substr(d1 + 1, d2 - d1 - 1), "salt"));
  GH_TRY(out.hash, decode_b64_field(rest.substr(d2 + 1), "hash"));
  if (out.salt.size() < 8 || out.salt.size() > 64) return unexpected(malformed("salt length"));
  if (out.hash.size() < 16 || out.hash.size() > 64) return unexpected(malformed("hash length"));
  return out;
}

Result<bool> verify_secret(std::string_view secret, std::string_view phc) {
  GH_TRY(const PhcHash parsed, parse_phc(phc));
  GH_TRY(auto actual, scrypt(secret, parsed.salt, parsed.params, parsed.hash.size()));
  return crypto::constant_time_equal(actual, parsed.hash);
}

std::string generate_secret() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-";
  static_assert(kAlphabet.size() == 66);
  // Rejection sampling keeps every character uniform: 198 = 3 * 66 is the largest multiple
  // of the alphabet size that fits a byte.
  constexpr unsigned kLimit = 3 * kAlphabet.size();
  std::string out;
  out.reserve(40);
  std::array<uint8_t, 64> pool{};
  size_t used = pool.size();
  while (out.size() < 40) {
    if (used == pool.size()) {
      crypto::random_bytes(pool);
      used = 0;
    }
    const unsigned b = pool[used++];
    if (b < kLimit) out.push_back(kAlphabet[b % kAlphabet.size()]);
  }
  crypto::random_bytes(pool);  // do not leave the secret's source bytes lying around
  return out;
}

}  // namespace gh::identity
