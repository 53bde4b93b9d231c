#include "identity/entra_error.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

namespace gh::identity {
namespace {

using namespace aadsts;

// 2022-03-02 18:25:26Z, the instant of the spec's captured example.
constexpr int64_t kCaptureTime = 1646245526;

ErrorContext capture_context() {
  ErrorContext ctx;
  ctx.trace_id = "03da4b8e-5ffe-48ca-9754-aff4276f0100";
  ctx.correlation_id = "7b12f9bb-2eef-42e3-ad75-eee69ec9088d";
  ctx.now = kCaptureTime;
  ctx.error_uri_base = "https://login.microsoftonline.com";
  return ctx;
}

TEST(EntraErrorTest, BodyIsByteExactForTheCapturedExample) {
  const auto e = entra_error(kBadSecret,
                             "Invalid client secret provided. Ensure the secret being sent in the "
                             "request is the client secret value, not the client secret ID, for a "
                             "secret added to app '86be4c01-0000-0000-0000-000000000000'.");
  const std::string expected =
      R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret )"
      R"(provided. Ensure the secret being sent in the request is the client secret value, not )"
      R"(the client secret ID, for a secret added to app '86be4c01-0000-0000-0000-000000000000'.)"
      R"(\r\nTrace ID: 03da4b8e-5ffe-48ca-9754-aff4276f0100\r\nCorrelation ID: )"
      R"(7b12f9bb-2eef-42e3-ad75-eee69ec9088d\r\nTimestamp: 2022-03-02 18:25:26Z",)"
      R"("error_codes":[7000215],"timestamp":"2022-03-02 18:25:26Z",)"
      R"("trace_id":"03da4b8e-5ffe-48ca-9754-aff4276f0100",)"
      R"("correlation_id":"7b12f9bb-2eef-42e3-ad75-eee69ec9088d",)"
      R"("error_uri":"https://login.microsoftonline.com/error?code=7000215"})";
  EXPECT_EQ(entra_error_body(e, capture_context()), expected);
}

TEST(EntraErrorTest, BodyParsesAndDescriptionCarriesCrLfLines) {
  const auto e = entra_error(kUnknownClient, "Application with identifier 'x' was not found.");
  const auto v = boost::json::parse(entra_error_body(e, capture_context())).as_object();
  EXPECT_EQ(v.at("error").as_string(), "unauthorized_client");
  const std::string desc(v.at("error_description").as_string());
  EXPECT_EQ(desc,
            "AADSTS700016: Application with identifier 'x' was not found.\r\n"
            "Trace ID: 03da4b8e-5ffe-48ca-9754-aff4276f0100\r\n"
            "Correlation ID: 7b12f9bb-2eef-42e3-ad75-eee69ec9088d\r\n"
            "Timestamp: 2022-03-02 18:25:26Z");
  ASSERT_EQ(v.at("error_codes").as_array().size(), 1u);
  EXPECT_TRUE(v.at("error_codes").as_array()[0].is_int64());
  EXPECT_EQ(v.at("error_codes").as_array()[0].as_int64(), 700016);
  // Member order as Entra emits it.
  std::vector<std::string> names;
  for (const auto& m : v)
    names.emplace_back(m.key());
  EXPECT_EQ(names,
            (std::vector<std::string>{"error", "error_description", "error_codes", "timestamp",
                                      "trace_id", "correlation_id", "error_uri"}));
}

TEST(EntraErrorTest, OverrideReplacesOnlyTheErrorString) {
  const auto e = entra_error(kUnknownTenant, "Tenant 'nope' not found.");
  const auto v =
      boost::json::parse(entra_error_body(e, capture_context(), "invalid_tenant")).as_object();
  EXPECT_EQ(v.at("error").as_string(), "invalid_tenant");
  EXPECT_EQ(v.at("error_codes").as_array()[0].as_int64(), 90002);
  EXPECT_EQ(v.at("error_uri").as_string(), "https://login.microsoftonline.com/error?code=90002");
}

TEST(EntraErrorTest, UntrustedTextInTheMessageIsEscaped) {
  const auto e = entra_error(kMissingParameter, "quote \" backslash \\ nl \n ctl \x01 bad \xff.");
  const std::string body = entra_error_body(e, capture_context());
  const auto v = boost::json::parse(body).as_object();
  const std::string desc(v.at("error_description").as_string());
  EXPECT_EQ(desc.substr(0, desc.find("\r\n")),
            "AADSTS900144: quote \" backslash \\ nl \n ctl \x01 bad \xef\xbf\xbd.");
}

