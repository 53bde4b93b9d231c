#include "config/value_parsers.h"

#include <gtest/gtest.h>

#include <array>

namespace gh::config {
namespace {

using std::chrono::milliseconds;

TEST(ParseAddress, HostPortAndBracketedIpv6) {
  auto a = parse_address("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = parse_address("[::1]:443");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 443);
  auto c = parse_address("localhost:1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "localhost");
  auto d = parse_address("[fe80::1%eth0]:65535");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "fe80::1%eth0");
  EXPECT_EQ(d->port, 65535);
}

TEST(ParseAddress, RejectsBadInput) {
  for (const char* s :
       {"", "127.0.0.1", "127.0.0.1:", ":80", "host:0", "host:65536", "host:-1", "host:8o",
        "::1:80", "[::1]", "[::1]80", "[zz]:80", "[::1:80", "a b:80", "host:80:81"}) {
    EXPECT_FALSE(parse_address(s)) << s;
  }
  EXPECT_NE(parse_address("::1:80").error().message.find("brackets"), std::string::npos);
  EXPECT_NE(parse_address("h:70000").error().message.find("1 to 65535"), std::string::npos);
}

TEST(ParseBackendUrl, DefaultsAndBasePath) {
  auto a = parse_backend_url("http://127.0.0.1:9000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->scheme, "http");
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9000);
  EXPECT_EQ(a->base_path, "");
  auto b = parse_backend_url("HTTPS://api.internal/base/v1/");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->scheme, "https");
  EXPECT_EQ(b->port, 443);
  EXPECT_EQ(b->base_path, "/base/v1");
  auto c = parse_backend_url("http://example.com/");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 80);
  EXPECT_EQ(c->base_path, "");
  auto d = parse_backend_url("https://[::1]:8443/x");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->port, 8443);
  EXPECT_EQ(d->base_path, "/x");
}

TEST(ParseBackendUrl, RejectsBadInput) {
  for (const char* s : {"", "127.0.0.1:9000", "ftp://h", "http://", "http:///x", "http://h:0",
                        "http://h:99999", "http://user:pw@h", "http://h/x?q=1", "http://h/#f",
                        "http://h:/", "http://h/a b", "http://::1/"}) {
    EXPECT_FALSE(parse_backend_url(s)) << s;
  }
  // The message must not repeat credentials.
  auto r = parse_backend_url("http://user:hunter2@h");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos);
}

