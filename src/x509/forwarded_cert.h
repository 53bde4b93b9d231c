#pragma once

// Decoding a client certificate that a TLS-terminating front proxy forwarded in a header.
// Only decoding: whether a peer may send these headers at all is the gateway's decision.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "x509/certificate.h"

namespace gh::x509 {

/// The header encodings we understand.
enum class ForwardedCertFormat : uint8_t {
  Rfc9440,        // `Client-Cert: :BASE64DER:` (RFC 9440 §2.2, an RFC 8941 Byte Sequence)
  Base64Der,      // plain base64 DER: Azure `X-ARR-ClientCert`, HAProxy `ssl_c_der,base64`
  UrlEncodedPem,  // nginx `$ssl_client_escaped_cert`
  EnvoyXfcc,      // Envoy `x-forwarded-client-cert`, `Cert="<url-encoded PEM>"`
};

/// Error::detail codes (kind InvalidArgument, or LimitExceeded for TooLarge/TooMany).
enum class ForwardedCertError : int {
  Empty = 1,       // header present but empty
  TooLarge,        // header value longer than the limit
  BadSyntax,       // not the grammar of the format (structured field, XFCC, percent-escapes)
  BadEncoding,     // base64 or percent-decoding failed
  NotCertificate,  // decoded bytes are not exactly one X.509 certificate
  MissingCert,     // XFCC element without a Cert field
  TooMany,         // more chain certificates or XFCC elements than allowed
};

/// Size limits; the defaults fit a 4096-bit RSA certificate chain with room to spare.
struct ForwardedCertLimits {
  size_t max_value_bytes = 32 * 1024;  // one header value
  size_t max_chain_certs = 8;          // Client-Cert-Chain members / XFCC Chain certificates
  size_t max_xfcc_elements = 16;       // proxies in one XFCC header
};

/// RFC 9440 `Client-Cert`: one sf-binary item `:base64:`, parameters ignored (RFC 8941 §4.2.3.2).
Result<Certificate> decode_rfc9440_client_cert(std::string_view value,
                                               const ForwardedCertLimits& limits = {});

/// RFC 9440 `Client-Cert-Chain`: an sf-list of byte sequences, in the order sent (the issuer of
/// the client certificate first, RFC 9440 §2.3).
Result<std::vector<Certificate>> decode_rfc9440_client_cert_chain(
    std::string_view value, const ForwardedCertLimits& limits = {});

/// Plain standard base64 of the DER (padding required, no whitespace).
Result<Certificate> decode_base64_der_cert(std::string_view value,
                                           const ForwardedCertLimits& limits = {});

/// Percent-encoded PEM holding exactly one certificate (nginx `$ssl_client_escaped_cert`).
/// `+` is literal (nginx escapes it as %2B); malformed escapes are errors.
Result<Certificate> decode_url_encoded_pem_cert(std::string_view value,
                                                const ForwardedCertLimits& limits = {});

/// One XFCC element: key/value pairs in order; keys lower-cased, values unquoted and unescaped.
struct XfccElement {
  std::vector<std::pair<std::string, std::string>> fields;
  /// The value of the first field named `key` (lower-case), or nullptr.
  const std::string* find(std::string_view key) const noexcept;
};

/// Parses the XFCC grammar: `,`-separated elements of `;`-separated key=value pairs, values
/// optionally double-quoted with `\"` and `\\` escapes (Envoy docs, "x-forwarded-client-cert").
Result<std::vector<XfccElement>> parse_xfcc(std::string_view value,
                                            const ForwardedCertLimits& limits = {});

/// The client certificate from XFCC: the `Cert` of the LAST element. Each proxy appends its own
/// element (Envoy's APPEND_FORWARD), so the last one is written by the proxy nearest to us,
/// the only one whose TLS session we can vouch for; earlier ones are hearsay.
Result<Certificate> decode_xfcc_cert(std::string_view value,
                                     const ForwardedCertLimits& limits = {});

/// Dispatches on `format`.
Result<Certificate> decode_forwarded_cert(ForwardedCertFormat format, std::string_view value,
                                          const ForwardedCertLimits& limits = {});

}  // namespace gh::x509
