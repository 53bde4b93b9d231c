// Runs the built `gatehouse cert` binary in a temporary directory.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "crypto/key.h"
#include "support/test_pki.h"
#include "x509/cert_loader.h"

namespace gh::x509 {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

class CertCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // unit_x509 lives in <build>/tests/, the gatehouse binary in <build>/.
    bin_ = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "gatehouse";
    if (!fs::exists(bin_)) GTEST_SKIP() << "gatehouse binary not built at " << bin_;
    std::string templ = (fs::temp_directory_path() / "gh-cert-cli-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  CliRun run(const std::string& args) {
    const std::string cmd =
        "cd '" + dir_.string() + "' && '" + bin_.string() + "' " + args + " 2>&1";
    CliRun r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return r;
    std::array<char, 512> buf;
    while (std::fgets(buf.data(), buf.size(), p))
      r.out += buf.data();
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string field(const std::string& out, const std::string& name) {
    auto pos = out.find(name + ":");
    if (pos == std::string::npos) return {};
    pos = out.find_first_not_of(' ', pos + name.size() + 1);
    return out.substr(pos, out.find('\n', pos) - pos);
  }

  fs::path bin_;
  fs::path dir_;
};

TEST_F(CertCliTest, NewWritesKeyCertAndPfxAndPrintsThumbprints) {
  CliRun r =
      run("cert new --subject 'CN=api.example.com,O=Contoso' --key-type ec256 --days 30 "
          "--out svc --san DNS:api.example.com,IP:127.0.0.1 --pfx-password 'p@ss'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat(path("svc.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(path("svc.pfx").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(r.out.find("PRIVATE KEY"), std::string::npos) << "the key must never be printed";

  auto pem = crypto::read_file(path("svc.pem"));
  ASSERT_TRUE(pem);
  auto certs = load_certificates(*pem);
  ASSERT_TRUE(certs);
  const Certificate& c = certs->front();
  EXPECT_EQ(field(r.out, "sha1"), c.thumbprint_sha1());
  EXPECT_EQ(field(r.out, "sha256"), c.thumbprint_sha256());
  EXPECT_EQ(field(r.out, "x5t"), c.x5t());
  EXPECT_EQ(c.subject_alt_names().dns, (std::vector<std::string>{"api.example.com"}));
  EXPECT_EQ(c.not_after() - c.not_before(), 30 * 86400 + 300);

  auto key = crypto::read_file(path("svc.key"));
  ASSERT_TRUE(key);
  auto pkey = crypto::load_private_key(*key);
  ASSERT_TRUE(pkey);
  EXPECT_EQ(EVP_PKEY_eq(pkey->get(), c.public_key().get()), 1);

  auto pfx = crypto::read_file(path("svc.pfx"));
  ASSERT_TRUE(pfx);
  auto bundle = load_pkcs12(core::as_bytes(*pfx), "p@ss");
  ASSERT_TRUE(bundle) << bundle.error().message;
  EXPECT_EQ(bundle->cert->thumbprint_sha1(), c.thumbprint_sha1());

  // Existing files are not overwritten without --force.
  CliRun again = run("cert new --subject CN=x --out svc");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("svc.key"), std::string::npos) << again.out;
  EXPECT_EQ(run("cert new --subject CN=x --out svc --force").exit_code, 0);
}

TEST_F(CertCliTest, NewCsr) {
  CliRun r = run("cert new --subject CN=req.test --csr --key-type rsa2048 --out req");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto csr = crypto::read_file(path("req.csr"));
  ASSERT_TRUE(csr);
  EXPECT_EQ(csr->rfind("-----BEGIN CERTIFICATE REQUEST-----", 0), 0u);
  EXPECT_FALSE(fs::exists(path("req.pem")));
  EXPECT_EQ(run("cert new --subject CN=x --csr --pfx-password a --out y").exit_code, 1);
}

TEST_F(CertCliTest, NewRejectsBadArguments) {
  CliRun bad_subject = run("cert new --subject 'nonsense' --out z");
  EXPECT_EQ(bad_subject.exit_code, 1);
  EXPECT_NE(bad_subject.out.find("--subject"), std::string::npos) << bad_subject.out;
  CliRun bad_type = run("cert new --subject CN=x --key-type dsa --out z");
  EXPECT_EQ(bad_type.exit_code, 1);
  EXPECT_NE(bad_type.out.find("dsa"), std::string::npos);
  EXPECT_EQ(run("cert new --subject CN=x --san FOO:bar --out z").exit_code, 1);
  EXPECT_FALSE(fs::exists(path("z.key")));
}

TEST_F(CertCliTest, ThumbprintAndInspectPemDerPfx) {
  test::TestPki pki(std::time(nullptr));
  {
    std::FILE* f = std::fopen(path("chain.pem").c_str(), "w");
    const std::string pem = pki.leaf().cert_pem() + pki.intermediate().cert_pem();
    std::fwrite(pem.data(), 1, pem.size(), f);
    std::fclose(f);
    f = std::fopen(path("leaf.der").c_str(), "w");
    const auto der = pki.leaf().der();
    std::fwrite(der.data(), 1, der.size(), f);
    std::fclose(f);
    f = std::fopen(path("leaf.pfx").c_str(), "w");
    const auto pfx = pki.make_pkcs12(pki.leaf(), {&pki.intermediate()}, "pw");
    std::fwrite(pfx.data(), 1, pfx.size(), f);
    std::fclose(f);
  }
  const Certificate leaf(crypto::share(pki.leaf().cert.get()));
  CliRun der = run("cert thumbprint leaf.der");
  ASSERT_EQ(der.exit_code, 0) << der.out;
  EXPECT_EQ(field(der.out, "sha1"), leaf.thumbprint_sha1());
  EXPECT_EQ(field(der.out, "x5t#S256"), leaf.x5t_s256());

  CliRun chain = run("cert thumbprint chain.pem");
  ASSERT_EQ(chain.exit_code, 0) << chain.out;
  EXPECT_NE(chain.out.find("[2] CN=Gatehouse Test Issuing CA"), std::string::npos) << chain.out;

  CliRun pfx = run("cert inspect leaf.pfx --password pw");
  ASSERT_EQ(pfx.exit_code, 0) << pfx.out;
  EXPECT_NE(pfx.out.find("Certificate 2 of 2"), std::string::npos);
  EXPECT_EQ(field(pfx.out, "subject"), "CN=leaf.test,O=Gatehouse Tests");
  EXPECT_EQ(field(pfx.out, "serial"), leaf.serial_hex());
  EXPECT_EQ(field(pfx.out, "SANs"), "DNS:leaf.test, DNS:*.wild.test, IP:127.0.0.1");
  EXPECT_EQ(field(pfx.out, "key"), "EC P-256 (256 bits)");
  EXPECT_EQ(field(pfx.out, "CA"), "no");
  // 30 days minus the seconds between making the PKI and running the binary.
  const auto note = pfx.out.find("(expires in ");
  ASSERT_NE(note, std::string::npos) << pfx.out;
  const int days = std::atoi(pfx.out.c_str() + note + 12);
  EXPECT_TRUE(days == 29 || days == 30) << pfx.out;
  EXPECT_NE(pfx.out.find("CA:          yes"), std::string::npos);

  CliRun wrong = run("cert inspect leaf.pfx --password nope");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.out.find("leaf.pfx"), std::string::npos);
  EXPECT_NE(wrong.out.find("wrong password"), std::string::npos) << wrong.out;
}

TEST_F(CertCliTest, InspectShowsExpired) {
  test::TestPki pki(std::time(nullptr));
  std::FILE* f = std::fopen(path("old.pem").c_str(), "w");
  const std::string pem = pki.expired().cert_pem();
  std::fwrite(pem.data(), 1, pem.size(), f);
  std::fclose(f);
  CliRun r = run("cert inspect old.pem");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("EXPIRED 1 days ago"), std::string::npos) << r.out;
}

TEST_F(CertCliTest, UnreadableInputNamesTheFile) {
  CliRun missing = run("cert inspect does-not-exist.pem");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("does-not-exist.pem: No such file"), std::string::npos) << missing.out;
  std::FILE* f = std::fopen(path("junk.bin").c_str(), "w");
  std::fputs("junk", f);
  std::fclose(f);
  CliRun junk = run("cert thumbprint junk.bin");
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_NE(junk.out.find("junk.bin: not a PEM, DER or PKCS#12"), std::string::npos) << junk.out;
}

}  // namespace
}  // namespace gh::x509
