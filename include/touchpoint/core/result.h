// core/result.h — a value or the Status that explains why there is none.
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

#include <touchpoint/core/status.h>

namespace touchpoint {

// Result<T> holds either a T or a non-OK Status. Under C++23 it can become
// std::expected<T, Status> without callers changing.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    TP_CHECK(!std::get<Status>(v_).ok(), "Result built from an OK Status");
  }
  template <typename U>
    requires(std::is_convertible_v<U, T> && !std::is_same_v<std::decay_t<U>, Status> &&
             !std::is_same_v<std::decay_t<U>, T>)
  Result(U&& value) : v_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }

  // REQUIRES: ok().
  T& value() & {
    TP_CHECK(ok(), "value() on an error Result");
    return std::get<T>(v_);
  }
  const T& value() const& {
    TP_CHECK(ok(), "value() on an error Result");
    return std::get<T>(v_);
  }
  T&& value() && {
    TP_CHECK(ok(), "value() on an error Result");
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? std::get<T>(v_) : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace touchpoint

// TP_ASSIGN_OR_RETURN(auto x, MakeX()) — declares x from a Result or returns its Status.
#define TP_ASSIGN_OR_RETURN(lhs, expr)                                          \
  auto TP_STATUS_CONCAT(tp_result_, __LINE__) = (expr);                         \
  if (!TP_STATUS_CONCAT(tp_result_, __LINE__).ok())                             \
    return TP_STATUS_CONCAT(tp_result_, __LINE__).status();                     \
  lhs = std::move(TP_STATUS_CONCAT(tp_result_, __LINE__)).value()
