#include "config/proxy_config_loader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/paths.h"

namespace gh::config {
namespace {

namespace fs = std::filesystem;

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "in: " << (haystack)

// A fresh directory under /tmp, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "gh-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& content) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  fs::path path_;
};

int line_containing(const std::string& text, const std::string& needle) {
  const size_t pos = text.find(needle);
  if (pos == std::string::npos) return -1;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
}

const std::string kExample = "examples/proxy/gatehouse.yaml";

TEST(ExampleConfig, ParsesWithOriginUrl) {
  auto c = load_proxy_config(test::source_path(kExample),
                             fixed_environment({{"ORIGIN_URL", "http://127.0.0.1:9000"}}));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->listeners.size(), 1u);
  EXPECT_EQ(c->listeners[0].host, "127.0.0.1");
  EXPECT_EQ(c->listeners[0].port, 8080);
  EXPECT_FALSE(c->listeners[0].tls);
  ASSERT_TRUE(c->admin);
  EXPECT_EQ(c->admin->port, 9901);
  ASSERT_EQ(c->apis.size(), 1u);
  EXPECT_EQ(c->apis[0].path, "");  // every path
  EXPECT_TRUE(c->apis[0].operations.empty());
  ASSERT_EQ(c->backends.size(), 1u);
  EXPECT_EQ(c->backends[0].scheme, "http");
  EXPECT_EQ(c->backends[0].host, "127.0.0.1");
  EXPECT_EQ(c->backends[0].port, 9000);
  EXPECT_EQ(c->apis[0].backend_id, c->backends[0].id);
  EXPECT_TRUE(check_referenced_files(*c));
}

TEST(ExampleConfig, AddressesCanBeOverridden) {
  auto c = load_proxy_config(test::source_path(kExample),
                             fixed_environment({{"ORIGIN_URL", "https://origin.internal/v1/"},
                                                {"GATEHOUSE_LISTEN", "[::1]:18080"},
                                                {"GATEHOUSE_ADMIN", "127.0.0.1:19901"}}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->listeners[0].host, "::1");
  EXPECT_EQ(c->listeners[0].port, 18080);
  EXPECT_EQ(c->admin->port, 19901);
  EXPECT_EQ(c->backends[0].port, 443);
  EXPECT_EQ(c->backends[0].base_path, "/v1");
}

TEST(ExampleConfig, FailsClearlyWithoutOriginUrl) {
  const std::string path = test::source_path(kExample);
  auto c = load_proxy_config(path, fixed_environment({}));
  ASSERT_FALSE(c);
  const int line = line_containing(test::read_file(path), "${ORIGIN_URL}");
  ASSERT_GT(line, 0);
  EXPECT_EQ(c.error().message, path + ":" + std::to_string(line) +
                                   ": environment variable 'ORIGIN_URL' is not set and has no "
                                   "default (write ${ORIGIN_URL:-default} to give one)");
}

TEST(LoadProxyConfig, MissingFileIsAnIoError) {
  TempDir dir;
  const std::string path = (dir.path() / "nope.yaml").string();
  auto c = load_proxy_config(path, fixed_environment({}));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, ErrorKind::Io);
  EXPECT_CONTAINS(c.error().message, path + ": cannot read the configuration file");
}

TEST(LoadProxyConfig, RelativePathsResolveAgainstTheFilesDirectory) {
  TempDir dir;
  const fs::path config = dir.write("conf/gatehouse.yaml", R"(listeners:
  - address: 127.0.0.1:8443
    tls:
      certificates:
        - cert: tls/server.pem
          key: tls/server.key
apis:
  - name: a
    backend_url: http://127.0.0.1:9000
access_log: ../logs/access.log
)");
  auto c = load_proxy_config(config.string(), fixed_environment({}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->listeners[0].tls->certificates[0].cert,
            (dir.path() / "conf/tls/server.pem").string());
  EXPECT_EQ(c->access_log, (dir.path() / "logs/access.log").string());
  EXPECT_TRUE(fs::path(c->access_log).is_absolute());
}

TEST(LoadProxyConfig, ErrorsNameTheFileAsGiven) {
  TempDir dir;
  const fs::path config = dir.write("g.yaml", "listeners:\n  - address: x\napis: []\n");
  auto c = load_proxy_config(config.string(), fixed_environment({}));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().kind, ErrorKind::InvalidArgument);
  EXPECT_CONTAINS(c.error().message, config.string() + ":2: listeners[0].address 'x'");
}

