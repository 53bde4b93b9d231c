// Fuzzes the client-certificate source (policy/client_cert_source.h): CIDR and address parsing,
// and header resolution from a trusted peer. The input is split at the first newline: the first
// line is parsed as an address and as a CIDR block, the rest is sent as every forwarded header.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/client_cert_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gh::policy;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view first = input.substr(0, nl);
  const std::string_view rest =
      nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);

  if (auto address = parse_ip_address(first)) {
    if (auto net = parse_ip_network(first)) (void)net->contains(*address);
  }
  (void)parse_ip_network(first);
  (void)parse_forwarded_cert_format(first);

  static const ClientCertSource* source = [] {
    std::vector<ForwardedCertRule> rules;
    const std::vector<std::string> from = {"127.0.0.0/8", "::1"};
    for (auto [header, format] :
         {std::pair{"Client-Cert", "rfc9440"}, std::pair{"X-ARR-ClientCert", "base64-der"},
          std::pair{"X-SSL-Client-Cert", "url-encoded-pem"},
          std::pair{"X-Forwarded-Client-Cert", "xfcc"}}) {
      auto rule = make_forwarded_cert_rule(
          from, header, format,
          std::string_view(header) == "Client-Cert" ? "Client-Cert-Chain" : "");
      if (rule) rules.push_back(std::move(*rule));
    }
    auto created = ClientCertSource::create(std::move(rules));
    return created ? new ClientCertSource(std::move(*created)) : new ClientCertSource();
  }();

  for (std::string_view header : source->header_names()) {
    const HeaderField headers[] = {{header, rest}, {"Client-Cert-Chain", rest}};
    const PeerTrust peer = source->peer_trust(first.empty() ? "127.0.0.1" : first);
    auto resolved = source->resolve(peer, headers, std::nullopt);
    if (resolved.certificate) (void)resolved.certificate->leaf.thumbprint_sha1();
    (void)source->any_to_strip(headers, peer);
  }
  return 0;
}
