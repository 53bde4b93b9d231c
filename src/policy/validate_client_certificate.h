#pragma once

// <validate-client-certificate> (apim-policies.md §4): checks the request's client certificate
// (RequestContext::client_certificate, from the TLS handshake or a trusted front proxy's header:
// policy/client_cert_source.h) against validity dates, the client-certificate trust store,
// revocation (policy/revocation.h) and a list of allowed identities.
//
//   <validate-client-certificate validate-revocation="true" validate-trust="true"
//       validate-not-before="true" validate-not-after="true" ignore-error="false">
//     <identities>
//       <identity thumbprint="..." serial-number="..." common-name="..." subject="..."
//                 dns-name="..." issuer-subject="..." issuer-thumbprint="..."
//                 issuer-certificate-id="..."/>
//     </identities>
//   </validate-client-certificate>
//
// Failure: 401 `{ "statusCode": 401, "message": "Invalid client certificate" }` with LastError
// source validate-client-certificate and one of the reasons below (docs/policies/
// validate-client-certificate.md has the messages).

#include <memory>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

/// LastError.Reason values.
inline constexpr std::string_view kClientCertificateMissing = "ClientCertificateMissing";
inline constexpr std::string_view kClientCertificateNotTrusted = "ClientCertificateNotTrusted";
inline constexpr std::string_view kClientCertificateExpired = "ClientCertificateExpired";
inline constexpr std::string_view kClientCertificateNotYetValid = "ClientCertificateNotYetValid";
inline constexpr std::string_view kClientCertificateRevoked = "ClientCertificateRevoked";
inline constexpr std::string_view kClientCertificateRevocationUnknown =
    "ClientCertificateRevocationUnknown";
inline constexpr std::string_view kClientCertificateIdentityNotMatched =
    "ClientCertificateIdentityNotMatched";

/// Factory for the registry: validates every attribute and identity at load (no expressions:
/// APIM allows none here), resolves issuer-certificate-id in LoadContext::certificates, and
/// requires LoadContext::client_trust when validate-trust is on and
/// Services::revocation when validate-revocation is on (unless linting).
Result<std::unique_ptr<Policy>> make_validate_client_certificate(const Element& element,
                                                                 LoadContext& load);

}  // namespace gh::policy
