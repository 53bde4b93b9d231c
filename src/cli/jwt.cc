// `gatehouse jwt ...`: decode, verify and sign compact JWS/JWT tokens locally.

#include "jose/jwt.h"

#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli/app.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/strings.h"
#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/openssl_error.h"
#include "http/url_fetch.h"
#include "jose/jwk.h"
#include "jose/jwk_set.h"
#include "jose/jws.h"
#include "jose/jwt_error.h"

namespace gh::cli {
namespace {

namespace json = boost::json;
using jose::JwsAlg;

// The token from an argument, or stdin for "-"; surrounding whitespace and a "Bearer " prefix
// (as copied from an Authorization header) are removed.
Result<std::string> read_token(const std::string& arg) {
  std::string text = arg;
  if (arg == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) return unexpected(ErrorKind::InvalidArgument, "empty token");
  text = text.substr(first, last - first + 1);
  if (text.size() > 7 && core::iequals(std::string_view(text).substr(0, 7), "Bearer "))
    text = text.substr(7);
  return text;
}

// JSON with two-space indentation (Boost.JSON 1.81 has no pretty printer).
void pretty(std::string& out, const json::value& v, int indent) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [k, member] : v.get_object()) {
      if (!first) out += ",\n";
      first = false;
      out += pad + "  " + json::serialize(json::string(k)) + ": ";
      pretty(out, member, indent + 1);
    }
    out += "\n" + pad + "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const auto& e : v.get_array()) {
      if (!first) out += ",\n";
      first = false;
      out += pad + "  ";
      pretty(out, e, indent + 1);
    }
    out += "\n" + pad + "]";
  } else {
    out += json::serialize(v);
  }
}

std::string pretty(const json::value& v) {
  std::string out;
  pretty(out, v, 0);
  return out;
}

