#include "policy/document.h"

#include <algorithm>
#include <pugixml.hpp>

#include "core/strings.h"
#include "crypto/key.h"

namespace gh::policy {
namespace {

constexpr size_t kMaxDocumentBytes = 4 * 1024 * 1024;
constexpr int kMaxDepth = 64;

bool valid_named_value_name(std::string_view n) {
  if (n.empty() || n.size() > 256) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

/// Maps pugixml's byte offsets to 1-based lines.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text) {
    for (size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') newlines_.push_back(i);
  }
  int line_of(ptrdiff_t offset) const {
    if (offset < 0) return 0;
    auto it = std::lower_bound(newlines_.begin(), newlines_.end(), static_cast<size_t>(offset));
    return static_cast<int>(it - newlines_.begin()) + 1;
  }

 private:
  std::vector<size_t> newlines_;
};

struct Builder {
  std::string_view file;
  const LineIndex& lines;
  const NamedValues& named_values;
  const Fragments* fragments;  // null inside a fragment: no nesting
  LoadProblems& problems;

  void problem(int line, std::string_view message) {
    problems.lines.push_back(std::string(file) + ":" + std::to_string(line) + ": " +
                             std::string(message));
  }

  /// Replaces every {{name}}; a named value's own text is not scanned again (APIM: no nesting).
  std::string substitute(std::string_view in, int line, bool& secret) {
    std::string out;
    size_t pos = 0;
    while (pos < in.size()) {
      size_t open = in.find("{{", pos);
      if (open == std::string_view::npos) break;
      size_t close = in.find("}}", open + 2);
      if (close == std::string_view::npos) break;
      std::string_view name = in.substr(open + 2, close - open - 2);
      out.append(in.substr(pos, open - pos));
      auto it = named_values.find(name);
      if (!valid_named_value_name(name)) {
        // Not a reference (APIM's names are [A-Za-z0-9-._]): kept as written.
        out.append(in.substr(open, close + 2 - open));
      } else if (it == named_values.end()) {
        problem(line, "named value '" + std::string(name) + "' is not defined");
      } else {
        out.append(it->second.value);
        secret = secret || it->second.secret;
      }
      pos = close + 2;
    }
    out.append(in.substr(pos));
    return out;
  }

  void build(const pugi::xml_node& node, Element& out, int depth) {
    out.name = node.name();
    out.file = std::string(file);
    out.line = lines.line_of(node.offset_debug());
    if (depth > kMaxDepth) {
      problem(out.line,
              "policy document nested more than " + std::to_string(kMaxDepth) + " levels deep");
      return;
    }
    for (const auto& a : node.attributes()) {
      out.attributes.push_back({a.name(), substitute(a.value(), out.line, out.secret)});
    }
    std::string text;
    for (const auto& child : node.children()) {
      switch (child.type()) {
        case pugi::node_pcdata:
        case pugi::node_cdata:
          text.append(child.value());
          break;
        case pugi::node_element:
          if (std::string_view(child.name()) == "include-fragment") {
            include(child, out, depth);
          } else {
            Element e;
            build(child, e, depth + 1);
            out.children.push_back(std::move(e));
          }
          break;
        default:
          break;  // comments, processing instructions
      }
    }
    out.text = substitute(text, out.line, out.secret);
  }

