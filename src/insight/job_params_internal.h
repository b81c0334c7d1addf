// insight/job_params_internal.h — reading a job's parameters from a JSON object, with errors
// that name the parameter ("k: expected an integer in [1, 100], got \"x\"").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <touchpoint/core/result.h>
#include <touchpoint/core/time.h>

namespace touchpoint::insight::internal {

// Reads the fields of one parameter object. Each getter leaves its output alone when the field
// is absent and remembers the first error; Finish() reports it, or an unknown field.
class ParamReader {
 public:
  // kInvalidArgument when `json` is not a JSON object ("" and "null" read as {}).
  static Result<ParamReader> Parse(std::string_view json);

  void Number(const char* key, double* out);
  // An integral number in [min, max].
  void Int(const char* key, std::int64_t min, std::int64_t max, std::int64_t* out);
  template <typename T>
  void Int(const char* key, std::int64_t min, std::int64_t max, T* out) {
    auto v = static_cast<std::int64_t>(*out);
    Int(key, min, max, &v);
    *out = static_cast<T>(v);
  }
  // An integral number in [min, max], or the string "auto" (read as 0).
  void IntOrAuto(const char* key, std::int64_t min, std::int64_t max, int* out);
  void String(const char* key, std::string* out);
  void StringList(const char* key, std::vector<std::string>* out);
  void StringList(const char* key, std::optional<std::vector<std::string>>* out);
  // True when the field is present (and not null).
  bool Has(const char* key) const;
  // A date or time text read by `parse` (errors are prefixed with the key).
  void Time(const char* key, const std::function<Result<Millis>(std::string_view)>& parse, Millis* out);
  // Records an error about `key` (for checks the caller makes itself).
  void Fail(const char* key, const std::string& what);

  // The first error, or kInvalidArgument naming a field that no getter asked for.
  Status Finish() const;

 private:
  explicit ParamReader(nlohmann::json object) : object_(std::move(object)) {}
  const nlohmann::json* Field(const char* key);

  nlohmann::json object_;
  std::set<std::string> asked_;
  Status error_;
};

}  // namespace touchpoint::insight::internal
