#include "identity/client_auth.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <cmath>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "core/encoding.h"
#include "core/strings.h"
#include "crypto/digest.h"
#include "identity/assertion_checks.h"
#include "identity/entra_error.h"
#include "identity/issuer_keys.h"
#include "identity/replay_cache.h"
#include "identity/secret_cache.h"
#include "identity/secret_hash.h"
#include "jose/json.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "jose/jwt.h"
#include "jose/jwt_error.h"
#include "x509/certificate.h"

namespace gh::identity {

std::string_view acr_of(AuthMethod m) noexcept {
  return m == AuthMethod::Secret ? "1" : "2";
}

namespace {

// application/x-www-form-urlencoded decoding of one value: '+' is a space, %XX a byte.
std::optional<std::string> form_url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      auto byte = core::hex_decode(in.substr(i + 1, 2));
      if (!byte || byte->size() != 1) return std::nullopt;
      out += static_cast<char>((*byte)[0]);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

}  // namespace

Result<std::optional<BasicCredentials>> parse_basic_authorization(std::string_view header_value) {
  const std::string_view value = core::trim_ows(header_value);
  const size_t space = value.find(' ');
  if (!core::iequals(value.substr(0, space), "Basic")) return std::optional<BasicCredentials>();
  const auto invalid = [] {
    return unexpected(entra_error(aadsts::kNoCredential,
                                  "The Authorization header does not hold HTTP Basic client "
                                  "credentials (base64 of client_id:client_secret, each "
                                  "form-url-encoded)."));
  };
  if (space == std::string_view::npos) return invalid();
  auto decoded = core::base64_decode(core::trim_ows(value.substr(space + 1)), true);
  if (!decoded) return invalid();
  const std::string_view pair = core::as_string_view(*decoded);
  const size_t colon = pair.find(':');
  if (colon == std::string_view::npos) return invalid();
  auto user = form_url_decode(pair.substr(0, colon));
  auto password = form_url_decode(pair.substr(colon + 1));
  OPENSSL_cleanse(decoded->data(), decoded->size());
  if (!user || !password) return invalid();
  return std::optional<BasicCredentials>(BasicCredentials{std::move(*user), std::move(*password)});
}

namespace {

namespace asio = net::asio;
namespace json = boost::json;

constexpr std::string_view kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
constexpr std::string_view kCertificateDocs =
    "Review the documentation at "
    "https://learn.microsoft.com/entra/identity-platform/certificate-credentials.";

// Certificate assertions: RSA only, as Entra's keyCredentials (§2.3 step 2). Never none/HS*.
constexpr jose::AlgSet kCertificateAlgs{jose::JwsAlg::RS256, jose::JwsAlg::PS256,
                                        jose::JwsAlg::RS384, jose::JwsAlg::RS512,
                                        jose::JwsAlg::PS384, jose::JwsAlg::PS512};

core::Unexpected fail(int code, std::string message) {
  return unexpected(entra_error(code, std::move(message)));
}

core::Unexpected malformed(std::string_view reason) {
  std::string text = "JWT token is invalid or malformed.";
  if (!reason.empty()) {
    text += ' ';
    text += reason;
  }
  return fail(aadsts::kInvalidJwt, std::move(text));
}

core::Unexpected missing_claim(std::string_view claim) {
  return fail(aadsts::kMissingClaim,
              "MissingRequiredClaim - The access token isn't valid. The required claim is "
              "missing. Claim: '" +
                  std::string(claim) + "'.");
}

core::Unexpected missing_parameter(std::string_view name) {
  return fail(
      aadsts::kMissingParameter,
      "The request body must contain the following parameter: '" + std::string(name) + "'.");
}

std::string_view string_member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// --- secrets -------------------------------------------------------------------------------

// What a pool thread needs to check one secret: copies, so the request may go away meanwhile.
struct SecretCheck {
  std::string secret;
  std::vector<std::string> hashes;  // PHC strings of the candidate credentials
  SecretCheck() = default;
  SecretCheck(const SecretCheck&) = delete;
  SecretCheck& operator=(const SecretCheck&) = delete;
  ~SecretCheck() { OPENSSL_cleanse(secret.data(), secret.size()); }
};

// Index of the first hash `secret` matches, or -1. Runs on the hash pool.
int run_secret_check(const SecretCheck& check) {
  for (size_t i = 0; i < check.hashes.size(); ++i) {
    auto ok = verify_secret(check.secret, check.hashes[i]);
    if (ok && *ok) return static_cast<int>(i);
  }
  return -1;
}

// Completes a co_await-ed secret check on the awaiting coroutine's own executor.
template <typename Handler>
struct DeliverSecretCheck {
  Handler handler;
  int matched;
  void operator()() { std::move(handler)(matched); }
};

template <typename Handler>
struct SecretCheckTask {
  using WorkGuard = asio::executor_work_guard<asio::associated_executor_t<Handler>>;
  std::unique_ptr<SecretCheck> check;
  Handler handler;
  WorkGuard work;  // keeps the awaiting event loop from running out of work meanwhile

