// The daemon's one mapping of failures to answers: DatabaseUnavailable is 503, anything else 500.
#include "daemon/http_common.hpp"

#include <catch2/catch.hpp>
#include <new>
#include <stdexcept>

#include "common/error.hpp"

namespace sharelink {

TEST_CASE("failure_error: an unavailable database is 503, any other failure 500", "[http_common]") {
  CHECK(failure_error(DatabaseUnavailable("database /x.db: database is locked")) == PublicError::service_unavailable);
  CHECK(http_status(failure_error(DatabaseUnavailable("x"))) == 503);
  CHECK(failure_error(Error("database /x.db: no such table: tracks")) == PublicError::internal_error);
  CHECK(failure_error(UsageError("x")) == PublicError::internal_error);
  CHECK(failure_error(std::runtime_error("x")) == PublicError::internal_error);
  CHECK(failure_error(std::bad_alloc()) == PublicError::internal_error);
  CHECK(http_status(failure_error(Error("x"))) == 500);
}

}  // namespace sharelink
