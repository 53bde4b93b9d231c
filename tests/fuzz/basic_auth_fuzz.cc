// Fuzzes HTTP Basic client credentials (identity::parse_basic_authorization): any header value
// either is not Basic (nullopt), is refused with AADSTS7000218, or yields a user and password
// that re-encode (form-url-encoding, ':', base64) to a value the parser reads back identically.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "identity/client_auth.h"
#include "identity/entra_error.h"

namespace {

// Aborts (a finding) naming the broken invariant.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

std::string form_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  auto parsed = gh::identity::parse_basic_authorization(value);
  if (!parsed) {
    FUZZ_CHECK(gh::identity::aadsts_of(parsed.error()) == gh::identity::aadsts::kNoCredential);
    return 0;
  }
  if (!*parsed) return 0;
  const auto& creds = **parsed;
  // Decoding never grows: base64 shrinks by a quarter, %XX by two thirds.
  FUZZ_CHECK(creds.user.size() + creds.password.size() < size);
  const std::string again =
      "Basic " + gh::core::base64_encode(gh::core::as_bytes(form_encode(creds.user) + ":" +
                                                            form_encode(creds.password)));
  auto round_trip = gh::identity::parse_basic_authorization(again);
  FUZZ_CHECK(round_trip && *round_trip && (*round_trip)->user == creds.user &&
             (*round_trip)->password == creds.password);
  return 0;
}
