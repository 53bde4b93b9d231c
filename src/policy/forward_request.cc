#include "policy/forward_request.h"

#include <chrono>
#include <cstdint>

#include "core/strings.h"
#include "policy/expression.h"
#include "policy/field_setter.h"

namespace gh::policy {

namespace {

using std::chrono::milliseconds;

constexpr int64_t kDefaultTimeoutSeconds = 300;  // APIM's default
constexpr int64_t kMaxTimeoutMs = 3'600'000;     // an hour: beyond it, a stuck backend

class ForwardRequest final : public Policy {
 public:
  // `timeout` is in `unit_ms` milliseconds (1000 for `timeout`, 1 for `timeout-ms`).
  ForwardRequest(TextValue timeout, int64_t unit_ms)
      : timeout_(std::move(timeout)), unit_ms_(unit_ms) {
    if (timeout_.is_literal())
      literal_ms_ =
          milliseconds(static_cast<int64_t>(*core::parse_uint(timeout_.literal())) * unit_ms_);
  }

  Flow apply(RequestContext& ctx) const override {
    if (timeout_.is_literal()) {
      ctx.backend_timeout = literal_ms_;
    } else {
      auto value = timeout_.evaluate_int(ctx);
      if (!value) return fail_evaluation(ctx, "forward-request", value.error(), id());
      if (*value < 1 || *value > kMaxTimeoutMs / unit_ms_) {
        return fail_evaluation(ctx, "forward-request",
                               core::Error(ErrorKind::InvalidArgument,
                                           "timeout " + std::to_string(*value) + " is outside 1.." +
                                               std::to_string(kMaxTimeoutMs / unit_ms_)),
                               id());
      }
      ctx.backend_timeout = milliseconds(*value * unit_ms_);
    }
    ctx.forward = true;
    return Flow::Continue;
  }

 private:
  TextValue timeout_;
  int64_t unit_ms_;
  milliseconds literal_ms_{0};
};

// A literal attribute that must have one value (APIM allows others Gatehouse does not run).
void require_value(AttributeReader& attrs, std::string_view name, std::string_view only,
                   std::string_view why) {
  const std::string* raw = attrs.raw(name);
  if (raw && !core::iequals(*raw, only))
    attrs.problem(std::string(name) + "=\"" + *raw + "\" is not supported (" + std::string(why) +
                  ")");
}

}  // namespace

Result<std::unique_ptr<Policy>> make_forward_request(const Element& element, LoadContext&) {
  AttributeReader attrs(element);
  const std::string* seconds = attrs.raw("timeout");
  const std::string* ms = attrs.raw("timeout-ms");
  if (seconds && ms) attrs.problem("timeout and timeout-ms are mutually exclusive");

  const int64_t unit_ms = ms ? 1 : 1000;
  TextValue timeout(std::to_string(kDefaultTimeoutSeconds));
  if (const std::string* raw = ms ? ms : seconds) {
    const char* name = ms ? "timeout-ms" : "timeout";
    if (is_expression_text(*raw)) {
      if (auto v = TextValue::compile(*raw, ValueType::Int))
        timeout = std::move(*v);
      else
        attrs.problem(std::string(name) + ": " + v.error().message);
    } else {
      const auto n = core::parse_uint(*raw);
      if (!n || *n < 1 || *n > static_cast<uint64_t>(kMaxTimeoutMs / unit_ms))
        attrs.problem(std::string(name) + " must be an integer from 1 to " +
                      std::to_string(kMaxTimeoutMs / unit_ms));
      else
        timeout = TextValue(*raw);
    }
  }

  require_value(attrs, "http-version", "1", "Gatehouse speaks HTTP/1.1 to backends");
  require_value(attrs, "follow-redirects", "false",
                "the backend's redirects are returned to the client");
  require_value(attrs, "fail-on-error-status-code", "false",
                "backend error statuses are returned to the client, not sent to on-error");
  // Read and ignored: bodies are always streamed; 100-continue is the client's and backend's.
  attrs.raw("buffer-request-body");
  attrs.raw("buffer-response");
  attrs.raw("continue-timeout");
  if (!element.children.empty()) attrs.problem("<forward-request> has no child elements");
  GH_TRY_STATUS(attrs.finish());
  return std::unique_ptr<Policy>(std::make_unique<ForwardRequest>(std::move(timeout), unit_ms));
}

}  // namespace gh::policy
