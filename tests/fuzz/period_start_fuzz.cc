// Fuzzes quota-by-key's first-period-start parser (policy::throttling::parse_period_start): any
// text either fails or yields a time within years 1..9999 (± the largest offset) that, printed
// back as yyyy-MM-ddTHH:mm:ssZ, parses to the same time.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "policy/throttling.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

// H. Hinnant's civil_from_days.
void civil_from_days(int64_t z, int64_t& y, int64_t& m, int64_t& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = yoe + era * 400 + (m <= 2);
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = gh::policy::throttling::parse_period_start(text);
  if (!parsed) return 0;
  const int64_t t = *parsed;
  constexpr int64_t kMaxOffset = 14 * 3600 + 59 * 60;
  FUZZ_CHECK(t >= gh::policy::throttling::kYearOneUnix - kMaxOffset);
  FUZZ_CHECK(t <= 253'402'300'799 + kMaxOffset);
  const int64_t days = floor_div(t, 86400);
  const int64_t secs = t - days * 86400;
  int64_t y = 0, m = 0, d = 0;
  civil_from_days(days, y, m, d);
  if (y < 1 || y > 9999) return 0;  // an offset moved it past the range: not printable back
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  auto again = gh::policy::throttling::parse_period_start(buf);
  FUZZ_CHECK(again && *again == t);
  return 0;
}
