#include "policy/subscriptions.h"

#include <cstring>

#include "core/encoding.h"
#include "crypto/key.h"

namespace gh::policy {

size_t SubscriptionRegistry::DigestHash::operator()(const crypto::Sha256Digest& d) const noexcept {
  size_t h;
  std::memcpy(&h, d.data(), sizeof h);  // a digest is uniformly distributed already
  return h;
}

Result<std::shared_ptr<const SubscriptionRegistry>> SubscriptionRegistry::build(
    const config::ProxyConfig& config) {
  auto reg = std::make_shared<SubscriptionRegistry>();
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

SubscriptionCheck SubscriptionRegistry::check(std::string_view api, bool api_requires_key,
                                              std::optional<std::string_view> key) const {
  SubscriptionCheck out;
  if (key) {
    auto it = by_key_.find(crypto::sha256(*key));
    if (it == by_key_.end() || !entries_[it->second].active) {
      out.outcome = SubscriptionCheck::Outcome::Invalid;
      return out;
    }
    const SubscriptionInfo& sub = *entries_[it->second].info;
    std::string_view scope = sub.scope;
    bool granted = false;
    if (scope == "/" || scope == "/apis") {
      granted = true;
    } else if (scope.rfind("/apis/", 0) == 0) {
      granted = scope.substr(6) == api;
    } else if (sub.product) {
      for (const auto& [a, p] : membership_) {
        if (a == api && p == sub.product) {
          granted = true;
          out.product = p;  // product policies apply only in a product context
        }
      }
    }
    if (!granted) {
      out.outcome = SubscriptionCheck::Outcome::Invalid;
      out.product = nullptr;
      return out;
    }
    out.subscription = &sub;
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

}  // namespace gh::policy
