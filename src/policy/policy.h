#pragma once

// One policy kind = one class implementing Policy, built from its XML element by a factory that
// registry.cc lists by element name (style: Envoy's filters, small named steps over one request
// context). Factories run once per configuration load; apply() runs per request and must not
// parse, allocate what it can avoid, lock, or make a syscall.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/asio.h"
#include "policy/context.h"
#include "policy/document.h"

namespace gh::policy {

struct Services;
class CertificateCatalog;
}  // namespace gh::policy
namespace gh::x509 {
class TrustStore;
}
namespace gh::policy {

/// What the pipeline does after a step.
enum class Flow : uint8_t {
  Continue,  // next statement
  Return,    // ctx.response is the answer; skip everything else (return-response)
  Error,     // ctx.last_error and ctx.response are set; run on-error
  Await,     // the step must wait (I/O): the runner co_awaits apply_async() on the same context
};

class Policy {
 public:
  virtual ~Policy() = default;

  /// Runs the step. Returns Await only when it cannot finish without waiting (fetching keys,
  /// getting a token); the runner then calls apply_async once and uses its result instead.
  virtual Flow apply(RequestContext& ctx) const = 0;
  /// The waiting variant; runs on the worker's event loop. Default: apply().
  virtual net::awaitable<Flow> apply_async(RequestContext& ctx) const;
  /// Called once per entry this policy added to ctx.deferred, after the response has been sent
  /// (or failed), so that counting can depend on the response (increment-condition).
  virtual void complete(const RequestContext& ctx, const Deferred& entry) const;

  /// The element's `id` attribute ("" when none): LastError.PolicyId.
  const std::string& id() const noexcept { return id_; }
  void set_id(std::string id) { id_ = std::move(id); }

 private:
  std::string id_;
};

/// Backends and client certificates policies may route to (set-backend-service,
/// authentication-certificate), resolved at load into indexes the gateway understands.
class BackendCatalog {
 public:
  virtual ~BackendCatalog() = default;
  /// The backend entity `id` (configuration `backends[].id`).
  virtual Result<int> backend_by_id(std::string_view id) = 0;
  /// A backend for a literal base URL; entities with the same URL are reused (APIM §7.1
  /// auto-detection), else one is created with default TLS settings.
  virtual Result<int> backend_by_url(std::string_view base_url) = 0;
  /// A certificate entity with a private key, to present to backends (by id or SHA-1 thumbprint).
  virtual Result<int> client_certificate_by_id(std::string_view certificate_id) = 0;
  virtual Result<int> client_certificate_by_thumbprint(std::string_view sha1_hex) = 0;
};

/// What a factory may use while building its policy.
struct LoadContext {
  Scope scope = Scope::Global;
  Section section = Section::Inbound;
  Services* services = nullptr;                      // process-wide state; null when linting
  BackendCatalog* backends = nullptr;                // null when linting
  const CertificateCatalog* certificates = nullptr;  // null when linting
  /// Trust anchors and CRLs for client certificates (configuration `client_certificates.ca`,
  /// `.crls`); null when none are configured or when linting.
  const x509::TrustStore* client_trust = nullptr;
  const ApiInfo* api = nullptr;              // null at global and product scope
  const OperationInfo* operation = nullptr;  // null above operation scope
  /// `gatehouse policy lint`: check syntax and semantics, fetch nothing, resolve no ids.
  bool lint = false;
};

using Factory = Result<std::unique_ptr<Policy>> (*)(const Element& element, LoadContext& load);

}  // namespace gh::policy
