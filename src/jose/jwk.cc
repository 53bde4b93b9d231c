#include "jose/jwk.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/key_check.h"
#include "crypto/openssl_error.h"
#include "jose/jwt_error.h"

namespace gh::jose {
namespace {

namespace json = boost::json;
using core::Bytes;
using crypto::BignumPtr;
using crypto::EvpPkeyCtxPtr;
using crypto::EvpPkeyPtr;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, crypto::OsslFree<&OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, crypto::OsslFree<&OSSL_PARAM_free>>;

core::Unexpected invalid(std::string msg) {
  return fail(JwtError::InvalidKey, std::move(msg));
}

// Wipes private material held in Bytes before the memory is released.
void cleanse(Bytes& b) noexcept {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
}

// An optional string member: empty view when absent; InvalidKey when present but not a string.
Result<std::string_view> opt_string(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return std::string_view{};
  if (!v->is_string()) return invalid("JWK member \"" + std::string(name) + "\" is not a string");
  return std::string_view(v->get_string());
}

Result<Bytes> opt_b64url(const json::object& o, std::string_view name) {
  GH_TRY(auto s, opt_string(o, name));
  auto b = core::base64url_decode(s);
  if (!b) return invalid("JWK member \"" + std::string(name) + "\" is not strict base64url");
  return std::move(*b);
}

Result<Bytes> req_b64url(const json::object& o, std::string_view name) {
  if (!o.contains(name)) return invalid("JWK lacks \"" + std::string(name) + "\"");
  return opt_b64url(o, name);
}

BignumPtr to_bn(const Bytes& b) {
  return BignumPtr(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
}

Result<EvpPkeyPtr> from_params(const char* type, OSSL_PARAM_BLD* bld, int selection) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1 || raw == nullptr) {
    crypto::clear_openssl_errors();
    return invalid(std::string("JWK parameters do not form a valid ") + type + " key");
  }
  return EvpPkeyPtr(raw);
}

const char* group_for_curve(std::string_view crv, size_t& scalar) {
  if (crv == "P-256") return scalar = 32, "prime256v1";
  if (crv == "P-384") return scalar = 48, "secp384r1";
  if (crv == "P-521") return scalar = 66, "secp521r1";
  return nullptr;
}

Result<EvpPkeyPtr> import_rsa(const json::object& o, bool& is_private) {
  if (o.contains("oth")) return invalid("multi-prime RSA JWKs (\"oth\") are not supported");
  GH_TRY(Bytes n, req_b64url(o, "n"));
  GH_TRY(Bytes e, req_b64url(o, "e"));
  if (n.empty() || e.empty()) return invalid("RSA JWK has an empty n or e");
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  auto bn_n = to_bn(n), bn_e = to_bn(e);
  if (!bld || !bn_n || !bn_e ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return unexpected(crypto::openssl_error("OSSL_PARAM_BLD"));
  }
  is_private = o.contains("d");
  std::vector<BignumPtr> keep;  // the builder references BIGNUMs until to_param
  if (is_private) {
    static constexpr std::pair<const char*, const char*> kCrt[] = {
        {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
        {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
    GH_TRY(Bytes d, req_b64url(o, "d"));
    keep.push_back(to_bn(d));
    cleanse(d);
    if (!keep.back() ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, keep.back().get())) {
      return unexpected(crypto::openssl_error("OSSL_PARAM_BLD"));
    }
    size_t crt = 0;
    for (const auto& [member, _] : kCrt)
      crt += o.contains(member) ? 1 : 0;
    if (crt != 0 && crt != std::size(kCrt)) {
      return invalid("RSA JWK has some but not all of p, q, dp, dq, qi");
    }
    if (crt != 0) {
      for (const auto& [member, param] : kCrt) {
        GH_TRY(Bytes v, req_b64url(o, member));
        keep.push_back(to_bn(v));
        cleanse(v);
        if (!keep.back() || !OSSL_PARAM_BLD_push_BN(bld.get(), param, keep.back().get())) {
          return unexpected(crypto::openssl_error("OSSL_PARAM_BLD"));
        }
      }
    }
  }
  GH_TRY(EvpPkeyPtr key,
         from_params("RSA", bld.get(), is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY));
  for (auto& bn : keep)
    BN_clear(bn.get());
  auto checked = crypto::check_rsa_public_key(key.get());
  if (!checked) return invalid(checked.error().message);
  return key;
}

Result<EvpPkeyPtr> import_ec(const json::object& o, std::string_view crv, bool& is_private) {
  size_t scalar = 0;
  const char* group = group_for_curve(crv, scalar);
  if (group == nullptr) return invalid("unsupported EC curve \"" + std::string(crv) + "\"");
  GH_TRY(Bytes x, req_b64url(o, "x"));
  GH_TRY(Bytes y, req_b64url(o, "y"));
  // RFC 7518 §6.2.1.2/3: coordinates are the full field size, no more, no less.
  if (x.size() != scalar || y.size() != scalar) {
    return invalid("EC coordinates have the wrong length for " + std::string(crv));
  }
  Bytes point;
  point.reserve(1 + 2 * scalar);
  point.push_back(0x04);  // SEC 1 uncompressed point
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return unexpected(crypto::openssl_error("OSSL_PARAM_BLD"));
  }
  is_private = o.contains("d");
  BignumPtr d_bn;
  if (is_private) {
    GH_TRY(Bytes d, req_b64url(o, "d"));
    if (d.size() != scalar) return invalid("EC private key has the wrong length");
    d_bn = to_bn(d);
    cleanse(d);
    if (!d_bn || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d_bn.get())) {
      return unexpected(crypto::openssl_error("OSSL_PARAM_BLD"));
    }
  }
  GH_TRY(EvpPkeyPtr key,
         from_params("EC", bld.get(), is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY));
  if (d_bn) BN_clear(d_bn.get());
  auto checked = crypto::check_public_key(key.get());
  if (!checked) return invalid(checked.error().message);
  if (is_private) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    if (!ctx || EVP_PKEY_pairwise_check(ctx.get()) != 1) {
      crypto::clear_openssl_errors();
      return invalid("EC private key does not match x, y");
    }
  }
  return key;
}

