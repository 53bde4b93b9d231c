#include "core/error.h"

namespace gh::core {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidArgument:
      return "invalid_argument";
    case ErrorKind::Conflict:
      return "conflict";
    case ErrorKind::NotFound:
      return "not_found";
    case ErrorKind::Unauthenticated:
      return "unauthenticated";
    case ErrorKind::PermissionDenied:
      return "permission_denied";
    case ErrorKind::Expired:
      return "expired";
    case ErrorKind::LimitExceeded:
      return "limit_exceeded";
    case ErrorKind::Timeout:
      return "timeout";
    case ErrorKind::Unavailable:
      return "unavailable";
    case ErrorKind::Io:
      return "io";
    case ErrorKind::Crypto:
      return "crypto";
    case ErrorKind::Internal:
      return "internal";
  }
  return "unknown";
}

Error Error::with_context(std::string_view context) const {
  Error e = *this;
  e.message = std::string(context) + ": " + message;
  return e;
}

}  // namespace gh::core