  void operator()() {
    const int matched = run_secret_check(*check);
    check.reset();
    auto executor = work.get_executor();
    asio::post(executor, DeliverSecretCheck<Handler>{std::move(handler), matched});
    work.reset();
  }
};

struct StartSecretCheck {
  asio::thread_pool* pool;
  std::unique_ptr<SecretCheck> check;

  template <typename Handler>
  void operator()(Handler&& handler) {
    using H = std::decay_t<Handler>;
    auto work = asio::make_work_guard(asio::get_associated_executor(handler));
    asio::post(*pool, SecretCheckTask<H>{std::move(check), std::forward<Handler>(handler),
                                         std::move(work)});
  }
};

// --- certificate verifiers -------------------------------------------------------------------

// Public keys of registered certificates with their OpenSSL verify contexts prepared once:
// parsing the certificate and initialising the context per request would cost more than the
// RSA verification itself. Keyed by the certificate's SHA-256, so a directory reload that keeps a
// certificate keeps its entry; bounded, sharded like the other caches.
class CertificateKeys {
 public:
  std::shared_ptr<const jose::Jwk> get(const KeyCredential& cred) {
    Key key{};
    if (cred.thumbprint_sha256.size() == key.size()) {
      std::copy(cred.thumbprint_sha256.begin(), cred.thumbprint_sha256.end(), key.begin());
    } else {
      key = crypto::sha256(cred.certificate_der);
    }
    Shard& shard = shards_[key[0] % shards_.size()];
    {
      std::lock_guard lock(shard.mutex);
      if (auto it = shard.map.find(key); it != shard.map.end()) return it->second;
    }
    auto cert = x509::Certificate::from_der(cred.certificate_der);
    if (!cert) return nullptr;
    auto jwk = jose::Jwk::from_pkey(cert->public_key(), {});
    if (!jwk) return nullptr;  // e.g. an RSA key below 2048 bits
    auto shared = std::make_shared<const jose::Jwk>(std::move(*jwk));
    std::lock_guard lock(shard.mutex);
    if (shard.map.size() >= kPerShard) shard.map.clear();
    shard.map.emplace(key, shared);
    return shared;
  }

 private:
  using Key = crypto::Sha256Digest;
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept {
      size_t h;
      std::memcpy(&h, k.data() + 1, sizeof h);
      return h;
    }
  };
  struct Shard {
    std::mutex mutex;  // guards map
    std::unordered_map<Key, std::shared_ptr<const jose::Jwk>, KeyHash> map;
  };
  static constexpr size_t kPerShard = 512;
  std::array<Shard, 8> shards_;
};

// --- time claims ------------------------------------------------------------------------------

struct AssertionTimes {
  double exp = 0;
  std::optional<double> nbf;
  std::optional<double> iat;
};

Result<std::optional<double>> date_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr) return std::optional<double>();
  auto d = jose::numeric_date(*v);
  if (!d) return malformed("The claim '" + std::string(name) + "' is not a NumericDate.");
  return std::optional<double>(*d);
}

Result<AssertionTimes> read_times(const json::object& claims) {
  AssertionTimes t;
  GH_TRY(auto exp, date_claim(claims, "exp"));
  if (!exp) return missing_claim("exp");
  t.exp = *exp;
  GH_TRY(t.nbf, date_claim(claims, "nbf"));
  GH_TRY(t.iat, date_claim(claims, "iat"));
  return t;
}

// §2.3 steps 8-9: nbf optional, fractional NumericDates fine, iat >= nbf not required (msal-node's
// iat can be a second before its nbf), then the lifetime cap.
Status check_times(const AssertionTimes& t, double now, double skew,
                   std::chrono::seconds max_lifetime) {
  if (now >= t.exp + skew || (t.nbf && now < *t.nbf - skew)) {
    const double from = t.nbf ? *t.nbf : t.iat ? *t.iat : 0.0;
    return fail(aadsts::kAssertionTime,
                "Client assertion is not within its valid time range. Current time: " +
                    entra_precise_time(now) + ", assertion valid from " + entra_precise_time(from) +
                    ", expiry time of assertion " + entra_precise_time(t.exp) +
                    ". Review the documentation at "
                    "https://docs.microsoft.com/azure/active-directory/develop/"
                    "active-directory-certificate-credentials .");
  }
  const double start = t.nbf ? *t.nbf : t.iat ? *t.iat : now;
  const double lifetime = t.exp - start;
  if (lifetime > static_cast<double>(max_lifetime.count())) {
    return malformed(
        "The assertion is valid for " + std::to_string(static_cast<int64_t>(std::ceil(lifetime))) +
        " seconds (exp - " +
        (t.nbf   ? "nbf"
         : t.iat ? "iat"
                 : "now") +
        "); the most this server accepts is " + std::to_string(max_lifetime.count()) + " seconds.");
  }
  return {};
}

