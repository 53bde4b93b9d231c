#pragma once

// References in place of file paths: "vault:secrets/NAME" in any configuration field that names
// a file makes the file's contents come from a resolver registered for the scheme (the vault
// role registers "vault" at start). crypto::read_file consults this first, so every loader
// (TLS certificates and keys, trust stores, CRLs, named values, policy certificates) accepts
// references without knowing about the vault; the gateway polls stamp() as it polls file
// modification times, and reloads when one changes.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gh::core {

class ReferenceResolver {
 public:
  virtual ~ReferenceResolver() = default;
  /// The contents `reference` (the part after "scheme:") stands for.
  virtual Result<std::string> read(std::string_view reference) = 0;
  /// Changes whenever read() would return something else (a version id); "" when the
  /// reference does not resolve. Cheap: called about once a second per reference.
  virtual std::string stamp(std::string_view reference) = 0;
};

/// True when `path` has the form "scheme:rest" for a scheme of 2+ lower-case letters (so that
/// "C:\x" and relative paths never qualify) — whether or not a resolver is registered.
bool is_reference(std::string_view path) noexcept;

/// Registers (or with null, removes) the resolver of `scheme`. Process-wide; called at start.
void register_resolver(std::string scheme, std::shared_ptr<ReferenceResolver> resolver);

/// True when a resolver is registered for `scheme`.
bool has_resolver(std::string_view scheme);

/// Reads a reference: NotFound naming the scheme when no resolver is registered for it.
Result<std::string> read_reference(std::string_view path);
/// The resolver's stamp, or "" when unresolvable.
std::string reference_stamp(std::string_view path);

/// What each reference resolved to when last read, for metrics: (reference, stamp) sorted.
std::vector<std::pair<std::string, std::string>> resolved_references();

}  // namespace gh::core
