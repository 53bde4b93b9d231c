#include "identity/audit_log.h"

#include "identity/json_writer.h"

namespace gh::identity {
Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& target) {
  std::unique_ptr<AuditLog> log(new AuditLog());
  GH_TRY(log->sink_, core::LineSink::open(target, "identity audit_log"));
  return log;
}

AuditLog::~AuditLog() = default;

void AuditLog::write(const AuditRecord& r) {
  if (!sink_->enabled()) return;
  std::string line;
  line.reserve(384 + r.error.size());
  line += "{\"ts\":\"";
  append_utc_time(line, r.now, 'T');
  line += "Z\",\"event\":\"token\"";
  append_string_member(line, "outcome", r.outcome);
  append_string_member(line, "endpoint", r.endpoint);
  append_string_member(line, "tenant", r.tenant);
  append_string_member(line, "client_id", r.client_id);
  append_string_member(line, "method", r.method);
  append_string_member(line, "credential", r.credential);
  append_string_member(line, "resource", r.resource);
  append_int_member(line, "aadsts", r.aadsts);
  append_string_member(line, "error", r.error);
  append_string_member(line, "source_ip", r.source_ip);
  append_string_member(line, "trace_id", r.trace_id);
  append_string_member(line, "jti", r.jti);
  line += "}\n";
  sink_->write(line);
}

void AuditLog::flush() {
  sink_->flush();
}

}  // namespace gh::identity
