#pragma once

// The precise reasons a JOSE operation fails. They travel in gh::Error::detail so that callers
// (the validate-jwt policy, the CLI) can map each to a message or an APIM-style reason without
// parsing text.

#include <string>
#include <string_view>

#include "core/error.h"
#include "core/result.h"

namespace gh::jose {

enum class JwtError : int {
  None = 0,
  Malformed,        // not 3 base64url segments, bad JSON, duplicate member, wrong member type
  TooLarge,         // a part exceeds the size or depth limit
  UnsupportedAlg,   // alg missing, "none", or not implemented (kind Unauthenticated)
  AlgNotAllowed,    // alg implemented but not in the caller's allow-list
  UnsupportedCrit,  // crit names an extension this implementation does not process
  UnknownKey,       // kid present but not in the key set: the caller may refresh its JWKS
  NoMatchingKey,    // no kid, and no key in the set can be used with alg
  KeyMismatch,      // the kid's key cannot be used with alg (type, curve, alg, use, key_ops)
  BadSignature,     // signature does not verify
  InvalidKey,       // a JWK or JWK Set is malformed or too weak
  MissingExp,       // exp required and absent
  Expired,          // now >= exp + skew
  NotYetValid,      // now + skew < nbf
  IssuedInFuture,   // iat after now + skew (only when that check is enabled)
  InvalidClaim,     // a registered claim has the wrong type (exp not a number, aud not string...)
  Audience,         // aud missing or matching none of the accepted audiences
  Issuer,           // iss missing or matching none of the accepted issuers
  MissingClaim,     // a required claim is absent
  ClaimMismatch,    // a required claim lacks the required value(s)
};

/// Stable snake_case name of `e` ("bad_signature"), for logs and CLI output.
std::string_view to_string(JwtError e) noexcept;

/// The JwtError carried by `error` (None when it carries another module's code).
JwtError jwt_error(const core::Error& error) noexcept;

/// An Error with the kind that fits `code` and `code` in detail.
core::Error make_error(JwtError code, std::string message);

/// A token-supplied value for an error message: quoted, at most 64 characters, printable ASCII
/// only, so that attacker-chosen text cannot flood or forge log lines.
std::string quote_untrusted(std::string_view value);

/// Shorthand for returning a failed Result.
inline core::Unexpected fail(JwtError code, std::string message) {
  return core::unexpected(make_error(code, std::move(message)));
}

}  // namespace gh::jose
