#include "policy/validate_client_certificate.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/strings.h"
#include "crypto/digest.h"
#include "crypto/openssl_error.h"
#include "policy/certificates.h"
#include "policy/distinguished_name.h"
#include "policy/revocation.h"
#include "policy/services.h"
#include "x509/chain_verifier.h"
#include "x509/trust_store.h"
#include "x509/verify_error.h"

namespace gh::policy {
namespace {

constexpr std::string_view kSource = "validate-client-certificate";
constexpr std::string_view kInvalid = "Invalid client certificate";  // APIM's 401 body (§4.2)

// LastError messages: APIM's observed texts where known (§1.6, §4.2), ours otherwise.
constexpr std::string_view kMissingMessage = "Client certificate missing";
constexpr std::string_view kNotTrustedMessage =
    "A certificate chain could not be built to a trusted root authority.";
constexpr std::string_view kExpiredMessage = "Certificate has expired.";
constexpr std::string_view kNotYetValidMessage = "Certificate is not yet valid.";
constexpr std::string_view kRevokedMessage = "Certificate has been revoked.";
constexpr std::string_view kRevocationUnknownMessage =
    "Certificate revocation status could not be determined.";
constexpr std::string_view kIdentityMessage =
    "Certificate does not match any of allowed identities.";

// A clock stopped at one instant (verification at a chosen time).
class InstantClock final : public core::Clock {
 public:
  explicit InstantClock(int64_t unix_seconds) : at_(unix_seconds) {}
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(at_));
  }

 private:
  int64_t at_;
};

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Hex digits of a thumbprint or serial number as people paste them: separators (spaces,
// colons) and the invisible marks that Windows' certificate dialog copies along (U+200E, U+200F,
// U+FEFF) are dropped. nullopt when anything else is left that is not a hex digit.
std::optional<std::string> clean_hex(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const std::string_view rest = text.substr(i);
    if (rest.starts_with("\xE2\x80\x8E") || rest.starts_with("\xE2\x80\x8F") ||
        rest.starts_with("\xEF\xBB\xBF")) {
      i += 2;
      continue;
    }
    const char c = text[i];
    if (c == ' ' || c == ':' || c == '\t') continue;
    if (hex_value(c) < 0) return std::nullopt;
    out.push_back(c);
  }
  return out;
}

std::vector<uint8_t> hex_bytes(std::string_view hex) {
  std::vector<uint8_t> out;
  size_t i = 0;
  if (hex.size() % 2 == 1) {
    out.push_back(static_cast<uint8_t>(hex_value(hex[0])));
    i = 1;
  }
  for (; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(hex_value(hex[i]) * 16 + hex_value(hex[i + 1])));
  return out;
}

struct Thumbprint {
  std::vector<uint8_t> digest;  // 20 bytes: SHA-1; 32 bytes: SHA-256
  bool matches(const x509::Certificate& cert) const noexcept {
    uint8_t buf[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    const EVP_MD* md =
        crypto::md(digest.size() == 20 ? crypto::DigestAlg::Sha1 : crypto::DigestAlg::Sha256);
    if (X509_digest(cert.get(), md, buf, &len) != 1) {
      crypto::clear_openssl_errors();
      return false;
    }
    return len == digest.size() && std::equal(digest.begin(), digest.end(), buf);
  }
};

std::optional<Thumbprint> parse_thumbprint(std::string_view text) {
  auto hex = clean_hex(text);
  if (!hex || (hex->size() != 40 && hex->size() != 64)) return std::nullopt;
  return Thumbprint{hex_bytes(*hex)};
}

// Serial number magnitude without leading zero bytes ("00C5" and "C5" are the same serial: .NET
// shows the DER sign octet, OpenSSL does not).
std::vector<uint8_t> strip_leading_zeros(std::vector<uint8_t> bytes) {
  size_t z = 0;
  while (z < bytes.size() && bytes[z] == 0)
    ++z;
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(z));
  return bytes;
}

bool serial_matches(const std::vector<uint8_t>& expected, const x509::Certificate& cert) noexcept {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  if (serial == nullptr || ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) return false;
  const uint8_t* data = ASN1_STRING_get0_data(serial);
  size_t len = static_cast<size_t>(ASN1_STRING_length(serial));
  while (len > 0 && *data == 0) {
    ++data;
    --len;
  }
  return len == expected.size() && std::equal(expected.begin(), expected.end(), data);
}

