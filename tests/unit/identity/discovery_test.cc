#include "identity/discovery.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "identity/entra_error.h"

namespace gh::identity {
namespace {

namespace json = boost::json;

constexpr std::string_view kOrigin = "https://localhost:8443";
constexpr std::string_view kTenant = "11111111-2222-3333-4444-555555555555";

json::object parse(const std::string& text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v.is_object() ? v.as_object() : json::object{};
}

std::vector<std::string> keys_of(const json::object& o) {
  std::vector<std::string> out;
  for (const auto& kv : o)
    out.emplace_back(kv.key());
  return out;
}

TEST(Discovery, V2HasEveryEntraMemberInOrder) {
  auto doc = parse(discovery_v2(kOrigin, kTenant));
  // §4.1, in the order Entra emits them (clients.md capture lists the same keys).
  std::vector<std::string> expected = {"token_endpoint",
                                       "token_endpoint_auth_methods_supported",
                                       "jwks_uri",
                                       "response_modes_supported",
                                       "subject_types_supported",
                                       "id_token_signing_alg_values_supported",
                                       "response_types_supported",
                                       "scopes_supported",
                                       "issuer",
                                       "request_uri_parameter_supported",
                                       "userinfo_endpoint",
                                       "authorization_endpoint",
                                       "device_authorization_endpoint",
                                       "http_logout_supported",
                                       "frontchannel_logout_supported",
                                       "end_session_endpoint",
                                       "claims_supported",
                                       "kerberos_endpoint",
                                       "tenant_region_scope",
                                       "cloud_instance_name",
                                       "cloud_graph_host_name",
                                       "msgraph_host",
                                       "rbac_url"};
  EXPECT_EQ(keys_of(doc), expected);
  const std::string base = std::string(kOrigin) + "/" + std::string(kTenant);
  EXPECT_EQ(doc.at("token_endpoint").as_string(), base + "/oauth2/v2.0/token");
  EXPECT_EQ(doc.at("jwks_uri").as_string(), base + "/discovery/v2.0/keys");
  EXPECT_EQ(doc.at("issuer").as_string(), base + "/v2.0");
  EXPECT_EQ(doc.at("authorization_endpoint").as_string(), base + "/oauth2/v2.0/authorize");
  EXPECT_EQ(doc.at("device_authorization_endpoint").as_string(), base + "/oauth2/v2.0/devicecode");
  EXPECT_EQ(doc.at("end_session_endpoint").as_string(), base + "/oauth2/v2.0/logout");
  EXPECT_EQ(doc.at("request_uri_parameter_supported").as_bool(), false);
  EXPECT_EQ(doc.at("http_logout_supported").as_bool(), true);
  EXPECT_EQ(doc.at("token_endpoint_auth_methods_supported").as_array().size(), 3u);
  EXPECT_EQ(doc.at("id_token_signing_alg_values_supported").as_array().at(0).as_string(), "RS256");
  EXPECT_EQ(doc.at("tenant_region_scope").as_string(), "NA");
  EXPECT_EQ(doc.at("claims_supported").as_array().size(), 19u);
}

TEST(Discovery, V1UsesItsOwnEndpointsAndIssuer) {
  auto doc = parse(discovery_v1(kOrigin, kTenant));
  const std::string base = std::string(kOrigin) + "/" + std::string(kTenant);
  EXPECT_EQ(doc.at("token_endpoint").as_string(), base + "/oauth2/token");
  EXPECT_EQ(doc.at("issuer").as_string(), base + "/");
  // Entra's tenant v1 documents point at the common keys.
  EXPECT_EQ(doc.at("jwks_uri").as_string(), std::string(kOrigin) + "/common/discovery/keys");
  EXPECT_EQ(doc.at("authorization_endpoint").as_string(), base + "/oauth2/authorize");
  EXPECT_EQ(doc.at("device_authorization_endpoint").as_string(), base + "/oauth2/devicecode");
  EXPECT_EQ(doc.at("end_session_endpoint").as_string(), base + "/oauth2/logout");
  EXPECT_EQ(doc.at("check_session_iframe").as_string(), base + "/oauth2/checksession");
  EXPECT_EQ(doc.at("userinfo_endpoint").as_string(), base + "/openid/userinfo");
  EXPECT_EQ(doc.at("microsoft_multi_refresh_token").as_bool(), true);
  EXPECT_EQ(doc.at("scopes_supported").as_array().size(), 1u);
  EXPECT_EQ(doc.at("response_types_supported").as_array().size(), 5u);
  for (std::string_view k : {"kerberos_endpoint", "tenant_region_scope", "cloud_instance_name",
                             "cloud_graph_host_name", "msgraph_host", "rbac_url"})
    EXPECT_TRUE(doc.contains(k)) << k;
}

TEST(Discovery, MultiTenantDocumentsUseTheIssuerTemplate) {
  auto v2 = parse(discovery_v2(kOrigin, "common"));
  EXPECT_EQ(v2.at("issuer").as_string(), std::string(kOrigin) + "/{tenantid}/v2.0");
  EXPECT_EQ(v2.at("token_endpoint").as_string(),
            std::string(kOrigin) + "/common/oauth2/v2.0/token");
  EXPECT_TRUE(v2.at("tenant_region_scope").is_null());
  auto v1 = parse(discovery_v1(kOrigin, "organizations"));
  EXPECT_EQ(v1.at("issuer").as_string(), std::string(kOrigin) + "/{tenantid}/");
  EXPECT_TRUE(is_multi_tenant_segment("Common"));
  EXPECT_TRUE(is_multi_tenant_segment("consumers"));
  EXPECT_FALSE(is_multi_tenant_segment(kTenant));
}

TEST(Discovery, InstanceDiscovery) {
  auto doc = parse(instance_discovery(kOrigin, "localhost:8443", "contoso.example"));
  EXPECT_EQ(doc.at("tenant_discovery_endpoint").as_string(),
            std::string(kOrigin) + "/contoso.example/v2.0/.well-known/openid-configuration");
  EXPECT_EQ(doc.at("api-version").as_string(), "1.1");
  const auto& meta = doc.at("metadata").as_array().at(0).as_object();
  EXPECT_EQ(meta.at("preferred_network").as_string(), "localhost:8443");
  EXPECT_EQ(meta.at("preferred_cache").as_string(), "localhost:8443");
  ASSERT_EQ(meta.at("aliases").as_array().size(), 1u);
  EXPECT_EQ(meta.at("aliases").as_array().at(0).as_string(), "localhost:8443");
}

TEST(Discovery, ErrorPage) {
  auto doc = parse(error_page(aadsts::kUnknownTenant, false));
  EXPECT_EQ(doc.at("code").as_int64(), 90002);
  EXPECT_EQ(doc.at("error").as_string(), "invalid_request");
  EXPECT_EQ(doc.at("status").as_int64(), 400);
  EXPECT_EQ(doc.at("description").as_string(), "Tenant not found.");

  auto secret = parse(error_page(aadsts::kBadSecret, false));
  EXPECT_EQ(secret.at("error").as_string(), "invalid_client");
  EXPECT_EQ(secret.at("status").as_int64(), 401);

  auto unknown = parse(error_page(123, false));
  EXPECT_EQ(unknown.at("description").as_string(), "Unknown error code.");

  std::string html = error_page(aadsts::kResourceNotFound, true);
  EXPECT_NE(html.find("<h1>AADSTS500011</h1>"), std::string::npos);
  EXPECT_NE(html.find("invalid_resource"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

}  // namespace
}  // namespace gh::identity
