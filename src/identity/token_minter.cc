#include "identity/token_minter.h"

#include <array>
#include <optional>

#include "crypto/prepared_signer.h"
#include "crypto/random.h"
#include "identity/entra_error.h"
#include "identity/json_writer.h"
#include "identity/key_set_impl.h"

namespace gh::identity {
namespace {

// Entra back-dates iat and nbf by five minutes (captures: exp - iat = lifetime + 300).
constexpr int64_t kBackdateSeconds = 300;

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr size_t base64url_length(size_t n) noexcept {
  return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

// Appends base64url (no padding) of `in` to `out`, writing into space resized once.
void append_base64url(std::string& out, const uint8_t* in, size_t n) {
  const size_t start = out.size();
  out.resize(start + base64url_length(n));
  char* p = out.data() + start;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    *p++ = kBase64Url[v >> 18];
    *p++ = kBase64Url[(v >> 12) & 63];
    *p++ = kBase64Url[(v >> 6) & 63];
    *p++ = kBase64Url[v & 63];
  }
  if (n - i == 1) {
    const uint32_t v = uint32_t{in[i]} << 16;
    *p++ = kBase64Url[v >> 18];
    *p++ = kBase64Url[(v >> 12) & 63];
  } else if (n - i == 2) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    *p++ = kBase64Url[v >> 18];
    *p++ = kBase64Url[(v >> 12) & 63];
    *p++ = kBase64Url[(v >> 6) & 63];
  }
}

// What one thread keeps between tokens: the KeySet it last signed with, a signer prepared for
// that KeySet's key (made once per thread per rotation), and buffers that keep their capacity.
// Keyed by the KeySet version, which is unique in the process, so several minters/rings on one
// thread stay correct (they only re-prepare more often).
struct ThreadMinter {
  uint64_t version = 0;
  std::shared_ptr<const KeySet> keys;
  std::optional<crypto::PreparedSigner> signer;
  std::string payload;
  std::array<uint8_t, 1024> signature{};  // RSA-8192 at most; ECDSA 132
};

ThreadMinter& thread_minter() {
  thread_local ThreadMinter m;
  return m;
}

// Makes `m` current for `ring`. Returns the KeySet's impl, or null when nothing signs.
Result<const KeySetAccess::Impl*> prepare(ThreadMinter& m, const KeyRing& ring) {
  if (m.keys && m.version == ring.version()) return KeySetAccess::impl(*m.keys);
  m.keys = ring.current();
  m.version = m.keys ? m.keys->version() : 0;
  m.signer.reset();
  const KeySetAccess::Impl* impl = m.keys ? KeySetAccess::impl(*m.keys) : nullptr;
  if (impl == nullptr || !impl->signer) {
    m.version = 0;  // look again next time
    return unexpected(entra_error(aadsts::kInternal, "No token signing key is active."));
  }
  const jose::JwsAlg alg = impl->keys[impl->signer_index].alg;
  auto signer = crypto::PreparedSigner::make(impl->signer->pkey(), jose::signature_alg(alg));
  if (!signer) {
    m.version = 0;
    return unexpected(signer.error().with_context("token signing key"));
  }
  if (signer->max_size() > m.signature.size()) {
    m.version = 0;
    return unexpected(ErrorKind::Internal, "token signing key too large");
  }
  m.signer.emplace(std::move(*signer));
  return impl;
}

void append_issuer(std::string& out, std::string_view origin, std::string_view tenant_id, bool v2) {
  append_json_escaped(out, origin);
  out += '/';
  append_json_escaped(out, tenant_id);
  out += v2 ? "/v2.0" : "/";
}

std::string_view acr(AuthMethod m) noexcept {
  return m == AuthMethod::Secret ? "1" : "2";  // as client_auth's acr_of()
}

// The claims in Entra's order (token_minter.h, entra-token-service.md §3.3).
void write_claims(std::string& out, const MintRequest& req, bool v2, int64_t iat, int64_t exp,
                  std::string_view uti) {
  const Application& client = *req.client;
  const Application& resource = *req.resource;
  const std::string_view tid = req.tenant->id;
  out.clear();
  out += "{\"aud\":\"";
  if (v2 || req.requested_resource.empty()) {
    append_json_escaped(out, resource.client_id);
  } else {
    append_json_escaped(out, req.requested_resource);
  }
  out += "\",\"iss\":\"";
  append_issuer(out, req.origin, tid, v2);
  out += '"';
  append_int_member(out, "iat", iat);
  append_int_member(out, "nbf", iat);
  append_int_member(out, "exp", exp);
  if (v2) {
    append_string_member(out, "azp", client.client_id);
    append_string_member(out, "azpacr", acr(req.method));
  } else {
    append_string_member(out, "appid", client.client_id);
    append_string_member(out, "appidacr", acr(req.method));
    out += ",\"idp\":\"";
    append_issuer(out, req.origin, tid, false);
    out += '"';
  }
  append_string_member(out, "idtyp", "app");
  append_string_member(out, "oid", client.service_principal_id);
  if (!req.roles.empty()) {
    out += ",\"roles\":[";
    for (size_t i = 0; i < req.roles.size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, req.roles[i]);
    }
    out += ']';
  }
  append_string_member(out, "sub", client.service_principal_id);
  append_string_member(out, "tid", tid);
  append_string_member(out, "uti", uti);
  append_string_member(out, "ver", v2 ? "2.0" : "1.0");
  out += '}';
}

}  // namespace

