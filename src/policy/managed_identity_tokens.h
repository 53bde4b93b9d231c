#pragma once

// The tokens authentication-managed-identity got from the identity role, by (resource, client
// id), shared by every worker thread (apim-policies.md §7.4: "token cached until expiry").
// Sharded by key hash, each shard a small mutex held only to find or insert one entry: never
// across an await, never while fetching. Bounded: a resource taken from an expression cannot
// grow it without limit. Single flight: when a key has no valid token, the first request
// fetches it and every other request for that key waits for that fetch (a cold cache under
// load would otherwise send the identity role one token request per proxied request).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/parked.h"
#include "policy/token_provider.h"

namespace gh::policy {

class ManagedIdentityTokenCache {
 public:
  struct Entry {
    std::string token;
    std::string bearer;  // "Bearer <token>", the header value, built once
    int64_t expires_on = 0;
  };

  /// A token is served from the cache only while it stays valid this much longer, so that a
  /// backend never receives one about to expire (and the refresh happens ahead of time).
  static constexpr int64_t kMinRemainingSeconds = 300;

  explicit ManagedIdentityTokenCache(size_t max_entries = 4096);

  /// The cached token for (resource, client_id) when it is valid for more than
  /// kMinRemainingSeconds after `now_unix`, else null. Thread-safe.
  std::shared_ptr<const Entry> find(std::string_view resource, std::string_view client_id,
                                    int64_t now_unix) const;
  /// Stores `token` (replacing any older one) and returns its entry. When the shard is full,
  /// expired-soon entries go first, then an arbitrary one. Thread-safe.
  std::shared_ptr<const Entry> store(std::string_view resource, std::string_view client_id,
                                     AccessToken token, int64_t now_unix);
  size_t size() const;

  /// One fetch in flight for a key. Thread-safe.
  class Flight {
   public:
    /// Completes once the flight has landed (at once if it has), on the caller's executor;
    /// then the fetched entry, or the fetch's error.
    net::awaitable<Result<std::shared_ptr<const Entry>>> wait();
    /// Requests waiting for it (tests).
    size_t waiting() {
      std::lock_guard lock(mutex_);
      return waiters_.size();
    }

   private:
    friend class ManagedIdentityTokenCache;
    template <typename>
    friend struct net::detail::ParkInitiation;
    /// net::park's hand-over: keeps the request until the flight lands.
    void enqueue(net::Parked parked);

    std::string resource_;  // its key, immutable: land() removes it by key
    std::string client_id_;
    std::mutex mutex_;
    bool landed_ = false;                                   // guarded by mutex_
    Result<std::shared_ptr<const Entry>> result_{nullptr};  // set once, before landed_
    std::vector<net::Parked> waiters_;                      // guarded by mutex_
  };

  struct Joined {
    std::shared_ptr<const Entry> entry;  // a valid token stored meanwhile: use it, no flight
    std::shared_ptr<Flight> flight;
    bool leader = false;  // this caller fetches and must land() the flight
  };
  /// For a request that found no valid token: the token stored since, or the flight to wait
  /// for, or (leader) a new flight this caller must fetch for and land.
  Joined join(std::string_view resource, std::string_view client_id, int64_t now_unix);
  /// Ends `flight` (the leader only, once): removes it from the flights in progress and resumes
  /// its waiters with `result`. Store the token before landing, so that later requests find it.
  void land(const std::shared_ptr<Flight>& flight, Result<std::shared_ptr<const Entry>> result);
  /// Flights in progress (tests).
  size_t flights() const;

 private:
  struct Key {
    std::string resource;
    std::string client_id;
  };
  struct KeyView {
    std::string_view resource;
    std::string_view client_id;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const KeyView& k) const noexcept {
      const size_t h = std::hash<std::string_view>{}(k.resource);
      return h ^ (std::hash<std::string_view>{}(k.client_id) + 0x9e3779b97f4a7c15ULL + (h << 6) +
                  (h >> 2));
    }
    size_t operator()(const Key& k) const noexcept {
      return (*this)(KeyView{k.resource, k.client_id});
    }
  };
  struct KeyEqual {
    using is_transparent = void;
    static KeyView view(const Key& k) noexcept { return {k.resource, k.client_id}; }
    static KeyView view(const KeyView& k) noexcept { return k; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept {
      return view(a).resource == view(b).resource && view(a).client_id == view(b).client_id;
    }
  };
  static constexpr size_t kShards = 8;
  struct Shard {
    mutable std::mutex mutex;  // guards map
    std::unordered_map<Key, std::shared_ptr<const Entry>, KeyHash, KeyEqual> map;
  };

  Shard& shard_for(const KeyView& key) const noexcept { return shards_[KeyHash{}(key) % kShards]; }

  size_t max_per_shard_;
  mutable std::array<Shard, kShards> shards_;
  // Taken only on a miss, to join or start a flight and to land one.
  mutable std::mutex flights_mutex_;
  std::unordered_map<Key, std::shared_ptr<Flight>, KeyHash, KeyEqual> flights_;  // guarded
};

}  // namespace gh::policy
