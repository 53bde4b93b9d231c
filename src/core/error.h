#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace gh::core {

/// What went wrong, coarsely: callers branch on this; `detail` carries a module's own code.
enum class ErrorKind : uint8_t {
  InvalidArgument,   // malformed input from a caller or a file
  NotFound,          // a named thing does not exist
  Conflict,          // a named thing already exists, or the change clashes with current state
  Unauthenticated,   // credentials missing or wrong
  PermissionDenied,  // authenticated, not allowed
  Expired,           // outside a validity period
  LimitExceeded,     // a configured size or rate limit
  Timeout,           // a deadline passed
  Unavailable,       // a peer could not be reached
  Io,                // file or socket I/O failed
  Crypto,            // OpenSSL reported a failure
  Internal,          // a bug: should not happen
};

std::string_view to_string(ErrorKind kind) noexcept;

/// The value carried by a failed Result. `detail` is a module-specific enum value (for example
/// jose::JwtError) so that callers can map precise reasons without parsing messages.
struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string message;
  int detail = 0;
  uint16_t http_status = 0;  // 0 when the error has no HTTP meaning of its own

  Error() = default;
  Error(ErrorKind k, std::string msg, int d = 0, uint16_t status = 0)
      : kind(k), message(std::move(msg)), detail(d), http_status(status) {}

  /// Returns a copy whose message is prefixed with `context: ` (where the failure happened).
  [[nodiscard]] Error with_context(std::string_view context) const;
};

}  // namespace gh::core
