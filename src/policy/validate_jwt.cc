#include "policy/validate_jwt.h"

#include <boost/json/object.hpp>

#include "core/encoding.h"
#include "crypto/key.h"
#include "jose/jwk.h"
#include "policy/certificates.h"
#include "policy/jwt_validation.h"
#include "policy/openid_cache.h"

namespace gh::policy {
namespace {

namespace json = boost::json;

// IdentityModel's minimum for HMAC keys (256 bits); jose additionally wants the hash's length
// for HS384/HS512.
constexpr size_t kMinSymmetricKeyBytes = 32;
// A clock skew beyond a year is a mistake, not a tolerance.
constexpr int64_t kMaxClockSkewSeconds = 365 * 86400;

std::string_view trim_text(std::string_view s) noexcept {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

void problem(LoadProblems& problems, const Element& e, std::string_view message) {
  problems.lines.push_back(element_error(e, message).message);
}

void read_bool_setting(AttributeReader& reader, std::string_view name, BoolSetting& out) {
  const std::string* raw = reader.raw(name);
  if (raw == nullptr) return;
  if (raw->starts_with("@(") || raw->starts_with("@{")) {
    auto value = TextValue::compile(*raw, ValueType::Bool);
    if (!value) {
      reader.problem("attribute '" + std::string(name) + "': " + value.error().message);
    } else {
      out.expression = std::move(*value);
    }
    return;
  }
  out.constant = reader.boolean(name, out.constant);
}

void read_int_setting(AttributeReader& reader, std::string_view name, IntSetting& out, int64_t min,
                      int64_t max) {
  const std::string* raw = reader.raw(name);
  if (raw == nullptr) return;
  if (raw->starts_with("@(") || raw->starts_with("@{")) {
    auto value = TextValue::compile(*raw, ValueType::Int);
    if (!value) {
      reader.problem("attribute '" + std::string(name) + "': " + value.error().message);
    } else {
      out.expression = std::move(*value);
    }
    return;
  }
  out.constant = reader.integer(name, out.constant, min, max);
}

// A PEM "PUBLIC KEY" (SubjectPublicKeyInfo) or "RSA PUBLIC KEY" (PKCS#1) as a public JWK object.
// Errors never quote the text. A private key is refused: it does not belong in a policy.
Result<json::object> pem_public_key(std::string_view pem) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  const size_t label_end = pem.starts_with(kBegin) ? pem.find("-----", kBegin.size()) : pem.npos;
  const std::string_view label = label_end == std::string_view::npos
                                     ? std::string_view()
                                     : pem.substr(kBegin.size(), label_end - kBegin.size());
  if (label != "PUBLIC KEY" && label != "RSA PUBLIC KEY") {
    return unexpected(ErrorKind::InvalidArgument,
                      label.ends_with("PRIVATE KEY")
                          ? "a PEM key must be a public key (never put a private key in a policy)"
                          : "a PEM key must be a \"PUBLIC KEY\" or \"RSA PUBLIC KEY\"");
  }
  // Written inline in an indented policy, each line may carry the XML's indentation.
  std::string lines;
  lines.reserve(pem.size() + 1);
  while (!pem.empty()) {
    const size_t nl = pem.find('\n');
    lines += trim_text(pem.substr(0, nl));
    lines += '\n';
    if (nl == std::string_view::npos) break;
    pem.remove_prefix(nl + 1);
  }
  auto pkey = crypto::load_public_key(lines);
  if (!pkey) {
    return unexpected(ErrorKind::InvalidArgument, "the PEM public key cannot be read");
  }
  auto from_pem = jose::Jwk::from_pkey(std::move(*pkey), {});
  if (!from_pem) {
    return unexpected(ErrorKind::InvalidArgument, "PEM public key: " + from_pem.error().message);
  }
  auto public_jwk = from_pem->to_public_json();
  if (!public_jwk) {
    return unexpected(ErrorKind::InvalidArgument, "PEM public key: " + public_jwk.error().message);
  }
  return std::move(*public_jwk);
}

// One <key> of <issuer-signing-keys>, as a JWK object: element text = base64 HMAC key or PEM public
// key, n/e = RSA public key, certificate-id = a configured certificate's public key; `id` becomes
// the kid.
void read_signing_key(const Element& key, const LoadContext& load, JwtValidationSpec& spec,
                      LoadProblems& problems) {
  AttributeReader reader(key);
  const std::string* kid = reader.raw("id");
  const std::string* certificate_id = reader.raw("certificate-id");
  const std::string* n = reader.raw("n");
  const std::string* e = reader.raw("e");
  add_problems(reader.finish(), problems);
  for (const auto& [name, value] :
       {std::pair{"id", kid}, std::pair{"certificate-id", certificate_id}, std::pair{"n", n},
        std::pair{"e", e}}) {
    if (value != nullptr && reject_expression(key, name, *value, problems)) return;
  }
  const std::string_view text = trim_text(key.text);
  if ((n == nullptr) != (e == nullptr)) {
    problem(problems, key, "attributes 'n' and 'e' must appear together");
    return;
  }
  const int forms = !text.empty() + (certificate_id != nullptr) + (n != nullptr);
  if (forms != 1) {
    problem(
        problems, key,
        "give exactly one of: a base64 symmetric key or a PEM public key as text, certificate-id, "
        "or n and e");
    return;
  }
  if (text.starts_with("@(") || text.starts_with("@{")) {
    problem(problems, key, "a key does not accept policy expressions");
    return;
  }

  json::object jwk;
  if (text.starts_with("-----BEGIN")) {
    // Gatehouse extension: a PEM public key (RSA, EC or Ed25519). APIM reads key text as base64
    // only, and '-' is not in the base64 alphabet, so no APIM key can be mistaken for one.
    auto public_jwk = pem_public_key(text);
    if (!public_jwk) {
      problem(problems, key, public_jwk.error().message);
      return;
    }
    jwk = std::move(*public_jwk);
  } else if (!text.empty()) {
    // Never quote the text: it is a secret.
    auto secret = core::base64_decode(text, /*allow_missing_padding=*/true);
    if (!secret) {
      problem(problems, key, "the key text is not a base64-encoded symmetric key");
      return;
    }
    if (secret->size() < kMinSymmetricKeyBytes) {
      problem(problems, key, "a symmetric key must have at least 256 bits (32 bytes)");
      return;
    }
    jwk["kty"] = "oct";
    jwk["k"] = core::base64url_encode(*secret);
  } else if (n != nullptr) {
    jwk["kty"] = "RSA";
    jwk["n"] = *n;
    jwk["e"] = *e;
    if (auto checked = jose::Jwk::from_json(jwk); !checked) {
      problem(problems, key, "n/e: " + checked.error().message);
      return;
    }
  } else {
    if (load.lint || load.certificates == nullptr) {
      // Linting resolves no ids; the key's syntax is all there is to check.
      return;
    }
    const CertificateEntity* entity = load.certificates->find(*certificate_id);
    if (entity == nullptr) {
      problem(problems, key,
              "certificate-id '" + *certificate_id + "' is not a configured certificate");
      return;
    }
    auto from_cert = jose::Jwk::from_pkey(entity->certificate.public_key(), {});
    if (!from_cert) {
      problem(problems, key, "certificate '" + *certificate_id + "': " + from_cert.error().message);
      return;
    }
    auto public_jwk = from_cert->to_public_json();
    if (!public_jwk) {
      problem(problems, key,
              "certificate '" + *certificate_id + "': " + public_jwk.error().message);
      return;
    }
    jwk = std::move(*public_jwk);
  }
  if (kid != nullptr) {
    if (kid->empty()) {
      problem(problems, key, "attribute 'id' must not be empty");
      return;
    }
    jwk["kid"] = *kid;
  }
  spec.signing_keys.push_back(std::move(jwk));
}

}  // namespace

Result<std::unique_ptr<Policy>> make_validate_jwt(const Element& element, LoadContext& load) {
  LoadProblems problems;
  JwtValidationSpec spec;
  spec.source = "validate-jwt";

  AttributeReader reader(element);
  read_token_location(reader, spec, "");
  read_failure_settings(reader, spec, problems);
  read_bool_setting(reader, "require-expiration-time", spec.require_expiration);
  if (const std::string* scheme = reader.raw("require-scheme")) {
    auto setting = StringSetting::compile(*scheme);
    if (!setting) {
      reader.problem("attribute 'require-scheme': " + setting.error().message);
    } else if (setting->is_constant() && setting->constant.empty()) {
      reader.problem("attribute 'require-scheme' must not be empty");
    } else {
      spec.require_scheme = std::move(*setting);
    }
  }
  if (const std::string* raw = reader.raw("require-signed-tokens")) {
    if (!reject_expression(element, "require-signed-tokens", *raw, problems) &&
        !reader.boolean("require-signed-tokens", true)) {
      reader.problem(
          "require-signed-tokens=\"false\" is not supported: Gatehouse never accepts unsigned "
          "tokens (RFC 8725)");
    }
  }
  read_int_setting(reader, "clock-skew", spec.clock_skew, 0, kMaxClockSkewSeconds);
  add_problems(reader.finish(), problems);

  bool seen_keys = false, seen_audiences = false, seen_issuers = false, seen_claims = false;
  auto once = [&](const Element& child, bool& seen) {
    if (seen) problem(problems, child, "may appear only once");
    seen = true;
  };
  for (const Element& child : element.children) {
    if (child.name == "openid-config") {
      AttributeReader cr(child);
      const std::string* url = cr.required("url");
      // APIM checks reachability when a policy is saved; Gatehouse never fails a load because an
      // IdP is down (the keys are fetched in the background), so this is accepted and ignored.
      cr.boolean("validate-connectivity", true);
      add_problems(cr.finish(), problems);
      if (url == nullptr || reject_expression(child, "url", *url, problems)) continue;
      if (!is_fetchable_url(*url)) {
        problem(problems, child,
                "url must be an https:// URL (or http:// to a loopback host), not '" +
                    redact_url(*url) + "'");
        continue;
      }
      spec.openid_urls.push_back(*url);
    } else if (child.name == "issuer-signing-keys") {
      once(child, seen_keys);
      add_problems(AttributeReader(child).finish(), problems);
      for (const Element& key : child.children) {
        if (key.name != "key") {
          problem(problems, key, "unexpected element inside <issuer-signing-keys>");
          continue;
        }
        read_signing_key(key, load, spec, problems);
      }
      if (child.children.empty()) problem(problems, child, "at least one <key> must be specified");
    } else if (child.name == "decryption-keys") {
      problem(problems, child,
              "is not supported: Gatehouse does not decrypt encrypted tokens (JWE)");
    } else if (child.name == "audiences") {
      once(child, seen_audiences);
      spec.audiences = read_value_list(child, "audience", problems);
    } else if (child.name == "issuers") {
      once(child, seen_issuers);
      spec.issuers = read_value_list(child, "issuer", problems);
    } else if (child.name == "required-claims") {
      once(child, seen_claims);
      spec.required_claims = read_required_claims(child, problems);
    } else {
      problem(problems, child, "unknown element inside <validate-jwt>");
    }
  }
  if (!seen_keys && spec.openid_urls.empty()) {
    problem(problems, element,
            "needs <openid-config> or <issuer-signing-keys> to verify tokens with");
  }
  if (!problems.empty()) return unexpected(ErrorKind::InvalidArgument, problems.joined());
  auto policy = make_jwt_validation(std::move(spec), load);
  if (!policy) return unexpected(element_error(element, policy.error().message));
  return policy;
}

}  // namespace gh::policy
