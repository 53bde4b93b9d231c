#include "http/forwarding.h"

namespace gh::http {

bool valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 200) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace gh::http
