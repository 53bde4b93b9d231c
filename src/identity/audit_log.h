#pragma once

// One JSON line per token issuance and per failure (the audit requirement):
// {"ts":"...","event":"token","outcome":"issued|failed","tenant":..,"client_id":..,
//  "method":"secret|certificate|federated|managed_identity|none","credential":..,
//  "resource":..,"aadsts":0|n,"error":..,"source_ip":..,"trace_id":..,"jti":..}
// `credential` is a thumbprint, secret key id or federated credential name, never a secret.
// Lines are written whole under a mutex (rare compared with signing, which dominates).

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gh::identity {

struct AuditRecord {
  std::string_view outcome;  // "issued" | "failed"
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
  /// "stdout" | "stderr" | "off" | a file path (appended, mode 0600).
  static Result<std::unique_ptr<AuditLog>> open(const std::string& target);
  ~AuditLog();
  void write(const AuditRecord& r);
  /// Lines are buffered by stdio; flushed at most every 200 ms by write() and on destruction.
  void flush();

 private:
  AuditLog() = default;
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  std::mutex mutex_;
  int64_t last_flush_ms_ = 0;
};

}  // namespace gh::identity
