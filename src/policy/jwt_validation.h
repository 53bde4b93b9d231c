#pragma once

// The token validation that validate-jwt and validate-azure-ad-token share (apim-policies.md
// §1.6, §2, §3): where the token is read, which keys verify it (inline keys and OpenID
// configurations), the claim rules, the process-wide verified-token cache, and APIM's failure
// reasons and bodies with an RFC 6750 challenge. Each policy's factory reads its own XML into a
// JwtValidationSpec; make_jwt_validation compiles it into the Policy that runs per request.

#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "jose/jwt.h"
#include "policy/document.h"
#include "policy/expression.h"
#include "policy/policy.h"

namespace gh::policy {

/// A string attribute or text: a constant, or an expression evaluated per request.
struct StringSetting {
  std::string constant;
  std::optional<TextValue> expression;

  static Result<StringSetting> compile(std::string_view raw);
  bool is_constant() const noexcept { return !expression.has_value(); }
  /// The constant (no copy), or the expression's value kept in `scratch`.
  Result<std::string_view> get(const RequestContext& ctx, std::string& scratch) const;
};

/// An integer attribute: a constant, or an expression.
struct IntSetting {
  int64_t constant = 0;
  std::optional<TextValue> expression;
  Result<int64_t> get(const RequestContext& ctx) const;
};

/// A boolean attribute: a constant, or an expression.
struct BoolSetting {
  bool constant = false;
  std::optional<TextValue> expression;
  Result<bool> get(const RequestContext& ctx) const;
};

/// One <claim> of <required-claims>.
struct RequiredClaimSpec {
  std::string name;
  jose::ClaimRequirement::Match match = jose::ClaimRequirement::Match::All;
  std::string separator;
  std::vector<StringSetting> values;
};

struct JwtValidationSpec {
  std::string_view source;  // LastError.Source: "validate-jwt" | "validate-azure-ad-token"

  enum class TokenFrom : uint8_t { Header, Query, Value };
  TokenFrom token_from = TokenFrom::Header;
  StringSetting token_location;  // header name, query parameter name, or the token itself
  /// For the Authorization header: the scheme the value must carry (require-scheme); unset: any
  /// scheme or none. Custom headers, query parameters and token-value are used verbatim.
  std::optional<StringSetting> require_scheme;

  IntSetting failed_status{401, {}};
  std::optional<StringSetting> failed_message;
  std::string output_variable;

  BoolSetting require_expiration{true, {}};
  IntSetting clock_skew{0, {}};          // seconds
  std::vector<StringSetting> audiences;  // empty: aud is not checked
  std::vector<StringSetting> issuers;    // empty: the OpenID configurations' issuers, if any
  /// validate-azure-ad-token: besides each configuration's issuer `<origin>/<tid>/v2.0`, accept
  /// the v1 issuers `<origin>/<tid>/` and `https://sts.windows.net/<tid>/`.
  bool entra_issuer_variants = false;
  std::vector<RequiredClaimSpec> required_claims;
  /// validate-azure-ad-token client-application-ids: appid (v1) or azp (v2) must be one of them.
  std::vector<std::string> client_application_ids;

  /// Inline keys as JWK objects (kty oct/RSA/EC...), each with "kid" when the policy names one.
  std::vector<boost::json::object> signing_keys;
  /// openid-config URLs (already checked with is_fetchable_url).
  std::vector<std::string> openid_urls;
};

/// Builds the policy: key sets, OpenID sources (none when linting), constant claim rules.
Result<std::unique_ptr<Policy>> make_jwt_validation(JwtValidationSpec spec, LoadContext& load);

// Readers for the parts both policies write alike. Each records its problems in the reader or
// in `problems` ("file:line: <element>: message") and returns what it could read.

/// header-name / query-parameter-name / token-value: at most one; none gives `default_header`
/// (or a problem when that is empty).
void read_token_location(AttributeReader& reader, JwtValidationSpec& spec,
                         std::string_view default_header);
/// failed-validation-httpcode, failed-validation-error-message, output-token-variable-name.
void read_failure_settings(AttributeReader& reader, JwtValidationSpec& spec,
                           LoadProblems& problems);
/// <audiences>, <issuers>, <client-application-ids>...: `item` children, at least one.
std::vector<StringSetting> read_value_list(const Element& list, std::string_view item,
                                           LoadProblems& problems);
/// <required-claims>.
std::vector<RequiredClaimSpec> read_required_claims(const Element& list, LoadProblems& problems);
/// Adds `status`'s problems (if any) to `problems`.
void add_problems(const Status& status, LoadProblems& problems);
/// A problem when `raw` is an expression where APIM allows none.
bool reject_expression(const Element& e, std::string_view what, std::string_view raw,
                       LoadProblems& problems);

}  // namespace gh::policy
