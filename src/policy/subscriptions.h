#pragma once

// Products and subscriptions (apim-policies.md §5), compiled from configuration: which key opens
// which API, and in which product context the request then runs. Keys are kept only as SHA-256
// digests; the configuration may give them that way already (`sha256:<hex>`).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/proxy_config.h"
#include "core/result.h"
#include "crypto/digest.h"
#include "policy/context.h"

namespace gh::policy {

/// The built-in step before inbound policies (LastError.Source "authorization").
struct SubscriptionCheck {
  enum class Outcome : uint8_t { Granted, Missing, Invalid };
  Outcome outcome = Outcome::Granted;
  const SubscriptionInfo* subscription = nullptr;  // when a valid key was given
  const ProductInfo* product = nullptr;            // the product context, if any
};

inline constexpr std::string_view kMissingKeyMessage =
    "Access denied due to missing subscription key. Make sure to include subscription key when "
    "making requests to an API.";
inline constexpr std::string_view kInvalidKeyMessage =
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
    "active subscription.";

class SubscriptionRegistry {
 public:
  /// Fails naming the entry for a malformed `sha256:` key or a key shared by two subscriptions.
  /// Keys given as `primary_key_file` / `secondary_key_file` are read here (a file or a `vault:`
  /// reference; trailing line breaks removed); a read error names the entry, never the key.
  static Result<std::shared_ptr<const SubscriptionRegistry>> build(
      const config::ProxyConfig& config);

  /// The key files read by build(): the gateway watches them and reloads when one changes.
  const std::vector<std::string>& key_files() const noexcept { return key_files_; }

  /// APIM's resolution (§5.4) for a request to `api` with `key` (nullopt: none presented).
  /// `api_requires_key`: the API's subscription_required. Allocation-free.
  SubscriptionCheck check(std::string_view api, bool api_requires_key,
                          std::optional<std::string_view> key) const;

  /// Every product, and those containing `api`.
  const std::vector<std::unique_ptr<ProductInfo>>& products() const noexcept { return products_; }
  std::vector<const ProductInfo*> products_of(std::string_view api) const;

 private:
  struct DigestHash {
    size_t operator()(const crypto::Sha256Digest& d) const noexcept;
  };
  struct Entry {
    std::unique_ptr<SubscriptionInfo> info;
    bool active = false;
  };

  std::vector<std::unique_ptr<ProductInfo>> products_;
  std::vector<std::pair<std::string, const ProductInfo*>> membership_;  // (api, product)
  std::vector<Entry> entries_;
  std::unordered_map<crypto::Sha256Digest, size_t, DigestHash> by_key_;
  std::vector<std::string> key_files_;
};

}  // namespace gh::policy
