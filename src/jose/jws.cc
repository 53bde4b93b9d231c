#include "jose/jws.h"

#include <boost/json/serialize.hpp>

#include "crypto/hmac.h"
#include "crypto/signature.h"
#include "jose/base64url_fast.h"
#include "jose/jwt_error.h"

namespace gh::jose {
namespace {

namespace json = boost::json;

// Largest base64url text that can decode to at most `bytes` bytes.
constexpr size_t encoded_limit(size_t bytes) {
  return (bytes * 4 + 2) / 3;
}

Result<core::Bytes> decode_segment(std::string_view text, std::string_view what, size_t limit) {
  if (text.size() > encoded_limit(limit)) {
    return fail(JwtError::TooLarge,
                std::string(what) + " is larger than " + std::to_string(limit) + " bytes");
  }
  core::Bytes out;
  if (!decode_base64url(text, out)) {
    return fail(JwtError::Malformed, std::string(what) + " is not strict base64url");
  }
  return out;
}

// Checks one key against the alg and the signature.
bool signature_ok(const Jwk& key, JwsAlg alg, std::string_view input,
                  std::span<const uint8_t> sig) noexcept {
  const auto data = core::as_bytes(input);
  if (key.family() == KeyFamily::Oct) {
    return crypto::hmac_verify(digest_alg(alg), key.secret(), data, sig);
  }
  if (const auto* prepared = key.verifier(alg)) return prepared->verify(data, sig);
  return crypto::verify_signature(key.pkey(), signature_alg(alg), data, sig);
}

}  // namespace

Result<DecodedJws> decode_compact(std::string_view token, const JsonLimits& limits) {
  if (token.size() > kMaxTokenBytes) {
    return fail(JwtError::TooLarge,
                "token larger than " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    // Five segments would be a JWE, which this layer does not decrypt.
    return fail(JwtError::Malformed, "a compact JWS has exactly three dot-separated segments");
  }
  const std::string_view h = token.substr(0, dot1);
  const std::string_view p = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view s = token.substr(dot2 + 1);
  if (h.empty()) return fail(JwtError::Malformed, "empty JOSE header");
  DecodedJws out;
  out.signing_input = token.substr(0, dot2);
  GH_TRY(core::Bytes header_bytes, decode_segment(h, "JOSE header", limits.max_bytes));
  GH_TRY(out.header, parse_strict_json_object(core::as_string_view(header_bytes), limits));
  GH_TRY(out.payload, decode_segment(p, "payload", limits.max_bytes));
  // The largest signature is RSA-16384 (2 KiB); anything larger is not a signature.
  GH_TRY(out.signature, decode_segment(s, "signature", 4096));
  return out;
}

Result<VerifiedJws> verify_compact(std::string_view token, const JwkSet& keys,
                                   const JwsVerifyOptions& options) {
  GH_TRY(DecodedJws jws, decode_compact(token, options.limits));

  const json::value* alg_v = jws.header.if_contains("alg");
  if (alg_v == nullptr) return fail(JwtError::UnsupportedAlg, "JOSE header has no alg");
  if (!alg_v->is_string()) return fail(JwtError::Malformed, "JOSE header alg is not a string");
  const std::string_view alg_name = alg_v->get_string();
  const auto alg = parse_alg(alg_name);
  if (!alg) {
    // RFC 8725 §3.1/§3.2: unsecured ("none", any case) and unknown algorithms are refused.
    return fail(JwtError::UnsupportedAlg, "alg " + quote_untrusted(alg_name) + " is not accepted");
  }
  if (!options.allowed_algs.contains(*alg)) {
    return fail(JwtError::AlgNotAllowed, "alg " + std::string(alg_name) + " is not allowed");
  }
  if (const json::value* crit = jws.header.if_contains("crit")) {
    // RFC 7515 §4.1.11: crit lists extensions that must be understood; we implement none.
    if (!crit->is_array() || crit->get_array().empty()) {
      return fail(JwtError::Malformed, "JOSE header crit is not a non-empty array");
    }
    return fail(JwtError::UnsupportedCrit, "JOSE header crit names an unsupported extension");
  }
  std::string_view kid;
  bool has_kid = false;
  if (const json::value* kid_v = jws.header.if_contains("kid")) {
    if (!kid_v->is_string()) return fail(JwtError::Malformed, "JOSE header kid is not a string");
    kid = kid_v->get_string();
    has_kid = true;
  }

  const Jwk* used = nullptr;
  if (has_kid) {
    const Jwk* key = keys.find(kid);
    if (key == nullptr) {
      // Keys configured without a kid (a PEM key, APIM issuer-signing-keys without id) cannot be
      // selected by kid, so they stay candidates; otherwise the kid is unknown and the caller
      // may refresh its JWKS.
      for (const Jwk& k : keys.keys()) {
        if (k.kid().empty() && k.check_usable(*alg, false) &&
            signature_ok(k, *alg, jws.signing_input, jws.signature)) {
          return VerifiedJws{*alg, {}, std::move(jws.header), std::move(jws.payload)};
        }
      }
      return fail(JwtError::UnknownKey, "no key with kid " + quote_untrusted(kid));
    }
    GH_TRY_STATUS(key->check_usable(*alg, false));
    if (!signature_ok(*key, *alg, jws.signing_input, jws.signature)) {
      return fail(JwtError::BadSignature, "signature does not verify");
    }
    used = key;
  } else {
    bool any_candidate = false;
    for (const Jwk& key : keys.keys()) {
      if (!key.check_usable(*alg, false)) continue;
      any_candidate = true;
      if (signature_ok(key, *alg, jws.signing_input, jws.signature)) {
        used = &key;
        break;
      }
    }
    if (!any_candidate) {
      return fail(JwtError::NoMatchingKey, "no key in the set can verify " + std::string(alg_name));
    }
    if (used == nullptr) return fail(JwtError::BadSignature, "signature does not verify");
  }
  return VerifiedJws{*alg, used->kid(), std::move(jws.header), std::move(jws.payload)};
}

Result<std::string> sign_compact(std::span<const uint8_t> payload, const Jwk& key, JwsAlg alg,
                                 const json::object& extra_header) {
  GH_TRY_STATUS(key.check_usable(alg, true));
  json::object header;
  header["alg"] = to_string(alg);
  if (!key.kid().empty()) header["kid"] = key.kid();
  for (const auto& [name, value] : extra_header) {
    if (name == "alg" || name == "crit") {
      return fail(JwtError::Malformed, "extra header cannot set " + std::string(name));
    }
    header[name] = value;
  }
  std::string out = core::base64url_encode(json::serialize(header));
  out += '.';
  out += core::base64url_encode(payload);
  const auto input = core::as_bytes(out);
  core::Bytes sig;
  if (key.family() == KeyFamily::Oct) {
    GH_TRY(sig, crypto::hmac(digest_alg(alg), key.secret(), input));
  } else {
    GH_TRY(sig, crypto::sign_data(key.pkey(), signature_alg(alg), input));
  }
  out += '.';
  out += core::base64url_encode(sig);
  return out;
}

}  // namespace gh::jose
