#pragma once

// `${VAR}` / `${VAR:-default}` replacement in a configuration file's raw text, before YAML parsing.
// Replacement keeps a map from the lines of the result back to the lines of the original file, so
// that later errors still point at the line the user wrote, and remembers which lines received
// substituted text, so that error messages never echo a value that came from the environment.

#include <string>
#include <string_view>
#include <vector>

#include "config/environment.h"
#include "core/result.h"

namespace gh::config {

struct SubstitutedText {
  std::string text;
  // Per line of `text` (0-based index): the 1-based line of the original file it came from.
  std::vector<int> origin_line;
  // Per line of `text`: true when some of it was substituted from the environment.
  std::vector<bool> substituted;

  /// The 1-based original line for a 0-based line of `text` (clamped to the known lines).
  int original_line(int text_line) const;
  /// True when a 0-based line of `text` contains substituted text (or is out of range).
  bool is_substituted(int text_line) const;
};

/// Replaces `${NAME}` (an error when NAME is unset), `${NAME:-default}` (default when NAME is
/// unset or empty) and `$${` (a literal `${`). Comments (`#` at the start of a line or after a
/// blank, outside quotes) are copied unchanged. Fails with every unset variable as
/// `file:line: message`, one per line; values never appear in messages.
Result<SubstitutedText> substitute_environment(std::string_view text, std::string_view file_name,
                                               const Environment& env);

}  // namespace gh::config