// A TLS config whose files live in `dir`; `missing` names one of them not to create.
std::string tls_config() {
  return R"(listeners:
  - address: 127.0.0.1:8443
    tls:
      certificates:
        - cert: server.pem
          key: server.key
      client_certificate: require
      client_ca: ca.pem
backends:
  - id: b
    url: https://h
    tls:
      ca: backend-ca.pem
      client_cert: gw.pem
      client_key: gw.key
apis:
  - name: a
    backend: b
access_log: access.log
)";
}

TEST(CheckReferencedFiles, AllPresent) {
  TempDir dir;
  for (const char* f :
       {"server.pem", "server.key", "ca.pem", "backend-ca.pem", "gw.pem", "gw.key"}) {
    dir.write(f, "x");
  }
  auto c = load_proxy_config(dir.write("g.yaml", tls_config()).string(), fixed_environment({}));
  ASSERT_TRUE(c) << c.error().message;
  const Status s = check_referenced_files(*c);
  EXPECT_TRUE(s) << s.error().message;
}

TEST(CheckReferencedFiles, ReportsEveryMissingFileByKeyAndLine) {
  TempDir dir;
  dir.write("server.pem", "x");
  dir.write("gw.pem", "x");
  fs::create_directories(dir.path() / "ca.pem");  // a directory is not a readable file
  const fs::path config = dir.write("g.yaml", tls_config());
  auto c = load_proxy_config(config.string(), fixed_environment({}));
  ASSERT_TRUE(c) << c.error().message;
  const Status s = check_referenced_files(*c);
  ASSERT_FALSE(s);
  const std::string& e = s.error().message;
  const std::string file = config.string();
  EXPECT_CONTAINS(e, file +
                         ":2: listeners[0].tls.certificates[0].key: cannot read the file (No "
                         "such file or directory)");
  EXPECT_CONTAINS(e, file +
                         ":2: listeners[0].tls.client_ca: cannot read the file (not a regular "
                         "file)");
  EXPECT_CONTAINS(e, file + ":10: backends[0].tls.ca: cannot read the file");
  EXPECT_CONTAINS(e, file + ":10: backends[0].tls.client_key: cannot read the file");
  EXPECT_EQ(e.find("certificates[0].cert"), std::string::npos);
  EXPECT_EQ(e.find("client_cert:"), std::string::npos);
  // Paths are not echoed (they may come from the environment).
  EXPECT_EQ(e.find("server.key"), std::string::npos);
}

TEST(CheckReferencedFiles, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  TempDir dir;
  for (const char* f :
       {"server.pem", "server.key", "ca.pem", "backend-ca.pem", "gw.pem", "gw.key"}) {
    dir.write(f, "x");
  }
  fs::permissions(dir.path() / "server.key", fs::perms::none);
  auto c = load_proxy_config(dir.write("g.yaml", tls_config()).string(), fixed_environment({}));
  ASSERT_TRUE(c) << c.error().message;
  const Status s = check_referenced_files(*c);
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.error().message,
                  "certificates[0].key: cannot read the file (Permission denied)");
}

TEST(CheckReferencedFiles, AccessLogDirectoryMustExist) {
  TempDir dir;
  auto c =
      load_proxy_config(dir.write("g.yaml",
                                  "listeners:\n  - address: 127.0.0.1:1\napis:\n  - name: a\n    "
                                  "backend_url: http://h\naccess_log: no/such/dir/access.log\n")
                            .string(),
                        fixed_environment({}));
  ASSERT_TRUE(c) << c.error().message;
  const Status s = check_referenced_files(*c);
  ASSERT_FALSE(s);
  EXPECT_CONTAINS(s.error().message, "access_log: the log file's directory is missing");
}

TEST(CheckReferencedFiles, SubscriptionKeyFiles) {
  TempDir dir;
  dir.write("a.key", "k");
  const std::string yaml =
      "listeners:\n  - address: 127.0.0.1:1\napis:\n  - name: a\n    backend_url: http://h\n"
      "subscriptions:\n"
      "  - {id: a, scope: /, primary_key_file: a.key, secondary_key_file: missing.key}\n"
      "  - {id: b, scope: /, primary_key_file: \"vault:secrets/b-key\"}\n";
  auto c = load_proxy_config(dir.write("g.yaml", yaml).string(), fixed_environment({}));
  ASSERT_TRUE(c) << c.error().message;
  const Status s = check_referenced_files(*c);
  ASSERT_FALSE(s);
  const std::string& e = s.error().message;
  EXPECT_CONTAINS(e, ":7: subscriptions[0].secondary_key_file: cannot read the file");
  EXPECT_EQ(e.find("primary_key_file: cannot"), std::string::npos);
  EXPECT_CONTAINS(e,
                  ":8: subscriptions[1].primary_key_file: a vault: reference needs a vault "
                  "section");
}

}  // namespace
}  // namespace gh::config