// "59m", "2h 5m", "3d 4h", "12s".
std::string span_text(double seconds) {
  auto s = static_cast<int64_t>(std::llround(std::fabs(seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m", s / 60);
  if (s < 86400)
    return s % 3600 >= 60 ? fmt::format("{}h {}m", s / 3600, (s % 3600) / 60)
                          : fmt::format("{}h", s / 3600);
  return s % 86400 >= 3600 ? fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600)
                           : fmt::format("{}d", s / 86400);
}

std::string relative(std::string_view claim, double when, double now) {
  const double d = when - now;
  if (claim == "exp")
    return d > 0 ? "expires in " + span_text(d) : "expired " + span_text(d) + " ago";
  if (claim == "nbf")
    return d > 0 ? "valid in " + span_text(d) : "valid since " + span_text(d) + " ago";
  return d > 0 ? "in " + span_text(d) + " (in the future)" : span_text(d) + " ago";
}

int decode_command(const std::string& arg) {
  auto token = read_token(arg);
  if (!token) {
    fmt::print(stderr, "error: {}\n", token.error().message);
    return 1;
  }
  auto jws = jose::decode_compact(*token);
  if (!jws) {
    fmt::print(stderr, "malformed token ({}): {}\n", jose::to_string(jose::jwt_error(jws.error())),
               jws.error().message);
    return 1;
  }
  fmt::print("Header:\n{}\n", pretty(jws->header));
  auto claims = jose::parse_strict_json_object(core::as_string_view(jws->payload));
  if (claims) {
    fmt::print("Claims:\n{}\n", pretty(*claims));
    const double now =
        std::chrono::duration<double>(core::SystemClock::instance().now().time_since_epoch())
            .count();
    bool header_printed = false;
    for (const char* name : {"iat", "nbf", "exp"}) {
      const json::value* v = claims->if_contains(name);
      if (v == nullptr) continue;
      if (!header_printed) fmt::print("Times (UTC):\n");
      header_printed = true;
      if (auto t = jose::numeric_date(*v)) {
        fmt::print("  {:<4}{}  ({})\n", name, jose::format_numeric_date(*t),
                   relative(name, *t, now));
      } else {
        fmt::print("  {:<4}not a number\n", name);
      }
    }
  } else {
    fmt::print("Payload ({} bytes, not a JSON object: {}):\n{}\n", jws->payload.size(),
               claims.error().message, core::base64url_encode(jws->payload));
  }
  fmt::print("Signature: {} bytes (not verified)\n", jws->signature.size());
  return 0;
}

// A certificate's public key (PEM or DER).
Result<crypto::EvpPkeyPtr> certificate_key(const std::string& data) {
  crypto::BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  crypto::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    cert.reset(d2i_X509(nullptr, &p, static_cast<long>(data.size())));
  }
  crypto::clear_openssl_errors();
  if (!cert) return unexpected(ErrorKind::InvalidArgument, "not a readable certificate");
  return crypto::share(X509_get0_pubkey(cert.get()));
}

// --key: a JWK, a JWK Set, a PEM/DER public key, a certificate, or a private key.
// `path` names the source in messages (a file path or a URL).
Result<jose::JwkSet> parse_verification_keys(const std::string& data, const std::string& path) {
  const auto first = data.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && data[first] == '{') {
    auto obj = jose::parse_strict_json_object(data, jose::kJwkSetLimits);
    if (!obj) return unexpected(obj.error().with_context(path));
    if (obj->contains("keys")) {
      auto set = jose::JwkSet::parse(data);
      if (!set) return unexpected(set.error().with_context(path));
      for (const auto& why : set->skipped())
        fmt::print(stderr, "note: {}: skipped {}\n", path, why);
      return set;
    }
    auto key = jose::Jwk::from_json(*obj);
    if (!key) return unexpected(key.error().with_context(path));
    std::vector<jose::Jwk> keys;
    keys.push_back(std::move(*key));
    return jose::JwkSet::from_keys(std::move(keys));
  }
  Result<crypto::EvpPkeyPtr> pkey = unexpected(ErrorKind::InvalidArgument, "");
  if (data.find("-----BEGIN CERTIFICATE-----") != std::string::npos) {
    pkey = certificate_key(data);
  } else {
    pkey = crypto::load_public_key(data);
    if (!pkey) pkey = crypto::load_private_key(data);
    if (!pkey) pkey = certificate_key(data);
  }
  if (!pkey) {
    return unexpected(ErrorKind::InvalidArgument,
                      path + ": not a JWK, JWK Set, PEM/DER public key or certificate");
  }
  auto key = jose::Jwk::from_pkey(std::move(*pkey), {});
  if (!key) return unexpected(key.error().with_context(path));
  std::vector<jose::Jwk> keys;
  keys.push_back(std::move(*key));
  return jose::JwkSet::from_keys(std::move(keys));
}

Result<jose::JwkSet> load_verification_keys(const std::string& path) {
  GH_TRY(std::string data, crypto::read_file(path));
  return parse_verification_keys(data, path);
}

// --jwks URL: fetched once, TLS verified against the system store or --ca.
Result<jose::JwkSet> fetch_verification_keys(const std::string& url, const std::string& ca_file) {
  http::FetchOptions options;
  options.ca_file = ca_file;
  GH_TRY(auto doc, http::fetch_url_blocking(url, options));
  if (doc.status != 200) {
    return unexpected(ErrorKind::Unavailable,
                      url + ": HTTP " + std::to_string(doc.status) + " instead of a JWK Set");
  }
  return parse_verification_keys(doc.body, url);
}

struct VerifyArgs {
  std::string token, key, jwks, ca;
  std::vector<std::string> algs, audiences, issuers;
  int64_t skew = 0;
  bool no_exp = false;
};

