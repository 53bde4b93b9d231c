// Fuzzes the vault admin API's request bodies (admin/vault_requests.h). Input: one selector byte
// ('s' secret, 'c' certificate, 'i' import, 'e' export, 't' UTC time; anything else: secret),
// then the body (or the time text).
//
// Invariants: the parsers answer (never throw); what they accept is well-formed (a secret has a
// value, a policy a subject and a validity of 1-120 months, an export a known format); a time
// they accept formats back to the same text; a refusal is InvalidArgument.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "admin/vault_requests.h"
#include "jose/jwt.h"

namespace {

using namespace gh;

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

template <class T>
void check_refusal(const Result<T>& r) {
  if (!r) FUZZ_CHECK(r.error().kind == ErrorKind::InvalidArgument);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char selector = static_cast<char>(data[0]);
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (selector) {
    case 'c': {
      auto r = admin::parse_certificate_request(body);
      check_refusal(r);
      if (r) {
        FUZZ_CHECK(!r->policy.subject.empty());
        FUZZ_CHECK(r->policy.validity_months >= 1 && r->policy.validity_months <= 120);
      }
      break;
    }
    case 'i': {
      auto r = admin::parse_import_request(body);
      check_refusal(r);
      if (r) FUZZ_CHECK(!r->data.empty());
      break;
    }
    case 'e': {
      auto r = admin::parse_export_request(body);
      check_refusal(r);
      if (r) FUZZ_CHECK(r->format == "pem" || r->format == "pfx");
      break;
    }
    case 't': {
      auto r = admin::parse_utc_time(body);
      check_refusal(r);
      if (r) FUZZ_CHECK(jose::format_numeric_date(static_cast<double>(*r)) == body);
      break;
    }
    default: {
      auto r = admin::parse_secret_request("name", body);
      check_refusal(r);
      if (r) {
        FUZZ_CHECK(!r->value.empty());
        FUZZ_CHECK(r->expires == 0 || r->not_before == 0 || r->expires > r->not_before);
      }
      break;
    }
  }
  return 0;
}