// --- certificate key selection (§2.3 step 3) ---------------------------------------------------

struct KeyChoice {
  const KeyCredential* credential = nullptr;
  bool try_all = false;    // no thumbprint, kid or x5c at all: try every registered certificate
  std::string thumbprint;  // what 700027 reports as "Thumbprint of key used by client"
  std::optional<core::Bytes> x5c_leaf;
};

Result<KeyChoice> choose_key(const json::object& header, const Application& app,
                             const DirectoryView& view) {
  KeyChoice choice;
  if (const json::value* x5c = header.if_contains("x5c")) {
    if (!x5c->is_array() || x5c->get_array().empty() || !x5c->get_array()[0].is_string()) {
      return malformed("The x5c header is not an array of base64 certificates.");
    }
    // MSAL Python copies the PEM body verbatim, line breaks included (its extract_certs()):
    // whitespace is not part of the value.
    std::string b64;
    for (char c : std::string_view(x5c->get_array()[0].get_string())) {
      if (c != '\n' && c != '\r' && c != ' ' && c != '\t') b64 += c;
    }
    auto der = core::base64_decode(b64);
    if (!der) return malformed("x5c[0] is not base64.");
    choice.x5c_leaf = std::move(*der);
  }
  auto thumbprint_member = [&](std::string_view name) -> Result<const json::value*> {
    const json::value* v = header.if_contains(name);
    if (v != nullptr && !v->is_string()) {
      return malformed("The " + std::string(name) + " header is not a string.");
    }
    return v;
  };
  GH_TRY(const json::value* s256, thumbprint_member("x5t#S256"));
  GH_TRY(const json::value* x5t, thumbprint_member("x5t"));
  GH_TRY(const json::value* kid, thumbprint_member("kid"));
  const auto leaf_sha1 = [&] { return core::hex_encode_upper(crypto::sha1(*choice.x5c_leaf)); };

  if (s256 != nullptr) {
    auto bytes = decode_thumbprint(s256->get_string(), 32);
    if (!bytes) return malformed("x5t#S256 is not a base64url SHA-256 thumbprint.");
    choice.credential = view.certificate_by_sha256(app, *bytes);
    choice.thumbprint = choice.x5c_leaf ? leaf_sha1() : core::hex_encode_upper(*bytes);
  } else if (x5t != nullptr) {
    auto bytes = decode_thumbprint(x5t->get_string(), 20);
    if (!bytes) return malformed("x5t is not a base64url SHA-1 thumbprint.");
    choice.credential = view.certificate_by_sha1(app, *bytes);
    choice.thumbprint = core::hex_encode_upper(*bytes);
  } else if (kid != nullptr) {
    // Entra's handling of a bare kid is unverified; accept the forms libraries use for it.
    const std::string_view k = kid->get_string();
    if (auto b = decode_thumbprint(k, 20)) {
      choice.credential = view.certificate_by_sha1(app, *b);
      choice.thumbprint = core::hex_encode_upper(*b);
    }
    if (auto h = core::hex_decode(k); !choice.credential && h && h->size() == 20) {
      choice.credential = view.certificate_by_sha1(app, *h);
      choice.thumbprint = core::hex_encode_upper(*h);
    }
    if (auto b = decode_thumbprint(k, 32); !choice.credential && b) {
      choice.credential = view.certificate_by_sha256(app, *b);
    }
    for (const KeyCredential& c : app.certificates) {
      if (choice.credential) break;
      if (core::iequals(c.key_id, k)) choice.credential = &c;
    }
    if (choice.thumbprint.empty() && choice.x5c_leaf) choice.thumbprint = leaf_sha1();
  } else if (choice.x5c_leaf) {
    choice.credential = view.certificate_by_sha256(app, crypto::sha256(*choice.x5c_leaf));
    choice.thumbprint = leaf_sha1();
  } else {
    choice.try_all = true;
  }
  return choice;
}