Result<EvpPkeyPtr> import_okp(const json::object& o, std::string_view crv, bool& is_private) {
  if (crv != "Ed25519") return invalid("unsupported OKP curve \"" + std::string(crv) + "\"");
  GH_TRY(Bytes x, req_b64url(o, "x"));
  if (x.size() != 32) return invalid("Ed25519 public key must be 32 bytes");
  is_private = o.contains("d");
  if (!is_private) {
    EvpPkeyPtr key(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, x.data(), 32));
    if (!key) {
      crypto::clear_openssl_errors();
      return invalid("invalid Ed25519 public key");
    }
    return key;
  }
  GH_TRY(Bytes d, req_b64url(o, "d"));
  if (d.size() != 32) return invalid("Ed25519 private key must be 32 bytes");
  EvpPkeyPtr key(EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, d.data(), 32));
  cleanse(d);
  if (!key) {
    crypto::clear_openssl_errors();
    return invalid("invalid Ed25519 private key");
  }
  uint8_t pub[32];
  size_t len = sizeof pub;
  if (EVP_PKEY_get_raw_public_key(key.get(), pub, &len) != 1 || len != 32 ||
      !std::equal(pub, pub + 32, x.begin())) {
    crypto::clear_openssl_errors();
    return invalid("Ed25519 private key does not match x");
  }
  return key;
}

Result<Bytes> bn_param(const EVP_PKEY* key, const char* name, size_t pad = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1 || raw == nullptr) {
    return unexpected(crypto::openssl_error("cannot read key parameter"));
  }
  BignumPtr bn(raw);
  const size_t len = std::max(pad, static_cast<size_t>(BN_num_bytes(bn.get())));
  Bytes out(len);
  if (BN_bn2binpad(bn.get(), out.data(), static_cast<int>(len)) < 0) {
    return unexpected(crypto::openssl_error("BN_bn2binpad"));
  }
  return out;
}

std::string_view kty_name(KeyFamily f) {
  switch (f) {
    case KeyFamily::Rsa:
      return "RSA";
    case KeyFamily::Ec:
      return "EC";
    case KeyFamily::Okp:
      return "OKP";
    case KeyFamily::Oct:
      return "oct";
  }
  return "oct";
}