TEST(EntraErrorTest, ForeignErrorsBecomeAGenericInternalError) {
  const core::Error db_failure(core::ErrorKind::Io, "database /var/lib/x locked", 3);
  EXPECT_EQ(aadsts_of(db_failure), kInternal);
  EXPECT_EQ(http_status_of(db_failure), 500);
  const std::string body = entra_error_body(db_failure, capture_context());
  EXPECT_EQ(body.find("/var/lib"), std::string::npos) << body;
  const auto v = boost::json::parse(body).as_object();
  EXPECT_EQ(v.at("error").as_string(), "server_error");
  EXPECT_EQ(v.at("error_codes").as_array()[0].as_int64(), 90099);
}

TEST(EntraErrorTest, StatusAndErrorPerCode) {
  struct Row {
    int code;
    uint16_t status;
    std::string_view error;
  };
  const Row rows[] = {
      {kUnknownTenant, 400, "invalid_request"},
      {kMissingParameter, 400, "invalid_request"},
      {kMethodNotAllowed, 400, "invalid_request"},
      {kResourceOnV2, 400, "invalid_request"},
      {kUnsupportedGrant, 400, "unsupported_grant_type"},
      {kInvalidScope, 400, "invalid_scope"},
      {kScopeNotDefault, 400, "invalid_scope"},
      {kMultipleResources, 400, "invalid_scope"},
      {kResourceNotFound, 400, "invalid_resource"},
      {kNotAssigned, 400, "invalid_grant"},
      {kUnknownClient, 400, "unauthorized_client"},
      {kAppDisabled, 400, "unauthorized_client"},
      {kBadSecret, 401, "invalid_client"},
      {kSecretsExpired, 401, "invalid_client"},
      {kNoCredential, 401, "invalid_client"},
      {kCertificateProblem, 401, "invalid_client"},
      {kAssertionClientMismatch, 401, "invalid_client"},
      {kAssertionAudience, 401, "invalid_client"},
      {kAssertionTime, 401, "invalid_client"},
      {kInvalidJwt, 401, "invalid_client"},
      {kSubjectMismatch, 401, "invalid_client"},
      {kMissingClaim, 400, "invalid_request"},
      {kNoFederatedMatch, 400, "invalid_request"},
      {kExternalOidcFailed, 400, "invalid_request"},
      {kMultipleAuthMethods, 400, "invalid_request"},
      {kThrottled, 429, "temporarily_unavailable"},
      {kInternal, 500, "server_error"},
      {123456, 400, "invalid_request"},  // unknown numbers
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.code);
    EXPECT_EQ(http_status_of(r.code), r.status);
    EXPECT_EQ(oauth_error_of(r.code), r.error);
    // The status rule of the captures: invalid_client is 401, all else 400 (bar 429/500).
    if (r.status != 429 && r.status != 500) {
      EXPECT_EQ(r.status == 401, r.error == "invalid_client");
    }
    const core::Error e = entra_error(r.code, "m");
    EXPECT_EQ(e.detail, r.code);
    EXPECT_EQ(e.http_status, r.status);
    EXPECT_EQ(e.message, "m");
    EXPECT_EQ(aadsts_of(e), r.code);
    EXPECT_EQ(http_status_of(e), r.status);
  }
}

TEST(EntraErrorTest, KindsFollowTheMeaning) {
  EXPECT_EQ(entra_error(kBadSecret, "").kind, core::ErrorKind::Unauthenticated);
  EXPECT_EQ(entra_error(kUnknownTenant, "").kind, core::ErrorKind::NotFound);
  EXPECT_EQ(entra_error(kNotAssigned, "").kind, core::ErrorKind::PermissionDenied);
  EXPECT_EQ(entra_error(kThrottled, "").kind, core::ErrorKind::LimitExceeded);
  EXPECT_EQ(entra_error(kInternal, "").kind, core::ErrorKind::Internal);
  EXPECT_EQ(entra_error(kMissingParameter, "").kind, core::ErrorKind::InvalidArgument);
}

TEST(EntraErrorTest, Timestamps) {
  EXPECT_EQ(entra_timestamp(0), "1970-01-01 00:00:00Z");
  EXPECT_EQ(entra_timestamp(kCaptureTime), "2022-03-02 18:25:26Z");
  EXPECT_EQ(entra_timestamp(951782400), "2000-02-29 00:00:00Z");   // leap day, 400-year rule
  EXPECT_EQ(entra_timestamp(4107542399), "2100-02-28 23:59:59Z");  // 2100 is not leap
  EXPECT_EQ(entra_timestamp(4107542400), "2100-03-01 00:00:00Z");
  EXPECT_EQ(entra_timestamp(-1), "1969-12-31 23:59:59Z");
  EXPECT_EQ(entra_timestamp(253402300799), "9999-12-31 23:59:59Z");
}

}  // namespace
}  // namespace gh::identity
