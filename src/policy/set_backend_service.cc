#include "policy/set_backend_service.h"

#include <string>

#include "core/strings.h"
#include "policy/field_setter.h"

namespace gh::policy {

namespace {

class SetBackendService final : public Policy {
 public:
  explicit SetBackendService(int backend) : backend_(backend) {}

  Flow apply(RequestContext& ctx) const override {
    ctx.backend = backend_;
    return Flow::Continue;
  }

 private:
  int backend_;  // BackendCatalog index; -1 only when linting (never applied)
};

}  // namespace

Status check_base_url(std::string_view url) {
  const auto fail = [](std::string why) {
    return unexpected(ErrorKind::InvalidArgument, std::move(why));
  };
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return fail("base-url contains whitespace or a control character");
  }
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return fail("base-url must be an absolute http or https URL");
  const std::string_view scheme = url.substr(0, sep);
  if (!core::iequals(scheme, "http") && !core::iequals(scheme, "https"))
    return fail("base-url must use http or https");
  const std::string_view rest = url.substr(sep + 3);
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.empty() || authority.front() == ':') return fail("base-url has no host");
  if (authority.find('@') != std::string_view::npos)
    return fail("base-url must not carry user information (use authentication-basic)");
  if (url.find_first_of("?#") != std::string_view::npos)
    return fail("base-url must not have a query or fragment");
  return {};
}

Result<std::unique_ptr<Policy>> make_set_backend_service(const Element& element,
                                                         LoadContext& load) {
  AttributeReader attrs(element);
  const std::string* base_url = attrs.raw("base-url");
  const std::string* backend_id = attrs.raw("backend-id");
  for (std::string_view sf : {"sf-resolve-condition", "sf-service-instance-name",
                              "sf-partition-key", "sf-replica-type", "sf-listener-name"}) {
    if (attrs.raw(sf))
      attrs.problem(std::string(sf) + " is not supported (no Service Fabric backends)");
  }
  if (!element.children.empty()) attrs.problem("<set-backend-service> has no child elements");
  if (base_url && backend_id) attrs.problem("base-url and backend-id are mutually exclusive");
  if (!base_url && !backend_id) attrs.problem("one of base-url or backend-id is required");

  const std::string* given = base_url ? base_url : backend_id;
  const char* name = base_url ? "base-url" : "backend-id";
  if (given && is_expression_text(*given)) {
    attrs.problem(std::string(name) +
                  ": policy expressions are not supported here: backends are resolved when the "
                  "configuration loads; use a literal, a {{named value}}, or backend-id");
    given = nullptr;
  } else if (base_url && !backend_id) {
    if (auto ok = check_base_url(*base_url); !ok) attrs.problem(ok.error().message);
  } else if (backend_id && backend_id->empty()) {
    attrs.problem("backend-id is empty");
  }
  GH_TRY_STATUS(attrs.finish());

  int backend = -1;
  if (!load.lint) {
    if (!load.backends)
      return unexpected(element_error(element, "no backend catalog to resolve the backend in"));
    auto resolved = base_url ? load.backends->backend_by_url(*base_url)
                             : load.backends->backend_by_id(*backend_id);
    if (!resolved) return unexpected(element_error(element, resolved.error().message));
    backend = *resolved;
  }
  return std::unique_ptr<Policy>(std::make_unique<SetBackendService>(backend));
}

}  // namespace gh::policy
