#pragma once

// KeySet's representation, shared by the key ring (which builds it) and the token minter (which
// signs with what it pre-computed). Not for other files.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "identity/key_ring.h"

namespace gh::identity {

struct KeySet::Impl {
  uint64_t version = 0;
  int64_t built_at = 0;
  int64_t next_event = 0;
  std::vector<SigningKeyInfo> keys;         // every key still in the ring, signer first
  std::optional<jose::Jwk> signer;          // private JWK (kid, use "sig", x5c)
  int signer_index = -1;                    // into keys, or -1
  std::unique_ptr<jose::JwkSet> published;  // public JWKs of the published keys
  // Each published key's JWKS member in Entra's order, without the closing brace, so that v2's
  // cloud_instance_name/issuer can be appended.
  std::vector<std::string> jwks_members;
  // The signer's JOSE headers, already base64url-encoded: {"typ","alg","x5t","kid"} (v1) and
  // {"typ","alg","kid"} (v2).
  std::string header_v1_b64;
  std::string header_v2_b64;
};

/// The only way into a KeySet's representation (for key_ring.cc and token_minter.cc).
struct KeySetAccess {
  using Impl = KeySet::Impl;
  static const Impl* impl(const KeySet& set) noexcept { return set.impl_.get(); }
  static void set_impl(KeySet& set, std::shared_ptr<const Impl> impl) noexcept {
    set.impl_ = std::move(impl);
  }
};

}  // namespace gh::identity
