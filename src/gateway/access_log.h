#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace gh::gateway {

/// Where access-log lines go. Shared by all workers; each worker hands it whole batches of lines,
/// so the mutex is taken once per flush, not once per request.
class LogSink {
 public:
  /// "stdout", "stderr", "off", or a file path (opened for append, created 0640).
  static std::shared_ptr<LogSink> open(const std::string& target, std::string* error);
  ~LogSink();

  bool enabled() const noexcept { return fd_ >= 0; }
  void write(std::string_view lines) noexcept;

 private:
  int fd_ = -1;
  bool owned_ = false;
  std::mutex mu_;  // guards writes to fd_, so that batches from two workers never interleave
};

/// One request's access-log record. Never holds Authorization values, keys or query strings.
struct AccessRecord {
  std::string_view request_id;
  std::string_view client_ip;
  std::string_view method;
  std::string_view path;  // without the query
  unsigned status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t duration_micros = 0;
  std::string_view api;
  std::string_view backend;
  std::string_view client_cert_thumbprint;
  std::string_view error;  // gateway reason label when the gateway answered
};

/// A worker's access log: formats JSON lines into a buffer flushed by size or by the worker's
/// periodic flush, so a request costs no syscall of its own.
class AccessLog {
 public:
  explicit AccessLog(std::shared_ptr<LogSink> sink) : sink_(std::move(sink)) {}

  bool enabled() const noexcept { return sink_ && sink_->enabled(); }
  void write(const AccessRecord& r);
  void flush();
  void set_sink(std::shared_ptr<LogSink> sink);

 private:
  std::shared_ptr<LogSink> sink_;
  std::string buffer_;
  int64_t cached_second_ = -1;
  char cached_time_[32] = {};
};

}  // namespace gh::gateway
