#pragma once

// Access tokens as Entra shapes them for app-only callers (entra-token-service.md §3): v1 or v2
// chosen by the resource's accessTokenAcceptedVersion, signed by the key ring's current signer.
//   v1 header {"typ":"JWT","alg":"RS256","x5t":kid,"kid":kid}; v2 header {"typ":"JWT",...,"kid"}
//   v1 claims aud (resource as requested), iss {origin}/{tid}/, iat, nbf, exp, appid, appidacr,
//             idp (= iss), idtyp "app", oid, roles?, sub, tid, uti, ver "1.0"
//   v2 claims aud (resource client id), iss {origin}/{tid}/v2.0, iat, nbf, exp, azp, azpacr,
//             idtyp "app", oid, roles?, sub, tid, uti, ver "2.0"
// iat = nbf = now - 300 s; exp = now + lifetime; oid = sub = the client's service principal id.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "identity/client_auth.h"
#include "identity/key_ring.h"
#include "identity/model.h"

namespace gh::identity {

struct MintRequest {
  const Tenant* tenant = nullptr;
  const Application* client = nullptr;
  const Application* resource = nullptr;
  std::string_view requested_resource;  // v1 `aud`: the identifier as the caller wrote it
  AuthMethod method = AuthMethod::Secret;
  std::vector<std::string> roles;
  int64_t lifetime_seconds = 3600;
  std::string_view origin;  // "https://host:port": iss is {origin}/{tid}/ or {origin}/{tid}/v2.0
  int64_t now = 0;
};

struct MintedToken {
  std::string access_token;
  std::string uti;
  int64_t issued_at = 0;  // the real issue time (iat/nbf are back-dated)
  int64_t not_before = 0;
  int64_t expires_on = 0;
  int64_t expires_in = 0;  // expires_on - issued_at - 1, as Entra's 3599
};

/// v1 issuer "{origin}/{tid}/" and v2 issuer "{origin}/{tid}/v2.0".
std::string issuer_v1(std::string_view origin, std::string_view tenant_id);
std::string issuer_v2(std::string_view origin, std::string_view tenant_id);

class TokenMinter {
 public:
  explicit TokenMinter(const KeyRing& keys) : keys_(keys) {}
  /// Signs one token with the current signer. Internal when no key is active. Thread-safe,
  /// no lock on the hot path.
  Result<MintedToken> mint(const MintRequest& req) const;

 private:
  const KeyRing& keys_;
};

}  // namespace gh::identity
