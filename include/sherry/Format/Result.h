//===- Result.h - Error values of the format library ------------*- C++ -*-===//
//
// The format library is plain C++ with no LLVM/MLIR dependency (it is linked
// into the C API, the Python module and fuzzers), so it carries its own small
// error type instead of llvm::Error. Every fallible call returns a Status or a
// Result<T>; nothing in the library aborts on bad input.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_FORMAT_RESULT_H
#define SHERRY_FORMAT_RESULT_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace sherry::format {

/// Success, or failure with a message that names the problem.
class [[nodiscard]] Status {
public:
  static Status success() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.failed = true;
    s.msg = std::move(message);
    return s;
  }

  bool ok() const { return !failed; }
  explicit operator bool() const { return ok(); }
  /// The message of a failed status; empty on success.
  const std::string &message() const { return msg; }

private:
  bool failed = false;
  std::string msg;
};

/// A value of type T, or a failure with a message.
template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : val(std::move(value)) {}
  Result(Status status) : status(std::move(status)) {
    assert(!this->status.ok() && "a Result built from a Status must fail");
  }
  static Result error(std::string message) {
    return Result(Status::error(std::move(message)));
  }

  bool ok() const { return val.has_value(); }
  explicit operator bool() const { return ok(); }
  const std::string &message() const { return status.message(); }
  /// The failure as a Status (success when ok()).
  const Status &getStatus() const { return status; }

  T &value() & {
    assert(ok() && "value() of a failed Result");
    return *val;
  }
  const T &value() const & {
    assert(ok() && "value() of a failed Result");
    return *val;
  }
  T &&value() && {
    assert(ok() && "value() of a failed Result");
    return std::move(*val);
  }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }

private:
  std::optional<T> val;
  Status status;
};

} // namespace sherry::format

#endif // SHERRY_FORMAT_RESULT_H
