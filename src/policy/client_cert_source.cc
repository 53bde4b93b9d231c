#include "policy/client_cert_source.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "core/strings.h"

namespace gh::policy {
namespace {

constexpr size_t kMaxRules = 64;

core::Unexpected invalid(std::string message) {
  return unexpected(ErrorKind::InvalidArgument, std::move(message));
}

// RFC 9110 §5.6.2 tchar.
bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// A header name shown in an error: only when it is printable and short (it comes from config).
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64))
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

struct HeaderLookup {
  bool present = false;
  bool duplicate = false;
  std::string_view value;  // the last occurrence
};

HeaderLookup find_header(std::span<const HeaderField> headers, std::string_view name) noexcept {
  HeaderLookup out;
  for (const auto& h : headers) {
    if (!core::iequals(h.name, name)) continue;
    out.duplicate = out.present;
    out.present = true;
    out.value = h.value;
  }
  return out;
}

}  // namespace

std::optional<IpBytes> parse_ip_address(std::string_view text) noexcept {
  const size_t zone = text.find('%');
  if (zone != std::string_view::npos) text = text.substr(0, zone);
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpBytes out{};
  if (::inet_pton(AF_INET, buf, out.data() + 12) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    return out;
  }
  if (::inet_pton(AF_INET6, buf, out.data()) == 1) return out;
  return std::nullopt;
}

bool IpNetwork::contains(const IpBytes& address) const noexcept {
  const size_t whole = prefix_bits / 8;
  if (std::memcmp(base.data(), address.data(), whole) != 0) return false;
  const unsigned rest = prefix_bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00u >> rest);
  return (base[whole] & mask) == (address[whole] & mask);
}

Result<IpNetwork> parse_ip_network(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  const std::string quoted = "'" + shown(text) + "'";
  if (address_text.find('%') != std::string_view::npos) {
    return invalid(quoted + " is not an IP address or CIDR block (zones are not allowed)");
  }
  auto address = parse_ip_address(address_text);
  if (!address) return invalid(quoted + " is not an IP address or CIDR block");
  const bool v4 = address_text.find(':') == std::string_view::npos;
  const unsigned width = v4 ? 32 : 128;
  unsigned prefix = width;
  if (slash != std::string_view::npos) {
    auto parsed = core::parse_uint(text.substr(slash + 1));
    if (!parsed || *parsed > width) {
      return invalid(quoted + (v4 ? ": the prefix length must be 0 to 32"
                                  : ": the prefix length must be 0 to 128"));
    }
    prefix = static_cast<unsigned>(*parsed);
  }
  IpNetwork net;
  net.base = *address;
  net.prefix_bits = static_cast<uint8_t>(v4 ? prefix + 96 : prefix);
  for (unsigned bit = net.prefix_bits; bit < 128; ++bit) {
    if (net.base[bit / 8] & (0x80u >> (bit % 8))) {
      return invalid(quoted + " has bits set beyond the prefix length (use the network address)");
    }
  }
  return net;
}

Result<x509::ForwardedCertFormat> parse_forwarded_cert_format(std::string_view name) {
  using F = x509::ForwardedCertFormat;
  for (F f : {F::Rfc9440, F::Base64Der, F::UrlEncodedPem, F::EnvoyXfcc}) {
    if (name == to_string(f)) return f;
  }
  return invalid("unknown forwarded certificate format '" + shown(name) +
                 "' (expected rfc9440, base64-der, url-encoded-pem or xfcc)");
}

std::string_view to_string(x509::ForwardedCertFormat format) noexcept {
  switch (format) {
    case x509::ForwardedCertFormat::Rfc9440:
      return "rfc9440";
    case x509::ForwardedCertFormat::Base64Der:
      return "base64-der";
    case x509::ForwardedCertFormat::UrlEncodedPem:
      return "url-encoded-pem";
    case x509::ForwardedCertFormat::EnvoyXfcc:
      return "xfcc";
  }
  return "unknown";
}

Result<ForwardedCertRule> make_forwarded_cert_rule(std::span<const std::string> from,
                                                   std::string_view header, std::string_view format,
                                                   std::string_view chain_header) {
  ForwardedCertRule rule;
  for (const auto& text : from) {
    GH_TRY(auto net, parse_ip_network(text));
    rule.from.push_back(net);
  }
  rule.header = std::string(header);
  GH_TRY(rule.format, parse_forwarded_cert_format(format));
  rule.chain_header = std::string(chain_header);
  return rule;
}

ClientCertSource::ClientCertSource() {
  for (auto name : kWellKnownClientCertHeaders) {
    names_.emplace_back(name);
    kept_for_.push_back(0);
  }
}

