#pragma once

// Policy documents as loaded: APIM policy XML (apim-policies.md §1) parsed with pugixml into a
// small owned tree that remembers file and line of every element, after `{{named value}}`
// substitution and `<include-fragment>` inlining. Nothing here knows what an element means:
// policy/pipeline.h composes scopes, each policy kind reads its own element.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gh::policy {

struct Attribute {
  std::string name;
  std::string value;  // named values substituted
};

struct Element {
  std::string name;
  std::vector<Attribute> attributes;  // in document order
  std::vector<Element> children;      // element children only
  std::string text;                   // concatenated text/CDATA children, named values substituted
  std::string file;                   // where the element was written (a fragment: its own name)
  int line = 0;

  /// The attribute's value, or null when absent.
  const std::string* attribute(std::string_view attr) const noexcept;
  /// The first child element with this name, or null.
  const Element* child(std::string_view child_name) const noexcept;
  /// "file:line" for messages.
  std::string where() const;
  /// True when a value came from a secret named value: never log or echo it.
  bool secret = false;
};

/// A `{{name}}` value. Display names follow APIM: 1–256 of [A-Za-z0-9-._].
struct NamedValue {
  std::string value;
  bool secret = false;  // never logged; messages name the value, never show it
};

using NamedValues = std::map<std::string, NamedValue, std::less<>>;
/// Policy fragments by id: XML text whose root is <fragment>.
using Fragments = std::map<std::string, std::string, std::less<>>;

/// Why a document failed to load: every problem found, each "file:line: message".
struct LoadProblems {
  std::vector<std::string> lines;
  bool empty() const noexcept { return lines.empty(); }
  std::string joined() const;
};

/// Parses a policy document (root element <policies>) from `xml`. `{{name}}` in attribute values
/// and text is replaced textually before anything else (no nesting: a named value's own braces
/// stay as they are); an unknown name is an error. `<include-fragment fragment-id="x"/>` is
/// replaced by the children of fragment x's root (fragments cannot include fragments). Errors
/// name `file` and the line.
Result<Element> parse_policy_document(std::string_view xml, std::string_view file,
                                      const NamedValues& named_values,
                                      const Fragments& fragments = {});

/// Same as parse_policy_document for a file on disk.
Result<Element> load_policy_file(const std::string& path, const NamedValues& named_values,
                                 const Fragments& fragments = {});

/// An Error of kind InvalidArgument whose message is "file:line: <element>: message".
core::Error element_error(const Element& e, std::string_view message);

/// Reads an element's attributes with APIM's rules and collects every problem, so that one load
/// reports all of them. Each getter marks the attribute as known; finish() adds "unknown
/// attribute 'x'" for every attribute no getter asked for (`id` is always allowed: APIM lets any
/// policy carry one).
class AttributeReader {
 public:
  explicit AttributeReader(const Element& e) : e_(e) {}

  /// The raw value, or null when absent (an empty value is present).
  const std::string* raw(std::string_view name);
  /// Required raw value; records "missing required attribute 'x'" when absent.
  const std::string* required(std::string_view name);
  /// true/false (case-insensitive, as .NET parses them); `fallback` when absent.
  bool boolean(std::string_view name, bool fallback);
  /// A decimal integer in [min, max]; `fallback` when absent.
  int64_t integer(std::string_view name, int64_t fallback, int64_t min, int64_t max);
  /// Records a problem against this element.
  void problem(std::string_view message);

  /// OK, or every problem joined (one per line, each "file:line: <element>: message").
  Status finish();
  const Element& element() const noexcept { return e_; }

 private:
  const Element& e_;
  std::vector<std::string_view> known_;
  std::vector<std::string> problems_;
};

}  // namespace gh::policy
