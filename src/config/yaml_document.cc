#include "config/yaml_document.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <new>
#include <sstream>

namespace gh::config {
namespace {

// Long values are cut in messages: enough to recognise them, not enough to flood a terminal.
constexpr size_t kMaxShownValue = 60;

// Sees parser events without building nodes; only counts documents.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Counts documents up to `limit`. Not YAML::LoadAll: in yaml-cpp 0.7 it never returns on some
// malformed input (a stray ',' at the top level makes HandleNextDocument succeed forever).
size_t count_documents(const std::string& text, size_t limit) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  size_t documents = 0;
  while (documents < limit && parser.HandleNextDocument(counter))
    ++documents;
  return documents;
}

}  // namespace

Result<YAML::Node> parse_yaml_document(const SubstitutedText& text, std::string_view file_name) {
  try {
    YAML::Node root = YAML::Load(text.text);
    if (const size_t documents = count_documents(text.text, 2); documents > 1) {
      return unexpected(
          ErrorKind::InvalidArgument,
          fmt::format("{}: expected one YAML document, found more (remove '---')", file_name));
    }
    return root;
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
    errors_.emplace_back(line, fmt::format("{}:{}: {}", file_, line, message));
  } else {
    errors_.emplace_back(0, fmt::format("{}: {}", file_, message));
  }
}

std::string Diagnostics::joined() const {
  // The parser visits keys in schema order; users read top to bottom.
  std::vector<std::pair<int, std::string>> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [line, text] : sorted) {
    if (!out.empty()) out.push_back('\n');
    out += text;
  }
  if (truncated_) out += fmt::format("\n{}: too many errors; stopped after {}", file_, kMaxErrors);
  return out;
}

}  // namespace gh::config
