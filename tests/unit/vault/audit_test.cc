// The vault's audit trail (vault/audit.h): one JSON line per operation with every member.

#include "vault/audit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace gh::vault {
namespace {

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gh_vault_audit_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::vector<std::string> lines(const std::string& file) {
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
      out.push_back(line);
    return out;
  }
  std::string dir_;
};

VaultAuditRecord sample() {
  VaultAuditRecord r;
  r.operation = "get_secret";
  r.outcome = "ok";
  r.kind = "secret";
  r.name = "backend-key";
  r.version = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  r.tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  r.client_id = "11111111-2222-3333-4444-555555555555";
  r.object_id = "1e7d0a3e-7b2f-4c1a-9d3e-2f6a4b5c6d7e";
  r.via = "rest";
  r.status = 200;
  r.source_ip = "127.0.0.1";
  r.trace_id = "req-1";
  r.now = 1'800'000'000;  // 2027-01-15T08:00:00Z
  return r;
}

TEST_F(AuditTest, WritesOneJsonLineWithEveryMemberInOrder) {
  const std::string file = dir_ + "/vault-audit.log";
  {
    auto log = VaultAudit::open(file);
    ASSERT_TRUE(log) << log.error().message;
    (*log)->write(sample());
    VaultAuditRecord denied = sample();
    denied.outcome = "denied";
    denied.status = 403;
    denied.version = {};
    (*log)->write(denied);
    (*log)->flush();
    const auto written = lines(file);
    ASSERT_EQ(written.size(), 2u);
    EXPECT_EQ(written[0],
              "{\"ts\":\"2027-01-15T08:00:00Z\",\"event\":\"vault\",\"operation\":\"get_secret\","
              "\"outcome\":\"ok\",\"kind\":\"secret\",\"name\":\"backend-key\",\"version\":"
              "\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\",\"tenant\":\"72f988bf-86f1-41af-91ab-"
              "2d7cd011db47\",\"client_id\":\"11111111-2222-3333-4444-555555555555\","
              "\"object_id\":\"1e7d0a3e-7b2f-4c1a-9d3e-2f6a4b5c6d7e\",\"via\":\"rest\","
              "\"status\":200,\"source_ip\":\"127.0.0.1\",\"trace_id\":\"req-1\"}");
    auto second = boost::json::parse(written[1]).as_object();
    EXPECT_EQ(second.at("outcome"), "denied");
    EXPECT_EQ(second.at("status"), 403);
    EXPECT_EQ(second.at("version"), "");
  }
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AuditTest, EscapesWhatARequestControls) {
  const std::string file = dir_ + "/a.log";
  auto log = VaultAudit::open(file);
  ASSERT_TRUE(log);
  VaultAuditRecord r = sample();
  r.trace_id = "a\"b\\c\nd\xff";
  (*log)->write(r);
  (*log)->flush();
  const auto written = lines(file);
  ASSERT_EQ(written.size(), 1u) << "a newline in a value must not split the line";
  auto parsed = boost::json::parse(written[0]).as_object();
  EXPECT_EQ(std::string_view(parsed.at("trace_id").as_string()).substr(0, 7), "a\"b\\c\nd");
}

TEST_F(AuditTest, AppendsToAnExistingFile) {
  const std::string file = dir_ + "/a.log";
  for (int i = 0; i < 2; ++i) {
    auto log = VaultAudit::open(file);
    ASSERT_TRUE(log);
    (*log)->write(sample());
  }  // destruction flushes
  EXPECT_EQ(lines(file).size(), 2u);
}

TEST_F(AuditTest, OffWritesNothingAndBadTargetsFail) {
  auto off = VaultAudit::open("off");
  ASSERT_TRUE(off);
  (*off)->write(sample());
  (*off)->flush();
  auto empty = VaultAudit::open("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind, ErrorKind::InvalidArgument);
  auto missing_dir = VaultAudit::open(dir_ + "/no/such/dir/a.log");
  ASSERT_FALSE(missing_dir);
  EXPECT_EQ(missing_dir.error().kind, ErrorKind::Io);
  EXPECT_TRUE(VaultAudit::open("stderr"));
}

}  // namespace
}  // namespace gh::vault
