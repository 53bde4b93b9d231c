#pragma once

// Where authentication-managed-identity gets its tokens: the identity role in the same process
// (cli wiring implements this over identity/, which policy/ must not include).

#include <cstdint>
#include <string>

#include "core/result.h"
#include "net/asio.h"

namespace gh::policy {

struct AccessToken {
  std::string token;
  int64_t expires_on = 0;  // Unix seconds
};

class TokenProvider {
 public:
  virtual ~TokenProvider() = default;
  /// A token for `resource` (an App ID URI or client id) as the gateway's managed identity
  /// (`client_id` "" = the system-assigned one). Runs on a worker's event loop.
  virtual net::awaitable<Result<AccessToken>> token(std::string resource,
                                                    std::string client_id) = 0;
};

}  // namespace gh::policy
