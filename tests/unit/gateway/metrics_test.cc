#include "gateway/metrics.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace gh::gateway {
namespace {

// The sample line for `series` (name plus labels), without the value; "" when absent.
std::string value_of(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  auto at = text.find(key);
  if (at == std::string::npos) return "<absent>";
  at += key.size();
  return text.substr(at, text.find('\n', at) - at);
}

std::vector<std::unique_ptr<WorkerMetrics>> workers(size_t n) {
  std::vector<std::unique_ptr<WorkerMetrics>> w;
  for (size_t i = 0; i < n; ++i)
    w.push_back(std::make_unique<WorkerMetrics>());
  return w;
}

TEST(WorkerMetrics, RecordClassifiesStatusAndBucket) {
  WorkerMetrics m;
  m.record(200, 1000);        // exactly 1 ms: le="0.001"
  m.record(204, 1001);        // just over: le="0.0025"
  m.record(404, 2500);        // exactly 2.5 ms: le="0.0025"
  m.record(503, 10'000'000);  // exactly 10 s: le="10"
  m.record(101, 10'000'001);  // +Inf
  m.record(0, 0);
  m.record(600, 0);
  EXPECT_EQ(m.requests.get(), 7u);
  EXPECT_EQ(m.responses_by_class[0].get(), 2u);
  EXPECT_EQ(m.responses_by_class[1].get(), 1u);
  EXPECT_EQ(m.responses_by_class[2].get(), 2u);
  EXPECT_EQ(m.responses_by_class[3].get(), 0u);
  EXPECT_EQ(m.responses_by_class[4].get(), 1u);
  EXPECT_EQ(m.responses_by_class[5].get(), 1u);
  EXPECT_EQ(m.duration_buckets[0].get(), 3u);
  EXPECT_EQ(m.duration_buckets[1].get(), 2u);
  EXPECT_EQ(m.duration_buckets[11].get(), 1u);
  EXPECT_EQ(m.duration_buckets[12].get(), 1u);
  EXPECT_EQ(m.duration_micros_sum.get(), 20'004'502u);
}

TEST(WorkerCounter, AddSubGet) {
  WorkerCounter c;
  c.add();
  c.add(5);
  c.sub(2);
  EXPECT_EQ(c.get(), 4u);
}

TEST(RenderPrometheus, SumsAcrossWorkers) {
  auto w = workers(3);
  w[0]->record(200, 500);
  w[1]->record(200, 500);
  w[2]->record(502, 30'000);
  w[0]->gateway_errors[static_cast<size_t>(http::ProxyError::BadGateway)].add(2);
  w[2]->gateway_errors[static_cast<size_t>(http::ProxyError::BadGateway)].add(3);
  w[1]->gateway_errors[static_cast<size_t>(http::ProxyError::NotFound)].add();
  w[0]->connections_active.add(4);
  w[1]->connections_active.add(1);
  w[2]->backend_retries.add(7);
  w[0]->request_body_bytes.add(100);
  w[2]->request_body_bytes.add(23);
  w[1]->response_body_bytes.add(1 << 20);
  ProcessMetrics p;
  p.reloads_ok = 3;
  p.reloads_failed = 1;
  p.config_generation = 4;
  p.config_loaded_unix = 1'790'000'000;
  const std::string text = render_prometheus(w, p);

  EXPECT_EQ(value_of(text, "gatehouse_requests_total{code=\"2xx\"}"), "2");
  EXPECT_EQ(value_of(text, "gatehouse_requests_total{code=\"5xx\"}"), "1");
  EXPECT_EQ(value_of(text, "gatehouse_requests_total{code=\"4xx\"}"), "0");
  EXPECT_EQ(value_of(text, "gatehouse_gateway_errors_total{reason=\"bad_gateway\"}"), "5");
  EXPECT_EQ(value_of(text, "gatehouse_gateway_errors_total{reason=\"not_found\"}"), "1");
  EXPECT_EQ(value_of(text, "gatehouse_gateway_errors_total{reason=\"service_unavailable\"}"), "0");
  EXPECT_EQ(value_of(text, "gatehouse_connections_active"), "5");
  EXPECT_EQ(value_of(text, "gatehouse_backend_retries_total"), "7");
  EXPECT_EQ(value_of(text, "gatehouse_request_body_bytes_total"), "123");
  EXPECT_EQ(value_of(text, "gatehouse_response_body_bytes_total"), "1048576");
  EXPECT_EQ(value_of(text, "gatehouse_config_reloads_total{result=\"ok\"}"), "3");
  EXPECT_EQ(value_of(text, "gatehouse_config_reloads_total{result=\"failed\"}"), "1");
  EXPECT_EQ(value_of(text, "gatehouse_config_generation"), "4");
  EXPECT_EQ(value_of(text, "gatehouse_config_loaded_timestamp_seconds"), "1790000000");
  EXPECT_EQ(value_of(text, "gatehouse_request_duration_seconds_count"), "3");
  EXPECT_EQ(value_of(text, "gatehouse_request_duration_seconds_sum"), "0.031000");
}

TEST(RenderPrometheus, HistogramIsCumulative) {
  auto w = workers(2);
  w[0]->record(200, 800);         // le 0.001
  w[1]->record(200, 900);         // le 0.001
  w[0]->record(200, 7'000);       // le 0.01
  w[1]->record(200, 300'000);     // le 0.5
  w[1]->record(200, 60'000'000);  // +Inf
  const std::string text = render_prometheus(w, ProcessMetrics{});
  auto bucket = [&](const char* le) {
    return value_of(text,
                    std::string("gatehouse_request_duration_seconds_bucket{le=\"") + le + "\"}");
  };
  EXPECT_EQ(bucket("0.001"), "2");
  EXPECT_EQ(bucket("0.0025"), "2");
  EXPECT_EQ(bucket("0.005"), "2");
  EXPECT_EQ(bucket("0.01"), "3");
  EXPECT_EQ(bucket("0.025"), "3");
  EXPECT_EQ(bucket("0.25"), "3");
  EXPECT_EQ(bucket("0.5"), "4");
  EXPECT_EQ(bucket("1"), "4");
  EXPECT_EQ(bucket("10"), "4");
  EXPECT_EQ(bucket("+Inf"), "5");
  EXPECT_EQ(value_of(text, "gatehouse_request_duration_seconds_count"), "5");
  // Buckets appear in ascending order, each exactly once.
  size_t last = 0;
  for (const char* le : {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                         "1", "2.5", "10", "+Inf"}) {
    std::string key = std::string("{le=\"") + le + "\"}";
    auto at = text.find(key);
    ASSERT_NE(at, std::string::npos) << le;
    EXPECT_GT(at, last) << le;
    EXPECT_EQ(text.find(key, at + 1), std::string::npos) << le;
    last = at;
  }
}

TEST(RenderPrometheus, TypeAndHelpPrecedeEachFamily) {
  const std::string text = render_prometheus(workers(1), ProcessMetrics{});
  EXPECT_EQ(text.rfind("# HELP gatehouse_requests_total ", 0), 0u);
  EXPECT_NE(text.find("# TYPE gatehouse_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE gatehouse_request_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE gatehouse_connections_active gauge\n"), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(value_of(text, "gatehouse_requests_total{code=\"2xx\"}"), "0");
}

}  // namespace
}  // namespace gh::gateway
