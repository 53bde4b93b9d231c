#include "policy/jwt_validation.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/container/small_vector.hpp>
#include <boost/json/serialize.hpp>
#include <limits>

#include "core/strings.h"
#include "jose/base64url_fast.h"
#include "jose/json.h"
#include "jose/jwt_error.h"
#include "jose/token_cache.h"
#include "policy/openid_cache.h"
#include "policy/recent_slot.h"
#include "policy/services.h"

namespace gh::policy {
namespace {

namespace json = boost::json;
using jose::JwtError;

// APIM's client bodies (apim-policies.md §1.6): the library's text never reaches the client.
constexpr std::string_view kNotPresentBody = "JWT not present.";
constexpr std::string_view kInvalidBody = "Invalid JWT.";
// RFC 6750 §3: no error code when the request carried no token; invalid_token when it did.
constexpr std::string_view kChallengeNoToken = "Bearer";
constexpr std::string_view kChallengeInvalid = "Bearer error=\"invalid_token\"";

// The signature step checks no time: lifetimes are checked on every use, cached or not.
constexpr std::chrono::seconds kNoTimeCheck{int64_t{1} << 40};

/// Why a token was refused: APIM's reason and our stable message (no CR/LF, no token text).
struct Refusal {
  std::string_view reason;
  std::string message;
  bool token_presented = true;
};

bool is_expression(std::string_view raw) noexcept {
  return raw.starts_with("@(") || raw.starts_with("@{");
}

std::string_view trim_text(std::string_view s) noexcept {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// Text that came from a token or a library, made safe for LastError.Message and logs: printable
// ASCII only, bounded.
std::string printable(std::string_view s, size_t max = 64) {
  std::string out;
  out.reserve(std::min(s.size(), max) + 3);
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    out += u >= 0x20 && u < 0x7f ? s[i] : '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

// A claim's value for a message: a string as it is, an array's strings comma-joined, anything
// else as JSON; always through printable().
std::string claim_text(const json::value& v) {
  if (v.is_string()) return printable(v.get_string());
  if (v.is_array()) {
    std::string joined;
    for (const auto& item : v.get_array()) {
      if (!joined.empty()) joined += ',';
      joined += item.is_string() ? std::string(item.get_string()) : json::serialize(item);
      if (joined.size() > 64) break;
    }
    return printable(joined);
  }
  return printable(json::serialize(v));
}

Refusal refusal_for(const core::Error& error) {
  const std::string detail = printable(error.message, 160);
  switch (jose::jwt_error(error)) {
    case JwtError::Expired:
      return {"TokenExpired", "Lifetime validation failed: " + detail + ". Access denied."};
    case JwtError::Audience:
      return {"TokenAudienceNotAllowed",
              "Audience validation failed: " + detail + ". Access denied."};
    case JwtError::Issuer:
      return {"TokenIssuerNotAllowed", "Issuer validation failed: " + detail + ". Access denied."};
    case JwtError::UnknownKey:
    case JwtError::NoMatchingKey:
      return {"TokenSignatureKeyNotFound",
              "Signature validation failed: " + detail + ". Access denied."};
    case JwtError::UnsupportedAlg:
    case JwtError::AlgNotAllowed:
    case JwtError::KeyMismatch:
    case JwtError::BadSignature:
    case JwtError::InvalidKey:
      return {"TokenSignatureInvalid",
              "Signature validation failed: " + detail + ". Access denied."};
    case JwtError::MissingClaim:
      return {"TokenClaimNotFound", "JWT token is missing a required claim. Access denied."};
    case JwtError::ClaimMismatch:
      return {"TokenClaimValueNotAllowed", "A claim value is not allowed. Access denied."};
    default:
      // Malformed, TooLarge, UnsupportedCrit, InvalidClaim, MissingExp, NotYetValid: APIM's
      // "other" row, the library's text without "Access denied." (§1.6).
      return {"JwtInvalid", "Invalid JWT: " + detail + "."};
  }
}

// Failures after which other key sets may still verify the token.
bool try_next_set(JwtError e) noexcept {
  return e == JwtError::NoMatchingKey || e == JwtError::UnknownKey || e == JwtError::BadSignature ||
         e == JwtError::KeyMismatch;
}

// How telling a failure is, for reporting the best one when every set failed.
int weight(JwtError e) noexcept {
  return e == JwtError::BadSignature || e == JwtError::KeyMismatch ? 2 : 1;
}

struct TokenHeader {
  std::optional<jose::JwsAlg> alg;
  std::string alg_name;
  bool has_kid = false;
  std::string kid;
};

// The JOSE header, for choosing keys before a signature check (jose re-reads it when verifying).
Result<TokenHeader> peek_header(std::string_view token) {
  if (token.size() > jose::kMaxTokenBytes) {
    return jose::fail(JwtError::TooLarge,
                      "token larger than " + std::to_string(jose::kMaxTokenBytes) + " bytes");
  }
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) {
    return jose::fail(JwtError::Malformed, "a JWT has three dot-separated segments");
  }
  core::Bytes bytes;
  if (!jose::decode_base64url(token.substr(0, dot), bytes)) {
    return jose::fail(JwtError::Malformed, "JOSE header is not strict base64url");
  }
  GH_TRY(json::object header, jose::parse_strict_json_object(core::as_string_view(bytes)));
  TokenHeader out;
  if (const json::value* alg = header.if_contains("alg"); alg != nullptr && alg->is_string()) {
    out.alg_name = alg->get_string();
    out.alg = jose::parse_alg(out.alg_name);
  }
  if (const json::value* kid = header.if_contains("kid")) {
    if (!kid->is_string())
      return jose::fail(JwtError::Malformed, "JOSE header kid is not a string");
    out.has_kid = true;
    out.kid = kid->get_string();
  }
  return out;
}

uint64_t mix(uint64_t h, uint64_t v) noexcept {
  return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

// validate-azure-ad-token: `configured` is a v2 issuer `<origin>/<tid>/v2.0`; its tenant's v1
// issuers are `<origin>/<tid>/` and Entra's `https://sts.windows.net/<tid>/`.
bool entra_issuer_matches(std::string_view iss, std::string_view configured) noexcept {
  if (iss == configured) return true;
  if (!configured.ends_with("/v2.0")) return false;
  const std::string_view base = configured.substr(0, configured.size() - 5);
  const size_t slash = base.rfind('/');
  if (slash == std::string_view::npos || slash + 1 == base.size()) return false;
  const std::string_view tid = base.substr(slash + 1);
  if (iss.size() == base.size() + 1 && iss.starts_with(base) && iss.back() == '/') return true;
  constexpr std::string_view kSts = "https://sts.windows.net/";
  return iss.size() == kSts.size() + tid.size() + 1 && iss.starts_with(kSts) &&
         iss.substr(kSts.size(), tid.size()) == tid && iss.back() == '/';
}

using Snapshots = boost::container::small_vector<std::shared_ptr<const OpenIdConfiguration>, 4>;

/// The tokens a worker verified last, in front of the process-wide cache: a client reuses its
/// token request after request on its connection, which stays on one worker, so a hit here costs
/// a comparison instead of the cache's SHA-256 and shard lock. Direct-mapped on the token's last
/// bytes (its signature), compared in full, so a collision is a miss, never a wrong answer; a
/// miss costs a few loads. Entries are scoped like the process-wide cache's (key set ids, which
/// are never reused) and claims, expiry included, are checked on every use as for a cache hit.
class RecentTokens {
 public:
  static constexpr size_t kSlots = 16;
  static constexpr size_t kMaxToken = 4096;  // bounds the memory: 16 x 4 KiB per worker

  static RecentTokens& of_this_thread() {
    thread_local RecentTokens recent;
    return recent;
  }

  /// The last policy whose constant claim rules accepted a remembered token, and until when.
  struct ClaimsMemo {
    uint64_t policy = 0;  // JwtValidationPolicy::memo_id_; 0: none
    jose::ClaimsAcceptance accepted;
  };
  struct Slot {
    uint64_t scope = 0;
    std::string token;
    std::shared_ptr<const jose::VerifiedJwt> jwt;
    ClaimsMemo memo;
  };

  Slot* find(uint64_t scope, std::string_view token) {
    Slot& slot = slots_[index(token)];
    if (slot.jwt && slot.scope == scope && slot.token == token) return &slot;
    return nullptr;
  }

  /// The memo of the slot now holding `token`; null when the token is too long to remember.
  ClaimsMemo* remember(uint64_t scope, std::string_view token,
                       std::shared_ptr<const jose::VerifiedJwt> jwt) {
    if (token.size() > kMaxToken) return nullptr;
    Slot& slot = slots_[index(token)];
    slot.scope = scope;
    slot.token.assign(token);  // reuses the slot's buffer
    slot.jwt = std::move(jwt);
    slot.memo = {};
    return &slot.memo;
  }

 private:
  static size_t index(std::string_view token) noexcept { return recent_slot(token, kSlots); }

  std::array<Slot, kSlots> slots_;
};

/// Inline keys of one family.
struct InlineKeys {
  std::shared_ptr<const jose::JwkSet> by_id;  // keys that have an id: selected by kid
  std::shared_ptr<const jose::JwkSet> all;    // every key without its id: each is tried
};

class JwtValidationPolicy final : public Policy {
 public:
  JwtValidationPolicy(JwtValidationSpec spec, InlineKeys symmetric, InlineKeys asymmetric,
                      std::vector<std::shared_ptr<OpenIdSource>> openid,
                      std::shared_ptr<jose::VerifiedTokenCache> cache);

  Flow apply(RequestContext& ctx) const override { return run(ctx, true); }
  net::awaitable<Flow> apply_async(RequestContext& ctx) const override;

 private:
  struct Verification {
    std::shared_ptr<const jose::VerifiedJwt> jwt;
    std::optional<Refusal> refusal;
    bool need_keys = false;
  };

  Flow run(RequestContext& ctx, bool may_wait) const;
  /// The token's text (empty: not present); `holder` owns what the view points into.
  Result<std::string_view> extract(const RequestContext& ctx, std::string& holder) const;
  Verification verify(std::string_view token, const Snapshots& snapshots, int64_t now,
                      const core::Clock& clock, bool may_wait) const;
  /// Empty on success; an Error (expression) or a Refusal otherwise.
  /// `memo` (may be null) remembers that the constant rules accepted this token.
  Result<std::optional<Refusal>> check_claims(const RequestContext& ctx,
                                              const jose::VerifiedJwt& jwt,
                                              const Snapshots& snapshots,
                                              RecentTokens::ClaimsMemo* memo) const;
  Result<std::optional<Refusal>> check_issuer(const RequestContext& ctx, const json::object& claims,
                                              const Snapshots& snapshots) const;
  std::optional<Refusal> check_client_application(const json::object& claims) const;
  Refusal claims_refusal(const json::object& claims, const jose::ClaimsPolicy& policy,
                         const core::Clock& clock) const;
  Flow refuse(RequestContext& ctx, const Refusal& refusal) const;
  Flow fail_expression(RequestContext& ctx, std::string_view what, const Error& error) const;

  JwtValidationSpec spec_;
  InlineKeys symmetric_, asymmetric_;
  std::vector<std::shared_ptr<OpenIdSource>> openid_;
  std::shared_ptr<jose::VerifiedTokenCache> cache_;
  uint64_t inline_scope_ = 0;

  jose::JwtVerifyOptions symmetric_options_, asymmetric_options_;  // signature step only
  // The claim rules when they are constants (dynamic_* false): built once.
  bool dynamic_lifetime_audience_ = false;
  jose::ClaimsPolicy lifetime_audience_;  // exp/nbf with skew, aud
  bool dynamic_required_ = false;
  jose::ClaimsPolicy required_;  // required-claims only
  bool dynamic_issuers_ = false;
  std::vector<std::string> issuers_;  // configured issuers, when constants
  // lifetime_audience_ and required_ in one, when both are constants.
  bool all_constant_ = false;
  jose::ClaimsPolicy all_claims_;
  // Names this policy in RecentTokens' memos: unique for the process's life, unlike `this`,
  // which a policy loaded later may reuse.
  const uint64_t memo_id_ = next_memo_id();

  static uint64_t next_memo_id() {
    static std::atomic<uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
  }
};

JwtValidationPolicy::JwtValidationPolicy(JwtValidationSpec spec, InlineKeys symmetric,
                                         InlineKeys asymmetric,
                                         std::vector<std::shared_ptr<OpenIdSource>> openid,
                                         std::shared_ptr<jose::VerifiedTokenCache> cache)
    : spec_(std::move(spec)),
      symmetric_(std::move(symmetric)),
      asymmetric_(std::move(asymmetric)),
      openid_(std::move(openid)),
      cache_(std::move(cache)) {
  for (const auto* set : {symmetric_.by_id.get(), symmetric_.all.get(), asymmetric_.by_id.get(),
                          asymmetric_.all.get()}) {
    inline_scope_ = mix(inline_scope_, set ? set->id() : 0);
  }
  symmetric_options_.jws.allowed_algs = {jose::JwsAlg::HS256, jose::JwsAlg::HS384,
                                         jose::JwsAlg::HS512};
  asymmetric_options_.jws.allowed_algs = jose::AlgSet::asymmetric();
  for (auto* o : {&symmetric_options_, &asymmetric_options_}) {
    o->claims.require_exp = false;
    o->claims.clock_skew = kNoTimeCheck;
  }

  dynamic_lifetime_audience_ = spec_.require_expiration.expression || spec_.clock_skew.expression;
  lifetime_audience_.require_exp = spec_.require_expiration.constant;
  lifetime_audience_.clock_skew = std::chrono::seconds(spec_.clock_skew.constant);
  for (const auto& a : spec_.audiences) {
    if (a.expression) dynamic_lifetime_audience_ = true;
    lifetime_audience_.audiences.push_back(a.constant);
  }
  required_.require_exp = false;
  required_.clock_skew = kNoTimeCheck;
  for (const auto& c : spec_.required_claims) {
    jose::ClaimRequirement r{c.name, c.match, c.separator, {}};
    for (const auto& v : c.values) {
      if (v.expression) dynamic_required_ = true;
      r.values.push_back(v.constant);
    }
    required_.required_claims.push_back(std::move(r));
  }
  for (const auto& i : spec_.issuers) {
    if (i.expression) dynamic_issuers_ = true;
    issuers_.push_back(i.constant);
  }
  all_constant_ = !dynamic_lifetime_audience_ && !dynamic_required_;
  if (all_constant_) {
    all_claims_ = lifetime_audience_;
    all_claims_.required_claims = required_.required_claims;
  }
}

/// The request's only `name` header when no policy has changed request headers: what
/// ctx.header() would return, without copying it. Null otherwise (absent, repeated or changed).
const HeaderField* sole_unchanged_header(const RequestContext& ctx, std::string_view name) {
  if (!ctx.request_header_changes.empty()) return nullptr;
  const HeaderField* found = nullptr;
  for (const auto& h : ctx.request.headers) {
    if (!core::iequals(h.name, name)) continue;
    if (found != nullptr) return nullptr;  // several: ctx.header() joins them
    found = &h;
  }
  return found;
}

Result<std::string_view> JwtValidationPolicy::extract(const RequestContext& ctx,
                                                      std::string& holder) const {
  std::string name_scratch;
  if (spec_.token_from == JwtValidationSpec::TokenFrom::Value) {
    GH_TRY(std::string_view value, spec_.token_location.get(ctx, holder));
    return value;
  }
  GH_TRY(std::string_view name, spec_.token_location.get(ctx, name_scratch));
  std::string_view text;
  if (const HeaderField* only = spec_.token_from == JwtValidationSpec::TokenFrom::Header
                                    ? sole_unchanged_header(ctx, name)
                                    : nullptr) {
    text = core::trim_ows(only->value);  // the common case: a view, no copy
  } else {
    auto value = spec_.token_from == JwtValidationSpec::TokenFrom::Header
                     ? ctx.header(name)
                     : ctx.query_parameter(name);
    if (!value) return std::string_view();
    holder = std::move(*value);
    text = core::trim_ows(holder);
  }
  if (spec_.token_from != JwtValidationSpec::TokenFrom::Header ||
      !core::iequals(name, "Authorization")) {
    return text;  // custom headers and query parameters carry the bare token (§2.2)
  }
  // Authorization: "<scheme> <token>", or a bare token when no scheme is required.
  const size_t space = text.find(' ');
  const std::string_view scheme = space == std::string_view::npos ? "" : text.substr(0, space);
  const std::string_view token =
      space == std::string_view::npos ? text : core::trim_ows(text.substr(space + 1));
  if (spec_.require_scheme) {
    std::string scheme_scratch;
    GH_TRY(std::string_view required, spec_.require_scheme->get(ctx, scheme_scratch));
    // RFC 9110 §11.1: auth schemes are case-insensitive.
    if (!core::iequals(scheme, required)) return std::string_view();
  } else if (space == std::string_view::npos && core::iequals(text, "Bearer")) {
    return std::string_view();  // a scheme without its token
  }
  return token;
}

JwtValidationPolicy::Verification JwtValidationPolicy::verify(std::string_view token,
                                                              const Snapshots& snapshots,
                                                              int64_t now, const core::Clock& clock,
                                                              bool may_wait) const {
  Verification out;
  auto header = peek_header(token);
  if (!header) {
    out.refusal = refusal_for(header.error());
    return out;
  }
  if (!header->alg) {
    // "none" (require-signed-tokens) or an algorithm Gatehouse does not implement.
    out.refusal = Refusal{"TokenSignatureInvalid",
                          "Signature validation failed: the token is not signed with a supported "
                          "algorithm (alg " +
                              jose::quote_untrusted(header->alg_name) + "). Access denied."};
    return out;
  }
  const bool symmetric = jose::key_family(*header->alg) == jose::KeyFamily::Oct;
  const InlineKeys& inline_keys = symmetric ? symmetric_ : asymmetric_;
  const jose::JwtVerifyOptions& options = symmetric ? symmetric_options_ : asymmetric_options_;

  std::optional<core::Error> failure;  // the most telling failure so far
  auto attempt = [&](const jose::JwkSet& set) {
    auto r = jose::verify_jwt(token, set, options, clock);
    if (r) {
      out.jwt = std::make_shared<const jose::VerifiedJwt>(std::move(*r));
      return true;
    }
    const JwtError e = jose::jwt_error(r.error());
    if (!try_next_set(e)) {
      out.refusal = refusal_for(r.error());
      return true;
    }
    if (!failure || weight(e) > weight(jose::jwt_error(*failure))) failure = std::move(r).error();
    return false;
  };
  auto openid_may_fetch = [&] {
    if (!may_wait || symmetric) return false;
    return std::any_of(openid_.begin(), openid_.end(),
                       [now](const auto& s) { return s->fetch_possible(now); });
  };

  if (header->has_kid) {
    // The key the kid names, in the inline keys or a configuration, decides alone.
    if (inline_keys.by_id && inline_keys.by_id->find(header->kid) != nullptr) {
      attempt(*inline_keys.by_id);
      if (!out.jwt && !out.refusal) out.refusal = refusal_for(*failure);
      return out;
    }
    if (!symmetric) {
      for (const auto& snapshot : snapshots) {
        if (snapshot && snapshot->keys->find(header->kid) != nullptr) {
          attempt(*snapshot->keys);
          if (!out.jwt && !out.refusal) out.refusal = refusal_for(*failure);
          return out;
        }
      }
    }
    // No key has that id: APIM tries every inline key (§2.3)...
    if (inline_keys.all && attempt(*inline_keys.all)) return out;
    // ...and a configuration may have rotated in a key we have not fetched yet.
    if (!symmetric && !openid_.empty()) {
      if (openid_may_fetch()) {
        out.need_keys = true;
        return out;
      }
      out.refusal = Refusal{"TokenSignatureKeyNotFound",
                            "Signature validation failed: no signing key has kid " +
                                jose::quote_untrusted(header->kid) + ". Access denied."};
      return out;
    }
  } else {
    if (inline_keys.all && attempt(*inline_keys.all)) return out;
    if (!symmetric) {
      for (const auto& snapshot : snapshots) {
        if (snapshot && attempt(*snapshot->keys)) return out;
      }
      const bool missing = std::any_of(snapshots.begin(), snapshots.end(),
                                       [](const auto& s) { return s == nullptr; });
      if (missing && openid_may_fetch()) {
        out.need_keys = true;
        return out;
      }
    }
  }
  if (failure) {
    out.refusal = refusal_for(*failure);
  } else {
    out.refusal = Refusal{"TokenSignatureKeyNotFound",
                          "Signature validation failed: no signing key can verify alg " +
                              std::string(jose::to_string(*header->alg)) + ". Access denied."};
  }
  return out;
}

Result<std::optional<Refusal>> JwtValidationPolicy::check_issuer(const RequestContext& ctx,
                                                                 const json::object& claims,
                                                                 const Snapshots& snapshots) const {
  const bool configured = !spec_.issuers.empty();
  if (!configured && openid_.empty()) return std::optional<Refusal>();
  const json::value* iss = claims.if_contains("iss");  // a string: validate_claims checked it
  if (iss == nullptr) {
    return std::optional<Refusal>(
        Refusal{"TokenIssuerNotAllowed",
                "Issuer validation failed: token has no iss claim. Access denied."});
  }
  const std::string_view issuer = iss->get_string();
  bool accepted = false;
  if (configured) {
    if (!dynamic_issuers_) {
      accepted = std::find(issuers_.begin(), issuers_.end(), issuer) != issuers_.end();
    } else {
      std::string scratch;
      for (const auto& i : spec_.issuers) {
        GH_TRY(std::string_view value, i.get(ctx, scratch));
        if (value == issuer) {
          accepted = true;
          break;
        }
      }
    }
  } else {
    for (const auto& snapshot : snapshots) {
      if (!snapshot) continue;
      accepted = spec_.entra_issuer_variants ? entra_issuer_matches(issuer, snapshot->issuer)
                                             : issuer == snapshot->issuer;
      if (accepted) break;
    }
  }
  if (accepted) return std::optional<Refusal>();
  return std::optional<Refusal>(
      Refusal{"TokenIssuerNotAllowed", "Issuer validation failed: token issuer " +
                                           jose::quote_untrusted(issuer) +
                                           " is not accepted. Access denied."});
}

std::optional<Refusal> JwtValidationPolicy::check_client_application(
    const json::object& claims) const {
  if (spec_.client_application_ids.empty()) return std::nullopt;
  // v1 tokens name the client in appid, v2 tokens in azp.
  const json::value* id = claims.if_contains("appid");
  if (id == nullptr || !id->is_string()) id = claims.if_contains("azp");
  if (id == nullptr || !id->is_string()) {
    return Refusal{"TokenClaimNotFound",
                   "JWT token is missing the following claims: appid, azp. Access denied."};
  }
  const std::string_view client = id->get_string();
  for (const auto& allowed : spec_.client_application_ids) {
    if (client == allowed) return std::nullopt;
  }
  return Refusal{"TokenClaimValueNotAllowed",
                 "Client application " + printable(client) + " is not allowed. Access denied."};
}

Refusal JwtValidationPolicy::claims_refusal(const json::object& claims,
                                            const jose::ClaimsPolicy& policy,
                                            const core::Clock& clock) const {
  // Every missing claim at once, as APIM lists them; then the first value that does not match.
  std::string missing;
  for (const auto& r : policy.required_claims) {
    const json::value* v = claims.if_contains(r.name);
    if (v != nullptr && !v->is_null()) continue;
    if (!missing.empty()) missing += ", ";
    missing += printable(r.name);
  }
  if (!missing.empty()) {
    return {"TokenClaimNotFound",
            "JWT token is missing the following claims: " + missing + ". Access denied."};
  }
  jose::ClaimsPolicy one = required_;
  for (const auto& r : policy.required_claims) {
    one.required_claims.assign(1, r);
    if (!jose::validate_claims(claims, one, clock)) {
      return {"TokenClaimValueNotAllowed", "Claim " + printable(r.name) + " value of " +
                                               claim_text(claims.at(r.name)) +
                                               " is not allowed. Access denied."};
    }
  }
  return {"TokenClaimValueNotAllowed", "A claim value is not allowed. Access denied."};
}

Result<std::optional<Refusal>> JwtValidationPolicy::check_claims(
    const RequestContext& ctx, const jose::VerifiedJwt& jwt, const Snapshots& snapshots,
    RecentTokens::ClaimsMemo* memo) const {
  const core::Clock& clock = ctx.clock();

  // Constant rules (the usual case): lifetime, audience and required claims in one pass, or
  // none when this token passed them here before and only time could have changed the verdict.
  // A token that fails goes through the ordered checks below, which name the first failure.
  if (all_constant_) {
    const double now = jose::now_seconds(clock);
    bool accepted = memo && memo->policy == memo_id_ && memo->accepted.holds(now);
    if (!accepted) {
      if (auto a = jose::accept_claims(jwt.claims, all_claims_, now)) {
        accepted = true;
        if (memo) *memo = {memo_id_, *a};
      }
    }
    if (accepted) {
      GH_TRY(std::optional<Refusal> issuer, check_issuer(ctx, jwt.claims, snapshots));
      if (issuer) return issuer;
      return check_client_application(jwt.claims);
    }
  }

  // Lifetime and audience (IdentityModel's order), then issuer, then the required claims.
  std::string scratch;
  const jose::ClaimsPolicy* lifetime_audience = &lifetime_audience_;
  std::optional<jose::ClaimsPolicy> dynamic;
  if (dynamic_lifetime_audience_) {
    dynamic.emplace();
    GH_TRY(dynamic->require_exp, spec_.require_expiration.get(ctx));
    GH_TRY(int64_t skew, spec_.clock_skew.get(ctx));
    dynamic->clock_skew = std::chrono::seconds(std::clamp<int64_t>(skew, 0, kNoTimeCheck.count()));
    for (const auto& a : spec_.audiences) {
      GH_TRY(std::string_view value, a.get(ctx, scratch));
      dynamic->audiences.emplace_back(value);
    }
    lifetime_audience = &*dynamic;
  }
  if (auto s = jose::validate_claims(jwt.claims, *lifetime_audience, clock); !s) {
    return std::optional<Refusal>(refusal_for(s.error()));
  }

  GH_TRY(std::optional<Refusal> issuer, check_issuer(ctx, jwt.claims, snapshots));
  if (issuer) return issuer;

  const jose::ClaimsPolicy* required = &required_;
  std::optional<jose::ClaimsPolicy> dynamic_required;
  if (dynamic_required_) {
    dynamic_required = required_;
    for (size_t i = 0; i < spec_.required_claims.size(); ++i) {
      auto& values = dynamic_required->required_claims[i].values;
      for (size_t j = 0; j < values.size(); ++j) {
        GH_TRY(std::string_view value, spec_.required_claims[i].values[j].get(ctx, scratch));
        values[j] = value;
      }
    }
    required = &*dynamic_required;
  }
  if (!required->required_claims.empty()) {
    if (auto s = jose::validate_claims(jwt.claims, *required, clock); !s) {
      return std::optional<Refusal>(claims_refusal(jwt.claims, *required, clock));
    }
  }
  return check_client_application(jwt.claims);
}

Flow JwtValidationPolicy::refuse(RequestContext& ctx, const Refusal& refusal) const {
  auto status = spec_.failed_status.get(ctx);
  if (!status) return fail_expression(ctx, "failed-validation-httpcode", status.error());
  if (*status < 100 || *status > 599) {
    return fail_expression(ctx, "failed-validation-httpcode",
                           Error(ErrorKind::InvalidArgument, "not an HTTP status code"));
  }
  std::string scratch;
  std::string_view body = refusal.token_presented ? kInvalidBody : kNotPresentBody;
  if (spec_.failed_message) {
    auto custom = spec_.failed_message->get(ctx, scratch);
    if (!custom) return fail_expression(ctx, "failed-validation-error-message", custom.error());
    if (!custom->empty()) body = *custom;
  }
  ctx.fail(spec_.source, refusal.reason, refusal.message, static_cast<uint16_t>(*status), body,
           id());
  if (*status == 401 && ctx.response) {
    ctx.response->headers.emplace_back(
        "WWW-Authenticate", refusal.token_presented ? kChallengeInvalid : kChallengeNoToken);
  }
  return Flow::Error;
}

Flow JwtValidationPolicy::fail_expression(RequestContext& ctx, std::string_view what,
                                          const Error& error) const {
  ctx.fail(spec_.source, "ExpressionValueEvaluationFailure",
           std::string(what) + ": " + printable(error.message, 200), 500, "Internal server error",
           id());
  return Flow::Error;
}

Flow JwtValidationPolicy::run(RequestContext& ctx, bool may_wait) const {
  std::string holder;
  auto token = extract(ctx, holder);
  if (!token) return fail_expression(ctx, "token location", token.error());
  if (token->empty()) return refuse(ctx, Refusal{"TokenNotPresent", "JWT not present.", false});

  const core::Clock& clock = ctx.clock();
  const int64_t now = clock.now_unix();
  Snapshots snapshots;
  uint64_t scope = inline_scope_;
  for (const auto& source : openid_) {
    source->refresh_if_due(now);
    auto snapshot = source->current(now);
    scope = mix(scope, snapshot ? snapshot->keys->id() : 0);
    snapshots.push_back(std::move(snapshot));
  }

  std::shared_ptr<const jose::VerifiedJwt> jwt;
  RecentTokens::ClaimsMemo* memo = nullptr;
  if (cache_) {
    RecentTokens& recent = RecentTokens::of_this_thread();
    if (RecentTokens::Slot* slot = recent.find(scope, *token)) {
      jwt = slot->jwt;
      memo = &slot->memo;
    } else {
      jwt = cache_->find(scope, *token);
      if (!jwt) {
        Verification v = verify(*token, snapshots, now, clock, may_wait);
        if (v.need_keys) return Flow::Await;
        if (v.refusal) return refuse(ctx, *v.refusal);
        jwt = std::move(v.jwt);
        cache_->insert(scope, *token, jwt);
      }
      memo = recent.remember(scope, *token, jwt);
    }
  } else {
    Verification v = verify(*token, snapshots, now, clock, may_wait);
    if (v.need_keys) return Flow::Await;
    if (v.refusal) return refuse(ctx, *v.refusal);
    jwt = std::move(v.jwt);
  }

  auto refusal = check_claims(ctx, *jwt, snapshots, memo);
  if (!refusal) return fail_expression(ctx, "claim rules", refusal.error());
  if (*refusal) return refuse(ctx, **refusal);
  if (!spec_.output_variable.empty()) ctx.set_variable(spec_.output_variable, Jwt(std::move(jwt)));
  return Flow::Continue;
}

net::awaitable<Flow> JwtValidationPolicy::apply_async(RequestContext& ctx) const {
  // Start (or join) every source's attempt first, then wait for them all. A source without keys
  // schedules its own next attempt; a source with keys allows one per min interval.
  const int64_t now = ctx.clock().now_unix();
  for (const auto& source : openid_)
    source->request_attempt(now);
  for (const auto& source : openid_)
    co_await source->wait();
  co_return run(ctx, false);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<StringSetting> StringSetting::compile(std::string_view raw) {
  StringSetting out;
  if (!is_expression(raw)) {
    out.constant = std::string(raw);
    return out;
  }
  GH_TRY(TextValue value, TextValue::compile(raw, ValueType::String));
  out.expression = std::move(value);
  return out;
}

Result<std::string_view> StringSetting::get(const RequestContext& ctx, std::string& scratch) const {
  if (!expression) return std::string_view(constant);
  GH_TRY(scratch, expression->evaluate(ctx));
  return std::string_view(scratch);
}

Result<int64_t> IntSetting::get(const RequestContext& ctx) const {
  if (!expression) return constant;
  return expression->evaluate_int(ctx);
}

Result<bool> BoolSetting::get(const RequestContext& ctx) const {
  if (!expression) return constant;
  return expression->evaluate_bool(ctx);
}

void add_problems(const Status& status, LoadProblems& problems) {
  if (status) return;
  std::string_view text = status.error().message;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    problems.lines.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

bool reject_expression(const Element& e, std::string_view what, std::string_view raw,
                       LoadProblems& problems) {
  if (!is_expression(raw)) return false;
  problems.lines.push_back(
      element_error(e, std::string(what) + " does not accept policy expressions").message);
  return true;
}

namespace {

// Compiles an attribute that may be an expression into `out`; problems name the attribute.
void compile_setting(AttributeReader& reader, std::string_view name, const std::string& raw,
                     StringSetting& out) {
  auto s = StringSetting::compile(raw);
  if (!s) {
    reader.problem("attribute '" + std::string(name) + "': " + s.error().message);
    return;
  }
  out = std::move(*s);
}

}  // namespace

void read_token_location(AttributeReader& reader, JwtValidationSpec& spec,
                         std::string_view default_header) {
  const std::string* header = reader.raw("header-name");
  const std::string* query = reader.raw("query-parameter-name");
  const std::string* value = reader.raw("token-value");
  const int given = (header != nullptr) + (query != nullptr) + (value != nullptr);
  if (given > 1) {
    reader.problem("header-name, query-parameter-name and token-value exclude each other");
    return;
  }
  if (given == 0) {
    if (default_header.empty()) {
      reader.problem("one of header-name, query-parameter-name or token-value is required");
    }
    spec.token_from = JwtValidationSpec::TokenFrom::Header;
    spec.token_location.constant = std::string(default_header);
    return;
  }
  using From = JwtValidationSpec::TokenFrom;
  spec.token_from = header ? From::Header : query ? From::Query : From::Value;
  const std::string_view name = header  ? "header-name"
                                : query ? "query-parameter-name"
                                        : "token-value";
  const std::string& raw = header ? *header : query ? *query : *value;
  compile_setting(reader, name, raw, spec.token_location);
  if (spec.token_from != From::Value && spec.token_location.is_constant() &&
      trim_text(spec.token_location.constant).empty()) {
    reader.problem("attribute '" + std::string(name) + "' must not be empty");
  }
}

void read_failure_settings(AttributeReader& reader, JwtValidationSpec& spec,
                           LoadProblems& problems) {
  if (const std::string* raw = reader.raw("failed-validation-httpcode")) {
    if (is_expression(*raw)) {
      auto value = TextValue::compile(*raw, ValueType::Int);
      if (!value) {
        reader.problem("attribute 'failed-validation-httpcode': " + value.error().message);
      } else {
        spec.failed_status.expression = std::move(*value);
      }
    } else {
      spec.failed_status.constant = reader.integer("failed-validation-httpcode", 401, 100, 599);
    }
  }
  if (const std::string* raw = reader.raw("failed-validation-error-message")) {
    StringSetting message;
    compile_setting(reader, "failed-validation-error-message", *raw, message);
    spec.failed_message = std::move(message);
  }
  if (const std::string* raw = reader.raw("output-token-variable-name")) {
    if (!reject_expression(reader.element(), "output-token-variable-name", *raw, problems)) {
      if (raw->empty()) reader.problem("attribute 'output-token-variable-name' must not be empty");
      spec.output_variable = *raw;
    }
  }
}

std::vector<StringSetting> read_value_list(const Element& list, std::string_view item,
                                           LoadProblems& problems) {
  std::vector<StringSetting> out;
  AttributeReader lr(list);
  add_problems(lr.finish(), problems);
  for (const Element& child : list.children) {
    if (child.name != item) {
      problems.lines.push_back(
          element_error(child, "unexpected element inside <" + list.name + ">").message);
      continue;
    }
    AttributeReader cr(child);
    add_problems(cr.finish(), problems);
    const std::string_view text = trim_text(child.text);
    if (text.empty()) {
      problems.lines.push_back(element_error(child, "must not be empty").message);
      continue;
    }
    auto value = StringSetting::compile(text);
    if (!value) {
      problems.lines.push_back(element_error(child, value.error().message).message);
      continue;
    }
    out.push_back(std::move(*value));
  }
  if (list.children.empty()) {
    problems.lines.push_back(
        element_error(list, "at least one <" + std::string(item) + "> must be specified").message);
  }
  return out;
}

std::vector<RequiredClaimSpec> read_required_claims(const Element& list, LoadProblems& problems) {
  std::vector<RequiredClaimSpec> out;
  AttributeReader lr(list);
  add_problems(lr.finish(), problems);
  for (const Element& claim : list.children) {
    if (claim.name != "claim") {
      problems.lines.push_back(
          element_error(claim, "unexpected element inside <required-claims>").message);
      continue;
    }
    RequiredClaimSpec spec;
    AttributeReader cr(claim);
    if (const std::string* name = cr.required("name")) {
      if (!reject_expression(claim, "name", *name, problems)) {
        if (name->empty()) cr.problem("attribute 'name' must not be empty");
        spec.name = *name;
      }
    }
    if (const std::string* match = cr.raw("match")) {
      if (core::iequals(*match, "any")) {
        spec.match = jose::ClaimRequirement::Match::Any;
      } else if (!core::iequals(*match, "all")) {
        cr.problem("attribute 'match' must be all or any");
      }
    }
    if (const std::string* separator = cr.raw("separator")) {
      if (!reject_expression(claim, "separator", *separator, problems)) spec.separator = *separator;
    }
    add_problems(cr.finish(), problems);
    for (const Element& value : claim.children) {
      if (value.name != "value") {
        problems.lines.push_back(element_error(value, "unexpected element inside <claim>").message);
        continue;
      }
      AttributeReader vr(value);
      add_problems(vr.finish(), problems);
      auto setting = StringSetting::compile(trim_text(value.text));
      if (!setting) {
        problems.lines.push_back(element_error(value, setting.error().message).message);
        continue;
      }
      spec.values.push_back(std::move(*setting));
    }
    out.push_back(std::move(spec));
  }
  if (list.children.empty()) {
    problems.lines.push_back(element_error(list, "at least one <claim> must be specified").message);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

namespace {

// The keys of one family, each with its kid (selectable) and without (tried in turn).
Result<InlineKeys> build_inline_keys(const std::vector<const json::object*>& keys) {
  InlineKeys out;
  if (keys.empty()) return out;
  std::vector<jose::Jwk> with_id, all;
  for (const json::object* key : keys) {
    if (key->contains("kid")) {
      GH_TRY(jose::Jwk jwk, jose::Jwk::from_json(*key));
      with_id.push_back(std::move(jwk));
    }
    json::object anonymous = *key;
    anonymous.erase("kid");
    GH_TRY(jose::Jwk jwk, jose::Jwk::from_json(anonymous));
    all.push_back(std::move(jwk));
  }
  if (!with_id.empty()) {
    GH_TRY(jose::JwkSet set, jose::JwkSet::from_keys(std::move(with_id)));
    out.by_id = std::make_shared<const jose::JwkSet>(std::move(set));
  }
  GH_TRY(jose::JwkSet set, jose::JwkSet::from_keys(std::move(all)));
  out.all = std::make_shared<const jose::JwkSet>(std::move(set));
  return out;
}

}  // namespace

Result<std::unique_ptr<Policy>> make_jwt_validation(JwtValidationSpec spec, LoadContext& load) {
  std::vector<const json::object*> symmetric, asymmetric;
  for (const json::object& key : spec.signing_keys) {
    const json::value* kty = key.if_contains("kty");
    const bool oct = kty != nullptr && kty->is_string() && kty->get_string() == "oct";
    (oct ? symmetric : asymmetric).push_back(&key);
  }
  auto symmetric_keys = build_inline_keys(symmetric);
  if (!symmetric_keys) {
    return unexpected(symmetric_keys.error().with_context("<issuer-signing-keys>"));
  }
  auto asymmetric_keys = build_inline_keys(asymmetric);
  if (!asymmetric_keys) {
    return unexpected(asymmetric_keys.error().with_context("<issuer-signing-keys>"));
  }

  std::vector<std::shared_ptr<OpenIdSource>> openid;
  std::shared_ptr<jose::VerifiedTokenCache> cache;
  if (!load.lint) {
    if (!spec.openid_urls.empty() && (load.services == nullptr || !load.services->openid)) {
      return unexpected(ErrorKind::Internal, "openid-config needs the process's OpenID cache");
    }
    for (const std::string& url : spec.openid_urls) {
      openid.push_back(load.services->openid->source(url));
    }
    if (load.services != nullptr) cache = load.services->verified_tokens;
  }
  // The policy drops the key objects: they may hold secrets and are not needed any more.
  spec.signing_keys.clear();
  return std::unique_ptr<Policy>(std::make_unique<JwtValidationPolicy>(
      std::move(spec), std::move(*symmetric_keys), std::move(*asymmetric_keys), std::move(openid),
      std::move(cache)));
}

}  // namespace gh::policy