int verify_command(const VerifyArgs& a) {
  auto token = read_token(a.token);
  if (!token) {
    fmt::print(stderr, "error: {}\n", token.error().message);
    return 1;
  }
  const bool remote =
      a.key.empty() && (a.jwks.starts_with("http://") || a.jwks.starts_with("https://"));
  auto keys = remote ? fetch_verification_keys(a.jwks, a.ca)
                     : load_verification_keys(a.key.empty() ? a.jwks : a.key);
  if (!keys) {
    fmt::print(stderr, "error: {}\n", keys.error().message);
    return 1;
  }
  jose::JwtVerifyOptions opts;
  if (!a.algs.empty()) {
    opts.jws.allowed_algs = {};
    for (const auto& name : a.algs) {
      auto alg = jose::parse_alg(name);
      if (!alg) {
        fmt::print(stderr, "error: unsupported --alg {}\n", name);
        return 1;
      }
      opts.jws.allowed_algs.add(*alg);
    }
  } else {
    // Default: every algorithm the given keys can carry. HS* only with an explicit oct key;
    // the alg/key consistency check still applies per key.
    for (const auto& k : keys->keys()) {
      if (k.family() == jose::KeyFamily::Oct) opts.jws.allowed_algs = jose::AlgSet::all();
    }
  }
  opts.claims.audiences = a.audiences;
  opts.claims.issuers = a.issuers;
  opts.claims.clock_skew = std::chrono::seconds(a.skew);
  opts.claims.require_exp = !a.no_exp;
  auto jwt = jose::verify_jwt(*token, *keys, opts, core::SystemClock::instance());
  if (!jwt) {
    fmt::print("invalid: {}: {}\n", jose::to_string(jose::jwt_error(jwt.error())),
               jwt.error().message);
    return 1;
  }
  const json::value* sub = jwt->claims.if_contains("sub");
  fmt::print("valid: alg={} kid={}{}\n", jose::to_string(jwt->alg),
             jwt->kid.empty() ? "-" : jwt->kid,
             sub && sub->is_string() ? " sub=" + std::string(sub->get_string()) : "");
  return 0;
}

struct SignArgs {
  std::string key, claims, alg, kid, x5t_cert;
};

Result<jose::Jwk> load_signing_key(const std::string& path, const std::string& kid) {
  GH_TRY(std::string data, crypto::read_file(path));
  const auto first = data.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && data[first] == '{') {
    auto obj = jose::parse_strict_json_object(data);
    if (!obj) return unexpected(obj.error().with_context(path));
    if (!kid.empty()) (*obj)["kid"] = kid;
    auto key = jose::Jwk::from_json(*obj);
    if (!key) return unexpected(key.error().with_context(path));
    return key;
  }
  auto pkey = crypto::load_private_key(data);
  if (!pkey) return unexpected(pkey.error().with_context(path));
  jose::JwkMetadata meta;
  meta.kid = kid;
  return jose::Jwk::from_pkey(std::move(*pkey), std::move(meta));
}

std::optional<JwsAlg> default_alg(const jose::Jwk& key) {
  if (!key.alg().empty()) return jose::parse_alg(key.alg());
  switch (key.family()) {
    case jose::KeyFamily::Rsa:
      return JwsAlg::RS256;
    case jose::KeyFamily::Ec:
      return key.curve() == "P-384"   ? JwsAlg::ES384
             : key.curve() == "P-521" ? JwsAlg::ES512
                                      : JwsAlg::ES256;
    case jose::KeyFamily::Okp:
      return JwsAlg::EdDSA;
    case jose::KeyFamily::Oct:
      return JwsAlg::HS256;
  }
  return std::nullopt;
}

