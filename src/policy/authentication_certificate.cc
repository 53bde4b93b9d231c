#include "policy/authentication_certificate.h"

#include <algorithm>
#include <string>

#include "policy/field_setter.h"

namespace gh::policy {

namespace {

class AuthenticationCertificate final : public Policy {
 public:
  explicit AuthenticationCertificate(int certificate) : certificate_(certificate) {}

  Flow apply(RequestContext& ctx) const override {
    ctx.backend_certificate = certificate_;
    return Flow::Continue;
  }

 private:
  int certificate_;  // BackendCatalog client certificate index; -1 only when linting
};

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

Result<std::unique_ptr<Policy>> make_authentication_certificate(const Element& element,
                                                                LoadContext& load) {
  AttributeReader attrs(element);
  const std::string* id = attrs.raw("certificate-id");
  const std::string* thumbprint = attrs.raw("thumbprint");
  if (attrs.raw("body") || attrs.raw("password"))
    attrs.problem("body and password are not supported; use certificate-id");
  if (!element.children.empty())
    attrs.problem("<authentication-certificate> has no child elements");
  if (id && thumbprint) attrs.problem("certificate-id and thumbprint are mutually exclusive");
  if (!id && !thumbprint) attrs.problem("one of certificate-id or thumbprint is required");
  const std::string* given = id ? id : thumbprint;
  if (given && is_expression_text(*given)) {
    attrs.problem(std::string(id ? "certificate-id" : "thumbprint") +
                  ": policy expressions are not supported here: certificates are resolved when "
                  "the configuration loads; use a literal or a {{named value}}");
  } else if (id && id->empty()) {
    attrs.problem("certificate-id is empty");
  } else if (thumbprint && !id &&
             (thumbprint->size() != 40 ||
              !std::all_of(thumbprint->begin(), thumbprint->end(), is_hex))) {
    attrs.problem("thumbprint must be a SHA-1 thumbprint: 40 hexadecimal digits");
  }
  GH_TRY_STATUS(attrs.finish());

  int certificate = -1;
  if (!load.lint) {
    if (!load.backends)
      return unexpected(element_error(element, "no backend catalog to resolve the certificate in"));
    auto resolved = id ? load.backends->client_certificate_by_id(*id)
                       : load.backends->client_certificate_by_thumbprint(*thumbprint);
    if (!resolved) return unexpected(element_error(element, resolved.error().message));
    certificate = *resolved;
  }
  return std::unique_ptr<Policy>(std::make_unique<AuthenticationCertificate>(certificate));
}

}  // namespace gh::policy