std::string issuer_v1(std::string_view origin, std::string_view tenant_id) {
  std::string out;
  out.reserve(origin.size() + tenant_id.size() + 2);
  out.append(origin).append("/").append(tenant_id).append("/");
  return out;
}

std::string issuer_v2(std::string_view origin, std::string_view tenant_id) {
  std::string out;
  out.reserve(origin.size() + tenant_id.size() + 6);
  out.append(origin).append("/").append(tenant_id).append("/v2.0");
  return out;
}

Result<MintedToken> TokenMinter::mint(const MintRequest& req) const {
  if (req.tenant == nullptr || req.client == nullptr || req.resource == nullptr) {
    return unexpected(ErrorKind::Internal, "mint: tenant, client and resource are required");
  }
  if (req.lifetime_seconds <= 1) {
    return unexpected(ErrorKind::Internal, "mint: the token lifetime must be positive");
  }
  ThreadMinter& m = thread_minter();
  GH_TRY(const KeySetAccess::Impl* keys, prepare(m, keys_));

  const bool v2 = req.resource->access_token_version == 2;
  MintedToken token;
  token.issued_at = req.now;
  token.not_before = req.now - kBackdateSeconds;
  token.expires_on = req.now + req.lifetime_seconds;
  token.expires_in = token.expires_on - token.issued_at - 1;

  uint8_t uti_bytes[16];
  crypto::random_bytes(uti_bytes);
  token.uti.reserve(base64url_length(sizeof uti_bytes));
  append_base64url(token.uti, uti_bytes, sizeof uti_bytes);

  write_claims(m.payload, req, v2, token.not_before, token.expires_on, token.uti);

  const std::string& header = v2 ? keys->header_v2_b64 : keys->header_v1_b64;
  std::string& jwt = token.access_token;
  jwt.reserve(header.size() + 2 + base64url_length(m.payload.size()) +
              base64url_length(m.signer->max_size()));
  jwt += header;
  jwt += '.';
  append_base64url(jwt, reinterpret_cast<const uint8_t*>(m.payload.data()), m.payload.size());
  GH_TRY(size_t sig_len, m.signer->sign(core::as_bytes(jwt), m.signature));
  jwt += '.';
  append_base64url(jwt, m.signature.data(), sig_len);
  return token;
}

}  // namespace gh::identity
