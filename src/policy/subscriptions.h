#pragma once

// Products and subscriptions (apim-policies.md §5): which key opens which API, and in which
// product context the request then runs. Products and declared subscriptions are compiled from
// the configuration with each snapshot; subscriptions managed at run time (the admin API) come
// as an immutable table published through a SubscriptionFeed, which workers pick up without a
// lock (they compare its generation and copy the table only when it changed). Keys are kept
// only as SHA-256 digests; the configuration may give them that way already (`sha256:<hex>`).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
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

/// A subscription managed at run time, as the gateway needs it.
struct ManagedSubscription {
  std::string id;
  std::string name;
  std::string scope;
  bool active = false;
  int64_t created_unix = 0;
  std::vector<crypto::Sha256Digest> keys;  // primary and secondary
};

/// The managed subscriptions of one moment: immutable, replaced whole on every change.
class ManagedSubscriptionTable {
 public:
  struct Entry {
    SubscriptionInfo info;   // info.product stays null: products belong to a snapshot
    std::string product_id;  // for a /products/{id} scope
    bool active = false;
  };

  /// A key shared by two entries opens the first (the store refuses such keys anyway).
  explicit ManagedSubscriptionTable(std::vector<ManagedSubscription> subscriptions);

  /// The entry a key digest belongs to, or null. Allocation-free.
  const Entry* find(const crypto::Sha256Digest& digest) const noexcept;
  size_t size() const noexcept { return entries_.size(); }

 private:
  struct DigestHash {
    size_t operator()(const crypto::Sha256Digest& d) const noexcept;
  };
  std::vector<Entry> entries_;
  std::unordered_map<crypto::Sha256Digest, size_t, DigestHash> by_key_;
};

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
  /// Declared subscriptions are looked at first, then `managed` (may be null).
  SubscriptionCheck check(std::string_view api, bool api_requires_key,
                          std::optional<std::string_view> key,
                          const ManagedSubscriptionTable* managed = nullptr) const;

  // What the configuration declares, for the admin API's checks of managed subscriptions.
  bool has_product(std::string_view id) const noexcept;
  bool has_api(std::string_view name) const noexcept;
  bool declares_subscription(std::string_view id) const noexcept;
  bool declares_key(const crypto::Sha256Digest& digest) const noexcept;
  /// The declared subscriptions in configuration order, with whether each is active.
  std::vector<std::pair<const SubscriptionInfo*, bool>> declared() const;
  /// The APIs of a product, in configuration order.
  std::vector<std::string> apis_of(std::string_view product_id) const;

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

  /// Whether a subscription with `scope` (and its product, if any) opens `api`; sets `product`
  /// to the product context it runs in.
  bool grants(std::string_view scope, const ProductInfo* sub_product,
              std::string_view sub_product_id, std::string_view api,
              const ProductInfo*& product) const noexcept;

  std::vector<std::unique_ptr<ProductInfo>> products_;
  std::vector<std::string> apis_;
  std::vector<std::pair<std::string, const ProductInfo*>> membership_;  // (api, product)
  std::vector<Entry> entries_;
  std::unordered_map<crypto::Sha256Digest, size_t, DigestHash> by_key_;
  std::vector<std::string> key_files_;
};

/// Where the managed subscriptions are published (the admin API) and read (the workers), and
/// what the running configuration declares (set on every snapshot install). Thread-safe.
class SubscriptionFeed {
 public:
  SubscriptionFeed();

  /// Bumped on every publish; compare it before copying current() (lock-free fast path).
  uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const ManagedSubscriptionTable> current() const;
  void publish(std::shared_ptr<const ManagedSubscriptionTable> table);

  void set_declared(std::shared_ptr<const SubscriptionRegistry> registry);
  /// The registry of the configuration being served (null before the first install).
  std::shared_ptr<const SubscriptionRegistry> declared() const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const ManagedSubscriptionTable> table_;
  std::shared_ptr<const SubscriptionRegistry> declared_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace gh::policy
