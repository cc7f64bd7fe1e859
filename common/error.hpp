// The project's one exception type for infrastructure failures (config, I/O, database).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace sharelink {

// Thrown for failures that are not domain outcomes: a config file that does not
// parse, a database that will not open, a schema that is too old or too new.
// Caught once at each entry point: sharectl prints it and exits 1, the daemon
// fails fast at startup or answers 500 with a request id.
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

// The database could not be used (locked past the busy timeout, unreadable,
// missing, corrupt). The daemon answers 503 SERVICE_UNAVAILABLE.
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