core::Unexpected key_not_found(const Application& app, std::string_view thumbprint) {
  std::string text =
      "The certificate with identifier used to sign the client assertion is not registered on "
      "application. [Reason - The key was not found., ";
  if (!thumbprint.empty()) {
    text += "Thumbprint of key used by client: '";
    text += thumbprint;
    text += "', ";
  }
  text +=
      "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured "
      "keys for app Id '" +
      app.client_id +
      "'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to "
      "determine the corresponding service endpoint and "
      "https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http "
      "to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/" +
      app.object_id + "'].";
  return fail(aadsts::kCertificateProblem, std::move(text));
}

core::Unexpected invalid_signature(const KeyCredential& cred, std::string_view reason) {
  return fail(aadsts::kCertificateProblem,
              "Client assertion contains an invalid signature. [Reason - " + std::string(reason) +
                  ", Thumbprint of key used by client: '" +
                  core::hex_encode_upper(cred.thumbprint_sha1) + "', Found key 'Start=" +
                  entra_key_time(cred.start) + ", End=" + entra_key_time(cred.end) + "']");
}

core::Unexpected bad_secret(const Application& app) {
  return fail(aadsts::kBadSecret,
              "Invalid client secret provided. Ensure the secret being sent in the request is the "
              "client secret value, not the client secret ID, for a secret added to app '" +
                  app.client_id + "'.");
}

bool credential_current(const KeyCredential& c, int64_t now) {
  return c.start <= now && (c.end == 0 || now <= c.end);
}

}  // namespace

struct ClientAuthenticator::Impl {
  Impl(ClientAuthOptions o, const core::Clock& c)
      : options(std::move(o)),
        clock(c),
        hash_pool(std::max(1u, options.secret_hash_threads)),
        secret_cache(options.secret_cache_capacity),
        throttle(options.secret_failure_limit, options.secret_failure_window.count()),
        replay(options.replay_capacity),
        issuer_keys(make_fetcher(options), issuer_options(options), c) {}

  ~Impl() { hash_pool.join(); }

  static DocumentFetcher make_fetcher(const ClientAuthOptions& o) {
    if (o.fetch_document) return o.fetch_document;
    http::FetchOptions fetch_options;
    fetch_options.timeout = o.fetch_timeout;
    fetch_options.ca_file = o.external_ca_file;
    return
        [fetch_options](std::string url) { return http::fetch_url(std::move(url), fetch_options); };
  }
  static IssuerKeyCache::Options issuer_options(const ClientAuthOptions& o) {
    IssuerKeyCache::Options io;
    io.ttl = o.issuer_keys_ttl;
    io.refresh_interval = o.issuer_refresh_interval;
    return io;
  }

  net::awaitable<Result<AuthenticatedClient>> authenticate(const ClientCredentials& creds,
                                                           const EndpointInfo& where);
  Result<const Application*> find_application(std::string_view client_id,
                                              const EndpointInfo& where) const;
  net::awaitable<Result<AuthenticatedClient>> authenticate_secret(const Application& app,
                                                                  std::string_view secret,
                                                                  int64_t now);
  net::awaitable<Result<AuthenticatedClient>> authenticate_assertion(const ClientCredentials& creds,
                                                                     const EndpointInfo& where,
                                                                     int64_t now);
  Result<AuthenticatedClient> check_certificate_assertion(const Application& app,
                                                          const jose::DecodedJws& jws,
                                                          const json::object& claims,
                                                          std::string_view assertion,
                                                          const EndpointInfo& where, int64_t now);
  net::awaitable<Result<AuthenticatedClient>> check_federated_assertion(const Application& app,
                                                                        std::string_view assertion,
                                                                        const json::object& claims,
                                                                        int64_t now);
  Status check_replay(const Application& app, std::string_view issuer, std::string_view jti,
                      std::string_view assertion, double exp, int64_t now);

  ClientAuthOptions options;
  const core::Clock& clock;
  std::atomic<uint64_t> secret_hashes{0};
  std::atomic<uint64_t> secret_cache_hits{0};
  asio::thread_pool hash_pool;
  VerifiedSecretCache secret_cache;
  SecretFailureThrottle throttle;
  ReplayCache replay;
  CertificateKeys certificate_keys;
  IssuerKeyCache issuer_keys;
};

ClientAuthenticator::ClientAuthenticator(ClientAuthOptions options, const core::Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), clock)) {}

ClientAuthenticator::~ClientAuthenticator() = default;

net::awaitable<Result<AuthenticatedClient>> ClientAuthenticator::authenticate(
    const ClientCredentials& creds, const EndpointInfo& where) {
  return impl_->authenticate(creds, where);
}

