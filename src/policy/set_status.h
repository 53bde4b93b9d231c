#pragma once

// <set-status code="401" reason="Unauthorized"/> (apim-policies.md §7.8). Inside
// <return-response> it gives the response its status; on its own it sets the status of
// ctx.response when the gateway is already answering (on-error), and otherwise records
// ctx.response_status_override for the backend's response on its way to the client.
// `code` (200-599) and `reason` (optional; "" = the standard phrase) may be expressions.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "core/result.h"
#include "policy/document.h"
#include "policy/expression.h"
#include "policy/policy.h"

namespace gh::policy {

/// A compiled <set-status>, shared with return-response.
class StatusSetter {
 public:
  static Result<StatusSetter> load(const Element& element);
  /// Status and reason for this request; an Error (message for LastError) when an expression
  /// fails or yields a code outside 200-599 or a reason with control characters.
  Result<std::pair<uint16_t, std::string>> evaluate(const RequestContext& ctx) const;
  bool is_literal() const noexcept { return code_.is_literal() && reason_.is_literal(); }
  /// Status and reason when is_literal().
  std::pair<uint16_t, std::string> literal() const { return {literal_code_, reason_.literal()}; }

 private:
  TextValue code_;
  TextValue reason_;
  uint16_t literal_code_ = 200;
};

Result<std::unique_ptr<Policy>> make_set_status(const Element& element, LoadContext& load);

}  // namespace gh::policy
