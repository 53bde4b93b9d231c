#pragma once

// The request context every policy reads and writes (APIM's `context`, apim-policies.md §1.4):
// the incoming request as views into the gateway's parser, what the pipeline decided so far
// (subscription, product, client certificate, variables), the changes to make to the request
// on its way to the backend and to the response on its way back, and the response the gateway
// makes itself (return-response, a failed policy).
//
// One context per request, owned by the gateway's session; nothing here is shared between
// requests or threads. Changes are recorded, not applied: the gateway writes the outgoing heads
// from the parsed ones plus these lists, so the parsed headers are never edited.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "http/local_handler.h"
#include "jose/jwt.h"
#include "x509/certificate.h"

namespace gh::policy {

using http::HeaderField;

enum class Section : uint8_t { Inbound, Backend, Outbound, OnError };
enum class Scope : uint8_t { Global, Product, Api, Operation };
std::string_view to_string(Section s) noexcept;  // "inbound", "backend", "outbound", "on-error"
std::string_view to_string(Scope s) noexcept;    // "global", "product", "api", "operation"

/// What an expression yields and a variable holds: null, bool, integer, string, or a validated
/// JWT (validate-jwt's output-token-variable-name).
using Jwt = std::shared_ptr<const jose::VerifiedJwt>;
using Value = std::variant<std::monostate, bool, int64_t, std::string, Jwt>;

/// The caller's certificate: from the TLS handshake, or from a trusted front proxy's header.
struct ClientCertificate {
  enum class Source : uint8_t { Handshake, Forwarded };
  x509::Certificate leaf;
  std::vector<x509::Certificate> chain;  // intermediates as presented, leaf excluded
  Source source = Source::Handshake;
  bool handshake_verified = false;  // the listener verified it against its client_ca
};

/// Compiled once per configuration; the context points at them.
struct ProductInfo {
  std::string id;
  std::string name;
  bool subscription_required = true;
};
struct ApiInfo {
  std::string id;  // the configured name
  std::string name;
  std::string path;  // "" or "/x"
  std::string service_url;
  std::string key_header = "Ocp-Apim-Subscription-Key";
  std::string key_query = "subscription-key";
};
struct OperationInfo {
  std::string id;  // the configured name ("" for an API without operations)
  std::string name;
  std::string method;
  std::string url_template;
};
struct SubscriptionInfo {
  std::string id;
  std::string name;
  std::string scope;  // "/apis", "/apis/{api}", "/products/{product}", "/" (all-access)
  const ProductInfo* product = nullptr;  // set for a product-scoped subscription
  int64_t created_unix = 0;              // start of quota periods
};

/// One change to a set of named fields (request headers, response headers, query parameters),
/// with set-header's exists-action semantics (apim-policies.md §7.6).
struct FieldChange {
  enum class Action : uint8_t { Override, Skip, Append, Delete };
  std::string name;
  std::vector<std::string> values;  // empty for Delete
  Action action = Action::Override;
};

/// context.LastError (apim-policies.md §1.6).
struct LastError {
  std::string source;   // "validate-jwt", "authorization", "configuration", ...
  std::string reason;   // "TokenExpired", "SubscriptionKeyInvalid", ...
  std::string message;  // stable text of our own; never CR/LF, never a secret
  Scope scope = Scope::Global;
  Section section = Section::Inbound;
  std::string path;  // "choose[1]/when[2]/validate-jwt[1]"
  std::string policy_id;
};

/// A response the gateway makes instead of (or in place of) the backend's.
struct GatewayResponse {
  uint16_t status = 200;
  std::string reason;  // "" = the standard phrase
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The incoming request: views valid until the request ends.
struct RequestView {
  std::string_view method;
  std::string_view target;  // path and query as received
  std::string_view path;
  std::string_view query;   // without '?'
  std::string_view host;    // Host (or absolute-form authority), as sent
  std::string_view scheme;  // "http" | "https"
  uint16_t port = 0;        // the listener's port
  std::string_view client_ip;
  std::string_view listener;
  std::string_view request_id;
  std::span<const HeaderField> headers;  // in arrival order
  std::span<const std::pair<std::string_view, std::string_view>> matched_parameters;
};

/// The backend's response head, once it has arrived (outbound section).
struct BackendResponseView {
  uint16_t status = 0;
  std::span<const HeaderField> headers;
};

class Policy;
class ManagedSubscriptionTable;  // policy/subscriptions.h

/// A field's value after `changes` (set-header semantics) applied to `original`: every value
/// comma-joined, or nullopt when absent. Names compare case-insensitively.
std::optional<std::string> effective_field(std::span<const HeaderField> original,
                                           std::span<const FieldChange> changes,
                                           std::string_view name);

/// Work left for the end of the request (counting that depends on the response).
struct Deferred {
  const Policy* policy = nullptr;
  std::string key;
  int64_t amount = 0;
  int64_t stamp = 0;  // the policy's own: when (or in which window) it counted, for a refund
};

class RequestContext {
 public:
  explicit RequestContext(const core::Clock& clock) : clock_(clock) {}
  RequestContext(const RequestContext&) = delete;
  RequestContext& operator=(const RequestContext&) = delete;

