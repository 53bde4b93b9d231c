#include "vault/audit.h"

#include "identity/json_writer.h"

namespace gh::vault {

using identity::append_int_member;
using identity::append_string_member;
Result<std::unique_ptr<VaultAudit>> VaultAudit::open(const std::string& target) {
  std::unique_ptr<VaultAudit> log(new VaultAudit());
  GH_TRY(log->sink_, core::LineSink::open(target, "vault audit_log"));
  return log;
}

VaultAudit::~VaultAudit() = default;

void VaultAudit::write(const VaultAuditRecord& r) {
  if (!sink_->enabled()) return;
  std::string line;
  line.reserve(384 + r.name.size());
  line += "{\"ts\":\"";
  identity::append_utc_time(line, r.now, 'T');
  line += "Z\",\"event\":\"vault\"";
  append_string_member(line, "operation", r.operation);
  append_string_member(line, "outcome", r.outcome);
  append_string_member(line, "kind", r.kind);
  append_string_member(line, "name", r.name);
  append_string_member(line, "version", r.version);
  append_string_member(line, "tenant", r.tenant);
  append_string_member(line, "client_id", r.client_id);
  append_string_member(line, "object_id", r.object_id);
  append_string_member(line, "via", r.via);
  append_int_member(line, "status", r.status);
  append_string_member(line, "source_ip", r.source_ip);
  append_string_member(line, "trace_id", r.trace_id);
  line += "}\n";
  sink_->write(line);
}

void VaultAudit::flush() {
  sink_->flush();
}

}  // namespace gh::vault
