#include "gateway/access_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace gh::gateway {
namespace {

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gh_access_log_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/access.log";
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
  std::shared_ptr<LogSink> open_sink() {
    std::string error;
    auto sink = LogSink::open(path_, &error);
    EXPECT_TRUE(sink) << error;
    return sink;
  }

  std::string dir_;
  std::string path_;
};

AccessRecord sample() {
  AccessRecord r;
  r.request_id = "req-\"1\"";
  r.client_ip = "2001:db8::1";
  r.method = "POST";
  r.path = "/orders/\\x\n";
  r.status = 201;
  r.bytes_in = 12;
  r.bytes_out = 3456;
  r.duration_micros = 1500;
  r.api = "orders";
  r.backend = "orders-svc";
  r.client_cert_thumbprint = "ab12";
  r.error = "";
  return r;
}

TEST_F(AccessLogTest, OneJsonLinePerRecordWrittenOnFlush) {
  auto sink = open_sink();
  ASSERT_TRUE(sink);
  EXPECT_TRUE(sink->enabled());
  AccessLog log(sink);
  EXPECT_TRUE(log.enabled());
  log.write(sample());
  EXPECT_EQ(contents(), "");  // buffered: no syscall per request
  log.flush();
  const std::string text = contents();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1) << text;  // exactly one line

  auto v = boost::json::parse(text);
  ASSERT_TRUE(v.is_object()) << text;
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("request_id").as_string(), "req-\"1\"");
  EXPECT_EQ(o.at("client_ip").as_string(), "2001:db8::1");
  EXPECT_EQ(o.at("method").as_string(), "POST");
  EXPECT_EQ(o.at("path").as_string(), "/orders/\\x\n");
  EXPECT_EQ(o.at("status").as_int64(), 201);
  EXPECT_EQ(o.at("bytes_in").as_int64(), 12);
  EXPECT_EQ(o.at("bytes").as_int64(), 3456);
  EXPECT_DOUBLE_EQ(o.at("duration_ms").as_double(), 1.5);
  EXPECT_EQ(o.at("api").as_string(), "orders");
  EXPECT_EQ(o.at("backend").as_string(), "orders-svc");
  EXPECT_EQ(o.at("client_cert_thumbprint").as_string(), "ab12");
  EXPECT_FALSE(o.contains("error"));  // empty optional fields are left out
  // RFC 3339 UTC with milliseconds: 2026-11-24T06:00:00.123Z
  const auto time = std::string(o.at("time").as_string());
  ASSERT_EQ(time.size(), 24u) << time;
  EXPECT_EQ(time[4], '-');
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time[19], '.');
  EXPECT_EQ(time.back(), 'Z');
  // Raw escapes on the wire, not just a parse that happens to succeed.
  EXPECT_NE(text.find(R"("request_id":"req-\"1\"")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("path":"/orders/\\x\n")"), std::string::npos) << text;
  EXPECT_EQ(text.find("duration_ms\":1.500,"), text.find("duration_ms")) << text;
}

TEST_F(AccessLogTest, GatewayErrorAndMinimalRecord) {
  auto sink = open_sink();
  AccessLog log(sink);
  AccessRecord r;
  r.request_id = "r2";
  r.client_ip = "192.0.2.1";
  r.method = "GET";
  r.path = "/missing";
  r.status = 404;
  r.error = "not_found";
  log.write(r);
  log.write(r);
  log.flush();
  log.flush();  // nothing left: no duplicate lines
  const std::string text = contents();
  auto first_end = text.find('\n');
  ASSERT_NE(first_end, std::string::npos);
  EXPECT_EQ(text.substr(0, first_end + 1).size() * 2, text.size());
  auto o = boost::json::parse(text.substr(0, first_end)).as_object();
  EXPECT_EQ(o.at("error").as_string(), "not_found");
  EXPECT_EQ(o.at("status").as_int64(), 404);
  EXPECT_EQ(o.at("duration_ms").as_double(), 0.0);
  EXPECT_FALSE(o.contains("api"));
  EXPECT_FALSE(o.contains("backend"));
  EXPECT_FALSE(o.contains("client_cert_thumbprint"));
}

TEST_F(AccessLogTest, SetSinkFlushesToTheOldSink) {
  auto sink = open_sink();
  AccessLog log(sink);
  log.write(sample());
  log.set_sink(LogSink::open("off", nullptr));
  EXPECT_NE(contents(), "");
  EXPECT_FALSE(log.enabled());
  const auto before = contents();
  log.write(sample());
  log.flush();
  EXPECT_EQ(contents(), before);
}

TEST_F(AccessLogTest, FileIsAppendedNotTruncated) {
  {
    AccessLog log(open_sink());
    log.write(sample());
    log.flush();
  }
  {
    AccessLog log(open_sink());
    log.write(sample());
    log.flush();
  }
  const std::string text = contents();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0037, 0u);  // at most 0640: group read-only, nothing for others
}

TEST(LogSink, OffAndUnopenable) {
  auto off = LogSink::open("off", nullptr);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->enabled());
  AccessLog log(off);
  EXPECT_FALSE(log.enabled());
  std::string error;
  auto bad = LogSink::open("/nonexistent-dir-gh/x/access.log", &error);
  EXPECT_FALSE(bad);
  EXPECT_NE(error.find("/nonexistent-dir-gh/x/access.log"), std::string::npos) << error;
}

}  // namespace
}  // namespace gh::gateway
