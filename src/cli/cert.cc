// `gatehouse cert ...`: create, fingerprint and inspect certificates. Never prints private keys.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "cli/app.h"
#include "core/clock.h"
#include "crypto/key.h"
#include "x509/cert_builder.h"
#include "x509/cert_loader.h"
#include "x509/certificate.h"

namespace gh::cli {
namespace {

struct NewOptions {
  std::string subject;
  std::string key_type = "ec256";
  int days = 365;
  std::string out;
  std::string pfx_password;
  bool csr = false;
  bool force = false;
  std::string sans;
};

struct ReadOptions {
  std::string file;
  std::string password;
};

int fail(const std::string& message) {
  fmt::print(stderr, "gatehouse cert: {}\n", message);
  return 1;
}

// Writes `data` to `path` with exactly `mode` (fchmod, so an existing file's mode and the
// umask do not leave a key world-readable). Refuses to overwrite unless `force`.
Status write_file(const std::string& path, std::string_view data, mode_t mode, bool force) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    const int err = errno;
    return unexpected(ErrorKind::Io, "cannot create " + path + ": " + std::strerror(err) +
                                         (err == EEXIST ? " (use --force to overwrite)" : ""));
  }
  bool ok = ::fchmod(fd, mode) == 0;
  for (size_t done = 0; ok && done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = (::close(fd) == 0) && ok;
  if (!ok) return unexpected(ErrorKind::Io, "cannot write " + path);
  return {};
}

Result<crypto::EvpPkeyPtr> generate_key(const std::string& type) {
  if (type == "rsa2048") return crypto::generate_rsa(2048);
  if (type == "rsa3072") return crypto::generate_rsa(3072);
  if (type == "rsa4096") return crypto::generate_rsa(4096);
  if (type == "ec256") return crypto::generate_ec("P-256");
  if (type == "ec384") return crypto::generate_ec("P-384");
  return unexpected(ErrorKind::InvalidArgument,
                    "unknown --key-type '" + type + "' (rsa2048, rsa3072, rsa4096, ec256, ec384)");
}

// A file-name-safe default prefix from the subject's CN ("api.example.com"), else "cert".
std::string default_prefix(const std::string& subject) {
  std::string cn;
  if (auto pos = subject.find("CN="); pos != std::string::npos) {
    const auto end = subject.find_first_of(",/", pos);  // npos: to the end
    cn = subject.substr(pos + 3, end == std::string::npos ? end : end - pos - 3);
  }
  std::string out;
  for (char c : cn) {
    const bool safe =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    out.push_back(safe ? c : '_');
  }
  if (out.empty() || out.front() == '.') out = "cert";
  return out;
}

std::string utc(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string key_description(const EVP_PKEY* key) {
  if (key == nullptr) return "unknown";
  switch (crypto::key_type(key)) {
    case crypto::KeyType::Rsa:
      return fmt::format("RSA {}", crypto::key_bits(key));
    case crypto::KeyType::RsaPss:
      return fmt::format("RSA-PSS {}", crypto::key_bits(key));
    case crypto::KeyType::Ec:
      return fmt::format("EC {} ({} bits)", crypto::ec_curve_name(key), crypto::key_bits(key));
    case crypto::KeyType::Ed25519:
      return "Ed25519";
    case crypto::KeyType::Other:
      break;
  }
  return fmt::format("{} ({} bits)", EVP_PKEY_get0_type_name(key), crypto::key_bits(key));
}

std::string validity_note(const x509::Certificate& cert, int64_t now) {
  constexpr int64_t kDay = 86400;
  if (now < cert.not_before()) {
    return fmt::format("NOT YET VALID (starts in {} days)", (cert.not_before() - now) / kDay);
  }
  if (now > cert.not_after()) {
    return fmt::format("EXPIRED {} days ago", (now - cert.not_after()) / kDay);
  }
  return fmt::format("expires in {} days", (cert.not_after() - now) / kDay);
}

std::string san_list(const x509::SubjectAltNames& sans) {
  std::vector<std::string> parts;
  for (const auto& v : sans.dns)
    parts.push_back("DNS:" + v);
  for (const auto& v : sans.ip)
    parts.push_back("IP:" + v);
  for (const auto& v : sans.uri)
    parts.push_back("URI:" + v);
  for (const auto& v : sans.email)
    parts.push_back("email:" + v);
  if (parts.empty()) return "(none)";
  std::string out;
  for (const auto& p : parts)
    out += (out.empty() ? "" : ", ") + p;
  return out;
}

void print_thumbprints(const x509::Certificate& cert, std::string_view indent) {
  fmt::print("{}sha1:        {}\n", indent, cert.thumbprint_sha1());
  fmt::print("{}sha256:      {}\n", indent, cert.thumbprint_sha256());
  fmt::print("{}x5t:         {}\n", indent, cert.x5t());
  fmt::print("{}x5t#S256:    {}\n", indent, cert.x5t_s256());
}

Result<std::vector<x509::Certificate>> read_certificates(const ReadOptions& o) {
  // read_file only says "cannot open"; tell the user why.
  if (::access(o.file.c_str(), R_OK) != 0) {
    return unexpected(ErrorKind::Io, o.file + ": " + std::strerror(errno));
  }
  auto data = crypto::read_file(o.file);
  if (!data) return unexpected(data.error());
  auto certs = x509::load_any_certificates(*data, o.password);
  if (!certs) {
    std::string hint;
    if (certs.error().detail == static_cast<int>(x509::LoadError::WrongPassword)) {
      hint = o.password.empty() ? " (the file needs --password)" : "";
    }
    return unexpected(certs.error().kind, o.file + ": " + certs.error().message + hint,
                      certs.error().detail);
  }
  return certs;
}

int run_new(const NewOptions& o) {
  x509::CertSpec spec;
  spec.subject = o.subject;
  spec.days = o.days;
  if (!o.sans.empty()) {
    auto sans = x509::parse_san_list(o.sans);
    if (!sans) return fail("--san: " + sans.error().message);
    spec.sans = std::move(*sans);
  }
  if (auto name = x509::parse_distinguished_name(o.subject); !name) {
    return fail("--subject: " + name.error().message);
  }
  if (o.csr && !o.pfx_password.empty()) {
    return fail("--pfx-password needs a certificate; it cannot be combined with --csr");
  }
  auto key = generate_key(o.key_type);
  if (!key) return fail(key.error().message);
  const std::string prefix = o.out.empty() ? default_prefix(o.subject) : o.out;
  auto key_pem = crypto::private_key_pem(key->get());
  if (!key_pem) return fail(key_pem.error().message);

  if (o.csr) {
    auto req = x509::make_csr(key->get(), spec);
    if (!req) return fail(req.error().message);
    auto pem = x509::csr_pem(req->get());
    if (!pem) return fail(pem.error().message);
    if (auto s = write_file(prefix + ".key", *key_pem, 0600, o.force); !s) {
      return fail(s.error().message);
    }
    if (auto s = write_file(prefix + ".csr", *pem, 0644, o.force); !s) {
      return fail(s.error().message);
    }
    fmt::print("subject:     {}\n", o.subject);
    fmt::print("key:         {}.key ({})\n", prefix, key_description(key->get()));
    fmt::print("request:     {}.csr\n", prefix);
    return 0;
  }

  auto cert = x509::make_self_signed(key->get(), spec, core::SystemClock::instance());
  if (!cert) return fail(cert.error().message);
  std::optional<core::Bytes> pfx;
  if (!o.pfx_password.empty()) {
    auto p = x509::make_pkcs12(key->get(), *cert, {}, o.pfx_password, cert->subject_cn());
    if (!p) return fail(p.error().message);
    pfx = std::move(*p);
  }
  if (auto s = write_file(prefix + ".key", *key_pem, 0600, o.force); !s) {
    return fail(s.error().message);
  }
  if (auto s = write_file(prefix + ".pem", cert->pem(), 0644, o.force); !s) {
    return fail(s.error().message);
  }
  if (pfx) {
    // The PFX holds the private key too, so it gets the key's mode.
    if (auto s = write_file(prefix + ".pfx", core::as_string_view(*pfx), 0600, o.force); !s) {
      return fail(s.error().message);
    }
  }
  fmt::print("subject:     {}\n", cert->subject());
  fmt::print("not after:   {}\n", utc(cert->not_after()));
  print_thumbprints(*cert, "");
  fmt::print("key:         {}.key ({})\n", prefix, key_description(key->get()));
  fmt::print("certificate: {}.pem\n", prefix);
  if (pfx) fmt::print("pfx:         {}.pfx\n", prefix);
  return 0;
}

int run_thumbprint(const ReadOptions& o) {
  auto certs = read_certificates(o);
  if (!certs) return fail(certs.error().message);
  const bool many = certs->size() > 1;
  for (size_t i = 0; i < certs->size(); ++i) {
    const auto& c = (*certs)[i];
    if (many) fmt::print("{}[{}] {}\n", i ? "\n" : "", i + 1, c.subject());
    print_thumbprints(c, "");
  }
  return 0;
}

int run_inspect(const ReadOptions& o) {
  auto certs = read_certificates(o);
  if (!certs) return fail(certs.error().message);
  const int64_t now = core::SystemClock::instance().now_unix();
  for (size_t i = 0; i < certs->size(); ++i) {
    const auto& c = (*certs)[i];
    auto pub = c.public_key();
    fmt::print("{}Certificate {} of {}\n", i ? "\n" : "", i + 1, certs->size());
    fmt::print("  subject:     {}\n", c.subject());
    fmt::print("  issuer:      {}\n", c.issuer());
    fmt::print("  serial:      {}\n", c.serial_hex());
    fmt::print("  not before:  {}\n", utc(c.not_before()));
    fmt::print("  not after:   {} ({})\n", utc(c.not_after()), validity_note(c, now));
    fmt::print("  SANs:        {}\n", san_list(c.subject_alt_names()));
    fmt::print("  key:         {}\n", key_description(pub.get()));
    fmt::print("  CA:          {}\n", c.is_ca() ? "yes" : "no");
    print_thumbprints(c, "  ");
  }
  return 0;
}

}  // namespace

void add_cert_commands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand("cert", "Create, fingerprint and inspect certificates");
  group->require_subcommand(1);

