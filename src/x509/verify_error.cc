#include "x509/verify_error.h"

namespace gh::x509 {

std::string_view to_string(VerifyError e) noexcept {
  switch (e) {
    case VerifyError::Expired:
      return "expired";
    case VerifyError::NotYetValid:
      return "not_yet_valid";
    case VerifyError::Untrusted:
      return "untrusted";
    case VerifyError::Revoked:
      return "revoked";
    case VerifyError::NameMismatch:
      return "name_mismatch";
    case VerifyError::CrlMissing:
      return "crl_missing";
    case VerifyError::CrlStale:
      return "crl_stale";
    case VerifyError::CrlInvalid:
      return "crl_invalid";
    case VerifyError::BadSignature:
      return "bad_signature";
    case VerifyError::InvalidCa:
      return "invalid_ca";
    case VerifyError::WrongPurpose:
      return "wrong_purpose";
    case VerifyError::ChainTooLong:
      return "chain_too_long";
    case VerifyError::Malformed:
      return "malformed";
    case VerifyError::OcspInvalid:
      return "ocsp_invalid";
    case VerifyError::OcspStale:
      return "ocsp_stale";
    case VerifyError::OcspUnknown:
      return "ocsp_unknown";
    case VerifyError::Other:
      return "other";
  }
  return "unknown";
}

}  // namespace gh::x509
