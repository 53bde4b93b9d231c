#include "identity/audit_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace gh::identity {
namespace {

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gh_audit_log_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/audit.log";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string contents() const {
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(contents());
    for (std::string l; std::getline(in, l);)
      out.push_back(l);
    return out;
  }

  std::string dir_;
  std::string path_;
};

AuditRecord issued() {
  AuditRecord r;
  r.outcome = "issued";
  r.endpoint = "token_v2";
  r.tenant = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
  r.client_id = "6731de76-14a6-49ae-97bc-6eba6914391e";
  r.method = "certificate";
  r.credential = "9A2B0C3D";
  r.resource = "api://orders";
  r.source_ip = "192.0.2.7";
  r.trace_id = "0c9f1d2e-0000-4000-8000-000000000001";
  r.jti = "mIB4QKCeZE6hK71XUHJ3AA";
  r.now = 1795417166;  // 2026-11-23T06:59:26Z
  return r;
}

TEST_F(AuditLogTest, OneJsonLinePerRecordWithEveryMemberInOrder) {
  {
    auto log = AuditLog::open(path_);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_TRUE((*log)->enabled());
    (*log)->write(issued());
  }  // destruction flushes
  const auto l = lines();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0], R"({"ts":"2026-11-23T06:59:26Z","event":"token","outcome":"issued",)"
                  R"("endpoint":"token_v2","tenant":"8eaef023-2b34-4da1-9baa-8bc8c9d6a490",)"
                  R"("client_id":"6731de76-14a6-49ae-97bc-6eba6914391e","method":"certificate",)"
                  R"("credential":"9A2B0C3D","resource":"api://orders","aadsts":0,"error":"",)"
                  R"("source_ip":"192.0.2.7","trace_id":"0c9f1d2e-0000-4000-8000-000000000001",)"
                  R"("jti":"mIB4QKCeZE6hK71XUHJ3AA"})");
}

TEST_F(AuditLogTest, FailuresCarryTheCodeAndEscapedUntrustedText) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log);
  AuditRecord r = issued();
  r.outcome = "failed";
  r.client_id = "evil\"},{\"x\":\"\n\xc3\x28";  // quote injection, newline, invalid UTF-8
  r.aadsts = 700016;
  r.error = "Application with identifier 'evil' was not found.";
  r.jti = "";
  (*log)->write(r);
  (*log)->flush();
  const auto l = lines();
  ASSERT_EQ(l.size(), 1u) << contents();  // the newline in the value did not split the line
  const auto v = boost::json::parse(l[0]).as_object();
  EXPECT_EQ(v.at("outcome").as_string(), "failed");
  EXPECT_EQ(v.at("aadsts").as_int64(), 700016);
  EXPECT_EQ(v.at("client_id").as_string(), "evil\"},{\"x\":\"\n\xef\xbf\xbd(");
  EXPECT_EQ(v.at("error").as_string(), "Application with identifier 'evil' was not found.");
  EXPECT_EQ(v.at("jti").as_string(), "");
  EXPECT_EQ(v.size(), 14u);
}

TEST_F(AuditLogTest, NewFileIsPrivateAndAppended) {
  {
    auto log = AuditLog::open(path_);
    ASSERT_TRUE(log);
    (*log)->write(issued());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  {
    auto log = AuditLog::open(path_);
    ASSERT_TRUE(log);
    (*log)->write(issued());
  }
  EXPECT_EQ(lines().size(), 2u);
}

TEST_F(AuditLogTest, ConcurrentWritersNeverInterleaveLines) {
  auto log = AuditLog::open(path_);
  ASSERT_TRUE(log);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log] {
      for (int i = 0; i < kPerThread; ++i)
        (*log)->write(issued());
    });
  }
  for (auto& t : threads)
    t.join();
  (*log)->flush();
  const auto l = lines();
  ASSERT_EQ(l.size(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& line : l)
    ASSERT_TRUE(boost::json::parse(line).is_object()) << line;
}

TEST_F(AuditLogTest, OffWritesNothingAndStreamsAreNotOwned) {
  auto off = AuditLog::open("off");
  ASSERT_TRUE(off);
  EXPECT_FALSE((*off)->enabled());
  (*off)->write(issued());
  (*off)->flush();
  for (const char* target : {"stdout", "stderr"}) {
    auto log = AuditLog::open(target);
    ASSERT_TRUE(log) << target;
    EXPECT_TRUE((*log)->enabled());
  }
  // Destroying those did not close the process's streams.
  EXPECT_NE(std::fputs("", stdout), EOF);
  EXPECT_NE(std::fputs("", stderr), EOF);
}

TEST_F(AuditLogTest, UnopenablePathsFailNamingThePath) {
  auto bad = AuditLog::open(dir_ + "/missing/dir/audit.log");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::Io);
  EXPECT_NE(bad.error().message.find("missing/dir/audit.log"), std::string::npos);
  EXPECT_FALSE(AuditLog::open(""));
}

}  // namespace
}  // namespace gh::identity
