#include "config/yaml_document.h"

#include <fmt/format.h>

#include <new>

namespace gh::config {
namespace {

// Long values are cut in messages: enough to recognise them, not enough to flood a terminal.
constexpr size_t kMaxShownValue = 60;

}  // namespace

Result<YAML::Node> parse_yaml_document(const SubstitutedText& text, std::string_view file_name) {
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(text.text);
    if (documents.size() > 1) {
      return unexpected(ErrorKind::InvalidArgument,
                        fmt::format("{}: expected one YAML document, found {} (remove '---')",
                                    file_name, documents.size()));
    }
    if (documents.empty()) return YAML::Node();
    return documents.front();
  } catch (const std::bad_alloc&) {
    throw;  // out of memory is fatal, not a configuration error
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return unexpected(ErrorKind::InvalidArgument, fmt::format("{}: {}", file_name, e.msg));
    }
    const int line = text.original_line(e.mark.line);
    if (text.is_substituted(e.mark.line)) {
      // yaml-cpp quotes a character of the input in a few messages; keep only the generic part.
      const std::string generic = e.msg.substr(0, e.msg.find(':'));
      return unexpected(
          ErrorKind::InvalidArgument,
          fmt::format("{}:{}: {} (on a line with values from the environment: quote them, as in "
                      "\"${{VAR}}\")",
                      file_name, line, generic));
    }
    return unexpected(ErrorKind::InvalidArgument,
                      fmt::format("{}:{}:{}: {}", file_name, line, e.mark.column + 1, e.msg));
  } catch (const std::exception& e) {
    return unexpected(ErrorKind::InvalidArgument,
                      fmt::format("{}: cannot parse YAML: {}", file_name, e.what()));
  }
}

int Diagnostics::line_of(const YAML::Node& node, int fallback) const {
  if (!node.IsDefined()) return fallback;
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return fallback;
  return text_.original_line(mark.line);
}

std::string Diagnostics::shown(const YAML::Node& node) const {
  if (!node.IsDefined() || !node.IsScalar()) return {};
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || text_.is_substituted(mark.line)) return {};
  const std::string& value = node.Scalar();
  if (value.find('\n') != std::string::npos) return {};
  if (value.size() > kMaxShownValue)
    return fmt::format(" '{}...'", value.substr(0, kMaxShownValue));
  return fmt::format(" '{}'", value);
}

void Diagnostics::error(const YAML::Node& at, std::string_view message, int fallback_line) {
  error_at_line(line_of(at, fallback_line), message);
}

void Diagnostics::error_at_line(int line, std::string_view message) {
  if (full()) {
    truncated_ = true;
    return;
  }
  if (line > 0) {
    errors_.push_back(fmt::format("{}:{}: {}", file_, line, message));
  } else {
    errors_.push_back(fmt::format("{}: {}", file_, message));
  }
}

std::string Diagnostics::joined() const {
  std::string out;
  for (const auto& e : errors_) {
    if (!out.empty()) out.push_back('\n');
    out += e;
  }
  if (truncated_) out += fmt::format("\n{}: too many errors; stopped after {}", file_, kMaxErrors);
  return out;
}

}  // namespace gh::config
