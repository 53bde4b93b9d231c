#include "identity/assertion_checks.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace gh::identity {
namespace {

TEST(DecodeThumbprint, ToleratesPaddingAndChecksLength) {
  // MSAL Python 1.21's padded x5t from the capture, and the same unpadded.
  auto padded = decode_thumbprint("eers0MGIfX7vIelLhF8UsInqHXw=", 20);
  auto plain = decode_thumbprint("eers0MGIfX7vIelLhF8UsInqHXw", 20);
  ASSERT_TRUE(padded && plain);
  EXPECT_EQ(*padded, *plain);
  EXPECT_EQ(core::hex_encode_upper(*plain), "79EAECD0C1887D7EEF21E94B845F14B089EA1D7C");
  EXPECT_FALSE(decode_thumbprint("eers0MGIfX7vIelLhF8UsInqHXw", 32));  // wrong size
  EXPECT_FALSE(decode_thumbprint("eers0MGIfX7vIelLhF8UsInqHXw===", 20));
  EXPECT_FALSE(decode_thumbprint("eers0MGIfX7vIelLhF8UsInq+Xw", 20));  // not base64url
  auto s256 = decode_thumbprint("L6tARvZyCgDbGeuCy1sV065e1-Vkkgh2CfIeKyDzzOw", 32);
  ASSERT_TRUE(s256);
  EXPECT_EQ(s256->size(), 32u);
}

TEST(CanonicalOrigin, LowerCasesAndDropsDefaultPorts) {
  EXPECT_EQ(canonical_origin("HTTPS://Login.Example:443"), "https://login.example");
  EXPECT_EQ(canonical_origin("https://login.example:8443"), "https://login.example:8443");
  EXPECT_EQ(canonical_origin("http://127.0.0.1:80"), "http://127.0.0.1");
  EXPECT_EQ(canonical_origin("https://[::1]:8443"), "https://[::1]:8443");
  EXPECT_FALSE(canonical_origin("https://login.example/path"));
  EXPECT_FALSE(canonical_origin("https://user@login.example"));
  EXPECT_FALSE(canonical_origin("ftp://login.example"));
  EXPECT_FALSE(canonical_origin("https://login.example:0"));
  EXPECT_FALSE(canonical_origin("https://login.example:99999"));
}

TEST(TokenEndpointAudience, MatchesOriginTenantAndPath) {
  Tenant t;
  t.id = "11111111-2222-3333-4444-555555555555";
  t.aliases = {"contoso.example"};
  const std::vector<std::string_view> origins = {"https://login.test/", "https://127.0.0.1:8443"};
  const auto ok = [&](std::string_view aud) { return is_token_endpoint_audience(aud, t, origins); };
  EXPECT_TRUE(ok("https://login.test/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token"));
  EXPECT_TRUE(ok("https://login.test:443/contoso.example/oauth2/token"));
  EXPECT_TRUE(ok("https://127.0.0.1:8443/contoso.example/oauth2/v2.0/token?x=1"));
  EXPECT_FALSE(ok("https://127.0.0.1/contoso.example/oauth2/v2.0/token"));
  EXPECT_FALSE(ok("https://login.test/contoso.example/oauth2/v2.0/token/"));
  EXPECT_FALSE(ok("https://login.test/contoso.example/oauth2/v2.0/Token"));
  EXPECT_FALSE(ok("https://login.test/other.example/oauth2/v2.0/token"));
  EXPECT_FALSE(ok("https://login.test//oauth2/v2.0/token"));
  EXPECT_FALSE(ok("https://login.test"));
  EXPECT_FALSE(ok("login.test/contoso.example/oauth2/v2.0/token"));
  EXPECT_FALSE(ok("https://login.test@evil.test/contoso.example/oauth2/v2.0/token"));
}

TEST(LoopbackHttp, OnlyPlainHttpToLoopback) {
  EXPECT_TRUE(is_loopback_http_url("http://127.0.0.1:8080/issuer"));
  EXPECT_TRUE(is_loopback_http_url("http://127.3.4.5/x"));
  EXPECT_TRUE(is_loopback_http_url("http://localhost:9000"));
  EXPECT_TRUE(is_loopback_http_url("http://[::1]:9000/"));
  EXPECT_FALSE(is_loopback_http_url("https://127.0.0.1/"));
  EXPECT_FALSE(is_loopback_http_url("http://10.0.0.1/"));
  EXPECT_FALSE(is_loopback_http_url("http://127.0.0.1.evil.test/"));
  EXPECT_FALSE(is_loopback_http_url("http://localhost.evil.test/"));
}

TEST(EntraTimes, FormatsLikeEntra) {
  EXPECT_EQ(entra_key_time(1'750'000'000), "06/15/2025 15:06:40");
  EXPECT_EQ(entra_precise_time(1'750'000'000), "2025-06-15T15:06:40.0000000Z");
  EXPECT_EQ(entra_precise_time(1'750'000'000.5), "2025-06-15T15:06:40.5000000Z");
  EXPECT_EQ(entra_precise_time(0), "1970-01-01T00:00:00.0000000Z");
  EXPECT_EQ(entra_precise_time(59.99999999), "1970-01-01T00:01:00.0000000Z");  // carry
}

TEST(EntraTimes, FourDigitYearsAndClampedRange) {
  // Found by the client_assertion fuzz target: strftime's %Y printed year 1 as "1", so an
  // assertion with nbf = -62135596800 got "1-01-01T..." in its 700024 message.
  EXPECT_EQ(entra_precise_time(-62135596800.0), "0001-01-01T00:00:00.0000000Z");
  EXPECT_EQ(entra_precise_time(-1e300), "0001-01-01T00:00:00.0000000Z");
  EXPECT_EQ(entra_precise_time(-30000000000.25), "1019-05-04T18:39:59.7500000Z");
  EXPECT_EQ(entra_precise_time(1e300), "9999-12-31T23:59:59.0000000Z");
  EXPECT_EQ(entra_key_time(-62135596800), "01/01/0001 00:00:00");
  EXPECT_EQ(entra_key_time(-59011459200), "01/01/0100 00:00:00");
  EXPECT_EQ(entra_key_time(INT64_MAX), "12/31/9999 23:59:59");
  EXPECT_EQ(entra_key_time(INT64_MIN), "01/01/0001 00:00:00");
}

TEST(Printable, ReplacesControlCharactersAndTruncates) {
  EXPECT_EQ(printable("a\r\nb\x01"), "a??b?");
  EXPECT_EQ(printable(std::string(300, 'x')), std::string(200, 'x') + "...");
}

}  // namespace
}  // namespace gh::identity
