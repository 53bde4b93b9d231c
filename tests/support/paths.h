#pragma once

#include <string>

namespace gh::test {

/// Absolute path of a file under the repository root.
std::string source_path(const std::string& relative);
/// Absolute path of a file under ../shared (read-only test data such as Wycheproof vectors).
std::string shared_path(const std::string& relative);
/// Whole file contents; fails the current test (and returns "") when unreadable.
std::string read_file(const std::string& path);

}  // namespace gh::test
