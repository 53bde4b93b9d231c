#pragma once

// The policy kinds Gatehouse runs, by element name: one line each in registry.cc.

#include <cstdint>
#include <span>
#include <string_view>

#include "policy/policy.h"

namespace gh::policy {

/// Bit masks of where a kind may appear.
enum SectionMask : uint8_t {
  kInbound = 1,
  kBackend = 2,
  kOutbound = 4,
  kOnError = 8,
  kAnySection = 15,
};
enum ScopeMask : uint8_t {
  kGlobalScope = 1,
  kProductScope = 2,
  kApiScope = 4,
  kOperationScope = 8,
  kAnyScope = 15,
};

struct PolicyKind {
  std::string_view element;
  Factory make;
  uint8_t sections = kAnySection;
  uint8_t scopes = kAnyScope;
};

/// Every registered kind (control flow — policies, base, choose, include-fragment — is the
/// pipeline compiler's, not listed here).
std::span<const PolicyKind> policy_kinds() noexcept;
/// The kind for an element name, or null.
const PolicyKind* find_policy_kind(std::string_view element) noexcept;

/// APIM policies Gatehouse knows of but does not run; lint and load name them as unsupported
/// (rather than unknown) so that users know it is a gap, not a typo.
bool is_known_unsupported(std::string_view element) noexcept;

}  // namespace gh::policy