// The leaf's most specific commonName (as Certificate::subject_cn picks it).
bool common_name_matches(std::string_view folded, const x509::Certificate& cert) {
  const X509_NAME* name = X509_get_subject_name(cert.get());
  int idx = -1;
  int last = -1;
  while ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0)
    last = idx;
  if (last < 0) return false;
  std::string scratch;
  std::string_view text;
  if (!name_entry_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)), text, scratch)) {
    return false;
  }
  return folded_equals(folded, text);
}

// A dNSName of the subject alternative names equal to `lower` (ASCII case-insensitive, a
// trailing dot ignored). Literal comparison: a "*.x" entry matches only "*.x".
bool dns_name_matches(std::string_view lower, const x509::Certificate& cert) {
  crypto::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  crypto::clear_openssl_errors();
  if (!names) return false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != GEN_DNS) continue;
    std::string_view dns(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                         static_cast<size_t>(ASN1_STRING_length(gn->d.dNSName)));
    if (!dns.empty() && dns.back() == '.') dns.remove_suffix(1);
    if (core::iequals(dns, lower)) return true;
  }
  return false;
}

// True when `candidate` issued `leaf`: names and key identifiers agree, and its key verifies
// the leaf's signature (a presented chain proves nothing by names alone).
bool issued(const x509::Certificate& candidate, const x509::Certificate& leaf) {
  if (X509_check_issued(candidate.get(), leaf.get()) != X509_V_OK) return false;
  EVP_PKEY* key = X509_get0_pubkey(candidate.get());
  const bool ok = key != nullptr && X509_verify(leaf.get(), key) == 1;
  crypto::clear_openssl_errors();
  return ok;
}

struct Identity {
  std::optional<Thumbprint> thumbprint;
  std::optional<std::vector<uint8_t>> serial;
  std::optional<std::string> common_name;  // folded
  std::optional<DistinguishedName> subject;
  std::optional<std::string> dns_name;  // lower-case, no trailing dot
  std::optional<DistinguishedName> issuer_subject;
  std::optional<Thumbprint> issuer_thumbprint;
  std::optional<x509::Certificate> issuer_certificate;  // issuer-certificate-id, resolved
  bool needs_issuer() const noexcept {
    return issuer_thumbprint.has_value() || issuer_certificate.has_value();
  }
};

// The certificates that issued the leaf: the verified chain's second certificate, else those
// of the presented chain that really signed it.
struct IssuerCandidates {
  const std::vector<x509::Certificate>* verified = nullptr;
  const std::vector<x509::Certificate>* presented = nullptr;
};

bool issuer_identity_matches(const Identity& id, const x509::Certificate& leaf,
                             const IssuerCandidates& issuers) {
  // issuer-certificate-id: the entity's key must have signed the leaf, whatever was presented.
  if (id.issuer_certificate) return issued(*id.issuer_certificate, leaf);
  if (!id.issuer_thumbprint) return true;
  if (issuers.verified && issuers.verified->size() >= 2 &&
      id.issuer_thumbprint->matches((*issuers.verified)[1])) {
    return true;
  }
  if (issuers.presented) {
    for (const auto& c : *issuers.presented)
      if (id.issuer_thumbprint->matches(c) && issued(c, leaf)) return true;
  }
  return false;
}

bool identity_matches(const Identity& id, const x509::Certificate& leaf,
                      const IssuerCandidates& issuers) {
  if (id.thumbprint && !id.thumbprint->matches(leaf)) return false;
  if (id.serial && !serial_matches(*id.serial, leaf)) return false;
  if (id.common_name && !common_name_matches(*id.common_name, leaf)) return false;
  if (id.subject && !id.subject->matches(X509_get_subject_name(leaf.get()))) return false;
  if (id.dns_name && !dns_name_matches(*id.dns_name, leaf)) return false;
  if (id.issuer_subject && !id.issuer_subject->matches(X509_get_issuer_name(leaf.get()))) {
    return false;
  }
  if (id.needs_issuer() && !issuer_identity_matches(id, leaf, issuers)) return false;
  return true;
}

// Chains verified recently, by the leaf's SHA-1 (OpenSSL caches it: no hashing per request), so
// that a client sending many requests costs one path validation per few minutes instead of one
// per request. Only successes are kept: the leaf is known to chain to a trust anchor, whatever
// intermediates a later request presents. Shared by every worker; sharded, read-mostly.
class VerifiedChains {
 public:
  using Chain = std::shared_ptr<const std::vector<x509::Certificate>>;
  using Key = std::array<uint8_t, 20>;
  static constexpr int64_t kTtlSeconds = 300;
  static constexpr size_t kShardCount = 16;
  static constexpr size_t kPerShard = 256;

  static bool key_of(const x509::Certificate& leaf, Key& key) noexcept {
    unsigned len = 0;
    return X509_digest(leaf.get(), crypto::md(crypto::DigestAlg::Sha1), key.data(), &len) == 1 &&
           len == key.size();
  }

