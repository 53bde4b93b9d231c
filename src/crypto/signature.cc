#include "crypto/signature.h"

#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include <array>
#include <cstring>

#include "crypto/openssl_error.h"
#include "crypto/ossl_ptr.h"

namespace gh::crypto {
namespace {

using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OsslFree<&ECDSA_SIG_free>>;
using EcGroupPtr = std::unique_ptr<EC_GROUP, OsslFree<&EC_GROUP_free>>;

// Group orders of the JOSE curves as big-endian bytes of the scalar size, computed once from
// OpenSSL's curve tables rather than typed in.
struct CurveOrders {
  std::array<uint8_t, 32> p256{};
  std::array<uint8_t, 48> p384{};
  std::array<uint8_t, 66> p521{};

  CurveOrders() noexcept {
    fill(NID_X9_62_prime256v1, p256.data(), p256.size());
    fill(NID_secp384r1, p384.data(), p384.size());
    fill(NID_secp521r1, p521.data(), p521.size());
  }
  static void fill(int nid, uint8_t* out, size_t len) noexcept {
    EcGroupPtr group(EC_GROUP_new_by_curve_name(nid));
    if (!group || BN_bn2binpad(EC_GROUP_get0_order(group.get()), out, static_cast<int>(len)) !=
                      static_cast<int>(len)) {
      std::abort();  // the built-in curves are always present in OpenSSL 3
    }
  }
};

std::span<const uint8_t> curve_order(size_t scalar_size) noexcept {
  static const CurveOrders orders;
  switch (scalar_size) {
    case 32:
      return orders.p256;
    case 48:
      return orders.p384;
    case 66:
      return orders.p521;
    default:
      return {};
  }
}

bool is_zero(std::span<const uint8_t> v) noexcept {
  uint8_t acc = 0;
  for (uint8_t b : v)
    acc |= b;
  return acc == 0;
}

// Big-endian comparison of equal-length unsigned integers: a < b.
bool less_than(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
  return std::memcmp(a.data(), b.data(), a.size()) < 0;
}

// Appends a DER INTEGER holding the unsigned big-endian value `v` (non-zero).
void append_der_integer(core::Bytes& out, std::span<const uint8_t> v) {
  size_t i = 0;
  while (i + 1 < v.size() && v[i] == 0)
    ++i;
  const bool pad = (v[i] & 0x80) != 0;
  const size_t len = v.size() - i + (pad ? 1 : 0);
  out.push_back(0x02);
  out.push_back(static_cast<uint8_t>(len));  // at most 67 bytes: short form
  if (pad) out.push_back(0x00);
  out.insert(out.end(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
}

const EVP_MD* digest_for(SignatureAlg alg) noexcept {
  return alg.scheme == SignatureScheme::Ed25519 ? nullptr : md(alg.digest);
}

// Applies the padding parameters of the scheme to a freshly initialised sign/verify context.
bool configure(EVP_PKEY_CTX* pctx, SignatureAlg alg) noexcept {
  // PKCS#1 v1.5 is the default padding of an RSA context: nothing to set.
  if (alg.scheme == SignatureScheme::RsaPss) {
    // RFC 7518 §3.5: MGF1 with the same hash, salt length = hash length; verification accepts
    // only that salt length.
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md(alg.digest)) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, static_cast<int>(digest_size(alg.digest))) == 1;
  }
  return true;
}

}  // namespace

bool key_matches_scheme(const EVP_PKEY* key, SignatureScheme scheme) noexcept {
  if (key == nullptr) return false;
  const int id = EVP_PKEY_get_base_id(key);
  switch (scheme) {
    case SignatureScheme::RsaPkcs1:
      return id == EVP_PKEY_RSA;
    case SignatureScheme::RsaPss:
      return id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
    case SignatureScheme::EcdsaP1363:
      return id == EVP_PKEY_EC;
    case SignatureScheme::Ed25519:
      return id == EVP_PKEY_ED25519;
  }
  return false;
}

size_t ecdsa_scalar_size(const EVP_PKEY* key) noexcept {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return 0;
  return static_cast<size_t>((EVP_PKEY_get_bits(key) + 7) / 8);
}

Result<core::Bytes> ecdsa_p1363_to_der(std::span<const uint8_t> sig, size_t scalar_size) {
  const auto order = curve_order(scalar_size);
  if (order.empty()) return unexpected(ErrorKind::InvalidArgument, "unsupported ECDSA curve");
  if (sig.size() != 2 * scalar_size) {
    return unexpected(ErrorKind::InvalidArgument, "ECDSA signature has the wrong length");
  }
  const auto r = sig.first(scalar_size);
  const auto s = sig.last(scalar_size);
  // RFC 7518 §3.4 with SEC 1 §4.1.4: r and s must lie in [1, n-1].
  if (is_zero(r) || is_zero(s) || !less_than(r, order) || !less_than(s, order)) {
    return unexpected(ErrorKind::InvalidArgument, "ECDSA signature value out of range");
  }
  core::Bytes body;
  body.reserve(2 * scalar_size + 6);
  append_der_integer(body, r);
  append_der_integer(body, s);
  core::Bytes der;
  der.reserve(body.size() + 3);
  der.push_back(0x30);
  if (body.size() >= 0x80) der.push_back(0x81);
  der.push_back(static_cast<uint8_t>(body.size()));
  der.insert(der.end(), body.begin(), body.end());
  return der;
}

Result<core::Bytes> ecdsa_der_to_p1363(std::span<const uint8_t> der, size_t scalar_size) {
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) {
    clear_openssl_errors();
    return unexpected(ErrorKind::InvalidArgument, "malformed DER ECDSA signature");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  core::Bytes out(2 * scalar_size);
  const int n = static_cast<int>(scalar_size);
  if (BN_bn2binpad(r, out.data(), n) != n || BN_bn2binpad(s, out.data() + scalar_size, n) != n) {
    return unexpected(ErrorKind::InvalidArgument, "ECDSA signature value too large for curve");
  }
  return out;
}

namespace {

// A verify context for `key`/`alg`, initialised; null on failure.
EvpMdCtxPtr init_verify(const EVP_PKEY* key, SignatureAlg alg) noexcept {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return nullptr;
  EVP_PKEY_CTX* pctx = nullptr;
  auto* k = const_cast<EVP_PKEY*>(key);  // EVP_DigestVerifyInit only reads the key
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, digest_for(alg), nullptr, k) != 1 ||
      !configure(pctx, alg)) {
    clear_openssl_errors();
    return nullptr;
  }
  return ctx;
}

