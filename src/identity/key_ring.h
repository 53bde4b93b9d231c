#pragma once

// The token-signing keys: RSA 2048 (RS256, as Entra) or P-256 (ES256), each with a self-signed
// certificate so that kid = x5t = base64url(SHA-1 of the certificate DER) and x5c can be
// published as Entra does. Private keys are stored in the database encrypted with the master
// key (AES-256-GCM, the kid as associated data) and are never logged.
//
// Schedule (entra-token-service.md §4.3): a key is published at least `publish_ahead` before it
// starts signing, signs for `rotate_every`, then stays published `retire_after` so tokens it
// signed still validate. The successor of the signing key is prepared (generated and published)
// as soon as there is none, so the JWKS always holds at least two keys: the first start makes
// key 1 (signing at once) and key 2 (signing rotate_every later); when key 2 takes over, key 3
// is published. tick() applies the schedule (called every minute and at start); rotate_now()
// makes the published successor sign at once, so validators that cached the JWKS keep working
// (emergency: a brand-new key signs and every older key is unpublished).
// docs/identity/keys.md explains the windows.
//
// Lock-free reads: current() is on the request path. The published KeySet is immutable and has
// a process-unique version; the ring keeps that version in an atomic, and each thread caches a
// shared_ptr to the last KeySet it saw. A read is one atomic load and a compare; only when the
// version moved does the thread take the (otherwise uncontended) publish mutex to refresh its
// copy. std::atomic<std::shared_ptr> / std::atomic_load would take a mutex from libstdc++'s
// pool on every read. The cost: a thread keeps an old KeySet (and its private key) alive until
// its next read.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/identity_config.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/result.h"
#include "crypto/ossl_ptr.h"
#include "jose/jwk.h"
#include "jose/jwk_set.h"
#include "jose/jws_alg.h"
#include "store/database.h"

namespace gh::identity {

/// What Gatehouse puts in `cloud_instance_name` (Entra: "microsoftonline.com"), in the v2 JWKS
/// keys and wherever discovery documents carry it.
inline constexpr std::string_view kCloudInstanceName = "gatehouse";

/// The subject of every token-signing certificate.
inline constexpr std::string_view kSigningCertificateSubject = "CN=Gatehouse token signing";

/// The key that encrypts signing keys at rest.
class MasterKey {
 public:
  MasterKey(const MasterKey&) = default;
  MasterKey& operator=(const MasterKey&) = default;
  ~MasterKey();

  /// From `file` (32 bytes raw, or 64 hex chars, or base64 of 32 bytes; mode must not be
  /// group/world-readable) or else from the environment value. InvalidArgument naming the source
  /// (never the value) when neither gives 32 bytes.
  static Result<MasterKey> load(const std::string& file, std::string_view env_value);
  /// A new random key written to `file` (32 raw bytes, mode 0600): what `gatehouse dev` does on
  /// first start. Conflict when the file exists (it would orphan every sealed key).
  static Result<MasterKey> create_file(const std::string& file);
  /// A key from 32 bytes (tests, key import).
  static MasterKey from_bytes(std::span<const uint8_t, 32> bytes) noexcept;

  /// AES-256-GCM with a random 96-bit nonce: nonce || ciphertext || 16-byte tag. `aad` binds
  /// the ciphertext to its purpose (the kid), so sealed keys cannot be swapped between rows.
  Result<core::Bytes> seal(std::span<const uint8_t> plain, std::string_view aad) const;
  /// Crypto error (naming nothing secret) for a wrong key, wrong aad or altered data.
  Result<core::Bytes> open(std::span<const uint8_t> sealed, std::string_view aad) const;

  /// A public name for this key: 16 lower-case hex characters (the first 8 bytes of SHA-256
  /// over a fixed label and the key). Stored beside what the key sealed, so that data sealed
  /// under another key is reported as such (the vault's rewrap checks it); reveals nothing
  /// usable about the key.
  std::string fingerprint() const;

 private:
  MasterKey() = default;
  std::array<uint8_t, 32> key_{};
};

struct SigningKeyInfo {
  std::string kid;  // = x5t
  jose::JwsAlg alg;
  int64_t created = 0;
  int64_t publish_at = 0;   // appears in the JWKS
  int64_t activate_at = 0;  // starts signing
  int64_t retire_at = 0;    // stops signing (0: not scheduled)
  int64_t remove_at = 0;    // leaves the JWKS (0: not scheduled)
  core::Bytes certificate_der;
};

/// One immutable version of the key ring: what is published and what signs now.
class KeySet {
 public:
  /// The key that signs tokens now (private JWK with kid), or null if none is active.
  const jose::Jwk* signer() const noexcept;
  const SigningKeyInfo* signer_info() const noexcept;
  /// Every published key's public JWK members in Entra's form: kty, use "sig", kid, x5t, n/e
  /// (or crv/x/y), x5c; plus `issuer` and `cloud_instance_name` when `issuer` is not empty (v2).
  std::string jwks_json(std::string_view issuer) const;
  /// The published keys, for validating our own tokens (tests, the gateway, `jwt verify`).
  /// Never empty for a KeySet from a KeyRing, which always publishes its signer (a
  /// default-constructed KeySet has no keys, and calling this on it aborts).
  const jose::JwkSet& public_keys() const noexcept;
  const std::vector<SigningKeyInfo>& keys() const noexcept;
  /// Earliest time at which tick() has something to do (next publish/activate/retire/remove);
  /// INT64_MAX when nothing is scheduled.
  int64_t next_event() const noexcept;
  /// A process-unique number of this KeySet (a new one for every published change).
  uint64_t version() const noexcept;

 private:
  friend struct KeySetAccess;  // key_set_impl.h: the ring builds it, the minter signs with it
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

class KeyRing {
 public:
  /// Migrates the `signing_keys` schema, loads and decrypts the keys, and runs tick() once (which
  /// creates the first key when there is none, active at once).
  static Result<std::unique_ptr<KeyRing>> open(std::shared_ptr<store::Database> db,
                                               MasterKey master, config::IdentitySigning policy,
                                               const core::Clock& clock);

  ~KeyRing();

  /// The published KeySet; never null after open(). Lock-free (see the top of this file).
  std::shared_ptr<const KeySet> current() const;
  /// current()->version() without touching the KeySet: one atomic load.
  uint64_t version() const noexcept;
  /// Generates the next key when one is due to be published, moves activation and retirement
  /// along, removes keys past remove_at, and picks up changes another process made to the
  /// keys. Publishes a new KeySet when anything changed. Cheap when there is nothing to do.
  Status tick();
  /// Rotates now. Planned: the already-published successor signs from now (a fresh key only
  /// when there is none), the previous signer retires now and stays published for
  /// retire_after, and a new successor is published. Emergency: a brand-new key signs and every
  /// older key leaves the JWKS at once (tokens they signed stop validating).
  Result<SigningKeyInfo> rotate_now(bool emergency);

 private:
  KeyRing() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace gh::identity