  Chain find(const Key& key, int64_t now) const {
    const Shard& shard = shards_[key[0] % kShardCount];
    std::shared_lock lock(shard.mutex);
    auto it = shard.entries.find(key);
    if (it == shard.entries.end() || it->second.expires <= now) return nullptr;
    return it->second.chain;
  }

  void store(const Key& key, Chain chain, int64_t now) {
    // Never beyond the first notAfter of the chain: an expiring intermediate is noticed.
    int64_t expires = now + kTtlSeconds;
    for (const auto& c : *chain)
      expires = std::min(expires, c.not_after());
    if (expires <= now) return;
    Shard& shard = shards_[key[0] % kShardCount];
    std::unique_lock lock(shard.mutex);
    if (shard.entries.size() >= kPerShard && shard.entries.find(key) == shard.entries.end()) {
      std::erase_if(shard.entries, [now](const auto& kv) { return kv.second.expires <= now; });
      if (shard.entries.size() >= kPerShard) shard.entries.erase(shard.entries.begin());
    }
    shard.entries[key] = Entry{std::move(chain), expires};
  }

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept {
      size_t h = 0;
      std::memcpy(&h, k.data(), sizeof h);
      return h;
    }
  };
  struct Entry {
    Chain chain;
    int64_t expires = 0;
  };
  struct Shard {
    mutable std::shared_mutex mutex;  // guards entries
    std::unordered_map<Key, Entry, KeyHash> entries;
  };
  std::array<Shard, kShardCount> shards_;
};

// What the checks decided.
struct Outcome {
  std::string_view reason;  // "" = the certificate passes
  std::string_view message;
  std::string_view client_message = kInvalid;
  bool needs_fetch = false;
  VerifiedChains::Chain chain;  // verified chain, for the revocation fetch
};

Outcome failure(std::string_view reason, std::string_view message,
                std::string_view client_message = kInvalid) {
  return Outcome{reason, message, client_message, false, nullptr};
}

class ValidateClientCertificate final : public Policy {
 public:
  bool validate_revocation = true;
  bool validate_trust = true;
  bool validate_not_before = true;
  bool validate_not_after = true;
  bool ignore_error = false;
  std::vector<Identity> identities;
  const x509::TrustStore* trust = nullptr;
  std::shared_ptr<RevocationChecker> revocation;
  mutable VerifiedChains verified_chains;

  Flow apply(RequestContext& ctx) const override {
    Outcome outcome = evaluate(ctx);
    if (outcome.needs_fetch) return Flow::Await;
    return finish(ctx, outcome);
  }

  net::awaitable<Flow> apply_async(RequestContext& ctx) const override {
    Outcome outcome = evaluate(ctx);
    if (outcome.needs_fetch) {
      const RevocationResult result = co_await revocation->check(*outcome.chain);
      outcome = revocation_outcome(result);
    }
    co_return finish(ctx, outcome);
  }

 private:
  Outcome revocation_outcome(const RevocationResult& result) const {
    if (result.status == RevocationStatus::Revoked) {
      return failure(kClientCertificateRevoked, kRevokedMessage);
    }
    if (!revocation->allows(result.status)) {
      return failure(kClientCertificateRevocationUnknown, kRevocationUnknownMessage);
    }
    return {};
  }