  void include(const pugi::xml_node& node, Element& parent, int depth) {
    int line = lines.line_of(node.offset_debug());
    std::string_view id = node.attribute("fragment-id").value();
    if (!fragments) {
      problem(line, "include-fragment: a fragment cannot include another fragment");
      return;
    }
    if (id.empty()) {
      problem(line, "include-fragment: missing required attribute 'fragment-id'");
      return;
    }
    auto it = fragments->find(id);
    if (it == fragments->end()) {
      problem(line, "include-fragment: fragment '" + std::string(id) + "' is not defined");
      return;
    }
    pugi::xml_document doc;
    auto parsed = doc.load_buffer(it->second.data(), it->second.size(),
                                  pugi::parse_default | pugi::parse_ws_pcdata_single);
    std::string fragment_file = "fragment '" + std::string(id) + "'";
    LineIndex fragment_lines(it->second);
    if (!parsed) {
      problems.lines.push_back(fragment_file + ":" +
                               std::to_string(fragment_lines.line_of(parsed.offset)) + ": " +
                               parsed.description());
      return;
    }
    auto root = doc.document_element();
    if (std::string_view(root.name()) != "fragment") {
      problems.lines.push_back(fragment_file + ": the root element must be <fragment>, not <" +
                               root.name() + ">");
      return;
    }
    Builder inner{fragment_file, fragment_lines, named_values, nullptr, problems};
    for (const auto& child : root.children()) {
      if (child.type() != pugi::node_element) continue;
      if (std::string_view(child.name()) == "include-fragment") {
        inner.include(child, parent, depth);  // reports the nesting
        continue;
      }
      Element e;
      inner.build(child, e, depth + 1);
      parent.children.push_back(std::move(e));
    }
  }
};

}  // namespace

const std::string* Element::attribute(std::string_view attr) const noexcept {
  for (const auto& a : attributes)
    if (a.name == attr) return &a.value;
  return nullptr;
}

const Element* Element::child(std::string_view child_name) const noexcept {
  for (const auto& c : children)
    if (c.name == child_name) return &c;
  return nullptr;
}

std::string Element::where() const {
  return file + ":" + std::to_string(line);
}

std::string LoadProblems::joined() const {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

Result<Element> parse_policy_document(std::string_view xml, std::string_view file,
                                      const NamedValues& named_values, const Fragments& fragments) {
  if (xml.size() > kMaxDocumentBytes) {
    return unexpected(ErrorKind::LimitExceeded,
                      std::string(file) + ": policy document larger than 4 MiB");
  }
  pugi::xml_document doc;
  // No DTDs or entities beyond XML's five: pugixml never expands external entities.
  auto parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  LineIndex lines(xml);
  if (!parsed) {
    return unexpected(ErrorKind::InvalidArgument,
                      std::string(file) + ":" + std::to_string(lines.line_of(parsed.offset)) +
                          ": not well-formed XML: " + parsed.description());
  }
  auto root = doc.document_element();
  if (!root) {
    return unexpected(ErrorKind::InvalidArgument,
                      std::string(file) + ": empty policy document (expected <policies>)");
  }
  LoadProblems problems;
  Builder b{file, lines, named_values, &fragments, problems};
  Element out;
  b.build(root, out, 0);
  if (out.name != "policies") {
    problems.lines.insert(
        problems.lines.begin(),
        out.where() + ": the root element must be <policies>, not <" + out.name + ">");
  }
  if (!problems.empty()) return unexpected(ErrorKind::InvalidArgument, problems.joined());
  return out;
}

Result<Element> load_policy_file(const std::string& path, const NamedValues& named_values,
                                 const Fragments& fragments) {
  auto text = crypto::read_file(path);
  if (!text) return unexpected(text.error().with_context("policy file"));
  return parse_policy_document(*text, path, named_values, fragments);
}

core::Error element_error(const Element& e, std::string_view message) {
  return core::Error(ErrorKind::InvalidArgument,
                     e.where() + ": <" + e.name + ">: " + std::string(message));
}

const std::string* AttributeReader::raw(std::string_view name) {
  known_.push_back(name);
  return e_.attribute(name);
}

const std::string* AttributeReader::required(std::string_view name) {
  const std::string* v = raw(name);
  if (!v) problem("missing required attribute '" + std::string(name) + "'");
  return v;
}

bool AttributeReader::boolean(std::string_view name, bool fallback) {
  const std::string* v = raw(name);
  if (!v) return fallback;
  if (core::iequals(*v, "true")) return true;
  if (core::iequals(*v, "false")) return false;
  problem("attribute '" + std::string(name) + "' must be true or false" +
          (e_.secret ? std::string() : ", not '" + *v + "'"));
  return fallback;
}

int64_t AttributeReader::integer(std::string_view name, int64_t fallback, int64_t min,
                                 int64_t max) {
  const std::string* v = raw(name);
  if (!v) return fallback;
  std::string_view s = *v;
  bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  auto n = core::parse_uint(s);
  if (n && *n <= static_cast<uint64_t>(INT64_MAX)) {
    int64_t value = negative ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
    if (value >= min && value <= max) return value;
  }
  problem("attribute '" + std::string(name) + "' must be an integer from " + std::to_string(min) +
          " to " + std::to_string(max) + (e_.secret ? std::string() : ", not '" + *v + "'"));
  return fallback;
}

void AttributeReader::problem(std::string_view message) {
  problems_.push_back(e_.where() + ": <" + e_.name + ">: " + std::string(message));
}

Status AttributeReader::finish() {
  for (const auto& a : e_.attributes) {
    if (a.name == "id") continue;
    if (std::find(known_.begin(), known_.end(), a.name) == known_.end())
      problem("unknown attribute '" + a.name + "'");
  }
  if (problems_.empty()) return {};
  std::string joined;
  for (const auto& p : problems_) {
    if (!joined.empty()) joined += '\n';
    joined += p;
  }
  return unexpected(ErrorKind::InvalidArgument, std::move(joined));
}

}  // namespace gh::policy
