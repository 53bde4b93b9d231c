#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace gh::crypto {

/// Drains OpenSSL's thread-local error queue into one message ("what: reason; reason").
/// This is the only place the queue is read, so errors never leak into a later call.
std::string drain_openssl_errors();

/// An Error of kind Crypto whose message is `what` plus the drained queue.
core::Error openssl_error(std::string_view what);

/// Clears the queue without reading it (after an expected failure such as a wrong-format probe).
void clear_openssl_errors() noexcept;

}  // namespace gh::crypto
