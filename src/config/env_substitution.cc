#include "config/env_substitution.h"

#include <fmt/format.h>

namespace gh::config {
namespace {

// Enough to show every mistake in a realistic file without flooding the terminal.
constexpr size_t kMaxErrors = 20;

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || !is_name_start(name.front())) return false;
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

// Where the comment of one line starts (npos: none). A heuristic on one line: YAML only starts a
// comment at `#` after a blank or at the start, and never inside a quoted scalar.
size_t comment_start(std::string_view line) {
  bool in_single = false;
  bool in_double = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_double) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_double = false;
      }
    } else if (in_single) {
      if (c == '\'') in_single = false;
    } else if (c == '"') {
      in_double = true;
    } else if (c == '\'') {
      in_single = true;
    } else if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return i;
    }
  }
  return std::string_view::npos;
}

class Substituter {
 public:
  Substituter(std::string_view file_name, const Environment& env) : file_(file_name), env_(env) {}

  Result<SubstitutedText> run(std::string_view text) {
    int line_number = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
      const size_t end = text.find('\n', pos);
      const bool last = end == std::string_view::npos;
      const std::string_view line = text.substr(pos, last ? std::string_view::npos : end - pos);
      ++line_number;
      start_line(line_number);
      substitute_line(line, line_number);
      if (last) break;
      out_.text.push_back('\n');
      pos = end + 1;
    }
    if (!errors_.empty()) {
      std::string message;
      for (const auto& e : errors_) {
        if (!message.empty()) message.push_back('\n');
        message += e;
      }
      return unexpected(ErrorKind::InvalidArgument, std::move(message));
    }
    return std::move(out_);
  }

 private:
  void start_line(int original) {
    out_.origin_line.push_back(original);
    out_.substituted.push_back(false);
  }

  void error(int line, std::string message) {
    if (errors_.size() < kMaxErrors)
      errors_.push_back(fmt::format("{}:{}: {}", file_, line, message));
  }

  void substitute_line(std::string_view line, int line_number) {
    const size_t comment = comment_start(line);
    const std::string_view body = line.substr(0, comment);
    size_t i = 0;
    while (i < body.size()) {
      const char c = body[i];
      if (c != '$') {
        out_.text.push_back(c);
        ++i;
        continue;
      }
      if (body.substr(i, 3) == "$${") {
        out_.text += "${";
        i += 3;
        continue;
      }
      if (body.substr(i, 2) != "${") {
        out_.text.push_back(c);
        ++i;
        continue;
      }
      const size_t close = body.find('}', i + 2);
      if (close == std::string_view::npos) {
        error(line_number, "unterminated '${' (missing '}'; write '$${' for a literal '${')");
        return;
      }
      replace(body.substr(i + 2, close - i - 2), line_number);
      i = close + 1;
    }
    if (comment != std::string_view::npos) out_.text += line.substr(comment);
  }

  // `inner` is what stands between `${` and `}`.
  void replace(std::string_view inner, int line_number) {
    std::string_view name = inner;
    std::optional<std::string_view> fallback;
    if (const size_t sep = inner.find(":-"); sep != std::string_view::npos) {
      name = inner.substr(0, sep);
      fallback = inner.substr(sep + 2);
    }
    if (!is_valid_name(name)) {
      error(line_number,
            "invalid variable reference: write ${NAME} or ${NAME:-default} with NAME made of "
            "letters, digits and '_' (or '$${' for a literal '${')");
      return;
    }
    std::optional<std::string> value = env_(name);
    // Shell semantics: `:-` also replaces an empty value; a bare reference only fails when unset.
    if (fallback && (!value || value->empty())) value = std::string(*fallback);
    if (!value) {
      error(line_number, fmt::format("environment variable '{}' is not set and has no default "
                                     "(write ${{{}:-default}} to give one)",
                                     name, name));
      return;
    }
    out_.substituted.back() = true;
    for (char c : *value) {
      out_.text.push_back(c);
      // A multi-line value continues the same original line.
      if (c == '\n') start_line(line_number), out_.substituted.back() = true;
    }
  }

  std::string_view file_;
  const Environment& env_;
  SubstitutedText out_;
  std::vector<std::string> errors_;
};

}  // namespace

int SubstitutedText::original_line(int text_line) const {
  if (origin_line.empty()) return text_line + 1;
  if (text_line < 0) return origin_line.front();
  if (static_cast<size_t>(text_line) >= origin_line.size()) return origin_line.back();
  return origin_line[static_cast<size_t>(text_line)];
}

bool SubstitutedText::is_substituted(int text_line) const {
  if (text_line < 0 || static_cast<size_t>(text_line) >= substituted.size()) return true;
  return substituted[static_cast<size_t>(text_line)];
}

Result<SubstitutedText> substitute_environment(std::string_view text, std::string_view file_name,
                                               const Environment& env) {
  return Substituter(file_name, env).run(text);
}

}  // namespace gh::config
