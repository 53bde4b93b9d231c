#pragma once

// The strict JSON reader for JOSE headers, JWT claims and JWKs: RFC 8259 only (no comments, no
// trailing commas, valid UTF-8), one top-level value, bounded size and depth, and duplicate
// member names rejected (RFC 7515 §5.2 step 4 / RFC 7519 §4: a JOSE header or claims set with
// duplicate names must be rejected or use the last one; two parsers disagreeing on "which one"
// is an attack, so we reject).

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <string_view>

#include "core/result.h"

namespace gh::jose {

struct JsonLimits {
  size_t max_bytes = 64 * 1024;  // per decoded part (header, claims, JWK Set)
  size_t max_depth = 16;         // nesting of arrays/objects
};

/// Parses `text` as one strict JSON value. Malformed (bad syntax, duplicate member name) or
/// TooLarge (size, depth) in Error::detail. Thread-safe.
Result<boost::json::value> parse_strict_json(std::string_view text, const JsonLimits& limits = {});

/// As parse_strict_json, and the value must be an object (Malformed otherwise).
Result<boost::json::object> parse_strict_json_object(std::string_view text,
                                                     const JsonLimits& limits = {});

}  // namespace gh::jose
