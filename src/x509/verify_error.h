#pragma once

// Why a certificate was rejected: the Error::detail code of chain, CRL and OCSP checks.

#include <string_view>

namespace gh::x509 {

/// Distinct reasons for rejecting a certificate; carried in gh::Error::detail. Values are stable
/// (they appear in logs and metrics): append, never renumber.
enum class VerifyError : int {
  Expired = 1,   // a certificate in the chain is past notAfter at the check time
  NotYetValid,   // a certificate in the chain is before notBefore at the check time
  Untrusted,     // no path to a configured trust anchor (unknown issuer, self-signed leaf)
  Revoked,       // a CRL or OCSP response lists the certificate as revoked
  NameMismatch,  // the leaf does not match the expected host name or IP address
  CrlMissing,    // CRL checking is on and no CRL from the issuer is loaded
  CrlStale,      // the CRL's nextUpdate has passed (or thisUpdate is in the future)
  CrlInvalid,    // the CRL's signature or format is bad
  BadSignature,  // a certificate's signature does not verify with its issuer's key
  InvalidCa,     // an issuer is not a CA, lacks keyCertSign, or exceeds its path length
  WrongPurpose,  // extended key usage does not allow the requested purpose
  ChainTooLong,  // more than the configured maximum depth
  Malformed,     // a certificate field could not be decoded
  OcspInvalid,   // OCSP response unusable: bad status, signature, signer or wrong cert
  OcspStale,     // OCSP response outside thisUpdate..nextUpdate (with allowed skew)
  OcspUnknown,   // the responder does not know the certificate
  Other,         // any other OpenSSL verification error (message has the details)
};

/// A short stable name ("expired", "untrusted", ...), for logs and metrics labels.
std::string_view to_string(VerifyError e) noexcept;

}  // namespace gh::x509