Result<ClientCertSource> ClientCertSource::create(std::vector<ForwardedCertRule> rules,
                                                  x509::ForwardedCertLimits limits) {
  if (rules.size() > kMaxRules) {
    return invalid("at most " + std::to_string(kMaxRules) + " forwarded certificate rules");
  }
  ClientCertSource source;
  source.limits_ = limits;
  auto add_name = [&source](const std::string& name, size_t rule_index) {
    const std::string lower = core::to_lower(name);
    auto it = std::find(source.names_.begin(), source.names_.end(), lower);
    size_t i = static_cast<size_t>(it - source.names_.begin());
    if (it == source.names_.end()) {
      source.names_.push_back(lower);
      source.kept_for_.push_back(0);
    }
    source.kept_for_[i] |= uint64_t{1} << rule_index;
  };
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    if (!is_token(rule.header)) {
      return invalid("forwarded certificate header '" + shown(rule.header) +
                     "' is not a valid header name");
    }
    if (!rule.chain_header.empty() && !is_token(rule.chain_header)) {
      return invalid("forwarded certificate chain header '" + shown(rule.chain_header) +
                     "' is not a valid header name");
    }
    if (core::iequals(rule.header, rule.chain_header)) {
      return invalid("forwarded certificate header and chain header must differ");
    }
    if (rule.from.empty()) {
      return invalid("forwarded certificate header '" + shown(rule.header) +
                     "' needs at least one trusted proxy address");
    }
    add_name(rule.header, i);
    if (!rule.chain_header.empty()) add_name(rule.chain_header, i);
  }
  source.rules_ = std::move(rules);
  return source;
}

PeerTrust ClientCertSource::peer_trust(std::string_view peer_ip) const noexcept {
  PeerTrust trust;
  if (rules_.empty()) return trust;
  const auto address = parse_ip_address(peer_ip);
  if (!address) return trust;
  for (size_t i = 0; i < rules_.size(); ++i) {
    for (const auto& net : rules_[i].from) {
      if (net.contains(*address)) {
        trust.rules |= uint64_t{1} << i;
        break;
      }
    }
  }
  return trust;
}

ClientCertResolution ClientCertSource::resolve(PeerTrust peer, std::span<const HeaderField> headers,
                                               std::optional<ClientCertificate> handshake) const {
  ClientCertResolution out;
  if (handshake) {
    handshake->source = ClientCertificate::Source::Handshake;
    out.certificate = std::move(handshake);
    return out;
  }
  if (!peer.trusted()) return out;
  for (size_t i = 0; i < rules_.size(); ++i) {
    if ((peer.rules & (uint64_t{1} << i)) == 0) continue;
    const auto& rule = rules_[i];
    const HeaderLookup found = find_header(headers, rule.header);
    if (!found.present) continue;
    out.header = rule.header;
    // Several XFCC lines are one comma-separated list (RFC 9110 §5.3); its last element, the
    // nearest proxy's, is on the last line. For the single-valued formats a second copy means
    // that something upstream added a header instead of replacing the client's: refuse both.
    if (found.duplicate && rule.format != x509::ForwardedCertFormat::EnvoyXfcc) {
      out.problem = "header " + rule.header + " appears more than once";
      return out;
    }
    auto leaf = x509::decode_forwarded_cert(rule.format, found.value, limits_);
    if (!leaf) {
      out.problem = "header " + rule.header + ": " + leaf.error().message;
      return out;
    }
    ClientCertificate cert{std::move(*leaf), {}, ClientCertificate::Source::Forwarded, false};
    if (!rule.chain_header.empty()) {
      const HeaderLookup chain_found = find_header(headers, rule.chain_header);
      if (chain_found.present) {
        if (chain_found.duplicate) {
          out.problem = "header " + rule.chain_header + " appears more than once";
          return out;
        }
        auto chain = x509::decode_rfc9440_client_cert_chain(chain_found.value, limits_);
        if (!chain) {
          out.problem = "header " + rule.chain_header + ": " + chain.error().message;
          return out;
        }
        // RFC 9440 §2.3: the chain excludes the leaf; drop it if a proxy included it anyway.
        for (auto& c : *chain) {
          if (X509_cmp(c.get(), cert.leaf.get()) != 0) cert.chain.push_back(std::move(c));
        }
      }
    }
    out.certificate = std::move(cert);
    return out;
  }
  return out;
}

bool ClientCertSource::must_strip(std::string_view name, PeerTrust peer) const noexcept {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (core::iequals(name, names_[i])) return (kept_for_[i] & peer.rules) == 0;
  }
  return false;
}

bool ClientCertSource::any_to_strip(std::span<const HeaderField> headers,
                                    PeerTrust peer) const noexcept {
  for (const auto& h : headers) {
    if (must_strip(h.name, peer)) return true;
  }
  return false;
}

}  // namespace gh::policy