// The members that identify the public key, in RFC 7638 lexicographic order.
Result<json::object> key_members(const Jwk& k) {
  json::object o;
  const EVP_PKEY* p = k.pkey();
  switch (k.family()) {
    case KeyFamily::Rsa: {
      GH_TRY(Bytes e, bn_param(p, OSSL_PKEY_PARAM_RSA_E));
      GH_TRY(Bytes n, bn_param(p, OSSL_PKEY_PARAM_RSA_N));
      o["e"] = core::base64url_encode(e);
      o["kty"] = "RSA";
      o["n"] = core::base64url_encode(n);
      break;
    }
    case KeyFamily::Ec: {
      size_t scalar = 0;
      group_for_curve(k.curve(), scalar);
      GH_TRY(Bytes x, bn_param(p, OSSL_PKEY_PARAM_EC_PUB_X, scalar));
      GH_TRY(Bytes y, bn_param(p, OSSL_PKEY_PARAM_EC_PUB_Y, scalar));
      o["crv"] = k.curve();
      o["kty"] = "EC";
      o["x"] = core::base64url_encode(x);
      o["y"] = core::base64url_encode(y);
      break;
    }
    case KeyFamily::Okp: {
      uint8_t pub[32];
      size_t len = sizeof pub;
      if (EVP_PKEY_get_raw_public_key(p, pub, &len) != 1 || len != 32) {
        return unexpected(crypto::openssl_error("cannot read Ed25519 public key"));
      }
      o["crv"] = "Ed25519";
      o["kty"] = "OKP";
      o["x"] = core::base64url_encode(std::span<const uint8_t>(pub, len));
      break;
    }
    case KeyFamily::Oct:
      return invalid("oct keys have no public form");
  }
  return o;
}

}  // namespace

Jwk::~Jwk() {
  cleanse(secret_);
}

Result<Jwk> Jwk::parse(std::string_view text, const JsonLimits& limits) {
  GH_TRY(auto obj, parse_strict_json_object(text, limits));
  return from_json(obj);
}

Result<Jwk> Jwk::from_json(const json::object& o) {
  Jwk k;
  GH_TRY(std::string_view kty, opt_string(o, "kty"));
  GH_TRY(std::string_view kid, opt_string(o, "kid"));
  GH_TRY(std::string_view use, opt_string(o, "use"));
  GH_TRY(std::string_view alg, opt_string(o, "alg"));
  GH_TRY(std::string_view crv, opt_string(o, "crv"));
  k.kid_ = kid;
  k.use_ = use;
  k.alg_ = alg;
  if (const json::value* ops = o.if_contains("key_ops")) {
    if (!ops->is_array()) return invalid("JWK \"key_ops\" is not an array");
    for (const auto& op : ops->get_array()) {
      if (!op.is_string()) return invalid("JWK \"key_ops\" holds a non-string");
      std::string s(op.get_string());
      // RFC 7517 §4.3: duplicate key operation values must not be present.
      if (std::find(k.key_ops_.begin(), k.key_ops_.end(), s) != k.key_ops_.end()) {
        return invalid("JWK \"key_ops\" repeats \"" + s + "\"");
      }
      k.key_ops_.push_back(std::move(s));
    }
  }
  if (kty == "RSA") {
    k.family_ = KeyFamily::Rsa;
    GH_TRY(k.pkey_, import_rsa(o, k.private_));
  } else if (kty == "EC") {
    k.family_ = KeyFamily::Ec;
    k.curve_ = crv;
    GH_TRY(k.pkey_, import_ec(o, crv, k.private_));
  } else if (kty == "OKP") {
    k.family_ = KeyFamily::Okp;
    k.curve_ = crv;
    GH_TRY(k.pkey_, import_okp(o, crv, k.private_));
  } else if (kty == "oct") {
    k.family_ = KeyFamily::Oct;
    GH_TRY(k.secret_, req_b64url(o, "k"));
    if (k.secret_.empty()) return invalid("oct JWK has an empty key");
    k.private_ = true;
  } else if (kty.empty()) {
    return invalid("JWK lacks \"kty\"");
  } else {
    return invalid("unsupported JWK kty \"" + std::string(kty) + "\"");
  }

  std::vector<Bytes> x5c;
  if (const json::value* chain = o.if_contains("x5c")) {
    if (!chain->is_array() || chain->get_array().empty()) {
      return invalid("JWK \"x5c\" is not a non-empty array");
    }
    for (const auto& c : chain->get_array()) {
      if (!c.is_string()) return invalid("JWK \"x5c\" holds a non-string");
      // RFC 7517 §4.7: standard base64 (not base64url) of the DER certificate.
      auto der = core::base64_decode(std::string_view(c.get_string()));
      if (!der || der->empty()) return invalid("JWK \"x5c\" entry is not base64 DER");
      x5c.push_back(std::move(*der));
    }
  }
  GH_TRY(Bytes x5t, opt_b64url(o, "x5t"));
  GH_TRY(Bytes x5t256, opt_b64url(o, "x5t#S256"));
  if (!x5t.empty() && x5t.size() != 20) return invalid("JWK \"x5t\" is not a SHA-1 digest");
  if (!x5t256.empty() && x5t256.size() != 32) {
    return invalid("JWK \"x5t#S256\" is not a SHA-256 digest");
  }
  if (!x5c.empty()) {
    if (k.family_ == KeyFamily::Oct) return invalid("oct JWK cannot carry \"x5c\"");
    auto computed_t = crypto::sha1(x5c.front());
    auto computed_t256 = crypto::sha256(x5c.front());
    if (!x5t.empty() && !std::equal(x5t.begin(), x5t.end(), computed_t.begin())) {
      return invalid("JWK \"x5t\" does not match the first x5c certificate");
    }
    if (!x5t256.empty() && !std::equal(x5t256.begin(), x5t256.end(), computed_t256.begin())) {
      return invalid("JWK \"x5t#S256\" does not match the first x5c certificate");
    }
    GH_TRY_STATUS(k.set_x5c_checked(std::move(x5c)));
  } else {
    k.x5t_ = std::move(x5t);
    k.x5t_s256_ = std::move(x5t256);
  }
  k.prepare_verifiers();
  return k;
}

