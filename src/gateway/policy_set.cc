#include "gateway/policy_set.h"

#include <set>

#include "config/value_parsers.h"
#include "crypto/key.h"
#include "jose/token_cache.h"
#include "net/listen_socket.h"
#include "policy/counter_store.h"
#include "policy/imds_token_provider.h"
#include "policy/managed_identity_tokens.h"
#include "policy/openid_cache.h"
#include "policy/revocation.h"
#include "x509/cert_loader.h"

namespace gh::gateway {
namespace {

/// Backends by id or URL, and certificate entities to present to them.
class Catalog final : public policy::BackendCatalog {
 public:
  Catalog(const config::ProxyConfig& config, const policy::CertificateCatalog& certificates,
          std::vector<std::shared_ptr<const http::BackendTarget>>& targets)
      : configs_(config.backends), certificates_(certificates), targets_(targets) {}

  Result<int> backend_by_id(std::string_view id) override {
    for (size_t i = 0; i < configs_.size(); ++i)
      if (configs_[i].id == id) return static_cast<int>(i);
    return unexpected(ErrorKind::NotFound, "no backend has id '" + std::string(id) + "'");
  }

  Result<int> backend_by_url(std::string_view base_url) override {
    GH_TRY(auto url, config::parse_backend_url(base_url));
    for (size_t i = 0; i < configs_.size(); ++i) {
      const auto& b = configs_[i];
      if (b.scheme == url.scheme && b.host == url.host && b.port == url.port &&
          b.base_path == url.base_path)
        return static_cast<int>(i);
    }
    config::Backend b;
    b.id = "url:" + std::string(base_url);
    b.scheme = url.scheme;
    b.host = url.host;
    b.port = url.port;
    b.base_path = url.base_path;
    GH_TRY(auto target, make_backend_target(b));
    configs_.push_back(std::move(b));
    targets_.push_back(std::move(target));
    return static_cast<int>(configs_.size() - 1);
  }

  Result<int> client_certificate_by_id(std::string_view id) override {
    const auto& all = certificates_.all();
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i]->id == id) return use(i);
    }
    return unexpected(ErrorKind::NotFound, "no certificate has id '" + std::string(id) + "'");
  }

  Result<int> client_certificate_by_thumbprint(std::string_view sha1_hex) override {
    const auto* e = certificates_.find_by_thumbprint(sha1_hex);
    if (!e) {
      return unexpected(ErrorKind::NotFound,
                        "no certificate has thumbprint '" + std::string(sha1_hex) + "'");
    }
    return client_certificate_by_id(e->id);
  }

  /// Builds every (backend, used certificate) variant once all pipelines are compiled.
  Result<std::vector<std::vector<int>>> variants() {
    const size_t certs = certificates_.all().size();
    const size_t backends = configs_.size();
    std::vector<std::vector<int>> out(backends, std::vector<int>(certs, -1));
    for (size_t c : used_) {
      const auto& entity = *certificates_.all()[c];
      for (size_t b = 0; b < backends; ++b) {
        if (configs_[b].scheme != "https") {
          out[b][c] = static_cast<int>(b);  // nothing to present over plain HTTP
          continue;
        }
        config::Backend v = configs_[b];
        v.id = configs_[b].id + "+" + entity.id;
        v.tls.client_cert = entity.cert_file;
        v.tls.client_key = entity.key_file;
        GH_TRY(auto target, make_backend_target(v));
        targets_.push_back(std::move(target));
        out[b][c] = static_cast<int>(targets_.size() - 1);
      }
    }
    return out;
  }

 private:
  Result<int> use(size_t index) {
    const auto& e = *certificates_.all()[index];
    if (e.key_file.empty()) {
      return unexpected(ErrorKind::InvalidArgument,
                        "certificate '" + e.id + "' has no private key to present to a backend");
    }
    used_.insert(index);
    return static_cast<int>(index);
  }

  std::vector<config::Backend> configs_;
  const policy::CertificateCatalog& certificates_;
  std::vector<std::shared_ptr<const http::BackendTarget>>& targets_;
  std::set<size_t> used_;
};

