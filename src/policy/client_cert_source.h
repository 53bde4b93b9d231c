#pragma once

// Where a request's client certificate comes from (apim-policies.md §4.3): the TLS handshake, or
// — only when the connection comes from a configured front proxy that terminated TLS — the
// header that proxy wrote (RFC 9440 `Client-Cert`, Azure's `X-ARR-ClientCert`, nginx's escaped
// PEM, Envoy's XFCC). From any other peer such headers are hearsay: the gateway never reads them
// and strips them before forwarding, so that a backend cannot be fooled either.
//
// Built once per configuration, then only read (shared by all workers). The per-request calls
// do not allocate unless a forwarded header is actually decoded.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "policy/context.h"
#include "x509/forwarded_cert.h"

namespace gh::policy {

/// An IP address as 16 bytes; IPv4 in its IPv4-mapped form (::ffff:a.b.c.d), so that one
/// comparison covers an IPv4 client reaching a dual-stack socket.
using IpBytes = std::array<uint8_t, 16>;

/// Parses "10.0.0.7", "2001:db8::1", "::ffff:10.0.0.7" or "fe80::1%eth0" (the zone is ignored).
/// nullopt for anything else. Does not allocate.
std::optional<IpBytes> parse_ip_address(std::string_view text) noexcept;

/// A CIDR block over the 128-bit space: an IPv4 block /n is stored as its mapped form /(n+96).
struct IpNetwork {
  IpBytes base{};
  uint8_t prefix_bits = 128;
  bool contains(const IpBytes& address) const noexcept;
};

/// Parses "10.0.0.0/8", "fd00::/8", "::ffff:10.0.0.0/104" or a bare address (/32 or /128).
/// Host bits beyond the prefix are an error (a typo for another network, most likely).
/// Errors (InvalidArgument) quote the text.
Result<IpNetwork> parse_ip_network(std::string_view text);

/// The configuration names of the forwarded formats: "rfc9440", "base64-der", "url-encoded-pem",
/// "xfcc". InvalidArgument listing them for anything else.
Result<x509::ForwardedCertFormat> parse_forwarded_cert_format(std::string_view name);
std::string_view to_string(x509::ForwardedCertFormat format) noexcept;

/// One trusted front proxy setup: connections from `from` may carry the client certificate in
/// `header`, encoded as `format`, and (optionally) its intermediates in `chain_header` as an
/// RFC 9440 `Client-Cert-Chain` list.
struct ForwardedCertRule {
  std::vector<IpNetwork> from;
  std::string header;
  x509::ForwardedCertFormat format = x509::ForwardedCertFormat::Rfc9440;
  std::string chain_header;  // "" = none
};

/// Builds a rule from configuration text (CIDRs parsed here, header names checked as HTTP
/// tokens). Errors name the offending value.
Result<ForwardedCertRule> make_forwarded_cert_rule(std::span<const std::string> from,
                                                   std::string_view header, std::string_view format,
                                                   std::string_view chain_header = {});

/// Headers that front proxies commonly use to pass a client certificate on. They are stripped
/// from requests of untrusted peers even when no rule names them: a backend (or a later hop)
/// that trusts one of them must not be fed a forged certificate through Gatehouse.
///   Client-Cert, Client-Cert-Chain   RFC 9440
///   X-ARR-ClientCert                 Azure App Service / Application Gateway rewrite convention
///   X-Forwarded-Client-Cert          Envoy XFCC
///   X-SSL-Client-Cert                nginx/Apache configurations ($ssl_client_escaped_cert)
///   X-Client-Cert                    HAProxy configurations (ssl_c_der,base64)
///   X-Forwarded-Tls-Client-Cert      Traefik passTLSClientCert
inline constexpr std::string_view kWellKnownClientCertHeaders[] = {
    "client-cert",
    "client-cert-chain",
    "x-arr-clientcert",
    "x-forwarded-client-cert",
    "x-ssl-client-cert",
    "x-client-cert",
    "x-forwarded-tls-client-cert",
};

/// Which rules a peer address matches (bit i = rules()[i]); computed once per connection or
/// request. Zero: an untrusted peer.
struct PeerTrust {
  uint64_t rules = 0;
  bool trusted() const noexcept { return rules != 0; }
};

/// What resolve() decided.
struct ClientCertResolution {
  std::optional<ClientCertificate> certificate;
  /// The forwarded header the certificate was taken from, or the one that was refused;
  /// "" for a handshake certificate or none. Views the source's own strings.
  std::string_view header;
  /// Why a forwarded header present from a trusted peer was not used ("" when nothing went
  /// wrong): for the access log. Never contains header bytes.
  std::string problem;
};

class ClientCertSource {
 public:
  /// No rules: only handshake certificates; the well-known headers are always stripped.
  ClientCertSource();

  /// At most 64 rules; every rule needs a header and at least one network.
  static Result<ClientCertSource> create(std::vector<ForwardedCertRule> rules,
                                         x509::ForwardedCertLimits limits = {});

  /// The rules `peer_ip` matches. Unparsable addresses match none. No allocation.
  PeerTrust peer_trust(std::string_view peer_ip) const noexcept;

  /// The certificate to put on RequestContext::client_certificate. A handshake certificate
  /// always wins. Otherwise, for a trusted peer, the first matching rule (in configuration order)
  /// whose header is present supplies it; a header that appears twice, or that fails to decode,
  /// yields no certificate and a `problem` (never an exception, never a crash). Headers from
  /// untrusted peers are not looked at.
  ClientCertResolution resolve(PeerTrust peer, std::span<const HeaderField> headers,
                               std::optional<ClientCertificate> handshake) const;
  ClientCertResolution resolve(std::string_view peer_ip, std::span<const HeaderField> headers,
                               std::optional<ClientCertificate> handshake) const {
    return resolve(peer_trust(peer_ip), headers, std::move(handshake));
  }

  /// True when the incoming header `name` must not be forwarded to the backend: it is one of
  /// header_names() and no rule that `peer` matches names it (a trusted proxy's own headers
  /// pass through, as Application Gateway's do to APIM's backends). No allocation.
  bool must_strip(std::string_view name, PeerTrust peer) const noexcept;
  /// True when at least one of `headers` must be stripped: the common case (no such header)
  /// answers false without allocating, so the gateway only builds a change list when needed.
  bool any_to_strip(std::span<const HeaderField> headers, PeerTrust peer) const noexcept;

  /// Every header name this source strips from untrusted peers: the well-known ones plus every
  /// configured header and chain header, lower-case, without duplicates.
  std::span<const std::string> header_names() const noexcept { return names_; }
  const std::vector<ForwardedCertRule>& rules() const noexcept { return rules_; }

 private:
  std::vector<ForwardedCertRule> rules_;
  std::vector<std::string> names_;
  std::vector<uint64_t> kept_for_;  // names_[i] passes through for peers matching these rules
  x509::ForwardedCertLimits limits_;
};

}  // namespace gh::policy