void Jwk::prepare_verifiers() {
  if (!pkey_) return;
  for (int a = 0; a <= static_cast<int>(JwsAlg::EdDSA); ++a) {
    const auto alg = static_cast<JwsAlg>(a);
    if (key_family(alg) != family_) continue;
    const std::string_view curve = required_curve(alg);
    if (!curve.empty() && curve != curve_) continue;
    // Without a prepared context verification still works, through EVP_DigestVerifyInit.
    if (auto v = crypto::PreparedVerifier::make(pkey_.get(), signature_alg(alg))) {
      verifiers_.push_back(std::move(*v));
    }
  }
}

const crypto::PreparedVerifier* Jwk::verifier(JwsAlg alg) const noexcept {
  const auto want = signature_alg(alg);
  for (const auto& v : verifiers_) {
    if (v.alg().scheme == want.scheme && v.alg().digest == want.digest) return &v;
  }
  return nullptr;
}

Status Jwk::set_x5c_checked(std::vector<Bytes> x5c) {
  // RFC 7517 §4.7: the key in the first certificate must match the JWK's public key.
  const unsigned char* p = x5c.front().data();
  crypto::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(x5c.front().size())));
  if (!cert || p != x5c.front().data() + x5c.front().size()) {
    crypto::clear_openssl_errors();
    return invalid("first x5c certificate is not valid DER");
  }
  const EVP_PKEY* cert_key = X509_get0_pubkey(cert.get());
  if (cert_key == nullptr || EVP_PKEY_eq(cert_key, pkey_.get()) != 1) {
    crypto::clear_openssl_errors();
    return invalid("first x5c certificate holds a different key than the JWK");
  }
  auto t = crypto::sha1(x5c.front());
  auto t256 = crypto::sha256(x5c.front());
  x5t_.assign(t.begin(), t.end());
  x5t_s256_.assign(t256.begin(), t256.end());
  x5c_ = std::move(x5c);
  return {};
}

Result<Jwk> Jwk::from_pkey(EvpPkeyPtr key, JwkMetadata meta) {
  if (!key) return invalid("no key");
  Jwk k;
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA: {
      k.family_ = KeyFamily::Rsa;
      auto checked = crypto::check_rsa_public_key(key.get());
      if (!checked) return invalid(checked.error().message);
      break;
    }
    case EVP_PKEY_EC: {
      k.family_ = KeyFamily::Ec;
      k.curve_ = crypto::ec_curve_name(key.get());
      size_t scalar = 0;
      if (group_for_curve(k.curve_, scalar) == nullptr) {
        return invalid("unsupported EC curve \"" + k.curve_ + "\"");
      }
      break;
    }
    case EVP_PKEY_ED25519:
      k.family_ = KeyFamily::Okp;
      k.curve_ = "Ed25519";
      break;
    default:
      return invalid("unsupported key type for a JWK (RSA, EC, Ed25519)");
  }
  {
    // A private key has a private component; probing it avoids trusting the caller's intent.
    BIGNUM* d = nullptr;
    uint8_t raw[32];
    size_t len = sizeof raw;
    if (k.family_ == KeyFamily::Okp) {
      k.private_ = EVP_PKEY_get_raw_private_key(key.get(), raw, &len) == 1;
      OPENSSL_cleanse(raw, sizeof raw);
    } else {
      const char* name =
          k.family_ == KeyFamily::Rsa ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
      k.private_ = EVP_PKEY_get_bn_param(key.get(), name, &d) == 1 && d != nullptr;
      BN_clear_free(d);
    }
    crypto::clear_openssl_errors();
  }
  k.pkey_ = std::move(key);
  k.kid_ = std::move(meta.kid);
  k.use_ = std::move(meta.use);
  k.alg_ = std::move(meta.alg);
  k.key_ops_ = std::move(meta.key_ops);
  if (!meta.x5c.empty()) GH_TRY_STATUS(k.set_x5c_checked(std::move(meta.x5c)));
  k.prepare_verifiers();
  return k;
}

