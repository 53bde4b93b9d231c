#pragma once

// One JSON line per token issuance and per failure (the audit requirement):
// {"ts":"2026-11-24T05:20:32Z","event":"token","outcome":"issued|failed","endpoint":..,
//  "tenant":..,"client_id":..,"method":"secret|certificate|federated|managed_identity|none",
//  "credential":..,"resource":..,"aadsts":0|n,"error":..,"source_ip":..,"trace_id":..,"jti":..}
// Every member is always present (empty string when unknown), in that order; values are
// JSON-escaped and invalid UTF-8 from requests is replaced, so each line is valid JSON.
// `credential` is a thumbprint, secret key id or federated credential name, never a secret.
// Lines go to a core::LineSink (written whole under a mutex: rare next to signing).

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/line_sink.h"
#include "core/result.h"

namespace gh::identity {

struct AuditRecord {
  std::string_view outcome;   // "issued" | "failed"
  std::string_view endpoint;  // "token_v2" | "token_v1" | "imds" | "app_service"
  std::string_view tenant;
  std::string_view client_id;
  std::string_view method;
  std::string_view credential;
  std::string_view resource;
  int aadsts = 0;
  std::string_view error;  // the message (never containing a secret)
  std::string_view source_ip;
  std::string_view trace_id;
  std::string_view jti;
  int64_t now = 0;
};

class AuditLog {
 public:
  /// "stdout" | "stderr" | "off" | a file path (appended; created with mode 0600, an existing
  /// file keeps its mode). "off" gives a log whose write() does nothing.
  static Result<std::unique_ptr<AuditLog>> open(const std::string& target);
  ~AuditLog();

  bool enabled() const noexcept { return sink_->enabled(); }
  void write(const AuditRecord& r);
  /// Lines are buffered by stdio; write() flushes when 200 ms have passed since the last flush,
  /// so call flush() periodically (the gateway calls IdentityService::flush_logs() every 200 ms)
  /// to bound how long a line can wait after traffic stops. Also flushed on destruction.
  void flush();

 private:
  AuditLog() = default;
  std::unique_ptr<core::LineSink> sink_;
};

}  // namespace gh::identity