TEST(ParseDuration, UnitsAndBareSeconds) {
  EXPECT_EQ(*parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(*parse_duration("10s"), milliseconds(10'000));
  EXPECT_EQ(*parse_duration("5m"), milliseconds(300'000));
  EXPECT_EQ(*parse_duration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(*parse_duration("30"), milliseconds(30'000));
  EXPECT_EQ(*parse_duration("0"), milliseconds(0));
  EXPECT_EQ(*parse_duration("24h"), milliseconds(86'400'000));
  EXPECT_EQ(*parse_duration("1d"), milliseconds(86'400'000));
}

TEST(ParseDuration, RejectsBadInput) {
  for (const char* s : {"", "s", "1.5s", "-1s", "10 s", "10sec", "2d", "25h", "1D",
                        "99999999999999999999", "18446744073709551615ms", "1H"}) {
    EXPECT_FALSE(parse_duration(s)) << s;
  }
  EXPECT_EQ(parse_duration("25h").error().message, "duration must be at most 24h");
}

TEST(ParseDuration, DaysUpToAGivenMaximum) {
  const auto ten_years = std::chrono::hours(24 * 3650);
  EXPECT_EQ(*parse_duration("90d", ten_years), std::chrono::hours(24 * 90));
  EXPECT_EQ(*parse_duration("3650d", ten_years), ten_years);
  auto over = parse_duration("3651d", ten_years);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().message, "duration must be at most 3650d");
  EXPECT_FALSE(parse_duration("99999999999999999d", ten_years));
}

TEST(FormatDuration, LargestWholeUnit) {
  EXPECT_EQ(format_duration(std::chrono::hours(24 * 90)), "90d");
  EXPECT_EQ(format_duration(std::chrono::hours(24)), "24h");
  EXPECT_EQ(format_duration(std::chrono::hours(36)), "36h");
  EXPECT_EQ(format_duration(std::chrono::minutes(5)), "5m");
  EXPECT_EQ(format_duration(std::chrono::seconds(90)), "90s");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  // What it prints, parse_duration reads back.
  for (auto d : {milliseconds(250), milliseconds(86'400'000 * 7LL), milliseconds(61'000)}) {
    EXPECT_EQ(*parse_duration(format_duration(d), std::chrono::hours(24 * 30)), d);
  }
}

TEST(NormalizeGuid, LowerCasesAndRejectsOtherForms) {
  EXPECT_EQ(*normalize_guid("72F988BF-86f1-41AF-91ab-2D7CD011DB47"),
            "72f988bf-86f1-41af-91ab-2d7cd011db47");
  for (const char* s :
       {"", "72f988bf86f141af91ab2d7cd011db47", "{72f988bf-86f1-41af-91ab-2d7cd011db47}",
        "72f988bf-86f1-41af-91ab-2d7cd011db4g", "72f988bf-86f1-41af-91ab_2d7cd011db47",
        "72f988bf-86f1-41af-91ab-2d7cd011db477"}) {
    EXPECT_FALSE(normalize_guid(s)) << s;
  }
}

TEST(NormalizeCidr, AddressesAndPrefixes) {
  EXPECT_EQ(*normalize_cidr("10.0.0.7"), "10.0.0.7/32");
  EXPECT_EQ(*normalize_cidr("10.0.0.0/8"), "10.0.0.0/8");
  EXPECT_EQ(*normalize_cidr("0.0.0.0/0"), "0.0.0.0/0");
  EXPECT_EQ(*normalize_cidr("::1"), "::1/128");
  EXPECT_EQ(*normalize_cidr("FD00:0::/64"), "fd00::/64");
  for (const char* s : {"", "10.0.0.1/24", "10.0.0.0/33", "10.0.0/8", "fd00::1/64", "::/129",
                        "host/32", "10.0.0.0/", "10.0.0.0/-1"}) {
    EXPECT_FALSE(normalize_cidr(s)) << s;
  }
}

TEST(CheckEnvName, Charset) {
  EXPECT_TRUE(check_env_name("GATEHOUSE_MASTER_KEY"));
  EXPECT_TRUE(check_env_name("_x1"));
  for (const char* s : {"", "1A", "A-B", "A B", "A=B"}) {
    EXPECT_FALSE(check_env_name(s)) << s;
  }
}

TEST(ParseSize, PlainAndBinarySuffixes) {
  EXPECT_EQ(*parse_size("0"), 0u);
  EXPECT_EQ(*parse_size("16384"), 16384u);
  EXPECT_EQ(*parse_size("16KiB"), 16384u);
  EXPECT_EQ(*parse_size("1MiB"), 1048576u);
  EXPECT_EQ(*parse_size("2GiB"), 2147483648u);
  for (const char* s : {"", "KiB", "1KB", "1k", "1.5MiB", "-1", "1 MiB", "17179869184GiB"}) {
    EXPECT_FALSE(parse_size(s)) << s;
  }
}

TEST(CheckName, Charset) {
  EXPECT_TRUE(check_name("orders-v1.2_x"));
  EXPECT_FALSE(check_name(""));
  EXPECT_FALSE(check_name("a b"));
  EXPECT_FALSE(check_name("api:x"));
  EXPECT_FALSE(check_name(std::string(65, 'a')));
}

TEST(NormalizeApiPath, Prefixes) {
  EXPECT_EQ(*normalize_api_path(""), "");
  EXPECT_EQ(*normalize_api_path("/"), "");
  EXPECT_EQ(*normalize_api_path("/orders/"), "/orders");
  EXPECT_EQ(*normalize_api_path("/a/b"), "/a/b");
  EXPECT_FALSE(normalize_api_path("orders"));
  EXPECT_FALSE(normalize_api_path("/a?b"));
  EXPECT_FALSE(normalize_api_path("/{id}"));
}

TEST(CheckUrlTemplate, WellFormedSegments) {
  for (const char* s : {"/", "/{id}", "/orders/{order_id}/items/{item}", "/a/b/", "/_x"}) {
    EXPECT_TRUE(check_url_template(s)) << s;
  }
  for (const char* s : {"", "x", "{id}", "/{", "/}", "/{}", "/{1a}", "/x{id}", "/{id}.json",
                        "/{a-b}", "/{id}/{id}", "/a//b", "/a b", "/a?x"}) {
    EXPECT_FALSE(check_url_template(s)) << s;
  }
}

TEST(NormalizeMethod, UpperCasesTokens) {
  EXPECT_EQ(*normalize_method("get"), "GET");
  EXPECT_EQ(*normalize_method("Patch"), "PATCH");
  EXPECT_EQ(*normalize_method("*"), "*");
  EXPECT_FALSE(normalize_method(""));
  EXPECT_FALSE(normalize_method("GE T"));
  EXPECT_FALSE(normalize_method("GET/"));
}

TEST(NormalizeSha256Pin, HexAndColons) {
  const std::string upper(64, 'A');
  EXPECT_EQ(*normalize_sha256_pin(upper), std::string(64, 'a'));
  std::string colons;
  for (int i = 0; i < 32; ++i)
    colons += i ? ":0F" : "0F";
  EXPECT_EQ(*normalize_sha256_pin(colons), [] {
    std::string s;
    for (int i = 0; i < 32; ++i)
      s += "0f";
    return s;
  }());
  EXPECT_FALSE(normalize_sha256_pin(std::string(63, 'a')));
  EXPECT_FALSE(normalize_sha256_pin(std::string(65, 'a')));
  EXPECT_FALSE(normalize_sha256_pin(std::string(63, 'a') + "g"));
}

TEST(NormalizeHostName, LowerCasesAndRejectsPorts) {
  EXPECT_EQ(*normalize_host_name("API.Example.com"), "api.example.com");
  EXPECT_EQ(*normalize_host_name("::1"), "::1");
  EXPECT_EQ(*normalize_host_name("[::1]"), "::1");
  EXPECT_FALSE(normalize_host_name("[a:b]"));
  EXPECT_FALSE(normalize_host_name("[]"));
  EXPECT_FALSE(normalize_host_name("api.example.com:443"));
  EXPECT_FALSE(normalize_host_name(""));
  EXPECT_FALSE(normalize_host_name("a/b"));
}

TEST(Suggest, ClosestKeyWithinATypo) {
  constexpr std::array<std::string_view, 3> keys{"timeouts", "limits", "listeners"};
  EXPECT_EQ(suggest("timeout", keys), "timeouts");
  EXPECT_EQ(suggest("listners", keys), "listeners");
  EXPECT_EQ(suggest("limts", keys), "limits");
  EXPECT_EQ(suggest("banana", keys), std::nullopt);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("tsl", "tls"), 1u);
}

}  // namespace
}  // namespace gh::config

namespace gh::config {
namespace {

TEST(ParseUtcTime, DateTimesAndDates) {
  EXPECT_EQ(parse_utc_time("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(parse_utc_time("2024-01-01T00:00:00Z").value(), 1'704'067'200);
  EXPECT_EQ(parse_utc_time("2024-01-01T00:00:00").value(), 1'704'067'200);
  EXPECT_EQ(parse_utc_time("2024-02-29").value(), 1'709'164'800);
  EXPECT_EQ(parse_utc_time("2000-03-01T12:34:56Z").value(), 951'914'096);
}

TEST(ParseUtcTime, RejectsMalformedAndImpossibleDates) {
  for (const char* bad :
       {"", "2024", "2024-1-01", "2023-02-29", "2024-13-01", "2024-01-32", "2024-01-01T24:00:00Z",
        "2024-01-01 00:00:00", "1969-12-31", "2024-01-01T00:00:00+01:00", "2024-01-01T00:00Z"}) {
    auto r = parse_utc_time(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument);
    }
  }
}

}  // namespace
}  // namespace gh::config