Result<std::shared_ptr<const policy::CertificateEntity>> load_entity(
    const config::CertificateEntityConfig& c) {
  const std::string ctx = c.where.prefix() + "certificate '" + c.id + "'";
  auto pem = crypto::read_file(c.cert);
  if (!pem) return unexpected(pem.error().with_context(ctx));
  auto certs = x509::load_certificates(*pem);
  if (!certs) return unexpected(certs.error().with_context(ctx));
  if (certs->empty()) return unexpected(ErrorKind::InvalidArgument, ctx + ": no certificate found");
  auto e = std::make_shared<policy::CertificateEntity>(
      policy::CertificateEntity{c.id, (*certs)[0], {}, c.cert, c.key, ""});
  e->chain.assign(certs->begin() + 1, certs->end());
  e->thumbprint_sha1 = e->certificate.thumbprint_sha1();
  if (!c.key.empty()) {
    auto key_pem = crypto::read_file(c.key);
    if (!key_pem) return unexpected(key_pem.error().with_context(ctx));
    auto key = crypto::load_private_key(*key_pem);
    if (!key)
      return unexpected(ErrorKind::InvalidArgument,
                        ctx + ": the key file holds no usable private key");
    auto pub = e->certificate.public_key();
    if (EVP_PKEY_eq(pub.get(), key->get()) != 1) {
      return unexpected(ErrorKind::InvalidArgument,
                        ctx + ": the private key does not match the certificate");
    }
  }
  return std::shared_ptr<const policy::CertificateEntity>(std::move(e));
}

}  // namespace

std::shared_ptr<policy::Services> make_policy_services(const core::Clock& clock,
                                                       const config::ProxyConfig& config) {
  auto s = std::make_shared<policy::Services>(clock);
  s->verified_tokens = std::make_shared<jose::VerifiedTokenCache>(clock);
  s->counters = std::make_shared<policy::CounterStore>(clock);
  policy::OpenIdCacheOptions openid;
  openid.fetch.ca_file = config.policies.fetch_ca;
  openid.refresh_interval = config.policies.openid_refresh_interval;
  openid.min_refetch_interval = config.policies.openid_min_refetch_interval;
  openid.max_staleness = config.policies.openid_max_staleness;
  s->openid = std::make_shared<policy::OpenIdCache>(clock, openid);
  policy::RevocationOptions revocation;
  revocation.fail_mode = config.client_certificates.hard_fail
                             ? policy::RevocationFailMode::HardFail
                             : policy::RevocationFailMode::SoftFail;
  s->revocation = std::make_shared<policy::RevocationChecker>(clock, revocation);
  s->managed_identity_tokens = std::make_shared<policy::ManagedIdentityTokenCache>();
  if (!config.policies.managed_identity_endpoint.empty()) {
    http::FetchOptions fetch;
    fetch.ca_file = config.policies.fetch_ca;
    s->managed_identity = std::make_shared<policy::ImdsTokenProvider>(
        config.policies.managed_identity_endpoint, fetch);
  }
  return s;
}

Result<std::shared_ptr<http::BackendTarget>> make_backend_target(const config::Backend& b) {
  auto target = std::make_shared<http::BackendTarget>();
  target->id = b.id;
  target->tls = b.scheme == "https";
  uint16_t default_port = target->tls ? 443 : 80;
  // IPv6 literals are stored without brackets; Host needs them (RFC 9110 §7.2).
  std::string host = b.host.find(':') != std::string::npos ? "[" + b.host + "]" : b.host;
  target->host_header = b.port == default_port ? host : host + ":" + std::to_string(b.port);
  target->base_path = b.base_path;
  target->max_idle = b.max_idle_connections;
  auto eps = net::resolve_endpoints(b.host, b.port);
  if (!eps)
    return unexpected(eps.error().with_context(b.where.prefix() + "backend '" + b.id + "'"));
  target->endpoints = std::move(*eps);
  if (target->tls) {
    auto tls = net::BackendTls::create(b.tls, b.host);
    if (!tls)
      return unexpected(tls.error().with_context(b.where.prefix() + "backend '" + b.id + "'"));
    target->tls_context = std::move(*tls);
  }
  return target;
}

