#include "admin/admin_auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "config/value_parsers.h"
#include "core/encoding.h"
#include "core/files.h"
#include "core/strings.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "jose/jwt.h"

namespace gh::admin {
namespace {

constexpr size_t kMinEnvTokenLength = 32;
constexpr size_t kMaxTokenFileBytes = 4096;
// Our own tokens are checked with a small skew: the admin API and the issuer share a clock.
constexpr std::chrono::seconds kTokenSkew{60};

std::string describe_errno(int err) {
  return std::generic_category().message(err);
}

std::array<uint8_t, 32> digest_of(std::string_view token) {
  return crypto::sha256(token);
}

// Closes a file descriptor when it leaves scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Result<std::string> read_token_file(const std::string& file) {
  Fd f{::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (f.fd < 0) {
    return unexpected(ErrorKind::Io,
                      file + ": cannot read the admin token file: " + describe_errno(errno));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return unexpected(ErrorKind::InvalidArgument,
                      file + ": the admin token file is not a regular file");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return unexpected(ErrorKind::InvalidArgument,
                      file +
                          ": the admin token file must not be accessible by group or others "
                          "(chmod 600)");
  }
  std::string text(kMaxTokenFileBytes + 1, '\0');
  size_t size = 0;
  for (;;) {
    const ssize_t n = ::read(f.fd, text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return unexpected(ErrorKind::Io,
                        file + ": cannot read the admin token file: " + describe_errno(errno));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
    if (size > kMaxTokenFileBytes) {
      return unexpected(ErrorKind::InvalidArgument, file + ": the admin token file is too large");
    }
  }
  text.resize(size);
  std::string token(core::trim_ows(text));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  if (token.empty()) {
    return unexpected(ErrorKind::InvalidArgument, file + ": the admin token file is empty");
  }
  return token;
}

// O_EXCL: two processes starting at once cannot overwrite each other's token.
Result<bool> create_token_file(const std::string& file) {
  const std::filesystem::path dir = std::filesystem::path(file).parent_path();
  if (!dir.empty()) GH_TRY_STATUS(core::make_directories(dir.string(), 0700));
  Fd f{::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (f.fd < 0) {
    if (errno == EEXIST) return false;
    return unexpected(ErrorKind::Io,
                      file + ": cannot create the admin token file: " + describe_errno(errno));
  }
  const std::string content = new_admin_token() + "\n";
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(f.fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::unlink(file.c_str());
      return unexpected(ErrorKind::Io,
                        file + ": cannot write the admin token file: " + describe_errno(err));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(f.fd) != 0) {
    const int err = errno;
    ::unlink(file.c_str());
    return unexpected(ErrorKind::Io,
                      file + ": cannot write the admin token file: " + describe_errno(err));
  }
  return true;
}

// "/{tenant}/" (v1) or "/{tenant}/v2.0" (v2) after the origin of `iss`; the tenant GUID or "".
std::string tenant_of_issuer(std::string_view iss) {
  const size_t scheme = iss.find("://");
  if (scheme == std::string_view::npos) return {};
  const std::string_view scheme_name = iss.substr(0, scheme);
  if (scheme_name != "https" && scheme_name != "http") return {};
  const size_t path = iss.find('/', scheme + 3);
  if (path == std::string_view::npos || path == scheme + 3) return {};
  std::string_view rest = iss.substr(path + 1);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  const std::string_view tenant = rest.substr(0, slash);
  const std::string_view tail = rest.substr(slash);
  if (tail != "/" && tail != "/v2.0") return {};
  auto guid = config::normalize_guid(tenant);
  // Our issuers carry the canonical lower-case GUID, never an alias.
  if (!guid || *guid != tenant) return {};
  return std::string(tenant);
}

bool has_role(const boost::json::object& claims, std::string_view role) {
  const auto* roles = claims.if_contains("roles");
  if (!roles || !roles->is_array()) return false;
  for (const auto& r : roles->get_array()) {
    if (r.is_string() && r.get_string() == role) return true;
  }
  return false;
}

std::string string_claim(const boost::json::object& claims, std::string_view name) {
  const auto* v = claims.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::string new_admin_token() {
  std::array<uint8_t, 32> bytes{};
  crypto::random_bytes(bytes);
  return core::base64url_encode(bytes);
}

Result<AdminCredential> AdminCredential::load_or_create(const std::string& file,
                                                        std::optional<std::string> env_token) {
  AdminCredential credential;
  if (env_token && !env_token->empty()) {
    if (env_token->size() < kMinEnvTokenLength) {
      return unexpected(ErrorKind::InvalidArgument,
                        "GATEHOUSE_ADMIN_TOKEN: the admin token must be at least 32 characters");
    }
    credential.digests_.push_back(digest_of(*env_token));
  }
  if (!file.empty()) {
    GH_TRY(const bool created, create_token_file(file));
    (void)created;
    GH_TRY(std::string token, read_token_file(file));
    credential.digests_.push_back(digest_of(token));
  }
  if (credential.digests_.empty()) {
    return unexpected(ErrorKind::InvalidArgument,
                      "no admin token: set identity.admin_token_file or GATEHOUSE_ADMIN_TOKEN");
  }
  return credential;
}

AdminCredential AdminCredential::from_tokens(const std::vector<std::string>& tokens) {
  AdminCredential credential;
  for (const auto& t : tokens)
    credential.digests_.push_back(digest_of(t));
  return credential;
}

bool AdminCredential::matches(std::string_view token) const noexcept {
  const auto presented = digest_of(token);
  bool any = false;
  // Every digest is compared, so timing does not tell which (if any) matched.
  for (const auto& d : digests_)
    any = crypto::constant_time_equal(presented, d) || any;
  return any;
}

AuthResult authorize_admin(std::string_view authorization, const AdminCredential& credential,
                           const identity::Directory& directory, const identity::KeyRing& keys,
                           const core::Clock& clock) {
  AuthResult out;
  authorization = core::trim_ows(authorization);
  const size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !core::iequals(authorization.substr(0, space), "Bearer")) {
    out.outcome = AuthOutcome::Missing;
    out.reason = "missing bearer token";
    return out;
  }
  const std::string_view token = core::trim_ows(authorization.substr(space + 1));
  if (token.empty()) {
    out.outcome = AuthOutcome::Missing;
    out.reason = "missing bearer token";
    return out;
  }
  if (credential.matches(token)) {
    out.outcome = AuthOutcome::Allowed;
    out.caller = "bootstrap";
    return out;
  }
  out.outcome = AuthOutcome::Invalid;
  if (token.find('.') == std::string_view::npos) {
    out.reason = "not the admin token";
    return out;
  }
  const auto key_set = keys.current();
  if (!key_set) {
    out.reason = "no signing keys";
    return out;
  }
  jose::JwtVerifyOptions options;
  options.claims.require_exp = true;
  options.claims.clock_skew = kTokenSkew;
  auto verified = jose::verify_jwt(token, key_set->public_keys(), options, clock);
  if (!verified) {
    out.reason = verified.error().message;
    return out;
  }
  const boost::json::object& claims = verified->claims;
  const std::string tenant = tenant_of_issuer(string_claim(claims, "iss"));
  const auto view = directory.view();
  const identity::Tenant* known = tenant.empty() ? nullptr : view->tenant(tenant);
  if (!known || known->id != tenant) {
    out.reason = "the token was not issued for a tenant of this Gatehouse";
    return out;
  }
  if (string_claim(claims, "tid") != tenant) {
    out.reason = "the token's tid does not match its issuer";
    return out;
  }
  out.caller = string_claim(claims, "azp");
  if (out.caller.empty()) out.caller = string_claim(claims, "appid");
  if (!has_role(claims, kAdminRole)) {
    out.outcome = AuthOutcome::MissingRole;
    out.reason = "the token has no Gatehouse.Admin role";
    return out;
  }
  out.outcome = AuthOutcome::Allowed;
  return out;
}

}  // namespace gh::admin
