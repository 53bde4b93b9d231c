#pragma once

// A strict base64url decoder for the token hot path. It accepts exactly what
// core::base64url_decode accepts (no padding, URL-safe alphabet only, zero trailing bits) but
// decodes four characters per step into a buffer sized once: the byte-at-a-time push_back of
// the general decoder was a measurable part of a full RS256 verification. Tests cross-check the
// two on every length and on random and corrupted input.

#include <string_view>

#include "core/encoding.h"

namespace gh::jose {

/// Decodes `text` into `out` (replacing its contents). False when `text` is not strict
/// base64url; `out` is then unspecified. Thread-safe.
bool decode_base64url(std::string_view text, core::Bytes& out);

}  // namespace gh::jose