ClientAuthStats ClientAuthenticator::stats() const {
  ClientAuthStats s;
  s.secret_hashes = impl_->secret_hashes.load(std::memory_order_relaxed);
  s.secret_cache_hits = impl_->secret_cache_hits.load(std::memory_order_relaxed);
  s.issuer_fetches = impl_->issuer_keys.fetches();
  s.replay_entries = impl_->replay.size();
  return s;
}

Result<const Application*> ClientAuthenticator::Impl::find_application(
    std::string_view client_id, const EndpointInfo& where) const {
  const Application* app = where.directory->application(where.tenant->id, client_id);
  if (app == nullptr) {
    return fail(aadsts::kUnknownClient,
                "Application with identifier '" + printable(client_id) +
                    "' was not found in the directory '" + where.tenant->display_name +
                    "'. This can happen if the application has not been installed by the "
                    "administrator of the tenant or consented to by any user in the tenant. You "
                    "may have sent your authentication request to the wrong tenant.");
  }
  if (!app->enabled) {
    return fail(aadsts::kAppDisabled,
                "UnauthorizedClientApplicationDisabled - The application is disabled.");
  }
  return app;
}

net::awaitable<Result<AuthenticatedClient>> ClientAuthenticator::Impl::authenticate(
    const ClientCredentials& creds, const EndpointInfo& where) {
  if (where.directory == nullptr || where.tenant == nullptr) {
    co_return fail(aadsts::kInternal, "client authentication called without a directory view");
  }
  const int64_t now = where.now != 0 ? where.now : clock.now_unix();

  // §1.2: exactly one client authentication method (RFC 6749 §2.3).
  const bool body_secret = !creds.client_secret.empty();
  const bool assertion = !creds.assertion.empty() || !creds.assertion_type.empty();
  const int methods = int{body_secret} + int{creds.has_basic} + int{assertion};
  if (methods == 0) {
    co_return fail(aadsts::kNoCredential,
                   "The request body must contain the following parameter: 'client_assertion' "
                   "or 'client_secret'.");
  }
  if (methods > 1) {
    std::string used;
    for (auto [present, name] :
         {std::pair{creds.has_basic, "HTTP Basic"}, std::pair{body_secret, "client_secret"},
          std::pair{assertion, "client_assertion"}}) {
      if (!present) continue;
      if (!used.empty()) used += " and ";
      used += name;
    }
    co_return fail(aadsts::kMultipleAuthMethods,
                   "The request uses more than one client authentication method (" + used +
                       "). Use exactly one of client_secret, HTTP Basic or client_assertion.");
  }
  if (assertion) co_return co_await authenticate_assertion(creds, where, now);

  std::string_view client_id = creds.client_id;
  std::string_view secret = creds.client_secret;
  if (creds.has_basic) {
    if (!creds.client_id.empty() && creds.client_id != creds.basic_user) {
      co_return fail(aadsts::kMultipleAuthMethods,
                     "The client_id parameter '" + printable(creds.client_id) +
                         "' does not match the client identifier in the Authorization header.");
    }
    client_id = creds.basic_user;
    secret = creds.basic_password;
  }
  if (client_id.empty()) co_return missing_parameter("client_id");
  GH_CO_TRY(const Application* app, find_application(client_id, where));
  co_return co_await authenticate_secret(*app, secret, now);
}

