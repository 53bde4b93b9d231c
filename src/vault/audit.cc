#include "vault/audit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "identity/json_writer.h"

namespace gh::vault {
namespace {

int64_t steady_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The same bound as identity::AuditLog: a line waits at most this long in the buffer while
// traffic flows, and the service's flush_logs() covers the quiet time after it.
constexpr int64_t kFlushIntervalMs = 200;

void append_member(std::string& line, std::string_view name, std::string_view value) {
  line += ",\"";
  line += name;
  line += "\":";
  identity::append_json_string(line, value);
}

}  // namespace

Result<std::unique_ptr<VaultAudit>> VaultAudit::open(const std::string& target) {
  std::unique_ptr<VaultAudit> log(new VaultAudit());
  if (target == "off") return log;  // out_ stays null: write() does nothing
  if (target == "stdout" || target == "stderr") {
    log->out_ = target == "stdout" ? stdout : stderr;
    return log;
  }
  if (target.empty()) {
    return unexpected(ErrorKind::InvalidArgument,
                      "vault audit_log must be stdout, stderr, off or a file path");
  }
  // Created 0600: the lines name items and callers (never values). An existing file keeps the
  // mode its owner gave it.
  const int fd = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return unexpected(ErrorKind::Io,
                      "cannot open vault audit log " + target + ": " + std::strerror(errno));
  }
  std::FILE* f = ::fdopen(fd, "a");
  if (f == nullptr) {
    const int err = errno;
    ::close(fd);
    return unexpected(ErrorKind::Io,
                      "cannot open vault audit log " + target + ": " + std::strerror(err));
  }
  std::setvbuf(f, nullptr, _IOFBF, 64 * 1024);
  log->out_ = f;
  log->owned_ = true;
  return log;
}

VaultAudit::~VaultAudit() {
  if (out_ == nullptr) return;
  std::fflush(out_);
  if (owned_) std::fclose(out_);
}

void VaultAudit::write(const VaultAuditRecord& r) {
  if (out_ == nullptr) return;
  std::string line;
  line.reserve(384 + r.name.size());
  line += "{\"ts\":\"";
  identity::append_utc_time(line, r.now, 'T');
  line += "Z\",\"event\":\"vault\"";
  append_member(line, "operation", r.operation);
  append_member(line, "outcome", r.outcome);
  append_member(line, "kind", r.kind);
  append_member(line, "name", r.name);
  append_member(line, "version", r.version);
  append_member(line, "tenant", r.tenant);
  append_member(line, "client_id", r.client_id);
  append_member(line, "object_id", r.object_id);
  append_member(line, "via", r.via);
  line += ",\"status\":";
  identity::append_json_int(line, r.status);
  append_member(line, "source_ip", r.source_ip);
  append_member(line, "trace_id", r.trace_id);
  line += "}\n";

  const int64_t now_ms = steady_ms();
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  if (now_ms - last_flush_ms_ >= kFlushIntervalMs) {
    std::fflush(out_);
    last_flush_ms_ = now_ms;
  }
}

void VaultAudit::flush() {
  if (out_ == nullptr) return;
  std::lock_guard lock(mutex_);
  std::fflush(out_);
  last_flush_ms_ = steady_ms();
}

}  // namespace gh::vault