Result<Jwk> Jwk::from_secret(Bytes secret, JwkMetadata meta) {
  if (secret.empty()) return invalid("oct key is empty");
  Jwk k;
  k.family_ = KeyFamily::Oct;
  k.secret_ = std::move(secret);
  k.private_ = true;
  k.kid_ = std::move(meta.kid);
  k.use_ = std::move(meta.use);
  k.alg_ = std::move(meta.alg);
  k.key_ops_ = std::move(meta.key_ops);
  return k;
}

Status Jwk::check_usable(JwsAlg alg, bool for_signing) const {
  const std::string_view name = to_string(alg);
  auto mismatch = [&](std::string why) {
    return fail(JwtError::KeyMismatch, "key" + (kid_.empty() ? "" : " \"" + kid_ + "\"") +
                                           " cannot be used with " + std::string(name) + ": " +
                                           why);
  };
  if (key_family(alg) != family_) {
    return mismatch("key type is " + std::string(kty_name(family_)));
  }
  const std::string_view curve = required_curve(alg);
  if (!curve.empty() && curve != curve_) return mismatch("key curve is " + curve_);
  if (!alg_.empty() && alg_ != name) return mismatch("key is restricted to alg " + alg_);
  if (!use_.empty() && use_ != "sig") return mismatch("key use is \"" + use_ + "\"");
  if (!key_ops_.empty()) {
    const std::string_view op = for_signing ? "sign" : "verify";
    if (std::find(key_ops_.begin(), key_ops_.end(), op) == key_ops_.end()) {
      return mismatch("key_ops does not allow \"" + std::string(op) + "\"");
    }
  }
  if (for_signing && !private_) return mismatch("key is public only");
  if (family_ == KeyFamily::Oct && secret_.size() < crypto::digest_size(digest_alg(alg))) {
    // RFC 7518 §3.2: a key of the same size as the hash output or larger must be used.
    return fail(JwtError::InvalidKey, "HMAC key shorter than the " + std::string(name) + " hash");
  }
  return {};
}

Result<json::object> Jwk::to_public_json() const {
  GH_TRY(json::object members, key_members(*this));
  json::object o;
  o["kty"] = kty_name(family_);
  if (!use_.empty()) o["use"] = use_;
  if (!key_ops_.empty()) {
    json::array ops;
    for (const auto& op : key_ops_) {
      // Publish only the public operations of a key pair.
      if (op == "verify" || op == "encrypt" || op == "wrapKey") ops.emplace_back(op);
    }
    if (!ops.empty()) o["key_ops"] = std::move(ops);
  }
  if (!alg_.empty()) o["alg"] = alg_;
  if (!kid_.empty()) o["kid"] = kid_;
  for (auto& [name, value] : members) {
    if (name != "kty") o[name] = value;
  }
  if (!x5c_.empty()) {
    json::array chain;
    for (const auto& der : x5c_)
      chain.emplace_back(core::base64_encode(der));
    o["x5c"] = std::move(chain);
  }
  if (!x5t_.empty()) o["x5t"] = core::base64url_encode(x5t_);
  if (!x5t_s256_.empty()) o["x5t#S256"] = core::base64url_encode(x5t_s256_);
  return o;
}

Result<std::string> Jwk::thumbprint() const {
  json::object members;
  if (family_ == KeyFamily::Oct) {
    members["k"] = core::base64url_encode(secret_);
    members["kty"] = "oct";
  } else {
    GH_TRY(members, key_members(*this));
  }
  // The members were inserted in lexicographic order and hold no characters needing escapes
  // beyond what serialize emits, so this is the RFC 7638 canonical form.
  const std::string canonical = json::serialize(members);
  auto digest = crypto::sha256(canonical);
  return core::base64url_encode(digest);
}

}  // namespace gh::jose