  const core::Clock& clock() const noexcept { return clock_; }

  RequestView request;
  const ApiInfo* api = nullptr;
  const OperationInfo* operation = nullptr;
  const ProductInfo* product = nullptr;  // set only in a product context (§1.2 rule 5)
  const SubscriptionInfo* subscription = nullptr;
  /// The managed subscriptions this request is checked against; keeps `subscription` alive
  /// when it is one of them (may be null).
  std::shared_ptr<const ManagedSubscriptionTable> managed_subscriptions;
  std::string subscription_key;  // the valid key presented (secret: never log it)
  std::optional<ClientCertificate> client_certificate;

  // Changes on the way to the backend.
  std::vector<FieldChange> request_header_changes;
  std::vector<FieldChange> query_changes;
  int backend = -1;              // BackendCatalog index; -1: the API's own
  int backend_certificate = -1;  // BackendCatalog client certificate; -1: the backend's own
  std::optional<std::chrono::milliseconds> backend_timeout;  // forward-request timeout
  bool forward = true;  // false when the composed pipeline has no forward-request

  // The backend's response and changes on the way to the client.
  std::optional<BackendResponseView> backend_response;
  std::vector<FieldChange> response_header_changes;
  /// set-status outside return-response when there is no ctx.response yet: the status (and
  /// reason, "" = the standard phrase) to give the backend's response on its way to the client.
  std::optional<std::pair<uint16_t, std::string>> response_status_override;

  /// Set: the gateway answers with this (return-response, a failed policy). Outbound changes
  /// still apply when on-error/outbound add headers to it.
  std::optional<GatewayResponse> response;
  std::optional<LastError> last_error;
  std::vector<Deferred> deferred;

  // Where the pipeline is (for LastError), maintained by the pipeline runner.
  Section section = Section::Inbound;
  Scope scope = Scope::Global;
  std::string_view path;

  /// Bytes of the request and response bodies (quota bandwidth), filled in by the gateway.
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;

  /// The request header's current value as policies see it: after earlier set-header changes,
  /// all values comma-joined (APIM's GetValueOrDefault), or nullopt when absent.
  std::optional<std::string> header(std::string_view name) const;
  /// The first value of a query parameter (percent-decoded, after earlier changes), or nullopt.
  std::optional<std::string> query_parameter(std::string_view name) const;

  const Value* variable(std::string_view name) const noexcept;
  void set_variable(std::string_view name, Value v);

  /// Records a failure of the policy at hand: LastError (source, reason, message, scope, section,
  /// path, policy id) and the APIM error response `{ "statusCode": N, "message": "..." }` with
  /// `client_message` (or `message` when empty). The policy then returns Flow::Error.
  void fail(std::string_view source, std::string_view reason, std::string_view message,
            uint16_t status, std::string_view client_message = {}, std::string_view policy_id = {});

 private:
  const core::Clock& clock_;
  std::vector<std::pair<std::string, Value>> variables_;
};

}  // namespace gh::policy