  auto n = std::make_shared<NewOptions>();
  CLI::App* create = group->add_subcommand(
      "new", "Create a key and a self-signed certificate (or a CSR); prints thumbprints");
  create->add_option("--subject", n->subject, "distinguished name, e.g. \"CN=api.example.com\"")
      ->required();
  create->add_option("--key-type", n->key_type, "rsa2048 | rsa3072 | rsa4096 | ec256 | ec384")
      ->capture_default_str();
  create->add_option("--days", n->days, "validity in days")->capture_default_str();
  create->add_option("--out", n->out, "output prefix (default: the CN)");
  create->add_option("--pfx-password", n->pfx_password,
                     "also write PREFIX.pfx (PKCS#12) protected by this password");
  create->add_flag("--csr", n->csr, "write a certificate signing request instead");
  create->add_option("--san", n->sans, "subject alternative names: DNS:x,IP:y,URI:z,email:w");
  create->add_flag("--force", n->force, "overwrite existing output files");
  create->callback([n, &exit_code] { exit_code = run_new(*n); });

  auto t = std::make_shared<ReadOptions>();
  CLI::App* thumb = group->add_subcommand(
      "thumbprint", "Print SHA-1 (upper-case hex), SHA-256, x5t and x5t#S256 of a certificate");
  thumb->add_option("FILE", t->file, "PEM, DER or PKCS#12 file")->required();
  thumb->add_option("--password", t->password, "PKCS#12 password");
  thumb->callback([t, &exit_code] { exit_code = run_thumbprint(*t); });

  auto r = std::make_shared<ReadOptions>();
  CLI::App* inspect =
      group->add_subcommand("inspect", "Show the fields of every certificate in a file");
  inspect->add_option("FILE", r->file, "PEM, DER or PKCS#12 file")->required();
  inspect->add_option("--password", r->password, "PKCS#12 password");
  inspect->callback([r, &exit_code] { exit_code = run_inspect(*r); });
}

}  // namespace gh::cli
