#pragma once

// The yaml-cpp adapter: parses substituted text into a YAML::Node (every yaml-cpp exception is
// caught here and becomes an Error naming file:line:column), and collects validation diagnostics
// as `file:line: message` lines, with lines mapped back to the original file.

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/env_substitution.h"
#include "core/result.h"

namespace gh::config {

/// Parses exactly one YAML document; a syntax error becomes `file:line:column: message` (the
/// column is left out on lines that received substituted text, since it would not match the file).
Result<YAML::Node> parse_yaml_document(const SubstitutedText& text, std::string_view file_name);

/// Validation errors of one file, each `file:line: message`, capped so garbage input stays cheap.
class Diagnostics {
 public:
  Diagnostics(std::string file_name, const SubstitutedText& text)
      : file_(std::move(file_name)), text_(text) {}

  /// Records an error at the original line of `at` (or `fallback_line` when `at` has no mark).
  void error(const YAML::Node& at, std::string_view message, int fallback_line = 0);
  /// Records an error at a 1-based original line.
  void error_at_line(int line, std::string_view message);

  /// The 1-based original line of a node; `fallback` when the node carries no position.
  int line_of(const YAML::Node& node, int fallback = 0) const;
  /// ` 'value'` for a scalar typed in the file; empty for values substituted from the environment
  /// (they may be secrets) and for non-scalars.
  std::string shown(const YAML::Node& node) const;

  bool empty() const { return errors_.empty(); }
  bool full() const { return errors_.size() >= kMaxErrors; }
  /// All errors joined with newlines, ordered by line (stable: same-line errors keep their order).
  std::string joined() const;

 private:
  static constexpr size_t kMaxErrors = 50;

  std::string file_;
  const SubstitutedText& text_;
  std::vector<std::pair<int, std::string>> errors_;  // line, message
  bool truncated_ = false;
};

}  // namespace gh::config
