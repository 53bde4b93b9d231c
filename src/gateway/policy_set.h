#pragma once

// The policy side of a configuration snapshot: for every API operation, the composed pipelines
// (one per product context), the subscription registry, certificate entities, the client
// certificate trust store and the backends that policies may switch to. Compiled with the rest
// of the snapshot, immutable, replaced whole on reload.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/proxy_config.h"
#include "core/result.h"
#include "http/backend_pool.h"
#include "policy/certificates.h"
#include "policy/client_cert_source.h"
#include "policy/pipeline.h"
#include "policy/services.h"
#include "policy/subscriptions.h"
#include "x509/trust_store.h"

namespace gh::gateway {

struct OperationPolicies {
  const policy::ApiInfo* api = nullptr;
  policy::OperationInfo operation;
  bool subscription_required = false;
  std::shared_ptr<const policy::Pipeline> pipeline;  // outside any product context; null if trivial
  std::vector<std::pair<const policy::ProductInfo*, std::shared_ptr<const policy::Pipeline>>>
      by_product;
  /// Nothing to do: no key check and a pipeline that only forwards (the plain proxy path).
  bool trivial = true;

  const policy::Pipeline& for_product(const policy::ProductInfo* product) const noexcept {
    for (const auto& [p, pl] : by_product)
      if (p == product) return *pl;
    return *pipeline;
  }
};

struct PolicySet {
  std::shared_ptr<policy::Services> services;
  std::shared_ptr<const policy::SubscriptionRegistry> subscriptions;
  policy::CertificateCatalog certificates;
  std::optional<x509::TrustStore> client_trust;
  std::vector<std::unique_ptr<policy::ApiInfo>> apis;
  /// [api index][operation index], an API without operations has one entry.
  std::vector<std::vector<OperationPolicies>> operations;
  /// Backend variants presenting a certificate entity: [backend index][certificate index] gives
  /// the backend index to use (authentication-certificate).
  std::vector<std::vector<int>> certificate_variants;
  /// Where client certificates may come from besides the handshake (trusted front proxies),
  /// and which forwarded-certificate headers are stripped from everyone else.
  std::shared_ptr<const policy::ClientCertSource> cert_source;
  /// `trusted_proxies`: front proxies whose X-Forwarded-Proto and X-Forwarded-Host stand (a
  /// TLS-terminating front knows the client's scheme and host; anyone else's claim is replaced).
  std::vector<policy::IpNetwork> trusted_proxies;
  bool trusts_front(std::string_view peer_ip) const noexcept {
    if (trusted_proxies.empty()) return false;
    const auto address = policy::parse_ip_address(peer_ip);
    if (!address) return false;
    for (const auto& n : trusted_proxies)
      if (n.contains(*address)) return true;
    return false;
  }
  /// Files whose change triggers a reload (policy documents, named-value files, certificates).
  std::vector<std::string> watched_files;

  const OperationPolicies& for_route(size_t api_index, size_t operation_index) const noexcept {
    const auto& ops = operations[api_index];
    return ops[operation_index < ops.size() ? operation_index : 0];
  }
};

/// What policy documents are parsed with: named values (files read now) and fragments, and the
/// files read for them (watched for reload).
struct PolicyInputs {
  policy::NamedValues named_values;
  policy::Fragments fragments;
  std::vector<std::string> files;
};
Result<PolicyInputs> load_policy_inputs(const config::ProxyConfig& config);

/// Parses a configured document (its file, or its inline XML named "file:line (inline)").
/// `src` must not be empty.
Result<policy::Element> parse_policy_source(const config::PolicySource& src,
                                            const PolicyInputs& inputs);

/// Compiles the policy set. May append backends to `backends`/`backend_configs` (a
/// set-backend-service base-url that no entity has, and the certificate variants).
Result<std::shared_ptr<const PolicySet>> compile_policy_set(
    const config::ProxyConfig& config, std::shared_ptr<policy::Services> services,
    std::vector<std::shared_ptr<const http::BackendTarget>>& backends);

/// The process-wide policy services, built once at start: verified-token cache, OpenID
/// metadata cache, counters, revocation checker (its fail mode from `config`).
std::shared_ptr<policy::Services> make_policy_services(const core::Clock& clock,
                                                       const config::ProxyConfig& config);

/// A backend target for a configured backend (shared with the snapshot's own compilation).
Result<std::shared_ptr<http::BackendTarget>> make_backend_target(const config::Backend& b);

}  // namespace gh::gateway