int sign_command(const SignArgs& a) {
  auto key = load_signing_key(a.key, a.kid);
  if (!key) {
    fmt::print(stderr, "error: {}\n", key.error().message);
    return 1;
  }
  std::string claims_text = a.claims;
  if (claims_text.starts_with("@")) {
    auto file = crypto::read_file(claims_text.substr(1));
    if (!file) {
      fmt::print(stderr, "error: {}\n", file.error().message);
      return 1;
    }
    claims_text = std::move(*file);
  }
  auto claims = jose::parse_strict_json_object(claims_text);
  if (!claims) {
    fmt::print(stderr, "error: --claims: {}\n", claims.error().message);
    return 1;
  }
  const auto alg = a.alg.empty() ? default_alg(*key) : jose::parse_alg(a.alg);
  if (!alg) {
    fmt::print(stderr, "error: unsupported alg {}\n", a.alg.empty() ? key->alg() : a.alg);
    return 1;
  }
  json::object header;
  header["typ"] = "JWT";
  if (!a.x5t_cert.empty()) {
    auto data = crypto::read_file(a.x5t_cert);
    if (!data) {
      fmt::print(stderr, "error: {}\n", data.error().message);
      return 1;
    }
    crypto::BioPtr bio(BIO_new_mem_buf(data->data(), static_cast<int>(data->size())));
    crypto::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      const auto* p = reinterpret_cast<const unsigned char*>(data->data());
      cert.reset(d2i_X509(nullptr, &p, static_cast<long>(data->size())));
    }
    crypto::clear_openssl_errors();
    unsigned char* der = nullptr;
    const int len = cert ? i2d_X509(cert.get(), &der) : -1;
    if (len <= 0) {
      fmt::print(stderr, "error: {}: not a readable certificate\n", a.x5t_cert);
      return 1;
    }
    const auto thumb = crypto::sha1(std::span<const uint8_t>(der, static_cast<size_t>(len)));
    OPENSSL_free(der);
    header["x5t"] = core::base64url_encode(thumb);
  }
  const std::string payload = json::serialize(*claims);
  auto token = jose::sign_compact(core::as_bytes(payload), *key, *alg, header);
  if (!token) {
    fmt::print(stderr, "error: {}\n", token.error().message);
    return 1;
  }
  fmt::print("{}\n", *token);
  return 0;
}

}  // namespace

void add_jwt_commands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand("jwt", "Decode, verify and sign JWTs (compact JWS)");
  group->require_subcommand(1);

  auto decode_token = std::make_shared<std::string>();
  CLI::App* decode = group->add_subcommand(
      "decode", "Print a token's header and claims without verifying it (exit 0 if well-formed)");
  decode->add_option("TOKEN", *decode_token, "the token, or - to read stdin")->required();
  decode->callback([decode_token, &exit_code] { exit_code = decode_command(*decode_token); });

  auto v = std::make_shared<VerifyArgs>();
  CLI::App* verify = group->add_subcommand(
      "verify", "Verify signature and claims; exit 0 only for a valid token, else print why");
  verify->add_option("TOKEN", v->token, "the token, or - to read stdin")->required();
  auto* key_opt =
      verify->add_option("--key", v->key, "JWK, JWK Set, PEM/DER public key or certificate file");
  auto* jwks_opt =
      verify->add_option("--jwks", v->jwks, "JWK Set file, or an http(s) URL to fetch");
  verify->add_option("--ca", v->ca, "CA bundle to verify an https --jwks URL (default: system)");
  key_opt->excludes(jwks_opt);
  verify->add_option("--alg", v->algs, "allowed alg (repeatable); default: all the key can use");
  verify->add_option("--aud", v->audiences, "accepted audience (repeatable)");
  verify->add_option("--iss", v->issuers, "accepted issuer (repeatable)");
  verify->add_option("--skew", v->skew, "allowed clock skew in seconds (default 0)");
  verify->add_flag("--no-exp-required", v->no_exp, "accept tokens without exp");
  verify->callback([v, &exit_code] {
    if (v->key.empty() && v->jwks.empty()) throw CLI::RequiredError("--key or --jwks");
    exit_code = verify_command(*v);
  });

  auto s = std::make_shared<SignArgs>();
  CLI::App* sign = group->add_subcommand("sign", "Sign claims into a compact JWS (for tests)");
  sign->add_option("--key", s->key, "private JWK (or oct JWK) or PEM private key file")->required();
  sign->add_option("--claims", s->claims, "claims JSON object, or @FILE")->required();
  sign->add_option("--alg", s->alg,
                   "alg (default from the key: RS256, ES256/384/512, EdDSA, HS256)");
  sign->add_option("--kid", s->kid, "kid header (default: the JWK's kid)");
  sign->add_option("--x5t", s->x5t_cert, "certificate file whose SHA-1 thumbprint goes in x5t");
  sign->callback([s, &exit_code] { exit_code = sign_command(*s); });
}

}  // namespace gh::cli
