#include "policy/subscriptions.h"

#include <array>
#include <cstring>
#include <string>

#include "core/encoding.h"
#include "crypto/key.h"
#include "policy/recent_slot.h"

namespace gh::policy {

namespace {

size_t hash_digest(const crypto::Sha256Digest& d) noexcept {
  size_t h;
  std::memcpy(&h, d.data(), sizeof h);  // a digest is uniformly distributed already
  return h;
}

/// SHA-256 of a presented key. A client sends the same key with every call, so each worker
/// remembers the digests of the keys it saw last (compared in full, never by a prefix or a
/// hash). The digest is a pure function of the key: nothing here can go stale, and a revoked or
/// regenerated key is refused at once by the lookup that follows. The raw keys stay in this
/// worker's memory, as the requests that carried them did; they are never stored or logged.
crypto::Sha256Digest key_digest(std::string_view key) {
  constexpr size_t kSlots = 8;
  constexpr size_t kMaxKey = 256;  // APIM keys are 32 hex digits; longer ones are hashed each time
  if (key.size() > kMaxKey) return crypto::sha256(key);
  struct Slot {
    std::string key;  // empty: unused (an empty key is hashed each time)
    crypto::Sha256Digest digest{};
  };
  thread_local std::array<Slot, kSlots> recent;
  Slot& slot = recent[recent_slot(key, kSlots)];
  if (!key.empty() && slot.key == key) return slot.digest;
  slot.digest = crypto::sha256(key);
  slot.key.assign(key);
  return slot.digest;
}

}  // namespace

size_t SubscriptionRegistry::DigestHash::operator()(const crypto::Sha256Digest& d) const noexcept {
  return hash_digest(d);
}

size_t ManagedSubscriptionTable::DigestHash::operator()(
    const crypto::Sha256Digest& d) const noexcept {
  return hash_digest(d);
}

ManagedSubscriptionTable::ManagedSubscriptionTable(std::vector<ManagedSubscription> subscriptions) {
  entries_.reserve(subscriptions.size());
  for (auto& s : subscriptions) {
    Entry e;
    e.info.id = std::move(s.id);
    e.info.name = std::move(s.name);
    e.info.scope = std::move(s.scope);
    e.info.created_unix = s.created_unix;
    e.active = s.active;
    if (e.info.scope.rfind("/products/", 0) == 0) e.product_id = e.info.scope.substr(10);
    for (const auto& k : s.keys)
      by_key_.emplace(k, entries_.size());
    entries_.push_back(std::move(e));
  }
}

const ManagedSubscriptionTable::Entry* ManagedSubscriptionTable::find(
    const crypto::Sha256Digest& digest) const noexcept {
  auto it = by_key_.find(digest);
  return it == by_key_.end() ? nullptr : &entries_[it->second];
}

SubscriptionFeed::SubscriptionFeed()
    : table_(std::make_shared<const ManagedSubscriptionTable>(std::vector<ManagedSubscription>{})) {
}

std::shared_ptr<const ManagedSubscriptionTable> SubscriptionFeed::current() const {
  std::lock_guard lock(mutex_);
  return table_;
}

void SubscriptionFeed::publish(std::shared_ptr<const ManagedSubscriptionTable> table) {
  std::lock_guard lock(mutex_);
  table_ = std::move(table);
  // After the table: a reader that sees the new generation then finds this table (or a newer).
  generation_.fetch_add(1, std::memory_order_release);
}

void SubscriptionFeed::set_declared(std::shared_ptr<const SubscriptionRegistry> registry) {
  std::lock_guard lock(mutex_);
  declared_ = std::move(registry);
}

std::shared_ptr<const SubscriptionRegistry> SubscriptionFeed::declared() const {
  std::lock_guard lock(mutex_);
  return declared_;
}

Result<std::shared_ptr<const SubscriptionRegistry>> SubscriptionRegistry::build(
    const config::ProxyConfig& config) {
  auto reg = std::make_shared<SubscriptionRegistry>();
  for (const auto& a : config.apis)
    reg->apis_.push_back(a.name);
  for (const auto& p : config.products) {
    auto info = std::make_unique<ProductInfo>();
    info->id = p.id;
    info->name = p.name;
    info->subscription_required = p.subscription_required;
    for (const auto& api : p.apis)
      reg->membership_.emplace_back(api, info.get());
    reg->products_.push_back(std::move(info));
  }
  for (const auto& s : config.subscriptions) {
    const std::string where = s.where.prefix() + "subscription '" + s.id + "'";
    Entry e;
    e.info = std::make_unique<SubscriptionInfo>();
    e.info->id = s.id;
    e.info->name = s.name;
    e.info->scope = s.scope;
    if (s.scope.rfind("/products/", 0) == 0) {
      std::string_view id = std::string_view(s.scope).substr(10);
      for (const auto& p : reg->products_)
        if (p->id == id) e.info->product = p.get();
    }
    e.active = s.state == "active";
    e.info->created_unix = s.start_unix;
    size_t index = reg->entries_.size();
    std::string keys[2] = {s.primary_key, s.secondary_key};
    const std::string* files[2] = {&s.primary_key_file, &s.secondary_key_file};
    for (int i = 0; i < 2; ++i) {
      if (files[i]->empty()) continue;
      const std::string field = where + (i == 0 ? ": primary_key_file" : ": secondary_key_file");
      auto text = crypto::read_file(*files[i]);
      if (!text) return unexpected(text.error().with_context(field));
      while (!text->empty() && (text->back() == '\n' || text->back() == '\r'))
        text->pop_back();
      if (text->empty() || text->size() > 256) {
        return unexpected(ErrorKind::InvalidArgument,
                          field + ": must hold a key of 1 to 256 characters");
      }
      keys[i] = std::move(*text);
      reg->key_files_.push_back(*files[i]);
    }
    for (const std::string* key : {&keys[0], &keys[1]}) {
      if (key->empty()) continue;
      crypto::Sha256Digest digest;
      if (key->rfind("sha256:", 0) == 0) {
        auto raw = core::hex_decode(std::string_view(*key).substr(7));
        if (!raw || raw->size() != digest.size()) {
          return unexpected(ErrorKind::InvalidArgument,
                            where + ": a sha256: key needs 64 hexadecimal digits");
        }
        std::memcpy(digest.data(), raw->data(), digest.size());
      } else {
        digest = crypto::sha256(*key);
      }
      auto [it, fresh] = reg->by_key_.emplace(digest, index);
      if (!fresh && it->second != index) {
        return unexpected(ErrorKind::Conflict, where + ": a key is also used by subscription '" +
                                                   reg->entries_[it->second].info->id + "'");
      }
    }
    reg->entries_.push_back(std::move(e));
  }
  return std::shared_ptr<const SubscriptionRegistry>(std::move(reg));
}

std::vector<const ProductInfo*> SubscriptionRegistry::products_of(std::string_view api) const {
  std::vector<const ProductInfo*> out;
  for (const auto& [a, p] : membership_)
    if (a == api) out.push_back(p);
  return out;
}

bool SubscriptionRegistry::grants(std::string_view scope, const ProductInfo* sub_product,
                                  std::string_view sub_product_id, std::string_view api,
                                  const ProductInfo*& product) const noexcept {
  product = nullptr;
  if (scope == "/" || scope == "/apis") return true;
  if (scope.rfind("/apis/", 0) == 0) return scope.substr(6) == api;
  for (const auto& [a, p] : membership_) {
    if (a != api) continue;
    if (sub_product ? p == sub_product : (!sub_product_id.empty() && p->id == sub_product_id)) {
      product = p;  // product policies apply only in a product context
      return true;
    }
  }
  return false;
}

SubscriptionCheck SubscriptionRegistry::check(std::string_view api, bool api_requires_key,
                                              std::optional<std::string_view> key,
                                              const ManagedSubscriptionTable* managed) const {
  SubscriptionCheck out;
  if (key) {
    const crypto::Sha256Digest digest = key_digest(*key);
    const SubscriptionInfo* sub = nullptr;
    bool granted = false;
    if (auto it = by_key_.find(digest); it != by_key_.end()) {
      const Entry& e = entries_[it->second];
      if (e.active) {
        sub = e.info.get();
        granted = grants(sub->scope, sub->product, {}, api, out.product);
      }
    } else if (const auto* m = managed ? managed->find(digest) : nullptr; m && m->active) {
      sub = &m->info;
      granted = grants(sub->scope, nullptr, m->product_id, api, out.product);
    }
    if (!granted) {
      out.outcome = SubscriptionCheck::Outcome::Invalid;
      out.product = nullptr;
      return out;
    }
    out.subscription = sub;
    return out;
  }
  // No key: an open product containing the API, else the API's own setting.
  for (const auto& [a, p] : membership_) {
    if (a == api && !p->subscription_required) {
      out.product = p;
      return out;
    }
  }
  if (api_requires_key) out.outcome = SubscriptionCheck::Outcome::Missing;
  return out;
}

bool SubscriptionRegistry::has_product(std::string_view id) const noexcept {
  for (const auto& p : products_)
    if (p->id == id) return true;
  return false;
}

bool SubscriptionRegistry::has_api(std::string_view name) const noexcept {
  for (const auto& a : apis_)
    if (a == name) return true;
  return false;
}

bool SubscriptionRegistry::declares_subscription(std::string_view id) const noexcept {
  for (const auto& e : entries_)
    if (e.info->id == id) return true;
  return false;
}

bool SubscriptionRegistry::declares_key(const crypto::Sha256Digest& digest) const noexcept {
  return by_key_.count(digest) != 0;
}

std::vector<std::pair<const SubscriptionInfo*, bool>> SubscriptionRegistry::declared() const {
  std::vector<std::pair<const SubscriptionInfo*, bool>> out;
  for (const auto& e : entries_)
    out.emplace_back(e.info.get(), e.active);
  return out;
}

std::vector<std::string> SubscriptionRegistry::apis_of(std::string_view product_id) const {
  std::vector<std::string> out;
  for (const auto& [a, p] : membership_)
    if (p->id == product_id) out.push_back(a);
  return out;
}

}  // namespace gh::policy