// The checks and encoding shared by both verify paths; `prepared` may be null.
bool verify_with(const EVP_PKEY* key, SignatureAlg alg, const EVP_MD_CTX* prepared,
                 std::span<const uint8_t> data, std::span<const uint8_t> sig) noexcept {
  if (!key_matches_scheme(key, alg.scheme)) return false;
  core::Bytes der;
  std::span<const uint8_t> s = sig;
  if (alg.scheme == SignatureScheme::EcdsaP1363) {
    auto converted = ecdsa_p1363_to_der(sig, ecdsa_scalar_size(key));
    if (!converted) return false;
    der = std::move(*converted);
    s = der;
  } else if (alg.scheme != SignatureScheme::Ed25519) {
    // RFC 8017 §8.2.2 step 1: the signature is exactly k octets long.
    if (sig.size() != static_cast<size_t>(EVP_PKEY_get_size(key))) return false;
  }
  EvpMdCtxPtr ctx;
  if (prepared != nullptr) {
    ctx.reset(EVP_MD_CTX_new());
    if (ctx && EVP_MD_CTX_copy_ex(ctx.get(), prepared) != 1) ctx.reset();
  }
  if (!ctx) ctx = init_verify(key, alg);
  if (!ctx) return false;
  const int rc = EVP_DigestVerify(ctx.get(), s.data(), s.size(), data.data(), data.size());
  if (rc != 1) clear_openssl_errors();
  return rc == 1;
}

}  // namespace

bool verify_signature(const EVP_PKEY* key, SignatureAlg alg, std::span<const uint8_t> data,
                      std::span<const uint8_t> sig) noexcept {
  return verify_with(key, alg, nullptr, data, sig);
}

Result<PreparedVerifier> PreparedVerifier::make(const EVP_PKEY* key, SignatureAlg alg) {
  if (!key_matches_scheme(key, alg.scheme)) {
    return unexpected(ErrorKind::InvalidArgument, "key type does not match signature algorithm");
  }
  EvpMdCtxPtr ctx = init_verify(key, alg);
  if (!ctx) return unexpected(ErrorKind::Crypto, "cannot initialise verification");
  // Probe once that this provider can duplicate the context; otherwise verify() re-initialises.
  EvpMdCtxPtr probe(EVP_MD_CTX_new());
  if (!probe || EVP_MD_CTX_copy_ex(probe.get(), ctx.get()) != 1) {
    clear_openssl_errors();
    ctx.reset();
  }
  return PreparedVerifier(share(const_cast<EVP_PKEY*>(key)), alg, std::move(ctx));
}

bool PreparedVerifier::verify(std::span<const uint8_t> data,
                              std::span<const uint8_t> sig) const noexcept {
  return verify_with(key_.get(), alg_, template_.get(), data, sig);
}

Result<core::Bytes> sign_data(const EVP_PKEY* key, SignatureAlg alg,
                              std::span<const uint8_t> data) {
  if (!key_matches_scheme(key, alg.scheme)) {
    return unexpected(ErrorKind::InvalidArgument, "key type does not match signature algorithm");
  }
  auto* k = const_cast<EVP_PKEY*>(key);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return unexpected(openssl_error("EVP_MD_CTX_new"));
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(ctx.get(), &pctx, digest_for(alg), nullptr, k) != 1 ||
      !configure(pctx, alg)) {
    return unexpected(openssl_error("cannot initialise signing"));
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()) != 1) {
    return unexpected(openssl_error("cannot size signature"));
  }
  core::Bytes out(len);
  if (EVP_DigestSign(ctx.get(), out.data(), &len, data.data(), data.size()) != 1) {
    return unexpected(openssl_error("signing failed"));
  }
  out.resize(len);
  if (alg.scheme == SignatureScheme::EcdsaP1363) {
    return ecdsa_der_to_p1363(out, ecdsa_scalar_size(key));
  }
  return out;
}

}  // namespace gh::crypto
