// The project's one exception type for infrastructure failures (config, I/O, database).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace sharelink {

// Thrown for failures that are not domain outcomes: a config file that does not
// parse, a schema that is too old or too new, a damaged database, a bug.
// Caught once at each entry point: sharectl prints "sharectl: error: ..." and
// exits 1; the daemon fails fast at startup, or answers 500 INTERNAL_ERROR
// with a request id and logs the detail (daemon/http_common.hpp,
// failure_error).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value given by the operator (flag, config value, import line) is invalid.
// sharectl maps it to exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// The database cannot be used now, but may be later: it cannot be reached or
// opened (missing, of another schema version, unreadable), is locked past
// the storage's lock_wait, is full, read-only, or failing I/O. Each storage
// backend throws it from its one translation of its library's errors
// (common/store.hpp); a damaged or corrupt database is a plain Error. The
// daemon answers 503 SERVICE_UNAVAILABLE; sharectl exits 1 like any Error.
class DatabaseUnavailable : public Error {
 public:
  using Error::Error;
};

// Every problem found in a configuration file, each already formatted as
// "file:line:column: what (allowed)". what() joins them with newlines.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

}  // namespace sharelink
