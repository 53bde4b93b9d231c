#pragma once

// Result<T>: a value or an Error, with std::expected's member names so that moving to C++23 is an
// alias change (g++ 12 has no std::expected in C++20 mode; tl-expected is not in Debian 12).

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/error.h"

namespace gh::core {

struct Unexpected {
  Error error;
};

/// Wraps an Error for returning from a function whose type is Result<T>.
inline Unexpected unexpected(Error e) {
  return Unexpected{std::move(e)};
}
inline Unexpected unexpected(ErrorKind kind, std::string message, int detail = 0,
                             uint16_t http_status = 0) {
  return Unexpected{Error{kind, std::move(message), detail, http_status}};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  using error_type = Error;

  Result() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Result> &&
           !std::is_same_v<std::decay_t<U>, Unexpected> && !std::is_same_v<std::decay_t<U>, T>)
      Result(U&& value)
      : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}            // NOLINT
  Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

  const Error& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  Error& error() & {
    assert(!has_value());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;
  using error_type = Error;

  Result() = default;
  Result(Unexpected u) : error_(std::move(u.error)), ok_(false) {}  // NOLINT

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  void value() const { assert(ok_); }
  const Error& error() const& {
    assert(!ok_);
    return error_;
  }
  Error&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace gh::core

namespace gh {
using core::Error;
using core::ErrorKind;
using core::Result;
using core::Status;
using core::unexpected;
}  // namespace gh

#define GH_CONCAT_INNER(a, b) a##b
#define GH_CONCAT(a, b) GH_CONCAT_INNER(a, b)

/// GH_TRY(auto x, expr): evaluates expr (a Result); on failure returns its error from the caller.
#define GH_TRY(decl, expr) GH_TRY_IMPL(decl, expr, GH_CONCAT(gh_try_, __LINE__), return )
/// GH_CO_TRY: the same, for coroutines.
#define GH_CO_TRY(decl, expr) GH_TRY_IMPL(decl, expr, GH_CONCAT(gh_try_, __LINE__), co_return )
#define GH_TRY_IMPL(decl, expr, tmp, ret)                                   \
  auto tmp = (expr);                                                        \
  if (!tmp.has_value()) ret ::gh::core::unexpected(std::move(tmp).error()); \
  decl = std::move(*tmp)

/// GH_TRY_STATUS(expr): for Result<void>.
#define GH_TRY_STATUS(expr)                                                                    \
  do {                                                                                         \
    auto gh_status_ = (expr);                                                                  \
    if (!gh_status_.has_value()) return ::gh::core::unexpected(std::move(gh_status_).error()); \
  } while (0)
