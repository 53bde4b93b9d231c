#pragma once

// One JSON line per vault operation, allowed or refused:
// {"ts":"2026-11-24T05:20:32Z","event":"vault","operation":"get_secret","outcome":
//  "ok|denied|unauthenticated|not_found|invalid|error","kind":"secret|certificate","name":..,
//  "version":..,"tenant":..,"client_id":..,"object_id":..,"via":"rest|admin|gateway",
//  "status":200,"source_ip":..,"trace_id":..}
// Every member always present (empty when unknown), values JSON-escaped; never a value, a key
// or a token. Buffered like identity::AuditLog and flushed by flush().

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/line_sink.h"
#include "core/result.h"

namespace gh::vault {

struct VaultAuditRecord {
  std::string_view
      operation;  // "get_secret", "set_secret", "list_secrets", "create_certificate"...
  std::string_view outcome;
  std::string_view kind;
  std::string_view name;
  std::string_view version;
  std::string_view tenant;
  std::string_view client_id;
  std::string_view object_id;
  std::string_view via;
  int status = 0;
  std::string_view source_ip;
  std::string_view trace_id;
  int64_t now = 0;
};

class VaultAudit {
 public:
  /// "stdout" | "stderr" | "off" | a file path (appended, created 0600).
  static Result<std::unique_ptr<VaultAudit>> open(const std::string& target);
  ~VaultAudit();
  void write(const VaultAuditRecord& r);
  void flush();

 private:
  VaultAudit() = default;
  std::unique_ptr<core::LineSink> sink_;
};

}  // namespace gh::vault
