#include "policy/throttling.h"

#include <gtest/gtest.h>

namespace gh::policy::throttling {
namespace {

TEST(Throttling, TimeSpansPrintAsDotNetsInvariantFormat) {
  EXPECT_EQ(format_timespan(0), "00:00:00");
  EXPECT_EQ(format_timespan(1), "00:00:01");
  EXPECT_EQ(format_timespan(3 * 3600 + 30 * 60 + 56), "03:30:56");
  EXPECT_EQ(format_timespan(86399), "23:59:59");
  EXPECT_EQ(format_timespan(86400), "1.00:00:00");
  EXPECT_EQ(format_timespan(5 * 86400 + 3 * 3600 + 23 * 60 + 11), "5.03:23:11");
  EXPECT_EQ(format_timespan(400LL * 86400), "400.00:00:00");
}

TEST(Throttling, PeriodStartsParseAsISO8601) {
  EXPECT_EQ(parse_period_start("1970-01-01T00:00:00Z").value_or(-1), 0);
  EXPECT_EQ(parse_period_start("0001-01-01T00:00:00Z").value_or(0), kYearOneUnix);
  EXPECT_EQ(parse_period_start("2027-01-15T08:00:00Z").value_or(0), 1'800'000'000);
  EXPECT_EQ(parse_period_start("2027-01-15T08:00:00").value_or(0), 1'800'000'000);
  EXPECT_EQ(parse_period_start("2027-01-15T08:00:00.250Z").value_or(0), 1'800'000'000);
  EXPECT_EQ(parse_period_start("2027-01-15T10:30:00+02:30").value_or(0), 1'800'000'000);
  EXPECT_EQ(parse_period_start("2027-01-15T03:00:00-0500").value_or(0), 1'800'000'000);
  EXPECT_EQ(parse_period_start("2027-01-15T08:00Z").value_or(0), 1'800'000'000);
  EXPECT_EQ(parse_period_start("2027-01-15").value_or(0), 1'800'000'000 - 8 * 3600);
  EXPECT_EQ(parse_period_start("2024-02-29T00:00:00Z").value_or(0), 1'709'164'800);
  EXPECT_EQ(parse_period_start("9999-12-31T23:59:59Z").value_or(0), 253'402'300'799);
  for (const char* bad : {"", "2024", "2024-1-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2024-13-01T00:00:00Z", "2024-01-32T00:00:00Z", "2024-01-01T24:00:00Z",
                          "2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z", "0000-01-01T00:00:00Z",
                          "2024-01-01T00:00:00ZZ", "2024-01-01T00:00:00.Z",
                          "2024-01-01T00:00:00+15:00", "2024-01-01X00:00:00Z", "@(DateTime.Now)"}) {
    EXPECT_FALSE(parse_period_start(bad)) << bad;
  }
}

}  // namespace
}  // namespace gh::policy::throttling
