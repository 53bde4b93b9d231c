#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gh::core {

/// Writes `data` to `path` atomically (a temporary file in the same directory, fsync, rename),
/// created with `mode` (for example 0600 for private keys). Io error names the path.
Result<void> write_file_atomic(const std::string& path, std::string_view data, unsigned mode);

/// Creates `path` and its parents as directories with `mode` when missing.
Result<void> make_directories(const std::string& path, unsigned mode);

/// True when `path` names an existing regular file.
bool file_exists(const std::string& path);

/// What tells a file's versions apart without reading it: a rewrite in place changes the time
/// or size, an atomic replace (rename) the inode. A missing file has the default stamp.
struct FileStamp {
  int64_t mtime_ns = -1;
  int64_t size = -1;
  uint64_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};

/// The stamp of `path` now (default when it cannot be stat'ed).
FileStamp file_stamp(const std::string& path);

}  // namespace gh::core
