#pragma once

// Where audit lines go: stdout, stderr, nowhere ("off"), or a file appended to (created 0600; an
// existing file keeps the mode its owner gave it). Lines are written whole under a mutex into a
// 64 KiB stdio buffer, flushed by write() when 200 ms have passed since the last flush and by
// flush() (which the roles call every 200 ms), so a line waits at most that long and traffic
// costs no syscall per line. Shared by the identity and vault audit logs.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gh::core {

class LineSink {
 public:
  /// `what` names the log in errors ("audit log", "vault audit log").
  static Result<std::unique_ptr<LineSink>> open(const std::string& target, std::string_view what);
  ~LineSink();
  LineSink(const LineSink&) = delete;
  LineSink& operator=(const LineSink&) = delete;

  bool enabled() const noexcept { return out_ != nullptr; }
  /// Appends one line (`line` ends with '\n'); nothing when disabled.
  void write(std::string_view line);
  void flush();

 private:
  LineSink() = default;
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  std::mutex mutex_;  // guards out_'s buffer and last_flush_ms_: lines never interleave
  int64_t last_flush_ms_ = 0;
};

}  // namespace gh::core
