#include "policy/authentication_certificate.h"

#include <gtest/gtest.h>

#include "xform_fixtures.h"

namespace gh::policy {
namespace {

using xform_test::FakeBackendCatalog;
using xform_test::load_error;
using xform_test::TestRequest;

constexpr const char* kThumbprint = "CA06F56B258B7A0D4F2B05470939478651151984";

class AuthenticationCertificateTest : public ::testing::Test {
 protected:
  AuthenticationCertificateTest() {
    catalog.cert_by_id["gateway-client"] = 2;
    catalog.cert_by_thumbprint[kThumbprint] = 4;
    load.backends = &catalog;
  }
  int applied(std::string_view xml) {
    auto policy = make_authentication_certificate(xform_test::element(xml), load);
    EXPECT_TRUE(policy) << policy.error().message;
    if (!policy) return -99;
    TestRequest r;
    EXPECT_EQ((*policy)->apply(r.ctx), Flow::Continue);
    return r.ctx.backend_certificate;
  }

  FakeBackendCatalog catalog;
  LoadContext load;
};

TEST_F(AuthenticationCertificateTest, ByIdOrThumbprint) {
  EXPECT_EQ(applied(R"x(<authentication-certificate certificate-id="gateway-client" />)x"), 2);
  EXPECT_EQ(
      applied(std::string("<authentication-certificate thumbprint=\"") + kThumbprint + "\" />"), 4);
  EXPECT_EQ(catalog.calls, 2);
}

TEST_F(AuthenticationCertificateTest, BodyAndPasswordPointToCertificateId) {
  const std::string error = load_error(
      &make_authentication_certificate,
      R"x(<authentication-certificate body="@(context.Variables.GetValueOrDefault&lt;byte[]&gt;(&quot;c&quot;))" password="x" />)x",
      Section::Inbound, load);
  EXPECT_NE(error.find("body and password are not supported; use certificate-id"),
            std::string::npos)
      << error;
}

TEST_F(AuthenticationCertificateTest, LoadErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"<authentication-certificate />", "one of certificate-id or thumbprint is required"},
      {R"x(<authentication-certificate certificate-id="a" thumbprint="b" />)x",
       "mutually exclusive"},
      {R"x(<authentication-certificate thumbprint="CA06F56B" />)x", "40 hexadecimal digits"},
      {R"x(<authentication-certificate thumbprint="ZA06F56B258B7A0D4F2B05470939478651151984" />)x",
       "40 hexadecimal digits"},
      {R"x(<authentication-certificate certificate-id="@(&quot;a&quot;)" />)x",
       "policy expressions are not supported here"},
      {R"x(<authentication-certificate certificate-id="unknown" />)x",
       "test.xml:1: <authentication-certificate>: certificate 'unknown' is not configured"},
  };
  for (const auto& [xml, expected] : cases) {
    const std::string error =
        load_error(&make_authentication_certificate, xml, Section::Inbound, load);
    EXPECT_NE(error.find(expected), std::string::npos) << xml << "\n-> " << error;
  }
}

TEST_F(AuthenticationCertificateTest, LintResolvesNothing) {
  LoadContext lint;
  lint.lint = true;
  EXPECT_EQ(load_error(&make_authentication_certificate,
                       R"x(<authentication-certificate certificate-id="anything" />)x",
                       Section::Inbound, lint),
            "");
  EXPECT_EQ(catalog.calls, 0);
}

}  // namespace
}  // namespace gh::policy