  Outcome evaluate(const RequestContext& ctx) const {
    if (!ctx.client_certificate) {
      return failure(kClientCertificateMissing, kMissingMessage, kMissingMessage);
    }
    const ClientCertificate& cc = *ctx.client_certificate;
    const x509::Certificate& leaf = cc.leaf;
    const int64_t now = ctx.clock().now_unix();
    const int64_t not_before = leaf.not_before();
    const int64_t not_after = leaf.not_after();
    if (validate_not_before && now < not_before) {
      return failure(kClientCertificateNotYetValid, kNotYetValidMessage);
    }
    if (validate_not_after && now > not_after) {
      return failure(kClientCertificateExpired, kExpiredMessage);
    }

    // The chain is built when trust is checked, and for revocation (which needs verified
    // issuers: an untrusted certificate's AIA/CDP URLs are never fetched).
    VerifiedChains::Chain verified;
    if (trust != nullptr && (validate_trust || validate_revocation)) {
      VerifiedChains::Key key;
      const bool cacheable = VerifiedChains::key_of(leaf, key);
      if (cacheable) verified = verified_chains.find(key, now);
      if (!verified) {
        // With a date check switched off, the leaf's own dates must not fail the chain either:
        // verify at the nearest instant inside its validity (OpenSSL counts notAfter itself as
        // expired).
        int64_t at = now;
        if (!validate_not_after && at >= not_after) at = not_after - 1;
        if (!validate_not_before && at < not_before) at = not_before;
        const InstantClock clock(at);
        x509::VerifyOptions options;
        options.purpose = X509_PURPOSE_SSL_CLIENT;
        auto chain = x509::verify_chain(leaf, cc.chain, *trust, clock, options);
        if (chain) {
          verified = std::make_shared<const std::vector<x509::Certificate>>(std::move(*chain));
          if (cacheable && at == now) verified_chains.store(key, verified, now);
        } else if (validate_trust) {
          const auto code = static_cast<x509::VerifyError>(chain.error().detail);
          if (code == x509::VerifyError::Expired && validate_not_after) {
            return failure(kClientCertificateExpired, kExpiredMessage);
          }
          if (code == x509::VerifyError::NotYetValid && validate_not_before) {
            return failure(kClientCertificateNotYetValid, kNotYetValidMessage);
          }
          return failure(kClientCertificateNotTrusted, kNotTrustedMessage);
        }
      }
    } else if (validate_trust) {
      return failure(kClientCertificateNotTrusted, kNotTrustedMessage);  // unreachable: load
    }

    if (!identities.empty()) {
      const IssuerCandidates issuers{verified.get(), &cc.chain};
      bool any = false;
      for (const auto& id : identities) {
        if (identity_matches(id, leaf, issuers)) {
          any = true;
          break;
        }
      }
      if (!any) return failure(kClientCertificateIdentityNotMatched, kIdentityMessage);
    }

    if (validate_revocation) {
      if (!verified) {
        // No verified issuer: nothing can be asked about this certificate.
        return revocation_outcome({RevocationStatus::Unknown, "issuer not verified"});
      }
      const RevocationResult result = revocation->lookup(*verified);
      if (result.status == RevocationStatus::NeedsFetch) {
        Outcome wait;
        wait.needs_fetch = true;
        wait.chain = std::move(verified);
        return wait;
      }
      return revocation_outcome(result);
    }
    return {};
  }

  Flow finish(RequestContext& ctx, const Outcome& outcome) const {
    if (outcome.reason.empty()) return Flow::Continue;
    // ignore-error: the pipeline goes on as if the policy had passed (APIM §4.1).
    if (ignore_error) return Flow::Continue;
    ctx.fail(kSource, outcome.reason, outcome.message, 401, outcome.client_message, id());
    return Flow::Error;
  }
};

bool is_expression(const std::string& value) {
  return value.starts_with("@(") || value.starts_with("@{");
}

// Reads an attribute that APIM does not allow expressions in.
const std::string* literal(AttributeReader& reader, std::string_view name) {
  const std::string* value = reader.raw(name);
  if (value && is_expression(*value)) {
    reader.problem("attribute '" + std::string(name) + "' does not accept policy expressions");
    return nullptr;
  }
  return value;
}

bool literal_bool(AttributeReader& reader, std::string_view name, bool fallback) {
  const std::string* value = reader.element().attribute(name);
  if (value && is_expression(*value)) {
    (void)literal(reader, name);
    return fallback;
  }
  return reader.boolean(name, fallback);
}

// The value shown in a message: never for a secret named value.
std::string shown(const Element& e, const std::string& value) {
  if (e.secret) return {};
  return " '" + value.substr(0, 80) + "'";
}

