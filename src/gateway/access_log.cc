#include "gateway/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "http/error_response.h"

namespace gh::gateway {

std::shared_ptr<LogSink> LogSink::open(const std::string& target, std::string* error) {
  auto sink = std::make_shared<LogSink>();
  if (target == "off" || target.empty()) return sink;
  if (target == "stdout") {
    sink->fd_ = STDOUT_FILENO;
  } else if (target == "stderr") {
    sink->fd_ = STDERR_FILENO;
  } else {
    sink->fd_ = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (sink->fd_ < 0) {
      if (error) *error = "cannot open access log " + target;
      return nullptr;
    }
    sink->owned_ = true;
  }
  return sink;
}

LogSink::~LogSink() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

void LogSink::write(std::string_view lines) noexcept {
  if (fd_ < 0) return;
  std::lock_guard lock(mu_);
  while (!lines.empty()) {
    ssize_t n = ::write(fd_, lines.data(), lines.size());
    if (n <= 0) return;  // a full disk must not stop the proxy
    lines.remove_prefix(static_cast<size_t>(n));
  }
}

void AccessLog::set_sink(std::shared_ptr<LogSink> sink) {
  flush();
  sink_ = std::move(sink);
}

void AccessLog::write(const AccessRecord& r) {
  if (!enabled()) return;
  auto now = std::chrono::system_clock::now();
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  int64_t second = micros / 1'000'000;
  if (second != cached_second_) {
    std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(cached_time_, sizeof cached_time_, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second_ = second;
  }
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>((micros / 1000) % 1000));
  auto field = [this](std::string_view name, std::string_view value) {
    buffer_ += ",\"";
    buffer_ += name;
    buffer_ += "\":\"";
    http::append_json_escaped(buffer_, value);
    buffer_ += '"';
  };
  auto number = [this](std::string_view name, uint64_t value) {
    buffer_ += ",\"";
    buffer_ += name;
    buffer_ += "\":";
    buffer_ += std::to_string(value);
  };
  buffer_ += "{\"time\":\"";
  buffer_ += cached_time_;
  buffer_ += frac;
  buffer_ += '"';
  field("request_id", r.request_id);
  field("client_ip", r.client_ip);
  field("method", r.method);
  field("path", r.path);
  number("status", r.status);
  number("bytes_in", r.bytes_in);
  number("bytes", r.bytes_out);
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f", static_cast<double>(r.duration_micros) / 1000.0);
  buffer_ += ",\"duration_ms\":";
  buffer_ += duration;
  if (!r.api.empty()) field("api", r.api);
  if (!r.backend.empty()) field("backend", r.backend);
  if (!r.client_cert_thumbprint.empty()) field("client_cert_thumbprint", r.client_cert_thumbprint);
  if (!r.error.empty()) field("error", r.error);
  buffer_ += "}\n";
  if (buffer_.size() >= 32 * 1024) flush();
}

void AccessLog::flush() {
  if (buffer_.empty()) return;
  if (sink_) sink_->write(buffer_);
  buffer_.clear();
}

}  // namespace gh::gateway