net::awaitable<Result<AuthenticatedClient>> ClientAuthenticator::Impl::authenticate_secret(
    const Application& app, std::string_view secret, int64_t now) {
  // Every secret valid now is a candidate (§8: rotation keeps several).
  std::vector<const PasswordCredential*> candidates;
  bool any_expired = false;
  for (const PasswordCredential& c : app.secrets) {
    if (c.end != 0 && c.end <= now) {
      any_expired = true;
    } else if (c.start <= now) {
      candidates.push_back(&c);
    }
  }
  if (candidates.empty()) {
    if (any_expired) {
      co_return fail(aadsts::kSecretsExpired,
                     "The provided client secret keys for app '" + app.client_id +
                         "' are expired. Visit the Azure portal to create new keys for your "
                         "app: https://aka.ms/NewClientSecret, or consider using certificate "
                         "credentials for added security: https://aka.ms/certCreds.");
    }
    co_return bad_secret(app);
  }
  if (secret.empty()) co_return bad_secret(app);

  auto tag = secret_cache.tag(app.tenant_id, app.client_id, secret);
  if (tag) {
    if (auto key_id = secret_cache.find(*tag, now)) {
      // Only while that credential is still registered and valid in this view.
      for (const PasswordCredential* c : candidates) {
        if (c->key_id != *key_id) continue;
        secret_cache_hits.fetch_add(1, std::memory_order_relaxed);
        co_return AuthenticatedClient{&app, AuthMethod::Secret, c->key_id, {}};
      }
    }
  }

  const std::string throttle_key = app.tenant_id + '/' + app.client_id;
  if (const int64_t wait = throttle.retry_after(throttle_key, now); wait > 0) {
    co_return fail(aadsts::kThrottled, "Too many requests with an invalid client secret for app '" +
                                           app.client_id + "'. Retry after " +
                                           std::to_string(wait) + " seconds.");
  }

  secret_hashes.fetch_add(1, std::memory_order_relaxed);
  auto check = std::make_unique<SecretCheck>();
  check->secret.assign(secret);
  for (const PasswordCredential* c : candidates)
    check->hashes.push_back(c->hash);
  // scrypt takes ~50-100 ms: hash on the pool so this worker's other connections keep going.
  auto hashed = asio::async_initiate<const asio::use_awaitable_t<net::Executor>&, void(int)>(
      StartSecretCheck{&hash_pool, std::move(check)}, asio::use_awaitable_t<net::Executor>{});
  const int matched = co_await std::move(hashed);
  if (matched < 0) {
    throttle.record_failure(throttle_key, now);
    co_return bad_secret(app);
  }
  const PasswordCredential& c = *candidates[static_cast<size_t>(matched)];
  if (tag) {
    int64_t until = now + options.secret_cache_ttl.count();
    if (c.end != 0) until = std::min(until, c.end);
    secret_cache.insert(*tag, c.key_id, until, now);
  }
  co_return AuthenticatedClient{&app, AuthMethod::Secret, c.key_id, {}};
}

net::awaitable<Result<AuthenticatedClient>> ClientAuthenticator::Impl::authenticate_assertion(
    const ClientCredentials& creds, const EndpointInfo& where, int64_t now) {
  if (creds.assertion_type.empty()) co_return missing_parameter("client_assertion_type");
  if (creds.assertion_type != kJwtBearer) {
    co_return fail(aadsts::kMissingParameter,
                   "The client_assertion_type '" + printable(creds.assertion_type) +
                       "' is not supported. Use '" + std::string(kJwtBearer) + "'.");
  }
  if (creds.assertion.empty()) co_return missing_parameter("client_assertion");

  // §2.3 step 1: compact JWS, strict base64url in every segment, strict JSON.
  auto decoded = jose::decode_compact(creds.assertion);
  if (!decoded) co_return malformed("");
  auto parsed_claims = jose::parse_strict_json_object(core::as_string_view(decoded->payload));
  if (!parsed_claims) co_return malformed("The claims are not a JSON object.");
  const jose::DecodedJws& jws = *decoded;
  const json::object& claims = *parsed_claims;

  const std::string_view iss = string_member(claims, "iss");
  const std::string_view sub = string_member(claims, "sub");
  // client_id is required by Entra's docs; without it the assertion's iss names the client
  // (RFC 7521 §4.2 makes it optional).
  const std::string_view client_id = creds.client_id.empty() ? iss : creds.client_id;
  if (client_id.empty()) co_return missing_parameter("client_id");
  GH_CO_TRY(const Application* app, find_application(client_id, where));

  // Dispatch (§2.7): iss == client_id is a certificate assertion; an iss some federated
  // credential of the app names is an external token; anything else is a mismatch.
  if (core::iequals(iss, app->client_id)) {
    co_return check_certificate_assertion(*app, jws, claims, creds.assertion, where, now);
  }
  const bool federated = std::any_of(app->federated.begin(), app->federated.end(),
                                     [&](const FederatedCredential& f) { return f.issuer == iss; });
  if (federated) {
    co_return co_await check_federated_assertion(*app, creds.assertion, claims, now);
  }
  if (iss.find("://") != std::string_view::npos) {
    const json::value* aud = claims.if_contains("aud");
    co_return fail(
        aadsts::kNoFederatedMatch,
        "No matching federated identity record found for presented assertion. "
        "Assertion Issuer: '" +
            printable(iss) + "'. Assertion Subject: '" + printable(sub) +
            "'. Assertion Audience: '" +
            printable(aud != nullptr && aud->is_string() ? aud->get_string() : std::string_view()) +
            "'.");
  }
  if (sub != iss) {
    co_return fail(aadsts::kSubjectMismatch,
                   "SubjectMismatchesIssuer - Subject mismatches Issuer claim in the client "
                   "assertion.");
  }
  co_return fail(aadsts::kAssertionClientMismatch,
                 "Client assertion application identifier doesn't match 'client_id' "
                 "parameter. " +
                     std::string(kCertificateDocs));
}

