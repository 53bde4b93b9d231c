#include "jose/json.h"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value_stack.hpp>
#include <string>
#include <vector>

#include "jose/jwt_error.h"

namespace gh::jose {
namespace {

namespace json = boost::json;

// A basic_parser handler that builds a value with value_stack (as boost::json::parser does) and
// also records the member names of each open object, so that a duplicate is detected when the
// object closes: value_stack::push_object silently keeps only the last duplicate.
class StrictHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  bool duplicate = false;

  explicit StrictHandler(json::storage_ptr sp) : st(std::move(sp)) {}

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    frames_.push_back(keys_.size());
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code& ec) {
    const size_t first = frames_.back();
    frames_.pop_back();
    if (n > 1 && has_duplicate(first)) {
      duplicate = true;
      ec = json::error::syntax;  // stops the parse; reported as a duplicate by the caller
      return false;
    }
    const size_t arena_end = first < keys_.size() ? keys_[first].offset : arena_.size();
    keys_.resize(first);
    arena_.resize(arena_end);
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    if (!key_open_) {
      key_start_ = arena_.size();
      key_open_ = true;
    }
    arena_.append(s.data(), s.size());
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    if (!key_open_) key_start_ = arena_.size();
    key_open_ = false;
    arena_.append(s.data(), s.size());
    keys_.push_back({key_start_, arena_.size() - key_start_,
                     fnv1a(std::string_view(arena_).substr(key_start_))});
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct KeyRef {
    size_t offset;
    size_t size;
    uint64_t hash;  // compared before the bytes: most JWT claim names are three letters long
  };

  static uint64_t fnv1a(std::string_view s) noexcept {
    uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s)
      h = (h ^ c) * 1099511628211ull;
    return h;
  }

  std::string_view key(const KeyRef& k) const { return {arena_.data() + k.offset, k.size}; }

  // O(n^2) for the small objects JOSE uses, sort-based beyond that so that a 64 KiB object with
  // thousands of members cannot make the check quadratic.
  bool has_duplicate(size_t first) {
    const size_t count = keys_.size() - first;
    if (count <= 16) {
      for (size_t i = first; i < keys_.size(); ++i) {
        for (size_t j = i + 1; j < keys_.size(); ++j) {
          if (keys_[i].hash == keys_[j].hash && key(keys_[i]) == key(keys_[j])) return true;
        }
      }
      return false;
    }
    std::vector<std::string_view> names;
    names.reserve(count);
    for (size_t i = first; i < keys_.size(); ++i)
      names.push_back(key(keys_[i]));
    std::sort(names.begin(), names.end());
    return std::adjacent_find(names.begin(), names.end()) != names.end();
  }

  // Scratch reused across parses on this thread, so that a warm parse allocates nothing here.
  // Emptied when a handler is made; a handler serves one parse on one thread.
  struct Scratch {
    std::string arena;           // the member names of all open objects, concatenated
    std::vector<KeyRef> keys;    // names of open objects, innermost last
    std::vector<size_t> frames;  // index into keys where each open object's names start
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    s.arena.clear();
    s.keys.clear();
    s.frames.clear();
    return s;
  }
  Scratch& scratch_ = scratch();
  std::string& arena_ = scratch_.arena;
  std::vector<KeyRef>& keys_ = scratch_.keys;
  std::vector<size_t>& frames_ = scratch_.frames;
  size_t key_start_ = 0;
  bool key_open_ = false;
};

}  // namespace

Result<json::value> parse_strict_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return fail(JwtError::TooLarge,
                "JSON text larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  opt.allow_comments = false;
  opt.allow_trailing_commas = false;
  opt.allow_invalid_utf8 = false;
  // One monotonic block per document instead of an allocation per string: the value owns the
  // resource through its storage_ptr and frees it whole.
  json::basic_parser<StrictHandler> p(opt, json::storage_ptr());
  p.handler().st.reset(json::make_shared_resource<json::monotonic_resource>());
  json::error_code ec;
  const size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n != text.size()) ec = json::error::extra_data;
  if (ec) {
    if (p.handler().duplicate) return fail(JwtError::Malformed, "duplicate JSON member name");
    if (ec == json::error::too_deep) {
      return fail(JwtError::TooLarge,
                  "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels");
    }
    return fail(JwtError::Malformed, "invalid JSON: " + ec.message());
  }
  return p.handler().st.release();
}

Result<json::object> parse_strict_json_object(std::string_view text, const JsonLimits& limits) {
  GH_TRY(auto v, parse_strict_json(text, limits));
  if (!v.is_object()) return fail(JwtError::Malformed, "JSON value is not an object");
  return std::move(v.get_object());
}

}  // namespace gh::jose