Result<PolicyInputs> load_policy_inputs(const config::ProxyConfig& config) {
  // Read once, here, so that every document of one load sees the same values.
  PolicyInputs in;
  for (const auto& nv : config.named_values) {
    policy::NamedValue v{nv.value, nv.secret};
    if (!nv.file.empty()) {
      const std::string context = nv.where.prefix() + "named value '" + nv.name + "'";
      auto text = crypto::read_file(nv.file);
      if (!text) return unexpected(text.error().with_context(context));
      while (!text->empty() && (text->back() == '\n' || text->back() == '\r'))
        text->pop_back();
      if (text->empty() || text->size() > 4096) {
        return unexpected(ErrorKind::InvalidArgument,
                          context + ": file '" + nv.file + "' must hold 1 to 4096 characters");
      }
      v.value = std::move(*text);
      in.files.push_back(nv.file);
    }
    in.named_values.emplace(nv.name, std::move(v));
  }
  for (const auto& [id, src] : config.policies.fragments) {
    auto text = crypto::read_file(src.file);
    if (!text) return unexpected(text.error().with_context("policy fragment '" + id + "'"));
    in.fragments.emplace(id, std::move(*text));
    in.files.push_back(src.file);
  }
  return in;
}

Result<policy::Element> parse_policy_source(const config::PolicySource& src,
                                            const PolicyInputs& inputs) {
  if (!src.file.empty()) {
    return policy::load_policy_file(src.file, inputs.named_values, inputs.fragments);
  }
  return policy::parse_policy_document(
      src.xml, src.where.file + ":" + std::to_string(src.where.line) + " (inline)",
      inputs.named_values, inputs.fragments);
}

