#include "jose/jwt_error.h"

namespace gh::jose {

std::string_view to_string(JwtError e) noexcept {
  switch (e) {
    case JwtError::None:
      return "none";
    case JwtError::Malformed:
      return "malformed";
    case JwtError::TooLarge:
      return "too_large";
    case JwtError::UnsupportedAlg:
      return "unsupported_alg";
    case JwtError::AlgNotAllowed:
      return "alg_not_allowed";
    case JwtError::UnsupportedCrit:
      return "unsupported_crit";
    case JwtError::UnknownKey:
      return "unknown_key";
    case JwtError::NoMatchingKey:
      return "no_matching_key";
    case JwtError::KeyMismatch:
      return "key_mismatch";
    case JwtError::BadSignature:
      return "bad_signature";
    case JwtError::InvalidKey:
      return "invalid_key";
    case JwtError::MissingExp:
      return "missing_exp";
    case JwtError::Expired:
      return "expired";
    case JwtError::NotYetValid:
      return "not_yet_valid";
    case JwtError::IssuedInFuture:
      return "issued_in_future";
    case JwtError::InvalidClaim:
      return "invalid_claim";
    case JwtError::Audience:
      return "audience";
    case JwtError::Issuer:
      return "issuer";
    case JwtError::MissingClaim:
      return "missing_claim";
    case JwtError::ClaimMismatch:
      return "claim_mismatch";
  }
  return "unknown";
}

JwtError jwt_error(const core::Error& error) noexcept {
  const int d = error.detail;
  if (d <= 0 || d > static_cast<int>(JwtError::ClaimMismatch)) return JwtError::None;
  return static_cast<JwtError>(d);
}

std::string quote_untrusted(std::string_view v) {
  std::string out = "\"";
  for (size_t i = 0; i < v.size() && i < 64; ++i) {
    const char c = v[i];
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  }
  if (v.size() > 64) out += "...";
  return out + "\"";
}

core::Error make_error(JwtError code, std::string message) {
  core::ErrorKind kind = core::ErrorKind::Unauthenticated;
  switch (code) {
    case JwtError::Malformed:
    case JwtError::InvalidKey:
      kind = core::ErrorKind::InvalidArgument;
      break;
    case JwtError::TooLarge:
      kind = core::ErrorKind::LimitExceeded;
      break;
    case JwtError::Expired:
    case JwtError::NotYetValid:
    case JwtError::IssuedInFuture:
      kind = core::ErrorKind::Expired;
      break;
    case JwtError::UnknownKey:
    case JwtError::NoMatchingKey:
      kind = core::ErrorKind::NotFound;
      break;
    default:
      break;
  }
  return core::Error{kind, std::move(message), static_cast<int>(code)};
}

}  // namespace gh::jose
