#pragma once

// <check-header> (apim-policies.md §6.1): requires a request header, optionally with one of a
// list of values.
//
//   <check-header name="X-Api-Client" failed-check-httpcode="401"
//       failed-check-error-message="Not authorized" ignore-case="false">
//     <value>f6dc69a089844cf6b2019bae6d36fac8</value>
//   </check-header>
//
// All four attributes are required and may be expressions. No <value>: the header only has to be
// present. A header with several values (repeated fields or commas) passes when its whole value
// or any one comma-separated element (spaces trimmed) equals an allowed value.
// Failure: failed-check-httpcode with `{ "statusCode": N, "message": "<failed-check-error-message>"
// }` and LastError HeaderNotFound / HeaderValueNotAllowed (docs/policies/check-header.md).

#include <memory>
#include <string_view>

#include "core/result.h"
#include "policy/document.h"
#include "policy/policy.h"

namespace gh::policy {

/// LastError.Reason values (apim-policies.md §1.6).
inline constexpr std::string_view kHeaderNotFound = "HeaderNotFound";
inline constexpr std::string_view kHeaderValueNotAllowed = "HeaderValueNotAllowed";

/// Factory for the registry: checks every attribute and <value> and compiles expressions at load.
Result<std::unique_ptr<Policy>> make_check_header(const Element& element, LoadContext& load);

}  // namespace gh::policy
