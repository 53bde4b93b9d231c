#include "identity/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "identity/json_writer.h"

namespace gh::identity {
namespace {

int64_t steady_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr int64_t kFlushIntervalMs = 200;

void append_member(std::string& line, std::string_view name, std::string_view value) {
  line += ",\"";
  line += name;
  line += "\":";
  append_json_string(line, value);
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& target) {
  std::unique_ptr<AuditLog> log(new AuditLog());
  if (target == "off") return log;  // out_ stays null: write() does nothing
  if (target == "stdout" || target == "stderr") {
    log->out_ = target == "stdout" ? stdout : stderr;
    return log;
  }
  if (target.empty()) {
    return unexpected(ErrorKind::InvalidArgument,
                      "audit_log must be stdout, stderr, off or a file path");
  }
  // A new file is created 0600: the lines name clients, credentials and source addresses. An
  // existing file keeps the mode its owner gave it.
  const int fd = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return unexpected(ErrorKind::Io,
                      "cannot open audit log " + target + ": " + std::strerror(errno));
  }
  std::FILE* f = ::fdopen(fd, "a");
  if (f == nullptr) {
    const int err = errno;
    ::close(fd);
    return unexpected(ErrorKind::Io, "cannot open audit log " + target + ": " + std::strerror(err));
  }
  // Fully buffered: flush() (at most every 200 ms from write(), and on destruction) writes the
  // batch in one syscall.
  std::setvbuf(f, nullptr, _IOFBF, 64 * 1024);
  log->out_ = f;
  log->owned_ = true;
  return log;
}

AuditLog::~AuditLog() {
  if (out_ == nullptr) return;
  std::fflush(out_);
  if (owned_) std::fclose(out_);
}

void AuditLog::write(const AuditRecord& r) {
  if (out_ == nullptr) return;
  std::string line;
  line.reserve(384 + r.error.size());
  line += "{\"ts\":\"";
  append_utc_time(line, r.now, 'T');
  line += "Z\",\"event\":\"token\"";
  append_member(line, "outcome", r.outcome);
  append_member(line, "endpoint", r.endpoint);
  append_member(line, "tenant", r.tenant);
  append_member(line, "client_id", r.client_id);
  append_member(line, "method", r.method);
  append_member(line, "credential", r.credential);
  append_member(line, "resource", r.resource);
  line += ",\"aadsts\":";
  append_json_int(line, r.aadsts);
  append_member(line, "error", r.error);
  append_member(line, "source_ip", r.source_ip);
  append_member(line, "trace_id", r.trace_id);
  append_member(line, "jti", r.jti);
  line += "}\n";

  const int64_t now_ms = steady_ms();
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  if (now_ms - last_flush_ms_ >= kFlushIntervalMs) {
    std::fflush(out_);
    last_flush_ms_ = now_ms;
  }
}

void AuditLog::flush() {
  if (out_ == nullptr) return;
  std::lock_guard lock(mutex_);
  std::fflush(out_);
  last_flush_ms_ = steady_ms();
}

}  // namespace gh::identity
