#include "crypto/openssl_error.h"

#include <openssl/err.h>

namespace gh::crypto {

std::string drain_openssl_errors() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    const char* reason = ERR_reason_error_string(code);
    out += reason ? reason : buf;
  }
  return out;
}

core::Error openssl_error(std::string_view what) {
  std::string reasons = drain_openssl_errors();
  std::string msg(what);
  if (!reasons.empty()) msg += ": " + reasons;
  return core::Error{core::ErrorKind::Crypto, std::move(msg)};
}

void clear_openssl_errors() noexcept {
  ERR_clear_error();
}

}  // namespace gh::crypto
