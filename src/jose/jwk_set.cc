#include "jose/jwk_set.h"

#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "jose/jwt_error.h"

namespace gh::jose {
namespace {

namespace json = boost::json;

uint64_t next_set_id() noexcept {
  static std::atomic<uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace

Result<JwkSet> JwkSet::parse(std::string_view text, const JsonLimits& limits) {
  GH_TRY(auto obj, parse_strict_json_object(text, limits));
  const json::value* keys = obj.if_contains("keys");
  if (keys == nullptr || !keys->is_array()) {
    return fail(JwtError::InvalidKey, "JWK Set lacks a \"keys\" array");
  }
  std::vector<Jwk> accepted;
  std::vector<std::string> skipped;
  std::set<std::string_view> kids;
  size_t index = 0;
  for (const auto& v : keys->get_array()) {
    ++index;
    // A kid must select one key, even when one of the two would be skipped: the set is
    // ambiguous and probably not what its publisher meant.
    if (const json::value* kid = v.is_object() ? v.get_object().if_contains("kid") : nullptr;
        kid != nullptr && kid->is_string() && !kids.insert(kid->get_string()).second) {
      return fail(JwtError::InvalidKey,
                  "JWK Set has two keys with kid \"" + std::string(kid->get_string()) + "\"");
    }
    if (!v.is_object()) {
      skipped.push_back("key " + std::to_string(index) + ": not an object");
      continue;
    }
    auto k = Jwk::from_json(v.get_object());
    if (!k) {
      skipped.push_back("key " + std::to_string(index) + ": " + k.error().message);
      continue;
    }
    accepted.push_back(std::move(*k));
  }
  if (accepted.empty()) {
    return fail(JwtError::InvalidKey,
                "JWK Set has no usable key" + (skipped.empty() ? "" : " (" + skipped[0] + ")"));
  }
  return build(std::move(accepted), std::move(skipped));
}

Result<JwkSet> JwkSet::from_keys(std::vector<Jwk> keys) {
  if (keys.empty()) return fail(JwtError::InvalidKey, "JWK Set has no key");
  return build(std::move(keys), {});
}

Result<JwkSet> JwkSet::build(std::vector<Jwk> keys, std::vector<std::string> skipped) {
  JwkSet set;
  bool has_oct = false, has_asymmetric = false;
  for (size_t i = 0; i < keys.size(); ++i) {
    (keys[i].family() == KeyFamily::Oct ? has_oct : has_asymmetric) = true;
    const std::string& kid = keys[i].kid();
    if (kid.empty()) continue;
    // A kid must select one key; two keys under one kid make the choice ambiguous.
    if (!set.by_kid_.emplace(kid, i).second) {
      return fail(JwtError::InvalidKey, "JWK Set has two keys with kid \"" + kid + "\"");
    }
  }
  // A set mixing secret and public keys is a configuration mistake that invites alg confusion.
  if (has_oct && has_asymmetric) {
    return fail(JwtError::InvalidKey, "JWK Set mixes symmetric (oct) and asymmetric keys");
  }
  set.keys_ = std::move(keys);
  set.skipped_ = std::move(skipped);
  set.id_ = next_set_id();
  return set;
}

const Jwk* JwkSet::find(std::string_view kid) const noexcept {
  auto it = by_kid_.find(kid);
  return it == by_kid_.end() ? nullptr : &keys_[it->second];
}

Result<std::string> JwkSet::to_public_json() const {
  json::array arr;
  for (const auto& k : keys_) {
    if (k.family() == KeyFamily::Oct) continue;
    GH_TRY(auto o, k.to_public_json());
    arr.emplace_back(std::move(o));
  }
  json::object doc;
  doc["keys"] = std::move(arr);
  return json::serialize(doc);
}

}  // namespace gh::jose
