// Unit tests of libpq URI handling: recognising, checking, redacting, scrubbing messages.
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "common/postgres_url.hpp"

using namespace sharelink;

TEST_CASE("postgres_url: is_postgres_url recognises the two URI schemes only", "[postgres_url]") {
  CHECK(is_postgres_url("postgresql://db/x"));
  CHECK(is_postgres_url("postgres://db/x"));
  CHECK(is_postgres_url("postgresql:///x"));
  CHECK_FALSE(is_postgres_url("shared-link.db"));
  CHECK_FALSE(is_postgres_url("/var/lib/shared-linkd/postgresql://x"));
  CHECK_FALSE(is_postgres_url("host=db dbname=x"));
  CHECK_FALSE(is_postgres_url("POSTGRESQL://db/x"));  // libpq itself wants lower case
  CHECK_FALSE(is_postgres_url(""));
}

TEST_CASE("postgres_url: acceptable URLs have no problem", "[postgres_url]") {
  const char* url =
      GENERATE("postgresql://db/x", "postgres://shared_link@db.example.org:5432/shared_link",
               "postgresql://u@[::1]:5432/x", "postgresql:///x?host=/run/postgresql", "postgresql://u:@db/x",
               "postgresql://a,b:5433/x?target_session_attrs=read-write",
               "postgresql://db/x?sslmode=verify-full&sslrootcert=/etc/ssl/db.pem&connect_timeout=3",
               "postgresql://db/x?passfile=/etc/shared-linkd/pgpass",
               "postgresql://db:5432/x?application_name=studio%40home");
  INFO(url);
  CHECK(postgres_url_problem(url) == std::nullopt);
}

TEST_CASE("postgres_url: each refused URL says why", "[postgres_url]") {
  const auto [url, problem] = GENERATE(table<const char*, const char*>({
      {"mysql://db/x", R"(is not a libpq URI (it must start with "postgresql://" or "postgres://"))"},
      {"host=db password=x", R"(is not a libpq URI (it must start with "postgresql://" or "postgres://"))"},
      {"postgresql://db/x\n", "contains a control character"},
      {"postgresql://u:pw@db/x",
       "carries a password (put the password in the file named by database.password_file)"},
      {"postgresql://db/x?password=pw",
       "carries a password (put the password in the file named by database.password_file)"},
      {"postgresql://db/x?sslpassword=pw",
       "carries a password (put the password in the file named by database.password_file)"},
      {"postgresql://db/x?%70assword=pw",
       "carries a password (put the password in the file named by database.password_file)"},
      {"postgresql://db/x?foo=bar", R"(is not a valid libpq URI: invalid URI query parameter: "foo")"},
      // Read as widely as libpq might: a ":" and a later "@" may enclose a password.
      {"postgresql://db:5432/x?application_name=studio@home",
       "carries a password (put the password in the file named by database.password_file)"},
      {"postgresql://db/x?sslmode",
       R"(is not a valid libpq URI: missing key/value separator "=" in URI query parameter: "sslmode")"},
  }));
  INFO(url);
  CHECK(postgres_url_problem(url) == std::optional<std::string>(problem));
}

TEST_CASE("postgres_url: redact_postgres_url hides passwords and keeps the rest", "[postgres_url]") {
  const auto [url, shown] = GENERATE(table<const char*, const char*>({
      {"postgresql://u@db:5432/x", "postgresql://u@db:5432/x"},
      {"postgresql://u:pw@db:5432/x", "postgresql://u:***@db:5432/x"},
      {"postgres://:pw@db/x", "postgres://:***@db/x"},
      {"postgresql://u:@db/x", "postgresql://u:@db/x"},
      // A password may hold "/", "?" or "@": everything up to the last "@" goes.
      {"postgresql://u:p/w?x@y@db/x", "postgresql://u:***@db/x"},
      {"postgresql://db/x?password=pw&sslmode=require", "postgresql://db/x?password=***&sslmode=require"},
      {"postgresql://db/x?sslmode=require&sslpassword=pw",
       "postgresql://db/x?sslmode=require&sslpassword=***"},
      {"postgresql://db/x?Password=pw", "postgresql://db/x?Password=***"},
      {"postgresql://db/x?%70assword=pw", "postgresql://db/x?%70assword=***"},
      {"postgresql://db/x?passfile=/p", "postgresql://db/x?passfile=/p"},
      // Not a URI: keyword/value passwords go too.
      {"host=db password=pw dbname=x", "host=db password=*** dbname=x"},
      {"shared-link.db", "shared-link.db"},
  }));
  INFO(url);
  CHECK(redact_postgres_url(url) == shown);
}

TEST_CASE("postgres_url: scrub_secrets cleans libpq messages", "[postgres_url]") {
  CHECK(scrub_secrets("password authentication failed for user \"u\"") ==
        "password authentication failed for user \"u\"");
  CHECK(scrub_secrets("invalid percent-encoded token: \"p%zzhunter2\"", "p%zzhunter2") ==
        "invalid percent-encoded token: \"***\"");
  CHECK(scrub_secrets("hunter2 and hunter2 again", "hunter2") == "*** and *** again");
  CHECK(scrub_secrets("nothing to hide", "") == "nothing to hide");
  CHECK(scrub_secrets("cannot connect to postgresql://u:hunter2@db/x: refused") ==
        "cannot connect to postgresql://u:***@db/x: refused");
  CHECK(scrub_secrets("in \"postgres://db/x?password=hunter2\" here") ==
        "in \"postgres://db/x?password=***\" here");
  CHECK(scrub_secrets("missing \"=\" after \"host=db password = hunter2 x\" in connection info string") ==
        "missing \"=\" after \"host=db password=*** x\" in connection info string");
  CHECK(scrub_secrets("options password='hun ter\\'2' sslpassword=x2 end") ==
        "options password=*** sslpassword=*** end");
}