Result<AuthenticatedClient> ClientAuthenticator::Impl::check_certificate_assertion(
    const Application& app, const jose::DecodedJws& jws, const json::object& claims,
    std::string_view assertion, const EndpointInfo& where, int64_t now) {
  // Step 2: alg.
  const std::string_view alg_name = string_member(jws.header, "alg");
  const auto alg = jose::parse_alg(alg_name);
  if (!alg || !kCertificateAlgs.contains(*alg)) {
    return malformed("The assertion alg '" + printable(alg_name) +
                     "' is not accepted; sign with RS256 or PS256 (or RS384, RS512, PS384, "
                     "PS512).");
  }
  if (jws.header.contains("crit")) {
    return malformed("The JOSE header names a crit extension this server does not implement.");
  }

  // Step 3: the key, by x5t#S256, x5t, kid or x5c.
  GH_TRY(KeyChoice choice, choose_key(jws.header, app, *where.directory));
  const auto signature_ok = [&](const KeyCredential& c) {
    const auto key = certificate_keys.get(c);
    if (!key || !key->check_usable(*alg, false)) return false;
    const jose::JwsAlg a = *alg;
    const auto* verifier = key->verifier(a);
    return verifier != nullptr &&
           verifier->verify(core::as_bytes(jws.signing_input), jws.signature);
  };
  const KeyCredential* cred = choice.credential;
  if (choice.try_all) {
    for (const KeyCredential& c : app.certificates) {
      if (credential_current(c, now) && signature_ok(c)) {
        cred = &c;
        break;
      }
    }
    if (cred == nullptr) return key_not_found(app, {});
  } else {
    if (cred == nullptr) return key_not_found(app, choice.thumbprint);
    if (choice.x5c_leaf && *choice.x5c_leaf != cred->certificate_der) {
      return invalid_signature(*cred,
                               "The certificate in the x5c header is not the registered "
                               "certificate the thumbprint names.");
    }
    // Step 4: the credential's own validity.
    if (!credential_current(*cred, now)) {
      return invalid_signature(
          *cred, now < cred->start ? "The key used is not yet valid." : "The key used is expired.");
    }
    // Step 5: signature (PS* with salt length = digest length, RFC 7518 §3.5).
    if (!signature_ok(*cred)) {
      return invalid_signature(*cred,
                               "Key was found, but use of the key to verify the signature failed.");
    }
  }

  // Step 6: iss == sub == client_id (iss == client_id made this a certificate assertion).
  const std::string_view iss = string_member(claims, "iss");
  if (string_member(claims, "sub") != iss) {
    return fail(aadsts::kSubjectMismatch,
                "SubjectMismatchesIssuer - Subject mismatches Issuer claim in the client "
                "assertion.");
  }

  // Step 7: aud is this tenant's token endpoint (§2.4).
  const json::value* aud = claims.if_contains("aud");
  if (aud != nullptr && !aud->is_string()) {
    return malformed("The aud claim must be a single string.");  // as Entra answers an array
  }
  if (aud == nullptr ||
      !is_token_endpoint_audience(aud->get_string(), *where.tenant, where.origins)) {
    return fail(aadsts::kAssertionAudience,
                "Client assertion audience claim does not match Realm issuer. " +
                    std::string(kCertificateDocs));
  }

  // Steps 8-9: time window and lifetime cap.
  GH_TRY(AssertionTimes times, read_times(claims));
  const double precise_now =
      where.now != 0 ? static_cast<double>(now)
                     : std::chrono::duration<double>(clock.now().time_since_epoch()).count();
  GH_TRY_STATUS(check_times(times, precise_now, static_cast<double>(options.clock_skew.count()),
                            options.max_assertion_lifetime));

  // Step 10: jti, then the replay policy (§2.6).
  const json::value* jti = claims.if_contains("jti");
  if (jti == nullptr) return missing_claim("jti");
  if (!jti->is_string() || jti->get_string().empty()) {
    return malformed("The jti claim must be a non-empty string.");
  }
  GH_TRY_STATUS(check_replay(app, iss, jti->get_string(), assertion, times.exp, now));
  return AuthenticatedClient{&app, AuthMethod::Certificate,
                             core::hex_encode_upper(cred->thumbprint_sha1),
                             std::string(jti->get_string())};
}

