#pragma once

// JSON string escaping for hand-written JSON (error bodies, tokens, audit and access log lines).

#include <string>
#include <string_view>

namespace gh::core {

/// Appends `s` as a JSON string body (without the quotes): `"` `\` and control characters are
/// escaped (\n \r \t \b \f, else \u00XX), valid UTF-8 is copied as is, and every byte that is
/// not part of a valid UTF-8 sequence (overlong, surrogate, > U+10FFFF, truncated) becomes
/// \ufffd, so the output is always valid JSON whatever the input (request values included).
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace gh::core
