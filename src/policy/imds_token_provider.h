#pragma once

// authentication-managed-identity's token source over the Azure Instance Metadata Service
// protocol: GET {endpoint}?api-version=2018-02-01&resource=R[&client_id=C] with `Metadata: true`.
// The endpoint is Azure's own IMDS (http://169.254.169.254/metadata/identity/oauth2/token) on an
// Azure VM, or Gatehouse's identity role (docs/identity/managed-identity.md), which binds the
// caller — this gateway process — by its socket's uid on loopback, so a gateway on a laptop or
// on-premises gets tokens exactly as one on Azure does.

#include <memory>
#include <string>

#include "http/url_fetch.h"
#include "policy/token_provider.h"

namespace gh::policy {

class ImdsTokenProvider final : public TokenProvider {
 public:
  /// `endpoint`: an http(s) URL of an IMDS-compatible token endpoint.
  ImdsTokenProvider(std::string endpoint, http::FetchOptions options = {});

  net::awaitable<Result<AccessToken>> token(std::string resource, std::string client_id) override;

  /// The request URL for a resource and client id (exposed for tests).
  std::string request_url(std::string_view resource, std::string_view client_id) const;

 private:
  std::string endpoint_;
  http::FetchOptions options_;
};

/// Parses an IMDS token response: access_token, and expires_on (Unix seconds, as a string or a
/// number) or expires_in. Errors never quote the token.
Result<AccessToken> parse_imds_token_response(std::string_view body, int64_t now_unix);

}  // namespace gh::policy
