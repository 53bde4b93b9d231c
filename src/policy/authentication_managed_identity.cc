#include "policy/authentication_managed_identity.h"

#include <string>

#include "policy/expression.h"
#include "policy/field_setter.h"
#include "policy/managed_identity_tokens.h"
#include "policy/services.h"
#include "policy/token_provider.h"

namespace gh::policy {

namespace {

constexpr std::string_view kSource = "authentication-managed-identity";
constexpr std::string_view kReason = "TokenAcquisitionFailed";
constexpr size_t kMaxDetail = 200;

// The provider's reason, fit for LastError.Message: printable ASCII, bounded.
std::string printable_detail(std::string_view message) {
  std::string out;
  for (char c : message.substr(0, kMaxDetail)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? ' ' : c;
  }
  return out;
}

class AuthenticationManagedIdentity final : public Policy {
 public:
  struct Config {
    TextValue resource;
    std::string client_id;
    std::string output_variable;  // "" = set the Authorization header
    bool ignore_error = false;
  };

  AuthenticationManagedIdentity(Config config, std::shared_ptr<TokenProvider> provider,
                                std::shared_ptr<ManagedIdentityTokenCache> cache)
      : config_(std::move(config)), provider_(std::move(provider)), cache_(std::move(cache)) {}

  Flow apply(RequestContext& ctx) const override {
    std::string evaluated;
    std::string_view resource;
    if (!resource_of(ctx, evaluated, resource)) return Flow::Error;
    if (auto entry = cache_->find(resource, config_.client_id, ctx.clock().now_unix())) {
      use(ctx, *entry);
      return Flow::Continue;
    }
    return Flow::Await;
  }

  net::awaitable<Flow> apply_async(RequestContext& ctx) const override {
    std::string evaluated;
    std::string_view resource;
    if (!resource_of(ctx, evaluated, resource)) co_return Flow::Error;
    // Another request may have fetched it while this one waited to run; or is fetching it now,
    // and this one waits for that fetch instead of starting its own.
    auto joined = cache_->join(resource, config_.client_id, ctx.clock().now_unix());
    if (joined.entry) {
      use(ctx, *joined.entry);
      co_return Flow::Continue;
    }
    Fetched fetched = nullptr;
    if (joined.leader) {
      Landing landing{*cache_, joined.flight};
      fetched = co_await fetch(ctx, resource);
      landing.land(fetched);
    } else {
      fetched = co_await joined.flight->wait();
    }
    if (!fetched) co_return failed(ctx, fetched.error().message);
    use(ctx, **fetched);
    co_return Flow::Continue;
  }

 private:
  using Fetched = Result<std::shared_ptr<const ManagedIdentityTokenCache::Entry>>;

  // Lands the leader's flight however its coroutine ends: with the fetch's result, or (the
  // coroutine destroyed at shutdown before the fetch returned) with an error, so that no
  // waiter, and no worker loop its work guard holds, waits for ever.
  struct Landing {
    ManagedIdentityTokenCache& cache;
    std::shared_ptr<ManagedIdentityTokenCache::Flight> flight;
    bool landed = false;
    void land(const Fetched& result) {
      cache.land(flight, result);
      landed = true;
    }
    ~Landing() {
      if (!landed)
        cache.land(flight, unexpected(ErrorKind::Unavailable, "the fetch was abandoned"));
    }
  };

  // Fetches and stores the token (the flight's leader); the error detail is printable.
  net::awaitable<Fetched> fetch(RequestContext& ctx, std::string_view resource) const {
    auto token = co_await provider_->token(std::string(resource), config_.client_id);
    if (!token)
      co_return unexpected(ErrorKind::Unavailable, printable_detail(token.error().message));
    if (token->token.empty() || !header_value_problem(token->token).empty())
      co_return unexpected(ErrorKind::Unavailable, "the token source returned an unusable token");
    co_return cache_->store(resource, config_.client_id, std::move(*token), ctx.clock().now_unix());
  }

  // The resource for this request: the literal, or the expression's value kept in `evaluated`.
  bool resource_of(RequestContext& ctx, std::string& evaluated, std::string_view& out) const {
    if (config_.resource.is_literal()) {
      out = config_.resource.literal();
      return true;
    }
    auto value = config_.resource.evaluate(ctx);
    if (!value) {
      fail_evaluation(ctx, kSource, value.error(), id());
      return false;
    }
    evaluated = std::move(*value);
    out = evaluated;
    return true;
  }

  void use(RequestContext& ctx, const ManagedIdentityTokenCache::Entry& entry) const {
    if (!config_.output_variable.empty()) {
      ctx.set_variable(config_.output_variable, Value(entry.token));
      return;
    }
    FieldChange change;
    change.name = "Authorization";
    change.values.push_back(entry.bearer);
    change.action = FieldChange::Action::Override;
    ctx.request_header_changes.push_back(std::move(change));
  }

  Flow failed(RequestContext& ctx, std::string_view detail) const {
    if (config_.ignore_error) return Flow::Continue;
    ctx.fail(kSource, kReason, "Could not obtain a managed identity token: " + std::string(detail),
             500, "Internal server error", id());
    return Flow::Error;
  }

  Config config_;
  std::shared_ptr<TokenProvider> provider_;           // null only when linting
  std::shared_ptr<ManagedIdentityTokenCache> cache_;  // null only when linting
};

}  // namespace

Result<std::unique_ptr<Policy>> make_authentication_managed_identity(const Element& element,
                                                                     LoadContext& load) {
  AttributeReader attrs(element);
  AuthenticationManagedIdentity::Config config;
  if (const std::string* raw = attrs.required("resource")) {
    if (raw->empty())
      attrs.problem("resource is empty");
    else if (auto v = TextValue::compile(*raw))
      config.resource = std::move(*v);
    else
      attrs.problem("resource: " + v.error().message);
  }
  if (const std::string* raw = attrs.raw("client-id")) {
    if (is_expression_text(*raw))
      attrs.problem("client-id: policy expressions are not allowed here (APIM neither)");
    else if (!header_value_problem(*raw).empty())
      attrs.problem("client-id contains control characters");
    else
      config.client_id = *raw;
  }
  if (const std::string* raw = attrs.raw("output-token-variable-name")) {
    if (raw->empty() || is_expression_text(*raw))
      attrs.problem("output-token-variable-name must be a variable name");
    else
      config.output_variable = *raw;
  }
  config.ignore_error = attrs.boolean("ignore-error", false);
  if (!element.children.empty())
    attrs.problem("<authentication-managed-identity> has no child elements");
  GH_TRY_STATUS(attrs.finish());

  std::shared_ptr<TokenProvider> provider;
  std::shared_ptr<ManagedIdentityTokenCache> cache;
  if (!load.lint) {
    if (!load.services || !load.services->managed_identity)
      return unexpected(element_error(
          element, "no managed identity token source: this process runs no identity role"));
    provider = load.services->managed_identity;
    // Configuration loads run one at a time, so creating the shared cache here is race-free.
    if (!load.services->managed_identity_tokens)
      load.services->managed_identity_tokens = std::make_shared<ManagedIdentityTokenCache>();
    cache = load.services->managed_identity_tokens;
  }
  return std::unique_ptr<Policy>(std::make_unique<AuthenticationManagedIdentity>(
      std::move(config), std::move(provider), std::move(cache)));
}

}  // namespace gh::policy
