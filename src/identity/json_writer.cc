#include "identity/json_writer.h"

#include <charconv>

namespace gh::identity {
namespace {

void append_padded(std::string& out, int64_t v, int width) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes always hold an int64_t
  for (auto n = end - buf; n < width; ++n)
    out += '0';
  out.append(buf, end);
}

}  // namespace

void append_json_int(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

void append_utc_time(std::string& out, int64_t unix_seconds, char sep) {
  // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian, valid for any int64 day).
  int64_t days = unix_seconds / 86400;
  int64_t secs = unix_seconds % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  append_padded(out, year, 4);
  out += '-';
  append_padded(out, month, 2);
  out += '-';
  append_padded(out, day, 2);
  out += sep;
  append_padded(out, secs / 3600, 2);
  out += ':';
  append_padded(out, secs / 60 % 60, 2);
  out += ':';
  append_padded(out, secs % 60, 2);
}

}  // namespace gh::identity
