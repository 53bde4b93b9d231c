#include "identity/key_ring.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json/object.hpp>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "crypto/digest.h"
#include "crypto/key.h"
#include "crypto/openssl_error.h"
#include "crypto/random.h"
#include "identity/json_writer.h"
#include "identity/key_set_impl.h"
#include "x509/cert_builder.h"
#include "x509/certificate.h"

namespace gh::identity {
namespace {

// ---------------------------------------------------------------------------------------------
// Master key

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

const EVP_CIPHER* aes_256_gcm() noexcept {
  static const crypto::EvpCipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  return cipher.get();
}

void cleanse(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}
void cleanse(core::Bytes& b) noexcept {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
}

std::string_view trim_whitespace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  return s;
}

// 64 hex characters or base64 (padded or not) of exactly 32 bytes; `raw_ok` also accepts the
// 32 bytes themselves (key files, not environment values).
bool decode_key_text(std::string_view text, bool raw_ok, std::array<uint8_t, 32>& out) {
  if (raw_ok && text.size() == 32) {
    std::memcpy(out.data(), text.data(), 32);
    return true;
  }
  const std::string_view t = trim_whitespace(text);
  Result<core::Bytes> decoded = unexpected(ErrorKind::InvalidArgument, "");
  if (t.size() == 64) {
    decoded = core::hex_decode(t);
  } else if (t.size() == 44 || t.size() == 43) {
    decoded = core::base64_decode(t, /*allow_missing_padding=*/true);
  }
  if (!decoded || decoded->size() != 32) {
    if (decoded) cleanse(*decoded);
    return false;
  }
  std::memcpy(out.data(), decoded->data(), 32);
  cleanse(*decoded);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Keys and their rows

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  publish_at INTEGER NOT NULL,
  activate_at INTEGER NOT NULL,
  retire_at INTEGER NOT NULL DEFAULT 0,
  remove_at INTEGER NOT NULL DEFAULT 0,
  certificate BLOB NOT NULL,
  sealed_private_key BLOB NOT NULL
);
)sql";
constexpr store::Migration kMigrations[] = {{1, kSchemaV1}};

struct StoredKey {
  SigningKeyInfo info;
  crypto::EvpPkeyPtr key;  // private
};

Result<jose::JwsAlg> signing_alg(std::string_view name) {
  if (name == "RS256") return jose::JwsAlg::RS256;
  if (name == "ES256") return jose::JwsAlg::ES256;
  return unexpected(
      ErrorKind::InvalidArgument,
      "identity.signing.algorithm must be RS256 or ES256, not \"" + std::string(name) + "\"");
}

// A new key pair with its self-signed certificate; kid = x5t of that certificate.
Result<StoredKey> generate_key(jose::JwsAlg alg, const core::Clock& clock) {
  GH_TRY(crypto::EvpPkeyPtr key,
         alg == jose::JwsAlg::ES256 ? crypto::generate_ec("P-256") : crypto::generate_rsa(2048));
  x509::CertSpec spec;
  spec.subject = std::string(kSigningCertificateSubject);
  spec.days = 5 * 365 + 1;  // Entra's signing certificates are valid about five years
  GH_TRY(x509::Certificate cert, x509::make_self_signed(key.get(), spec, clock));
  StoredKey k;
  k.info.certificate_der = cert.der();
  k.info.kid = core::base64url_encode(crypto::sha1(k.info.certificate_der));
  k.info.alg = alg;
  k.info.created = clock.now_unix();
  k.key = std::move(key);
  return k;
}

Result<core::Bytes> seal_private_key(const MasterKey& master, const StoredKey& k) {
  GH_TRY(std::string pem, crypto::private_key_pem(k.key.get()));
  auto sealed = master.seal(core::as_bytes(pem), k.info.kid);
  cleanse(pem);
  return sealed;
}

