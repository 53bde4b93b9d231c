#include "vault/cert_issue.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>

#include "core/encoding.h"
#include "crypto/key.h"
#include "crypto/openssl_error.h"
#include "x509/cert_builder.h"
#include "x509/cert_loader.h"

namespace gh::vault {
namespace {

namespace json = boost::json;

core::Unexpected invalid(std::string message) {
  return unexpected(ErrorKind::InvalidArgument, std::move(message));
}

std::string policy_error_name(std::string_view field) {
  return "policy." + std::string(field);
}

// A DNS name or a leading wildcard label: labels of [0-9A-Za-z-], 1..63 each, 253 in all.
bool valid_dns_name(std::string_view name) noexcept {
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

bool keys_match(const EVP_PKEY* key, const x509::Certificate& cert) {
  const crypto::EvpPkeyPtr pub = cert.public_key();
  const bool equal = pub && EVP_PKEY_eq(key, pub.get()) == 1;
  crypto::clear_openssl_errors();  // a type mismatch leaves a reason we do not need
  return equal;
}

// Picks the certificate matching `key` as the leaf; the rest follow in issuing order as far as
// they link (leaf's issuer, its issuer, ...), then any others in their given order.
Result<KeyAndChain> assemble(crypto::EvpPkeyPtr key, std::vector<x509::Certificate> certs) {
  if (!key) return invalid("certificate data holds no private key");
  const auto type = crypto::key_type(key.get());
  if (type != crypto::KeyType::Rsa && type != crypto::KeyType::Ec) {
    return invalid("certificate key must be RSA or EC");
  }
  if (certs.empty()) return invalid("certificate data holds no certificate");
  const auto leaf_it = std::find_if(certs.begin(), certs.end(), [&](const x509::Certificate& c) {
    return keys_match(key.get(), c);
  });
  if (leaf_it == certs.end()) {
    return invalid("the private key does not match the certificate");
  }
  KeyAndChain out{std::move(key), *leaf_it, {}};
  certs.erase(leaf_it);
  const X509* current = out.leaf.get();
  while (!certs.empty()) {
    const auto next = std::find_if(certs.begin(), certs.end(), [&](const x509::Certificate& c) {
      return X509_check_issued(c.get(), const_cast<X509*>(current)) == X509_V_OK;
    });
    if (next == certs.end()) break;
    out.chain.push_back(*next);
    current = out.chain.back().get();
    certs.erase(next);
  }
  crypto::clear_openssl_errors();
  for (auto& c : certs)
    out.chain.push_back(std::move(c));
  return out;
}

// The one "-----BEGIN ... PRIVATE KEY-----" block of a PEM text.
Result<std::string_view> private_key_block(std::string_view pem) {
  std::string_view found;
  size_t pos = 0;
  while ((pos = pem.find("-----BEGIN ", pos)) != std::string_view::npos) {
    const size_t label_start = pos + 11;
    const size_t label_end = pem.find("-----", label_start);
    if (label_end == std::string_view::npos) break;
    const std::string_view label = pem.substr(label_start, label_end - label_start);
    if (!label.ends_with("PRIVATE KEY")) {
      pos = label_end;
      continue;
    }
    const std::string end_line = "-----END " + std::string(label) + "-----";
    const size_t end = pem.find(end_line, label_end);
    if (end == std::string_view::npos) return invalid("certificate PEM has an unterminated key");
    if (!found.empty()) return invalid("certificate PEM holds more than one private key");
    found = pem.substr(pos, end + end_line.size() - pos);
    pos = end + end_line.size();
  }
  if (found.empty()) return invalid("certificate PEM holds no private key");
  return found;
}

Result<KeyAndChain> parse_pem(std::string_view pem, std::string_view password) {
  GH_TRY(std::string_view block, private_key_block(pem));
  auto key = crypto::load_private_key(block, password);
  if (!key) return invalid("certificate PEM: the private key is not readable (or wrong password)");
  auto certs = x509::load_certificates(pem);
  if (!certs) return invalid("certificate PEM: " + certs.error().message);
  return assemble(std::move(*key), std::move(*certs));
}

Result<KeyAndChain> parse_pkcs12(std::span<const uint8_t> der, std::string_view password) {
  auto bundle = x509::load_pkcs12(der, password);
  if (!bundle) {
    if (bundle.error().detail == static_cast<int>(x509::LoadError::WrongPassword)) {
      return unexpected(ErrorKind::InvalidArgument, "certificate PKCS#12: wrong password",
                        bundle.error().detail);
    }
    return unexpected(ErrorKind::InvalidArgument, "certificate PKCS#12: " + bundle.error().message,
                      bundle.error().detail);
  }
  std::vector<x509::Certificate> certs;
  if (bundle->cert) certs.push_back(*bundle->cert);
  for (auto& c : bundle->ca_chain)
    certs.push_back(std::move(c));
  return assemble(std::move(bundle->key), std::move(certs));
}

bool is_base64_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void wipe(core::Bytes& b) noexcept {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
}

// Reads a policy member of the expected JSON type into `out` when present.
Status member_error(std::string_view key, std::string_view what) {
  return invalid("stored policy member " + std::string(key) + " is not " + std::string(what));
}
Status read_member(const json::object& obj, std::string_view key, std::string& out) {
  const json::value* v = obj.if_contains(key);
  if (!v) return {};
  if (!v->is_string()) return member_error(key, "text");
  out = std::string(v->get_string());
  return {};
}
Status read_member(const json::object& obj, std::string_view key, bool& out) {
  const json::value* v = obj.if_contains(key);
  if (!v) return {};
  if (!v->is_bool()) return member_error(key, "true or false");
  out = v->get_bool();
  return {};
}
Status read_member(const json::object& obj, std::string_view key, int& out) {
  const json::value* v = obj.if_contains(key);
  if (!v) return {};
  if (!v->is_int64() || v->get_int64() < INT32_MIN || v->get_int64() > INT32_MAX) {
    return member_error(key, "a small integer");
  }
  out = static_cast<int>(v->get_int64());
  return {};
}

}  // namespace

Status validate_policy(const CertificatePolicy& p) {
  if (p.subject.empty()) return invalid(policy_error_name("subject") + " is required");
  if (p.subject.size() > 1024 || !x509::parse_distinguished_name(p.subject)) {
    return invalid(policy_error_name("subject") +
                   " must be a distinguished name such as CN=name,O=organisation");
  }
  if (p.dns_names.size() > 100) return invalid(policy_error_name("dns_names") + ": at most 100");
  for (size_t i = 0; i < p.dns_names.size(); ++i) {
    if (!valid_dns_name(p.dns_names[i])) {
      return invalid(policy_error_name("dns_names") + " entry " + std::to_string(i + 1) +
                     " is not a DNS name");
    }
  }
  if (p.key_type == "RSA") {
    if (p.key_size != 2048 && p.key_size != 3072 && p.key_size != 4096) {
      return invalid(policy_error_name("key_size") + " must be 2048, 3072 or 4096 for RSA");
    }
  } else if (p.key_type == "EC") {
    if (p.curve != "P-256" && p.curve != "P-384" && p.curve != "P-521") {
      return invalid(policy_error_name("curve") + " must be P-256, P-384 or P-521 for EC");
    }
  } else {
    return invalid(policy_error_name("key_type") + " must be RSA or EC");
  }
  if (p.validity_months < 1 || p.validity_months > 120) {
    return invalid(policy_error_name("validity_months") + " must be 1 to 120");
  }
  if (!valid_item_name(p.issuer)) {
    return invalid(policy_error_name("issuer") +
                   " must be Self, Unknown or a configured issuer's name");
  }
  if (p.content_type != kContentTypePem && p.content_type != kContentTypePkcs12) {
    return invalid(policy_error_name("content_type") + " must be " + std::string(kContentTypePem) +
                   " or " + std::string(kContentTypePkcs12));
  }
  // The shortest month count has at least 28 days per month.
  if (p.renew_days_before_expiry < 0 || p.renew_days_before_expiry >= p.validity_months * 28) {
    return invalid(policy_error_name("renew_days_before_expiry") +
                   " must be 0 or more and less than the validity");
  }
  if (p.renew_at_lifetime_percentage < 0 || p.renew_at_lifetime_percentage > 99) {
    return invalid(policy_error_name("renew_at_lifetime_percentage") + " must be 0 to 99");
  }
  if (p.renew_days_before_expiry > 0 && p.renew_at_lifetime_percentage > 0) {
    return invalid("set only one of " + policy_error_name("renew_days_before_expiry") + " and " +
                   policy_error_name("renew_at_lifetime_percentage"));
  }
  return {};
}

bool policy_auto_renews(const CertificatePolicy& policy) noexcept {
  return policy.issuer != kIssuerUnknown &&
         (policy.renew_days_before_expiry > 0 || policy.renew_at_lifetime_percentage > 0);
}

int64_t renewal_time(const CertificatePolicy& policy, int64_t not_before,
                     int64_t expires) noexcept {
  if (!policy_auto_renews(policy)) return 0;
  if (policy.renew_days_before_expiry > 0) {
    return expires - int64_t{policy.renew_days_before_expiry} * 86400;
  }
  return not_before + (expires - not_before) * policy.renew_at_lifetime_percentage / 100;
}

int validity_days(int months, int64_t now) noexcept {
  using namespace std::chrono;
  const sys_days today = floor<days>(sys_seconds{seconds{now}});
  year_month_day later = year_month_day{today} + std::chrono::months{months};
  if (!later.ok()) later = year_month_day_last{later.year(), month_day_last{later.month()}};
  return static_cast<int>((sys_days{later} - today).count());
}

std::string policy_to_json(const CertificatePolicy& p) {
  json::object obj;
  obj["subject"] = p.subject;
  json::array dns;
  for (const auto& d : p.dns_names)
    dns.emplace_back(d);
  obj["dns_names"] = std::move(dns);
  obj["key_type"] = p.key_type;
  obj["key_size"] = p.key_size;
  obj["curve"] = p.curve;
  obj["validity_months"] = p.validity_months;
  obj["issuer"] = p.issuer;
  obj["content_type"] = p.content_type;
  obj["renew_days_before_expiry"] = p.renew_days_before_expiry;
  obj["renew_at_lifetime_percentage"] = p.renew_at_lifetime_percentage;
  obj["exportable"] = p.exportable;
  return json::serialize(obj);
}

Result<CertificatePolicy> policy_from_json(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return invalid("stored certificate policy is not a JSON object");
  const json::object& obj = v.get_object();
  CertificatePolicy p;
  GH_TRY_STATUS(read_member(obj, "subject", p.subject));
  if (const json::value* dns = obj.if_contains("dns_names")) {
    if (!dns->is_array()) return invalid("stored policy member dns_names not a list");
    for (const auto& d : dns->get_array()) {
      if (!d.is_string()) return invalid("stored policy member dns_names not a list of text");
      p.dns_names.emplace_back(d.get_string());
    }
  }
  GH_TRY_STATUS(read_member(obj, "key_type", p.key_type));
  GH_TRY_STATUS(read_member(obj, "key_size", p.key_size));
  GH_TRY_STATUS(read_member(obj, "curve", p.curve));
  GH_TRY_STATUS(read_member(obj, "validity_months", p.validity_months));
  GH_TRY_STATUS(read_member(obj, "issuer", p.issuer));
  GH_TRY_STATUS(read_member(obj, "content_type", p.content_type));
  GH_TRY_STATUS(read_member(obj, "renew_days_before_expiry", p.renew_days_before_expiry));
  GH_TRY_STATUS(read_member(obj, "renew_at_lifetime_percentage", p.renew_at_lifetime_percentage));
  GH_TRY_STATUS(read_member(obj, "exportable", p.exportable));
  return p;
}

CertificatePolicy policy_from_certificate(const KeyAndChain& bundle,
                                          std::string_view content_type) {
  CertificatePolicy p;
  p.subject = bundle.leaf.subject();
  p.dns_names = bundle.leaf.subject_alt_names().dns;
  if (crypto::key_type(bundle.key.get()) == crypto::KeyType::Ec) {
    p.key_type = "EC";
    p.curve = crypto::ec_curve_name(bundle.key.get());
  } else {
    p.key_type = "RSA";
    p.key_size = crypto::key_bits(bundle.key.get());
  }
  const double month_seconds = 30.44 * 86400;
  const double months = std::round(
      static_cast<double>(bundle.leaf.not_after() - bundle.leaf.not_before()) / month_seconds);
  p.validity_months = static_cast<int>(std::clamp(months, 1.0, 120.0));
  p.issuer = std::string(kIssuerUnknown);
  p.content_type = std::string(content_type);
  return p;
}

Result<KeyAndChain> issue_certificate(const CertificatePolicy& policy,
                                      const CertificateIssuer* issuer, const core::Clock& clock) {
  GH_TRY(crypto::EvpPkeyPtr key, policy.key_type == "EC" ? crypto::generate_ec(policy.curve)
                                                         : crypto::generate_rsa(policy.key_size));
  x509::CertSpec spec;
  spec.subject = policy.subject;
  spec.sans.dns = policy.dns_names;
  spec.days = validity_days(policy.validity_months, clock.now_unix());
  if (issuer == nullptr) {
    GH_TRY(x509::Certificate leaf, x509::make_self_signed(key.get(), spec, clock));
    return KeyAndChain{std::move(key), std::move(leaf), {}};
  }
  GH_TRY(x509::Certificate leaf,
         x509::make_issued(key.get(), spec, issuer->certificate, issuer->key.get(), clock));
  KeyAndChain out{std::move(key), std::move(leaf), {issuer->certificate}};
  out.chain.insert(out.chain.end(), issuer->chain.begin(), issuer->chain.end());
  return out;
}

Result<KeyAndChain> parse_import(std::string_view data, std::string_view password, bool* was_pem) {
  if (was_pem) *was_pem = false;
  if (data.empty()) return invalid("certificate data is empty");
  if (data.size() > kMaxImportBytes) return invalid("certificate data is larger than 256 KiB");
  if (x509::looks_like_pem(data)) {
    if (was_pem) *was_pem = true;
    return parse_pem(data, password);
  }
  if (static_cast<uint8_t>(data.front()) == 0x30) {  // a DER SEQUENCE: PKCS#12 itself
    return parse_pkcs12(core::as_bytes(data), password);
  }
  std::string text;
  text.reserve(data.size());
  for (const char c : data)
    if (!is_base64_space(c)) text.push_back(c);
  auto der = core::base64_decode(text, /*allow_missing_padding=*/true);
  if (!der) return invalid("certificate data is neither PEM, PKCS#12 nor base64 of PKCS#12");
  auto out = parse_pkcs12(*der, password);
  wipe(*der);
  return out;
}

Result<std::string> bundle_pem(const KeyAndChain& bundle) {
  GH_TRY(std::string pem, crypto::private_key_pem(bundle.key.get()));
  pem += bundle.leaf.pem();
  for (const auto& c : bundle.chain)
    pem += c.pem();
  return pem;
}

Result<std::string> encode_secret(const KeyAndChain& bundle, std::string_view content_type) {
  if (content_type != kContentTypePkcs12) return bundle_pem(bundle);
  GH_TRY(core::Bytes der, x509::make_pkcs12(bundle.key.get(), bundle.leaf, bundle.chain, {}));
  std::string out = core::base64_encode(der);
  wipe(der);
  return out;
}

Result<KeyAndChain> decode_secret(std::string_view value, std::string_view content_type) {
  (void)content_type;  // parse_import tells PEM from base64 PKCS#12 by itself
  auto out = parse_import(value, {});
  if (!out) return unexpected(ErrorKind::Internal, "stored certificate secret is unreadable");
  return out;
}

}  // namespace gh::vault