Identity read_identity(const Element& e, const LoadContext& load, AttributeReader& reader) {
  Identity id;
  size_t count = 0;
  if (const std::string* v = literal(reader, "thumbprint")) {
    ++count;
    id.thumbprint = parse_thumbprint(*v);
    if (!id.thumbprint) {
      reader.problem("thumbprint" + shown(e, *v) +
                     " must be 40 (SHA-1) or 64 (SHA-256) hexadecimal digits");
    }
  }
  if (const std::string* v = literal(reader, "serial-number")) {
    ++count;
    auto hex = clean_hex(*v);
    if (!hex || hex->empty() || hex->size() > 80) {
      reader.problem("serial-number" + shown(e, *v) + " must be hexadecimal digits");
    } else {
      id.serial = strip_leading_zeros(hex_bytes(*hex));
    }
  }
  if (const std::string* v = literal(reader, "common-name")) {
    ++count;
    id.common_name = fold_name_value(*v);
    if (id.common_name->empty()) reader.problem("common-name must not be empty");
  }
  if (const std::string* v = literal(reader, "subject")) {
    ++count;
    auto dn = DistinguishedName::parse(*v);
    if (dn) {
      id.subject = std::move(*dn);
    } else {
      reader.problem("subject: " + dn.error().message);
    }
  }
  if (const std::string* v = literal(reader, "dns-name")) {
    ++count;
    std::string lower = core::to_lower(*v);
    if (!lower.empty() && lower.back() == '.') lower.pop_back();
    if (lower.empty()) reader.problem("dns-name must not be empty");
    id.dns_name = std::move(lower);
  }
  if (const std::string* v = literal(reader, "issuer-subject")) {
    ++count;
    auto dn = DistinguishedName::parse(*v);
    if (dn) {
      id.issuer_subject = std::move(*dn);
    } else {
      reader.problem("issuer-subject: " + dn.error().message);
    }
  }
  if (const std::string* v = literal(reader, "issuer-thumbprint")) {
    ++count;
    id.issuer_thumbprint = parse_thumbprint(*v);
    if (!id.issuer_thumbprint) {
      reader.problem("issuer-thumbprint" + shown(e, *v) +
                     " must be 40 (SHA-1) or 64 (SHA-256) hexadecimal digits");
    }
  }
  if (const std::string* v = literal(reader, "issuer-certificate-id")) {
    ++count;
    if (e.attribute("issuer-subject") || e.attribute("issuer-thumbprint")) {
      reader.problem(
          "issuer-certificate-id cannot be combined with issuer-subject or issuer-thumbprint");
    }
    if (v->empty()) {
      reader.problem("issuer-certificate-id must not be empty");
    } else if (!load.lint) {
      const CertificateEntity* entity = load.certificates ? load.certificates->find(*v) : nullptr;
      if (entity == nullptr) {
        reader.problem("issuer-certificate-id" + shown(e, *v) + " is not a configured certificate");
      } else {
        id.issuer_certificate = entity->certificate;
      }
    }
  }
  if (count == 0) reader.problem("an identity needs at least one attribute");
  if (!e.children.empty()) reader.problem("<identity> takes no child elements");
  return id;
}

}  // namespace

Result<std::unique_ptr<Policy>> make_validate_client_certificate(const Element& element,
                                                                 LoadContext& load) {
  auto policy = std::make_unique<ValidateClientCertificate>();
  if (const std::string* id = element.attribute("id")) policy->set_id(*id);
  AttributeReader reader(element);
  policy->validate_revocation = literal_bool(reader, "validate-revocation", true);
  policy->validate_trust = literal_bool(reader, "validate-trust", true);
  policy->validate_not_before = literal_bool(reader, "validate-not-before", true);
  policy->validate_not_after = literal_bool(reader, "validate-not-after", true);
  policy->ignore_error = literal_bool(reader, "ignore-error", false);

  std::vector<std::string> child_problems;
  bool seen_identities = false;
  for (const Element& child : element.children) {
    if (child.name != "identities") {
      reader.problem("unknown child element <" + child.name + "> (expected <identities>)");
      continue;
    }
    if (seen_identities) {
      reader.problem("<identities> may appear only once");
      continue;
    }
    seen_identities = true;
    AttributeReader identities_reader(child);
    if (child.children.empty()) identities_reader.problem("needs at least one <identity>");
    for (const Element& identity : child.children) {
      if (identity.name != "identity") {
        identities_reader.problem("unknown child element <" + identity.name +
                                  "> (expected <identity>)");
        continue;
      }
      AttributeReader identity_reader(identity);
      Identity id = read_identity(identity, load, identity_reader);
      if (auto st = identity_reader.finish(); !st) {
        child_problems.push_back(st.error().message);
      } else {
        policy->identities.push_back(std::move(id));
      }
    }
    if (auto st = identities_reader.finish(); !st) child_problems.push_back(st.error().message);
  }

  if (!load.lint) {
    if (policy->validate_trust) {
      if (load.client_trust == nullptr) {
        reader.problem(
            "validate-trust is true but no client certificate CA is configured "
            "(client_certificates.ca); configure one or set validate-trust=\"false\"");
      }
    }
    policy->trust = load.client_trust;
    if (policy->validate_revocation) {
      policy->revocation = load.services ? load.services->revocation : nullptr;
      if (!policy->revocation) {
        reader.problem("validate-revocation is true but the gateway has no revocation checker");
      }
    }
  }

  auto status = reader.finish();
  if (!status || !child_problems.empty()) {
    std::string joined = status ? std::string() : status.error().message;
    for (const auto& p : child_problems) {
      if (!joined.empty()) joined += '\n';
      joined += p;
    }
    return unexpected(ErrorKind::InvalidArgument, std::move(joined));
  }
  return std::unique_ptr<Policy>(std::move(policy));
}

}  // namespace gh::policy
