#include "core/line_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace gh::core {
namespace {

constexpr int64_t kFlushIntervalMs = 200;

int64_t steady_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<LineSink>> LineSink::open(const std::string& target, std::string_view what) {
  std::unique_ptr<LineSink> sink(new LineSink());
  if (target == "off") return sink;  // out_ stays null: write() does nothing
  if (target == "stdout" || target == "stderr") {
    sink->out_ = target == "stdout" ? stdout : stderr;
    return sink;
  }
  if (target.empty()) {
    return unexpected(ErrorKind::InvalidArgument,
                      std::string(what) + " must be stdout, stderr, off or a file path");
  }
  // 0600: audit lines name clients, credentials, items and source addresses (never secrets).
  const int fd = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return unexpected(ErrorKind::Io, "cannot open " + std::string(what) + " " + target + ": " +
                                         std::strerror(errno));
  }
  std::FILE* f = ::fdopen(fd, "a");
  if (f == nullptr) {
    const int err = errno;
    ::close(fd);
    return unexpected(ErrorKind::Io, "cannot open " + std::string(what) + " " + target + ": " +
                                         std::strerror(err));
  }
  std::setvbuf(f, nullptr, _IOFBF, 64 * 1024);
  sink->out_ = f;
  sink->owned_ = true;
  return sink;
}

LineSink::~LineSink() {
  if (out_ == nullptr) return;
  std::fflush(out_);
  if (owned_) std::fclose(out_);
}

void LineSink::write(std::string_view line) {
  if (out_ == nullptr) return;
  const int64_t now_ms = steady_ms();
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  if (now_ms - last_flush_ms_ >= kFlushIntervalMs) {
    std::fflush(out_);
    last_flush_ms_ = now_ms;
  }
}

void LineSink::flush() {
  if (out_ == nullptr) return;
  std::lock_guard lock(mutex_);
  std::fflush(out_);
  last_flush_ms_ = steady_ms();
}

}  // namespace gh::core
