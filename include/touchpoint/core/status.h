// core/status.h — the outcome of an operation that can fail in an expected way.
//
// Status and Result<T> are the error channel of every module (STYLE.md §3). StatusCode is a
// closed set so that the server (HTTP status) and the CLI (exit code) can map every case in
// one switch each. Bugs are not Statuses: use TP_CHECK.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

namespace touchpoint {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed (HTTP 400, exit 2)
  kNotFound,            // the thing asked for does not exist (404, exit 4)
  kAlreadyExists,       // a unique thing exists already (409)
  kFailedPrecondition,  // the system is not in a state to do this (409 / exit 1)
  kPermissionDenied,    // authenticated but not allowed (403)
  kUnavailable,         // a resource is busy or down; retrying may help (503)
  kInternal,            // an invariant broke or a library failed unexpectedly (500)
};

// Returns "invalid_argument", "not_found", ... (the `code` of JSON errors).
std::string_view StatusCodeName(StatusCode code);

// A Status is safe to copy and to use from any thread; it is immutable once built.
class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "not_found: customer phone:+86… is unknown"
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace touchpoint

#define TP_STATUS_CONCAT_INNER(a, b) a##b
#define TP_STATUS_CONCAT(a, b) TP_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define TP_RETURN_IF_ERROR(expr)                         \
  do {                                                   \
    ::touchpoint::Status tp_status_tmp_ = (expr);        \
    if (!tp_status_tmp_.ok()) return tp_status_tmp_;     \
  } while (false)

// Aborts with a message: for broken invariants (bugs), never for user input.
#define TP_CHECK(cond, why)                                                              \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #cond, \
                   why);                                                                 \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)
