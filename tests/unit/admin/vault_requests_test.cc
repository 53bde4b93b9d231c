// The vault admin API's request bodies (admin/vault_requests.h): what each accepts, its
// defaults, and that every refusal names the field without quoting a value.

#include "admin/vault_requests.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "core/encoding.h"

namespace gh::admin {
namespace {

template <class T>
void expect_invalid(const Result<T>& r, std::string_view mentions) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(r.error().message.find(mentions), std::string::npos) << r.error().message;
}

TEST(ParseUtcTime, ReadsTheCanonicalForm) {
  EXPECT_EQ(*parse_utc_time("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parse_utc_time("2027-01-31T00:00:00Z"), 1801353600);
  EXPECT_EQ(*parse_utc_time("2024-02-29T23:59:59Z"), 1709251199);  // a leap day
  EXPECT_EQ(*parse_utc_time("2000-03-01T12:30:05Z"), 951913805);
}

TEST(ParseUtcTime, RefusesAnythingElse) {
  for (std::string_view bad :
       {"", "2027-01-31", "2027-01-31T00:00:00", "2027-01-31T00:00:00+01:00",
        "2027-01-31 00:00:00Z", "2027-13-01T00:00:00Z", "2027-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z", "2027-01-32T00:00:00Z", "2027-01-31T24:00:00Z",
        "2027-01-31T00:60:00Z", "2027-01-31T00:00:60Z", "1969-12-31T23:59:59Z",
        "2027-0a-31T00:00:00Z", "+027-01-31T00:00:00Z", "2027-01-31T00:00:00.5Z"}) {
    EXPECT_FALSE(parse_utc_time(bad)) << bad;
  }
}

TEST(ParseSecretRequest, TakesEveryField) {
  auto s = parse_secret_request(
      "backend-key",
      R"({"value":"s3cr3t","content_type":"text/plain","enabled":false,)"
      R"("not_before":1800000000,"expires":"2027-01-31T00:00:00Z","tags":{"env":"prod","team":"a"}})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->name, "backend-key");
  EXPECT_EQ(s->value, "s3cr3t");
  EXPECT_EQ(s->content_type, "text/plain");
  EXPECT_FALSE(s->enabled);
  EXPECT_EQ(s->not_before, 1800000000);
  EXPECT_EQ(s->expires, 1801353600);
  ASSERT_EQ(s->tags.size(), 2u);
  EXPECT_EQ(s->tags[0], (std::pair<std::string, std::string>{"env", "prod"}));
  EXPECT_EQ(s->tags[1], (std::pair<std::string, std::string>{"team", "a"}));
}

TEST(ParseSecretRequest, DefaultsToEnabledWithoutDates) {
  auto s = parse_secret_request("k", R"({"value":"v"})");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->enabled);
  EXPECT_EQ(s->not_before, 0);
  EXPECT_EQ(s->expires, 0);
  EXPECT_TRUE(s->content_type.empty());
  EXPECT_TRUE(s->tags.empty());
}

TEST(ParseSecretRequest, RefusalsNameTheFieldAndNeverTheValue) {
  expect_invalid(parse_secret_request("k", ""), "'value' is required");
  expect_invalid(parse_secret_request("k", R"({"value":""})"), "'value' is required");
  expect_invalid(parse_secret_request("k", R"({"value":42})"), "'value' must be a string");
  expect_invalid(parse_secret_request("k", R"({"value":"hunter2","expire":1})"),
                 "did you mean 'expires'");
  expect_invalid(parse_secret_request("k", R"({"value":"v","expires":"tomorrow"})"),
                 "'expires' must be Unix seconds or a UTC time");
  expect_invalid(parse_secret_request("k", R"({"value":"v","expires":-5})"), "'expires'");
  expect_invalid(parse_secret_request("k", R"({"value":"v","not_before":20,"expires":10})"),
                 "after 'not_before'");
  expect_invalid(parse_secret_request("k", R"({"value":"v","tags":{"a":1}})"), "'tags'");
  expect_invalid(parse_secret_request("k", R"({"value":"v","tags":["a"]})"), "'tags'");
  expect_invalid(parse_secret_request("k", R"({"value":"hunter2")"), "JSON object");
  auto r = parse_secret_request("k", R"({"value":"hunter2","enabled":"yes"})");
  expect_invalid(r, "'enabled'");
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos);
}

TEST(ParseCertificateRequest, ReadsThePolicy) {
  auto c = parse_certificate_request(
      R"({"policy":{"subject":"CN=gw","dns_names":["gw.example","gw2.example"],"key_type":"EC",)"
      R"("curve":"P-384","validity_months":6,"issuer":"dev-ca","renew_days_before_expiry":30,)"
      R"("content_type":"application/x-pkcs12","exportable":false},"tags":{"owner":"ops"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->policy.subject, "CN=gw");
  EXPECT_EQ(c->policy.dns_names, (std::vector<std::string>{"gw.example", "gw2.example"}));
  EXPECT_EQ(c->policy.key_type, "EC");
  EXPECT_EQ(c->policy.curve, "P-384");
  EXPECT_EQ(c->policy.validity_months, 6);
  EXPECT_EQ(c->policy.issuer, "dev-ca");
  EXPECT_EQ(c->policy.renew_days_before_expiry, 30);
  EXPECT_EQ(c->policy.renew_at_lifetime_percentage, 0);  // the days form wins
  EXPECT_EQ(c->policy.content_type, "application/x-pkcs12");
  EXPECT_FALSE(c->policy.exportable);
  ASSERT_EQ(c->tags.size(), 1u);
}

TEST(ParseCertificateRequest, DefaultsAsKeyVault) {
  auto c = parse_certificate_request(R"({"policy":{"subject":"CN=a"}})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->policy.issuer, "Self");
  EXPECT_EQ(c->policy.key_type, "RSA");
  EXPECT_EQ(c->policy.key_size, 2048);
  EXPECT_EQ(c->policy.validity_months, 12);
  EXPECT_EQ(c->policy.renew_days_before_expiry, 0);
  EXPECT_EQ(c->policy.renew_at_lifetime_percentage, 80);
  EXPECT_TRUE(c->policy.exportable);
  EXPECT_EQ(c->policy.content_type, "application/x-pem-file");
}

TEST(ParseCertificateRequest, ZeroDaysMeansNeverRenewed) {
  auto c = parse_certificate_request(
      R"({"policy":{"subject":"CN=a","renew_days_before_expiry":0,"renew_at_lifetime_percentage":0}})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->policy.renew_days_before_expiry, 0);
  EXPECT_EQ(c->policy.renew_at_lifetime_percentage, 0);
}

TEST(ParseCertificateRequest, RefusalsNameTheField) {
  expect_invalid(parse_certificate_request(""), "'policy' is required");
  expect_invalid(parse_certificate_request(R"({"policy":{}})"), "'policy.subject' is required");
  expect_invalid(parse_certificate_request(R"({"policy":"CN=a"})"), "'policy' must be an object");
  expect_invalid(parse_certificate_request(R"({"policy":{"subject":"CN=a","subjekt":"x"}})"),
                 "'policy.subjekt' (did you mean 'policy.subject'?)");
  expect_invalid(parse_certificate_request(R"({"policy":{"subject":"CN=a","validity_months":0}})"),
                 "'validity_months' must be between 1 and 120");
  expect_invalid(
      parse_certificate_request(R"({"policy":{"subject":"CN=a","dns_names":"a.example"}})"),
      "'policy.dns_names' must be a list of strings");
}

TEST(ParseImportRequest, PemStaysTextOtherwiseBase64) {
  const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  boost::json::object body{{"value", pem}, {"password", "pw"}};
  auto r = parse_import_request(boost::json::serialize(body));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, pem);
  EXPECT_EQ(r->password, "pw");

  const std::string pfx("\x30\x82\x01\x00\xff\x00binary", 12);
  std::string b64 = core::base64_encode(core::as_bytes(pfx));
  b64.insert(8, "\n");  // wrapped lines are fine
  auto p = parse_import_request(boost::json::serialize(boost::json::object{{"value", b64}}));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->data, pfx);
  EXPECT_TRUE(p->password.empty());

  expect_invalid(parse_import_request(R"({"value":"not base64 !!"})"),
                 "PEM text or base64 of a PKCS#12");
  expect_invalid(parse_import_request(R"({"value":""})"), "'value' is required");
  expect_invalid(parse_import_request(R"({"value":"QQ==","pwd":"x"})"), "unknown field 'pwd'");
}

TEST(ParseExportRequest, FormatsAndPasswords) {
  auto d = parse_export_request("");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->format, "pem");
  EXPECT_TRUE(d->version.empty());
  auto p = parse_export_request(R"({"format":"PFX","password":"pw","version":"abc"})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->format, "pfx");
  EXPECT_EQ(p->password, "pw");
  EXPECT_EQ(p->version, "abc");
  expect_invalid(parse_export_request(R"({"format":"der"})"), "'format' must be pem or pfx");
  expect_invalid(parse_export_request(R"({"format":"pem","password":"pw"})"), "pfx only");
}

}  // namespace
}  // namespace gh::admin