Result<std::shared_ptr<const PolicySet>> compile_policy_set(
    const config::ProxyConfig& config, std::shared_ptr<policy::Services> services,
    std::vector<std::shared_ptr<const http::BackendTarget>>& backends) {
  auto set = std::make_shared<PolicySet>();
  set->services = std::move(services);
  GH_TRY(set->subscriptions, policy::SubscriptionRegistry::build(config));

  GH_TRY(const PolicyInputs inputs, load_policy_inputs(config));
  set->watched_files = inputs.files;
  for (const auto& f : set->subscriptions->key_files())
    set->watched_files.push_back(f);
  std::vector<std::unique_ptr<policy::Element>> documents;
  auto load = [&](const config::PolicySource& src) -> Result<const policy::Element*> {
    if (src.empty()) return static_cast<const policy::Element*>(nullptr);
    GH_TRY(auto doc, parse_policy_source(src, inputs));
    if (!src.file.empty()) set->watched_files.push_back(src.file);
    documents.push_back(std::make_unique<policy::Element>(std::move(doc)));
    return static_cast<const policy::Element*>(documents.back().get());
  };

  for (const auto& c : config.certificates) {
    GH_TRY(auto entity, load_entity(c));
    set->certificates.add(std::move(entity));
    set->watched_files.push_back(c.cert);
    if (!c.key.empty()) set->watched_files.push_back(c.key);
  }
  if (!config.client_certificates.ca.empty()) {
    auto trust = x509::TrustStore::load_files(config.client_certificates.ca,
                                              config.client_certificates.crls);
    if (!trust) return unexpected(trust.error().with_context("client_certificates"));
    set->client_trust = std::move(*trust);
    set->watched_files.push_back(config.client_certificates.ca);
    for (const auto& crl : config.client_certificates.crls)
      set->watched_files.push_back(crl);
  }

  {
    std::vector<policy::ForwardedCertRule> rules;
    for (const auto& f : config.client_certificates.forwarded) {
      const auto& from = f.from.empty() ? config.trusted_proxies : f.from;
      auto rule = policy::make_forwarded_cert_rule(from, f.header, f.format);
      if (!rule) {
        return unexpected(
            rule.error().with_context(f.where.prefix() + "client_certificates.forwarded"));
      }
      rules.push_back(std::move(*rule));
    }
    GH_TRY(auto source, policy::ClientCertSource::create(std::move(rules)));
    set->cert_source = std::make_shared<const policy::ClientCertSource>(std::move(source));
  }
  for (const auto& text : config.trusted_proxies) {
    auto network = policy::parse_ip_network(text);
    if (!network) return unexpected(network.error().with_context("trusted_proxies"));
    set->trusted_proxies.push_back(*network);
  }
  if (set->services && set->services->revocation) {
    GH_TRY_STATUS(set->services->revocation->load_local_crl_files(config.client_certificates.crls));
  }

  Catalog catalog(config, set->certificates, backends);
  GH_TRY(const policy::Element* global, load(config.policies.global));
  std::vector<const policy::Element*> product_docs;
  for (const auto& p : config.products) {
    GH_TRY(const policy::Element* doc, load(p.policy));
    product_docs.push_back(doc);
  }

  std::vector<std::string> problems;
  for (const auto& api : config.apis) {
    auto info = std::make_unique<policy::ApiInfo>();
    info->id = api.name;
    info->name = api.name;
    info->path = api.path;
    info->key_header = api.key_header;
    info->key_query = api.key_query;
    for (const auto& b : config.backends) {
      if (b.id == api.backend_id) {
        info->service_url = b.scheme + "://" +
                            (b.host.find(':') != std::string::npos ? "[" + b.host + "]" : b.host) +
                            ":" + std::to_string(b.port) + b.base_path;
      }
    }
    GH_TRY(const policy::Element* api_doc, load(api.policy));
    auto products = set->subscriptions->products_of(api.name);
    std::vector<OperationPolicies> ops;
    const size_t n_ops = api.operations.empty() ? 1 : api.operations.size();
    for (size_t i = 0; i < n_ops; ++i) {
      OperationPolicies op;
      op.api = info.get();
      op.subscription_required = api.subscription_required;
      const policy::Element* op_doc = nullptr;
      if (!api.operations.empty()) {
        const auto& o = api.operations[i];
        op.operation = {o.name, o.name, o.method, o.url_template};
        GH_TRY(op_doc, load(o.policy));
      }
      // With subscriptions configured, a presented key is checked even where none is required
      // (apim-policies.md §5.4: an invalid key is refused), as on APIs with policies.
      op.trivial = !global && !api_doc && !op_doc && products.empty() &&
                   !api.subscription_required && config.subscriptions.empty();
      policy::LoadContext lc;
      lc.services = set->services.get();
      lc.backends = &catalog;
      lc.certificates = &set->certificates;
      lc.client_trust = set->client_trust ? &*set->client_trust : nullptr;
      lc.api = info.get();
      lc.operation = api.operations.empty() ? nullptr : &op.operation;
      auto compile = [&](const policy::Element* product_doc) {
        std::vector<policy::ScopeDocument> scopes{{policy::Scope::Global, global}};
        if (product_doc) scopes.push_back({policy::Scope::Product, product_doc});
        scopes.push_back({policy::Scope::Api, api_doc});
        scopes.push_back({policy::Scope::Operation, op_doc});
        return policy::Pipeline::compile(scopes, lc);
      };
      if (op.trivial) {  // nothing to compose: the plain proxy path
        ops.push_back(std::move(op));
        continue;
      }
      auto base = compile(nullptr);
      if (!base) {
        problems.push_back(base.error().message);
        continue;
      }
      op.pipeline = std::move(*base);
      for (const auto* product : products) {
        size_t index = 0;
        while (config.products[index].id != product->id)
          ++index;
        if (!product_docs[index]) continue;  // same composition as outside a product
        auto pl = compile(product_docs[index]);
        if (!pl) {
          problems.push_back(pl.error().message);
          continue;
        }
        op.by_product.emplace_back(product, std::move(*pl));
      }
      ops.push_back(std::move(op));
    }
    set->apis.push_back(std::move(info));
    set->operations.push_back(std::move(ops));
  }
  if (!problems.empty()) {
    // The same scope document fails the same way for every operation: report each line once.
    std::vector<std::string> unique;
    for (const auto& p : problems) {
      size_t start = 0;
      while (start < p.size()) {
        size_t nl = p.find('\n', start);
        std::string line =
            p.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        if (std::find(unique.begin(), unique.end(), line) == unique.end()) unique.push_back(line);
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
    }
    std::string joined;
    for (const auto& l : unique)
      joined += (joined.empty() ? "" : "\n") + l;
    return unexpected(ErrorKind::InvalidArgument, std::move(joined));
  }
  GH_TRY(set->certificate_variants, catalog.variants());
  return std::shared_ptr<const PolicySet>(std::move(set));
}

}  // namespace gh::gateway
