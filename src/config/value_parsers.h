#pragma once

// Parsers for the scalar value types of the configuration file: addresses, URLs, durations, sizes,
// names, paths and URL templates. They return what is wrong without echoing the input (it may
// come from the environment); the caller adds the key and line.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gh::config {

struct HostPort {
  std::string host;  // IPv6 literals without brackets
  uint16_t port = 0;
};

struct ParsedUrl {
  std::string scheme;     // "http" | "https"
  std::string host;       // IPv6 literals without brackets
  uint16_t port = 0;      // explicit, or 80/443
  std::string base_path;  // "" or "/x" without trailing slash
};

/// Parses `host:port` or `[v6]:port` with port 1..65535.
Result<HostPort> parse_address(std::string_view text);

/// Parses an http/https URL with a host, an optional port and an optional path (no userinfo,
/// query or fragment).
Result<ParsedUrl> parse_backend_url(std::string_view text);

/// Parses `250ms`, `10s`, `5m`, `1h`, `2d` or a plain number of seconds, at most `max`
/// (24 hours unless given: the proxy's timeouts; the identity role's key schedule allows more).
Result<std::chrono::milliseconds> parse_duration(
    std::string_view text, std::chrono::milliseconds max = std::chrono::hours(24));

/// A duration the way parse_duration reads it, in the largest unit that divides it: "90d",
/// "36h", "250ms". For messages and for showing configured values.
std::string format_duration(std::chrono::milliseconds value);

/// Parses a UTC date and time, "2024-01-01T00:00:00Z" (a final 'Z' or none; no other zone) or a
/// date alone, "2024-01-01" (midnight UTC), into seconds since the Unix epoch. Years 1970-9999.
Result<int64_t> parse_utc_time(std::string_view text);

/// Parses a byte count: a plain integer, or one with a `KiB`, `MiB` or `GiB` suffix.
Result<uint64_t> parse_size(std::string_view text);

/// Checks an identifier (listener, backend, api, operation name): 1..64 of [A-Za-z0-9._-].
Status check_name(std::string_view text);

/// Normalises an API path prefix: "" and "/" become "", else "/x" without trailing slash.
Result<std::string> normalize_api_path(std::string_view text);

/// Checks an operation's URL template: starts with '/', segments literal or exactly `{name}`.
Status check_url_template(std::string_view text);

/// Upper-cases an HTTP method token (RFC 9110 §9.1), or accepts "*" for any method.
Result<std::string> normalize_method(std::string_view text);

/// Checks a host name or IP literal (IPv6 with or without brackets) for SNI / Host matching;
/// returns it lower-cased, IPv6 without brackets.
Result<std::string> normalize_host_name(std::string_view text);

/// Checks a SHA-256 pin (64 hex digits, ':' separators allowed) and returns it lower-case.
Result<std::string> normalize_sha256_pin(std::string_view text);

/// Checks a GUID in 8-4-4-4-12 hex form (braces are not accepted) and returns it lower-case.
Result<std::string> normalize_guid(std::string_view text);

/// Checks an IPv4 or IPv6 address with an optional `/prefix` and returns it with the prefix
/// (a bare address becomes /32 or /128). Host bits beyond the prefix are rejected.
Result<std::string> normalize_cidr(std::string_view text);

/// Checks an environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 128 characters.
Status check_env_name(std::string_view text);

/// Levenshtein distance (for "did you mean" suggestions).
size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` when it is close enough to be a likely typo.
std::optional<std::string_view> suggest(std::string_view word,
                                        std::span<const std::string_view> candidates);

}  // namespace gh::config