Status insert_row(store::Database& db, const MasterKey& master, const StoredKey& k) {
  GH_TRY(core::Bytes sealed, seal_private_key(master, k));
  GH_TRY(store::Statement st, db.prepare("INSERT INTO signing_keys (kid, alg, created_at, "
                                         "publish_at, activate_at, retire_at, remove_at, "
                                         "certificate, sealed_private_key) VALUES "
                                         "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                         "insert signing key"));
  st.bind(1, k.info.kid)
      .bind(2, jose::to_string(k.info.alg))
      .bind(3, k.info.created)
      .bind(4, k.info.publish_at)
      .bind(5, k.info.activate_at)
      .bind(6, k.info.retire_at)
      .bind(7, k.info.remove_at)
      .bind_blob(8, k.info.certificate_der)
      .bind_blob(9, sealed);
  return st.run();
}

Status update_times(store::Database& db, const SigningKeyInfo& info) {
  GH_TRY(store::Statement st,
         db.prepare("UPDATE signing_keys SET publish_at = ?2, activate_at = ?3, retire_at = ?4, "
                    "remove_at = ?5 WHERE kid = ?1",
                    "update signing key schedule"));
  st.bind(1, info.kid)
      .bind(2, info.publish_at)
      .bind(3, info.activate_at)
      .bind(4, info.retire_at)
      .bind(5, info.remove_at);
  return st.run();
}

Status delete_row(store::Database& db, std::string_view kid) {
  GH_TRY(store::Statement st,
         db.prepare("DELETE FROM signing_keys WHERE kid = ?1", "delete signing key"));
  st.bind(1, kid);
  return st.run();
}

// Reads every row. Private keys already held in `known` are reused instead of decrypted again.
Result<std::vector<StoredKey>> load_rows(store::Database& db, const MasterKey& master,
                                         const std::vector<StoredKey>& known) {
  GH_TRY(store::Statement st,
         db.prepare("SELECT kid, alg, created_at, publish_at, activate_at, retire_at, remove_at, "
                    "certificate, sealed_private_key FROM signing_keys ORDER BY activate_at, kid",
                    "load signing keys"));
  std::vector<StoredKey> out;
  while (true) {
    GH_TRY(bool row, st.step());
    if (!row) break;
    StoredKey k;
    k.info.kid = st.text(0);
    const std::string alg_name = st.text(1);
    const auto alg = jose::parse_alg(alg_name);
    if (!alg || (*alg != jose::JwsAlg::RS256 && *alg != jose::JwsAlg::ES256)) {
      return unexpected(ErrorKind::InvalidArgument,
                        "signing key " + k.info.kid + " has unsupported alg " + alg_name);
    }
    k.info.alg = *alg;
    k.info.created = st.integer(2);
    k.info.publish_at = st.integer(3);
    k.info.activate_at = st.integer(4);
    k.info.retire_at = st.integer(5);
    k.info.remove_at = st.integer(6);
    k.info.certificate_der = st.blob(7);
    const auto same = std::find_if(known.begin(), known.end(),
                                   [&](const StoredKey& o) { return o.info.kid == k.info.kid; });
    if (same != known.end()) {
      k.key = crypto::share(same->key.get());
    } else {
      const core::Bytes sealed = st.blob(8);
      auto plain = master.open(sealed, k.info.kid);
      if (!plain) {
        return unexpected(ErrorKind::Crypto,
                          "signing key " + k.info.kid +
                              " cannot be decrypted: the master key is not the one it was "
                              "sealed with, or the database row was altered");
      }
      auto key = crypto::load_private_key(core::as_string_view(*plain));
      cleanse(*plain);
      if (!key) {
        return unexpected(ErrorKind::InvalidArgument,
                          "signing key " + k.info.kid + " does not hold a valid private key");
      }
      k.key = std::move(*key);
    }
    out.push_back(std::move(k));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The schedule, as pure functions of the key list and the time

bool is_published(const SigningKeyInfo& k, int64_t now) noexcept {
  return k.publish_at <= now && (k.remove_at == 0 || now < k.remove_at);
}

// The key that signs at `now`: the latest activated one that is neither retired nor removed.
// -1 if none.
int signer_index(const std::vector<StoredKey>& keys, int64_t now) noexcept {
  int best = -1;
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& k = keys[i].info;
    if (k.activate_at > now || !is_published(k, now)) continue;
    if (k.retire_at != 0 && k.retire_at <= now) continue;
    if (best < 0 || k.activate_at > keys[best].info.activate_at ||
        (k.activate_at == keys[best].info.activate_at && k.created > keys[best].info.created)) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

bool has_pending(const std::vector<StoredKey>& keys, int64_t now) noexcept {
  return std::any_of(keys.begin(), keys.end(),
                     [now](const StoredKey& k) { return k.info.activate_at > now; });
}

// True when apply_schedule() would change something: a quick test that keeps tick() free of
// database writes (and of transactions) when nothing is due.
bool schedule_due(const std::vector<StoredKey>& keys, int64_t now) noexcept {
  const int s = signer_index(keys, now);
  if (s < 0 || !has_pending(keys, now)) return true;
  for (const auto& k : keys) {
    if (k.info.remove_at != 0 && k.info.remove_at <= now) return true;
    if (k.info.activate_at < keys[s].info.activate_at && k.info.retire_at == 0) return true;
  }
  return false;
}

struct Policy {
  jose::JwsAlg alg;
  int64_t rotate_every;
  int64_t publish_ahead;
  int64_t retire_after;
};

// Applies the schedule at `now` to `keys` and to the database (inside the caller's
// transaction): removes keys past remove_at, makes a signer when there is none, retires keys
// older than the signer, and prepares the signer's successor when there is none.
Status apply_schedule(std::vector<StoredKey>& keys, int64_t now, const Policy& policy,
                      store::Database& db, const MasterKey& master, const core::Clock& clock) {
  for (auto it = keys.begin(); it != keys.end();) {
    if (it->info.remove_at != 0 && it->info.remove_at <= now) {
      GH_TRY_STATUS(delete_row(db, it->info.kid));
      it = keys.erase(it);
    } else {
      ++it;
    }
  }
  int s = signer_index(keys, now);
  if (s < 0) {
    GH_TRY(StoredKey k, generate_key(policy.alg, clock));
    k.info.publish_at = now;
    k.info.activate_at = now;
    GH_TRY_STATUS(insert_row(db, master, k));
    keys.push_back(std::move(k));
    s = static_cast<int>(keys.size()) - 1;
  }
  const int64_t signer_since = keys[s].info.activate_at;
  for (auto& k : keys) {
    if (k.info.activate_at < signer_since && k.info.retire_at == 0) {
      k.info.retire_at = signer_since;
      k.info.remove_at = signer_since + policy.retire_after;
      GH_TRY_STATUS(update_times(db, k.info));
    }
  }
  if (!has_pending(keys, now)) {
    GH_TRY(StoredKey next, generate_key(policy.alg, clock));
    next.info.publish_at = now;
    // Validators must have had publish_ahead to see the key before it signs, however late
    // this runs (after downtime the current key signs a little longer instead).
    next.info.activate_at =
        std::max(signer_since + policy.rotate_every, now + policy.publish_ahead);
    SigningKeyInfo& current = keys[s].info;
    current.retire_at = next.info.activate_at;
    current.remove_at = next.info.activate_at + policy.retire_after;
    GH_TRY_STATUS(update_times(db, current));
    GH_TRY_STATUS(insert_row(db, master, next));
    keys.push_back(std::move(next));
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// KeySet building

std::atomic<uint64_t> g_next_keyset_version{1};

std::string header_b64(const SigningKeyInfo& k, bool v1) {
  std::string h = "{\"typ\":\"JWT\",\"alg\":\"";
  h += jose::to_string(k.alg);
  h += '"';
  if (v1) {
    h += ",\"x5t\":";
    append_json_string(h, k.kid);
  }
  h += ",\"kid\":";
  append_json_string(h, k.kid);
  h += '}';
  return core::base64url_encode(h);
}

jose::JwkMetadata metadata(const SigningKeyInfo& k) {
  jose::JwkMetadata meta;
  meta.kid = k.kid;
  meta.use = "sig";
  meta.alg = std::string(jose::to_string(k.alg));
  meta.x5c = {k.certificate_der};
  return meta;
}

std::string_view member_string(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// One key's JWKS member in Entra's order: kty, use, kid, x5t, n, e (crv, x, y for EC), x5c.
Result<std::string> jwks_member(const jose::Jwk& pub, const SigningKeyInfo& k) {
  GH_TRY(boost::json::object o, pub.to_public_json());
  std::string m = "{\"kty\":";
  append_json_string(m, member_string(o, "kty"));
  m += ",\"use\":\"sig\",\"kid\":";
  append_json_string(m, k.kid);
  m += ",\"x5t\":";
  append_json_string(m, k.kid);
  for (const char* name : {"n", "e", "crv", "x", "y"}) {
    const auto value = member_string(o, name);
    if (value.empty()) continue;
    append_string_member(m, name, value);
  }
  m += ",\"x5c\":[";
  append_json_string(m, core::base64_encode(k.certificate_der));
  m += ']';
  return m;
}

Result<std::shared_ptr<const KeySet>> build_keyset(const std::vector<StoredKey>& keys,
                                                   int64_t now) {
  auto impl = std::make_shared<KeySetAccess::Impl>();
  impl->version = g_next_keyset_version.fetch_add(1, std::memory_order_relaxed);
  impl->built_at = now;
  const int s = signer_index(keys, now);
  // Signer first, then the others by activation (pending last): the order of keys() and of the
  // JWKS (which validators do not depend on).
  std::vector<const StoredKey*> order;
  if (s >= 0) order.push_back(&keys[s]);
  for (size_t i = 0; i < keys.size(); ++i)
    if (static_cast<int>(i) != s) order.push_back(&keys[i]);
  std::stable_sort(order.begin() + (s >= 0 ? 1 : 0), order.end(),
                   [](const StoredKey* a, const StoredKey* b) {
                     return a->info.activate_at < b->info.activate_at;
                   });

  std::vector<jose::Jwk> published;
  impl->next_event = INT64_MAX;
  for (const StoredKey* k : order) {
    impl->keys.push_back(k->info);
    for (int64_t t :
         {k->info.publish_at, k->info.activate_at, k->info.retire_at, k->info.remove_at}) {
      if (t > now) impl->next_event = std::min(impl->next_event, t);
    }
    if (!is_published(k->info, now)) continue;
    GH_TRY(x509::Certificate cert, x509::Certificate::from_der(k->info.certificate_der));
    GH_TRY(jose::Jwk pub, jose::Jwk::from_pkey(cert.public_key(), metadata(k->info)));
    GH_TRY(std::string member, jwks_member(pub, k->info));
    impl->jwks_members.push_back(std::move(member));
    published.push_back(std::move(pub));
  }
  if (!published.empty()) {
    GH_TRY(jose::JwkSet set, jose::JwkSet::from_keys(std::move(published)));
    impl->published = std::make_unique<jose::JwkSet>(std::move(set));
  }
  if (s >= 0) {
    const StoredKey& k = keys[s];
    GH_TRY(jose::Jwk signer, jose::Jwk::from_pkey(crypto::share(k.key.get()), metadata(k.info)));
    impl->signer.emplace(std::move(signer));
    impl->signer_index = 0;
    impl->header_v1_b64 = header_b64(k.info, true);
    impl->header_v2_b64 = header_b64(k.info, false);
  }
  auto set = std::make_shared<KeySet>();
  KeySetAccess::set_impl(*set, std::move(impl));
  return std::shared_ptr<const KeySet>(std::move(set));
}

// Whether `set` still describes `keys` at `now` (same signer, same published keys and times).
bool keyset_matches(const KeySet& set, const std::vector<StoredKey>& keys, int64_t now) {
  const int s = signer_index(keys, now);
  const SigningKeyInfo* signer = set.signer_info();
  if ((s < 0) != (signer == nullptr)) return false;
  if (s >= 0 && keys[s].info.kid != signer->kid) return false;
  if (set.keys().size() != keys.size()) return false;
  for (const auto& k : keys) {
    const auto& infos = set.keys();
    const auto it = std::find_if(infos.begin(), infos.end(),
                                 [&](const SigningKeyInfo& i) { return i.kid == k.info.kid; });
    if (it == infos.end() || it->publish_at != k.info.publish_at ||
        it->activate_at != k.info.activate_at || it->retire_at != k.info.retire_at ||
        it->remove_at != k.info.remove_at) {
      return false;
    }
    const bool was_published = is_published(*it, KeySetAccess::impl(set)->built_at);
    if (was_published != is_published(k.info, now)) return false;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MasterKey

MasterKey::~MasterKey() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

MasterKey MasterKey::from_bytes(std::span<const uint8_t, 32> bytes) noexcept {
  MasterKey k;
  std::memcpy(k.key_.data(), bytes.data(), 32);
  return k;
}

Result<MasterKey> MasterKey::load(const std::string& file, std::string_view env_value) {
  MasterKey k;
  if (!file.empty()) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
      return unexpected(ErrorKind::Io,
                        "cannot read master key file " + file + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      return unexpected(ErrorKind::InvalidArgument,
                        "master key file " + file + " is not a regular file");
    }
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return unexpected(ErrorKind::PermissionDenied,
                        "master key file " + file + " has mode " + mode +
                            ": it must not be accessible to group or others (chmod 600 " + file +
                            ")");
    }
    GH_TRY(std::string text, crypto::read_file(file));
    const bool ok = decode_key_text(text, /*raw_ok=*/true, k.key_);
    cleanse(text);
    if (!ok) {
      return unexpected(
          ErrorKind::InvalidArgument,
          "master key file " + file + " must hold 32 bytes: raw, 64 hex characters or base64");
    }
    return k;
  }
  if (env_value.empty()) {
    return unexpected(ErrorKind::InvalidArgument,
                      "no master key: neither a master key file nor the master key environment "
                      "variable is set");
  }
  if (!decode_key_text(env_value, /*raw_ok=*/false, k.key_)) {
    return unexpected(ErrorKind::InvalidArgument,
                      "the master key environment variable must hold 32 bytes as 64 hex "
                      "characters or base64");
  }
  return k;
}

Result<MasterKey> MasterKey::create_file(const std::string& file) {
  MasterKey k;
  crypto::random_bytes(k.key_);
  // O_EXCL: never replace an existing key, which would make every sealed key unreadable.
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    return unexpected(err == EEXIST ? ErrorKind::Conflict : ErrorKind::Io,
                      "cannot create master key file " + file + ": " + std::strerror(err));
  }
  size_t done = 0;
  while (done < k.key_.size()) {
    const ssize_t n = ::write(fd, k.key_.data() + done, k.key_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == k.key_.size() && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(file.c_str());
    return unexpected(ErrorKind::Io,
                      "cannot write master key file " + file + ": " + std::strerror(err));
  }
  return k;
}

Result<core::Bytes> MasterKey::seal(std::span<const uint8_t> plain, std::string_view aad) const {
  crypto::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  core::Bytes out(kNonceBytes + plain.size() + kTagBytes);
  crypto::random_bytes(std::span<uint8_t>(out.data(), kNonceBytes));
  int len = 0;
  uint8_t* ct = out.data() + kNonceBytes;
  if (!ctx ||
      EVP_EncryptInit_ex2(ctx.get(), aes_256_gcm(), key_.data(), out.data(), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, plain.data(), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + plain.size()) != 1) {
    cleanse(out);
    return unexpected(crypto::openssl_error("cannot seal with the master key"));
  }
  return out;
}

Result<core::Bytes> MasterKey::open(std::span<const uint8_t> sealed, std::string_view aad) const {
  if (sealed.size() < kNonceBytes + kTagBytes) {
    return unexpected(ErrorKind::Crypto, "sealed data is too short");
  }
  const size_t ct_len = sealed.size() - kNonceBytes - kTagBytes;
  const uint8_t* ct = sealed.data() + kNonceBytes;
  core::Bytes out(ct_len);
  crypto::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const bool setup =
      ctx &&
      EVP_DecryptInit_ex2(ctx.get(), aes_256_gcm(), key_.data(), sealed.data(), nullptr) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out.data(), &len, ct, static_cast<int>(ct_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          const_cast<uint8_t*>(ct + ct_len)) == 1;
  if (!setup) {
    cleanse(out);
    return unexpected(crypto::openssl_error("cannot open with the master key"));
  }
  uint8_t final_block[16];
  if (EVP_DecryptFinal_ex(ctx.get(), final_block, &len) != 1) {
    // Tag mismatch: wrong key, wrong aad or altered bytes. Nothing of the plaintext escapes.
    crypto::clear_openssl_errors();
    cleanse(out);
    return unexpected(ErrorKind::Crypto,
                      "sealed data does not authenticate (wrong master key or altered data)");
  }
  return out;
}

std::string MasterKey::fingerprint() const {
  // The label keeps this digest apart from any other use of SHA-256 over the key.
  static constexpr std::string_view kLabel = "gatehouse master key fingerprint v1";
  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), crypto::md(crypto::DigestAlg::Sha256), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), kLabel.data(), kLabel.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), key_.data(), key_.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1 || len < 8) {
    std::abort();  // SHA-256 does not fail short of memory exhaustion
  }
  std::string out = core::hex_encode(std::span<const uint8_t>(digest, 8));
  OPENSSL_cleanse(digest, sizeof digest);
  return out;
}

// ---------------------------------------------------------------------------------------------
// KeySet

const jose::Jwk* KeySet::signer() const noexcept {
  return impl_ && impl_->signer ? &*impl_->signer : nullptr;
}

const SigningKeyInfo* KeySet::signer_info() const noexcept {
  return impl_ && impl_->signer_index >= 0 ? &impl_->keys[impl_->signer_index] : nullptr;
}

std::string KeySet::jwks_json(std::string_view issuer) const {
  std::string out = "{\"keys\":[";
  if (impl_) {
    bool first = true;
    for (const auto& member : impl_->jwks_members) {
      if (!first) out += ',';
      first = false;
      out += member;
      if (!issuer.empty()) {
        out += ",\"cloud_instance_name\":";
        append_json_string(out, kCloudInstanceName);
        out += ",\"issuer\":";
        append_json_string(out, issuer);
      }
      out += '}';
    }
  }
  out += "]}";
  return out;
}

const jose::JwkSet& KeySet::public_keys() const noexcept {
  // A KeySet from a KeyRing always publishes its signer (JwkSet cannot even be empty); only a
  // default-constructed KeySet has none, and asking it is a programming error.
  if (!impl_ || !impl_->published) std::abort();
  return *impl_->published;
}

const std::vector<SigningKeyInfo>& KeySet::keys() const noexcept {
  static const std::vector<SigningKeyInfo> kEmpty;
  return impl_ ? impl_->keys : kEmpty;
}

int64_t KeySet::next_event() const noexcept {
  return impl_ ? impl_->next_event : INT64_MAX;
}

uint64_t KeySet::version() const noexcept {
  return impl_ ? impl_->version : 0;
}

// ---------------------------------------------------------------------------------------------
// KeyRing

struct KeyRing::State {
  std::shared_ptr<store::Database> db;
  MasterKey master;
  Policy policy;
  const core::Clock& clock;

  // Serialises tick() and rotate_now(), and guards `keys` and `loaded_data_version`. Held
  // while keys are generated (tens of milliseconds for RSA), so the request path never takes
  // it.
  std::mutex write_mutex;
  std::vector<StoredKey> keys;
  int64_t loaded_data_version = -1;

  // Guards `current` (taken only by threads whose cached version is stale, and by publish).
  mutable std::mutex publish_mutex;
  std::shared_ptr<const KeySet> current;
  std::atomic<uint64_t> current_version{0};

  State(std::shared_ptr<store::Database> d, MasterKey m, Policy p, const core::Clock& c)
      : db(std::move(d)), master(std::move(m)), policy(p), clock(c) {}

  void publish(std::shared_ptr<const KeySet> set) {
    const uint64_t v = set->version();
    std::lock_guard lock(publish_mutex);
    current = std::move(set);
    current_version.store(v, std::memory_order_release);
  }

  // Re-reads the rows (inside a write transaction when called from one) and remembers the
  // data version they correspond to.
  Status reload() {
    GH_TRY(std::vector<StoredKey> fresh, load_rows(*db, master, keys));
    keys = std::move(fresh);
    loaded_data_version = db->data_version();
    return {};
  }

  // Runs the schedule in one write transaction (so two processes sharing the database never
  // both prepare a successor) and publishes the result.
  Status run_schedule(int64_t now) {
    std::vector<StoredKey> before;
    for (const auto& k : keys)
      before.push_back({k.info, crypto::share(k.key.get())});
    Status s = db->transaction([&]() -> Status {
      GH_TRY_STATUS(reload());
      return apply_schedule(keys, now, policy, *db, master, clock);
    });
    if (!s) {
      keys = std::move(before);  // the rows were rolled back: so is memory
      loaded_data_version = -1;  // and the next tick re-reads them
      return s;
    }
    return {};
  }
};

KeyRing::~KeyRing() = default;

Result<std::unique_ptr<KeyRing>> KeyRing::open(std::shared_ptr<store::Database> db,
                                               MasterKey master, config::IdentitySigning policy,
                                               const core::Clock& clock) {
  if (!db) return unexpected(ErrorKind::InvalidArgument, "key ring needs a database");
  GH_TRY(jose::JwsAlg alg, signing_alg(policy.algorithm));
  if (policy.rotate_every.count() <= 0 || policy.publish_ahead.count() < 0 ||
      policy.retire_after.count() < 0) {
    return unexpected(ErrorKind::InvalidArgument,
                      "identity.signing: rotate_every must be positive, publish_ahead and "
                      "retire_after not negative");
  }
  GH_TRY_STATUS(db->migrate("signing_keys", kMigrations));
  const Policy p{alg, policy.rotate_every.count(), policy.publish_ahead.count(),
                 policy.retire_after.count()};
  std::unique_ptr<KeyRing> ring(new KeyRing());
  ring->state_ = std::make_unique<State>(std::move(db), std::move(master), p, clock);
  {
    std::lock_guard lock(ring->state_->write_mutex);
    // Decrypting every key here proves the master key before anything is served.
    GH_TRY_STATUS(ring->state_->reload());
  }
  GH_TRY_STATUS(ring->tick());
  return ring;
}

std::shared_ptr<const KeySet> KeyRing::current() const {
  struct Cached {
    uint64_t version = 0;
    std::shared_ptr<const KeySet> set;
  };
  // Versions are unique across every KeyRing of the process, so one slot per thread is enough
  // (several rings only make it refresh more often).
  thread_local Cached cached;
  const uint64_t v = state_->current_version.load(std::memory_order_acquire);
  if (cached.version == v && cached.set) return cached.set;
  {
    std::lock_guard lock(state_->publish_mutex);
    cached.set = state_->current;
  }
  cached.version = cached.set ? cached.set->version() : 0;
  return cached.set;
}

uint64_t KeyRing::version() const noexcept {
  return state_->current_version.load(std::memory_order_acquire);
}

Status KeyRing::tick() {
  State& st = *state_;
  std::lock_guard lock(st.write_mutex);
  const int64_t now = st.clock.now_unix();
  if (st.db->data_version() != st.loaded_data_version) {
    // Another process (an admin command, a second instance) changed the keys.
    GH_TRY_STATUS(st.reload());
  }
  if (schedule_due(st.keys, now)) GH_TRY_STATUS(st.run_schedule(now));
  std::shared_ptr<const KeySet> current;
  {
    std::lock_guard plock(st.publish_mutex);
    current = st.current;
  }
  if (!current || !keyset_matches(*current, st.keys, now)) {
    GH_TRY(auto set, build_keyset(st.keys, now));
    st.publish(std::move(set));
  }
  return {};
}

Result<SigningKeyInfo> KeyRing::rotate_now(bool emergency) {
  State& st = *state_;
  std::lock_guard lock(st.write_mutex);
  const int64_t now = st.clock.now_unix();
  // An emergency needs key material nobody could have seen; a planned rotation promotes the
  // successor that is already in the JWKS (validators caching the key set keep working), and a
  // fresh key is made only when there is none.
  std::optional<StoredKey> fresh;
  if (emergency) {
    GH_TRY(StoredKey k, generate_key(st.policy.alg, st.clock));
    fresh = std::move(k);
  }
  std::string kid = fresh ? fresh->info.kid : std::string();

  std::vector<StoredKey> before;
  for (const auto& k : st.keys)
    before.push_back({k.info, crypto::share(k.key.get())});
  Status s = st.db->transaction([&]() -> Status {
    GH_TRY_STATUS(st.reload());
    const int old_index = signer_index(st.keys, now);
    const std::string old_signer = old_index >= 0 ? st.keys[old_index].info.kid : std::string();
    if (!emergency) {
      // The published successor that would sign next (earliest activation still ahead).
      int next = -1;
      for (size_t i = 0; i < st.keys.size(); ++i) {
        const auto& k = st.keys[i].info;
        // Only a successor of the configured algorithm: rotating is how a changed
        // `signing.algorithm` takes effect at once.
        if (k.activate_at <= now || !is_published(k, now) || k.alg != st.policy.alg) continue;
        if (next < 0 || k.activate_at < st.keys[next].info.activate_at) next = static_cast<int>(i);
      }
      if (next >= 0) {
        SigningKeyInfo& k = st.keys[next].info;
        k.activate_at = now;
        k.retire_at = 0;
        k.remove_at = 0;
        GH_TRY_STATUS(update_times(*st.db, k));
        kid = k.kid;
      } else {
        GH_TRY(StoredKey k, generate_key(st.policy.alg, st.clock));
        fresh = std::move(k);
        kid = fresh->info.kid;
      }
    }
    for (auto it = st.keys.begin(); it != st.keys.end();) {
      SigningKeyInfo& k = it->info;
      if (k.kid == kid) {
        ++it;
        continue;
      }
      // In an emergency every older key goes, so nothing it signed validates; so does any
      // other key that never signed (tick() prepares a new successor for the new signer).
      const bool never_signed = k.activate_at > now;
      if (emergency || never_signed) {
        GH_TRY_STATUS(delete_row(*st.db, k.kid));
        it = st.keys.erase(it);
        continue;
      }
      if (k.kid == old_signer) {
        k.retire_at = now;
        k.remove_at = now + st.policy.retire_after;
        GH_TRY_STATUS(update_times(*st.db, k));
      }
      ++it;
    }
    if (fresh) {
      fresh->info.publish_at = now;
      fresh->info.activate_at = now;
      GH_TRY_STATUS(insert_row(*st.db, st.master, *fresh));
      st.keys.push_back({fresh->info, crypto::share(fresh->key.get())});
    }
    // The new signer's successor, and removal of anything already due.
    return apply_schedule(st.keys, now, st.policy, *st.db, st.master, st.clock);
  });
  if (!s) {
    st.keys = std::move(before);
    st.loaded_data_version = -1;
    return unexpected(std::move(s).error());
  }
  GH_TRY(auto set, build_keyset(st.keys, now));
  st.publish(std::move(set));
  const auto it = std::find_if(st.keys.begin(), st.keys.end(),
                               [&](const StoredKey& k) { return k.info.kid == kid; });
  return it->info;
}

}  // namespace gh::identity
