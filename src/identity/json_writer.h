#pragma once

// Hand-written JSON output for the identity role's fixed-shape documents (tokens, error bodies,
// audit lines): appending into a caller's buffer is several times cheaper than building a
// boost::json value and serialising it, and it keeps member order exactly as Entra emits it.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_escape.h"

namespace gh::identity {

/// `"`, `\`, control characters and invalid UTF-8 escaped: see core/json_escape.h.
using core::append_json_escaped;

/// Appends `"s"` (quoted and escaped).
inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  append_json_escaped(out, s);
  out += '"';
}

/// Appends a decimal integer.
void append_json_int(std::string& out, int64_t v);

/// Appends `,"name":"value"`: the next member of an object already opened. `name` is a literal
/// of the caller's and is not escaped.
inline void append_string_member(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  append_json_string(out, value);
}

/// Appends `,"name":123`.
inline void append_int_member(std::string& out, std::string_view name, int64_t value) {
  out += ",\"";
  out += name;
  out += "\":";
  append_json_int(out, value);
}

/// Appends the UTC time of `unix_seconds` as "YYYY-MM-DD<sep>HH:MM:SS" (no zone letter): with
/// sep ' ' Entra's error timestamps, with 'T' ISO 8601. Pure arithmetic: no gmtime, no locale.
void append_utc_time(std::string& out, int64_t unix_seconds, char sep);

}  // namespace gh::identity