net::awaitable<Result<AuthenticatedClient>> ClientAuthenticator::Impl::check_federated_assertion(
    const Application& app, std::string_view assertion, const json::object& claims, int64_t now) {
  const std::string iss(string_member(claims, "iss"));
  const jose::JwsVerifyOptions verify_options{jose::AlgSet::asymmetric(), {}};

  // The external issuer's keys (OIDC discovery + JWKS, cached); an unknown kid may refetch once.
  GH_CO_TRY(auto keys, co_await issuer_keys.keys(iss, false));
  auto verified = jose::verify_compact(assertion, *keys, verify_options);
  if (!verified && jose::jwt_error(verified.error()) == jose::JwtError::UnknownKey) {
    GH_CO_TRY(keys, co_await issuer_keys.keys(iss, true));
    verified = jose::verify_compact(assertion, *keys, verify_options);
  }
  if (!verified) {
    const jose::JwtError why = jose::jwt_error(verified.error());
    if (why == jose::JwtError::UnsupportedAlg || why == jose::JwtError::AlgNotAllowed) {
      co_return malformed("The token's alg is not accepted (asymmetric algorithms only).");
    }
    co_return malformed("External ID token from issuer failed signature verification.");
  }

  // Subject and audience must match one credential of this issuer exactly (no wildcards).
  const std::string_view sub = string_member(claims, "sub");
  const json::value* aud = claims.if_contains("aud");
  const auto audience_matches = [&](const std::string& wanted) {
    if (aud == nullptr) return false;
    if (aud->is_string()) return aud->get_string() == wanted;
    if (!aud->is_array()) return false;
    return std::any_of(aud->get_array().begin(), aud->get_array().end(), [&](const json::value& v) {
      return v.is_string() && v.get_string() == wanted;
    });
  };
  const FederatedCredential* fic = nullptr;
  for (const FederatedCredential& f : app.federated) {
    if (f.issuer == iss && f.subject == sub && audience_matches(f.audience)) {
      fic = &f;
      break;
    }
  }
  if (fic == nullptr) {
    std::string shown_aud;
    if (aud != nullptr && aud->is_string()) {
      shown_aud = aud->get_string();
    } else if (aud != nullptr && aud->is_array()) {
      for (const json::value& v : aud->get_array()) {
        if (!v.is_string()) continue;
        if (!shown_aud.empty()) shown_aud += ',';
        shown_aud += v.get_string();
      }
    }
    co_return fail(aadsts::kNoFederatedMatch,
                   "No matching federated identity record found for presented assertion. "
                   "Assertion Issuer: '" +
                       printable(iss) + "'. Assertion Subject: '" + printable(sub) +
                       "'. Assertion Audience: '" + printable(shown_aud) + "'.");
  }

  GH_CO_TRY(AssertionTimes times, read_times(claims));
  if (auto in_time = check_times(times, static_cast<double>(now),
                                 static_cast<double>(options.clock_skew.count()),
                                 options.max_federated_lifetime);
      !in_time) {
    co_return unexpected(std::move(in_time).error());
  }
  // External tokens need not carry a jti; when they do, the same replay policy applies.
  std::string jti;
  if (const json::value* j = claims.if_contains("jti"); j != nullptr) {
    if (!j->is_string() || j->get_string().empty()) {
      co_return malformed("The jti claim must be a non-empty string.");
    }
    jti = j->get_string();
    if (auto fresh = check_replay(app, iss, jti, assertion, times.exp, now); !fresh) {
      co_return unexpected(std::move(fresh).error());
    }
  }
  co_return AuthenticatedClient{&app, AuthMethod::Federated, fic->name, std::move(jti)};
}

Status ClientAuthenticator::Impl::check_replay(const Application& app, std::string_view issuer,
                                               std::string_view jti, std::string_view assertion,
                                               double exp, int64_t now) {
  std::string scope;
  scope.reserve(app.tenant_id.size() + app.client_id.size() + issuer.size() + 2);
  scope += app.tenant_id;
  scope += '\n';
  scope += core::to_lower(app.client_id);
  scope += '\n';
  scope += issuer;
  // Remembered while the assertion could still be accepted: until exp plus the skew.
  const auto until = static_cast<int64_t>(std::ceil(exp)) + options.clock_skew.count();
  const auto verdict = replay.check_and_record(scope, jti, assertion, until, now);
  if (verdict == ReplayCache::Verdict::Replay) {
    return malformed("The client assertion jti '" + printable(jti) +
                     "' was already used by a different assertion (replay).");
  }
  if (verdict == ReplayCache::Verdict::Repeat && app.strict_assertion_replay) {
    return malformed("The client assertion jti '" + printable(jti) +
                     "' has already been used, and this application accepts each assertion "
                     "only once.");
  }
  return {};
}

}  // namespace gh::identity
