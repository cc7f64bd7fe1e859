// Unit tests of the libpq wrapper: parameters, the password file, and (tagged [postgres]) a real server:
// connections, prepared statements, typed readers, transactions, COPY, error translation, the pool.
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "common/pg_connection.hpp"
#include "tests/common/pg_test_database.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/common/test_support.hpp"

using namespace sharelink;
using sharelink::testing::PgTestDatabase;
using sharelink::testing::TempDir;
using sharelink::testing::wait_until;

namespace {

// A password no message may ever show.
constexpr const char* k_secret = "hunter2-Sekr1t";

std::filesystem::path private_file(const TempDir& dir, const std::string& name, const std::string& content,
                                   mode_t mode = 0600) {
  const auto file = dir.write(name, content);
  ::chmod(file.c_str(), mode);
  return file;
}

// The message of the Error that fn throws (failing the test if it throws none).
template <typename Exception, typename Fn>
std::string message_of(Fn&& fn) {
  try {
    fn();
  } catch (const Exception& e) {
    return e.what();
  }
  FAIL("no exception thrown");
  return {};
}

// A port on 127.0.0.1 where nothing listens (a stopped server).
std::string closed_port_url() { return "postgresql://postgres@127.0.0.1:1/postgres"; }

// Ends the session with this backend pid from another connection and waits until it is gone.
void terminate_backend(PgConnection& admin, int pid) {
  admin.exec("SELECT pg_terminate_backend($1)", PgParams(pid));
  wait_until([&] {
    return admin.exec("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", PgParams(pid))
               .row(0)
               .int64(0) == 0;
  });
}

std::int64_t count_rows(PgConnection& connection, const std::string& table) {
  return connection.exec("SELECT count(*) FROM " + table).row(0).int64(0);
}

}  // namespace

// ---- without a server ---------------------------------------------------------------

TEST_CASE("PgParams: values in PostgreSQL's text syntax, NULLs apart", "[pg_connection]") {
  const PgParams params(std::string("text"), std::int64_t{-9223372036854775807 - 1}, 42, true, false, 120.4,
                        1e300, std::optional<std::string>(), std::nullopt, std::optional<std::int64_t>(7),
                        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                        std::numeric_limits<double>::quiet_NaN());
  REQUIRE(params.size() == 13);
  CHECK(params.value(0) == "text");
  CHECK(params.value(1) == "-9223372036854775808");
  CHECK(params.value(2) == "42");
  CHECK(params.value(3) == "true");
  CHECK(params.value(4) == "false");
  CHECK(params.value(5) == "120.4");
  CHECK(params.value(6) == "1e+300");
  CHECK(params.value(7) == std::nullopt);
  CHECK(params.value(8) == std::nullopt);
  CHECK(params.value(9) == "7");
  CHECK(params.value(10) == "Infinity");
  CHECK(params.value(11) == "-Infinity");
  CHECK(params.value(12) == "NaN");
  CHECK(params.value(13) == std::nullopt);  // out of range
}

TEST_CASE("PgParams: text with a NUL byte is refused, not cut short", "[pg_connection]") {
  PgParams params;
  params.add("fine");
  const std::string with_nul("bad\0tail", 8);
  CHECK(message_of<Error>([&] { params.add(with_nul); }) ==
        "parameter 2 holds a NUL byte, which PostgreSQL text cannot store");
  CHECK(params.size() == 1);
}

TEST_CASE("is_unavailable_sqlstate: which server errors mean the database cannot be used now",
          "[pg_connection]") {
  const auto [sqlstate, unavailable] = GENERATE(table<const char*, bool>({
      {"08006", true},   // connection failure
      {"08001", true},   // cannot establish
      {"57P01", true},   // admin shutdown
      {"57P02", true},   // crash shutdown
      {"57P03", true},   // cannot connect now (starting up)
      {"57014", true},   // query canceled: statement_timeout
      {"53300", true},   // too many connections
      {"53100", true},   // disk full
      {"53200", true},   // out of memory
      {"58030", true},   // I/O error
      {"25006", true},   // read-only transaction: a standby
      {"55P03", true},   // lock not available: lock_timeout
      {"23505", false},  // unique violation
      {"23503", false},  // foreign key violation
      {"42601", false},  // syntax error
      {"42P01", false},  // undefined table
      {"22P02", false},  // invalid text representation
      {"40001", false},  // serialization failure: the caller retries
      {"25P02", false},  // in failed transaction
      {"XX000", false},  // internal error
      {"", false},      {"08", false},
  }));
  INFO(sqlstate);
  CHECK(is_unavailable_sqlstate(sqlstate) == unavailable);
}

TEST_CASE("read_password_file: the password alone, without its line end", "[pg_connection]") {
  const TempDir dir;
  const auto [content, password] = GENERATE(table<std::string, std::string>({
      {"hunter2\n", "hunter2"},
      {"hunter2", "hunter2"},
      {"hunter2\r\n", "hunter2"},
      {"with spaces and 'quotes'\n", "with spaces and 'quotes'"},
      {std::string(1024, 'x'), std::string(1024, 'x')},
  }));
  CHECK(read_password_file(private_file(dir, "pw", content)) == password);
}

TEST_CASE("read_password_file: each unusable file is refused, naming the file and never the password",
          "[pg_connection]") {
  const TempDir dir;
  const std::string secret = k_secret;
  const auto file = dir / "pw";
  const std::string name = "database.password_file " + file.string();
  SECTION("missing") {
    CHECK(message_of<Error>([&] { read_password_file(file); }) == name + " does not exist");
  }
  SECTION("readable by the group") {
    private_file(dir, "pw", secret + "\n", 0640);
    CHECK(message_of<Error>([&] { read_password_file(file); }) ==
          name + " is readable by group or others (mode 0640); run \"chmod 600 " + file.string() + "\"");
  }
  SECTION("readable by others") {
    private_file(dir, "pw", secret + "\n", 0604);
    CHECK(message_of<Error>([&] { read_password_file(file); }) ==
          name + " is readable by group or others (mode 0604); run \"chmod 600 " + file.string() + "\"");
  }
  SECTION("writable by the group") {
    private_file(dir, "pw", secret + "\n", 0620);
    CHECK(message_of<Error>([&] { read_password_file(file); }) ==
          name + " is writable by group or others (mode 0620); run \"chmod 600 " + file.string() + "\"");
  }
  SECTION("a directory") {
    std::filesystem::create_directory(file);
    CHECK(message_of<Error>([&] { read_password_file(file); }) == name + " is not a regular file");
  }
  SECTION("empty") {
    private_file(dir, "pw", "\n");
    CHECK(message_of<Error>([&] { read_password_file(file); }) == name + " is empty");
  }
  SECTION("two lines") {
    private_file(dir, "pw", secret + "\nsecond\n");
    CHECK(message_of<Error>([&] { read_password_file(file); }) ==
          name + " holds more than one line; it must hold the password alone");
  }
  SECTION("a NUL byte") {
    private_file(dir, "pw", secret + std::string(1, '\0') + "x");
    CHECK(message_of<Error>([&] { read_password_file(file); }) ==
          name + " holds a NUL byte, which a password cannot");
  }
  SECTION("too large") {
    private_file(dir, "pw", std::string(1026, 'x'));
    CHECK(message_of<Error>([&] { read_password_file(file); }) == name + " is larger than 1024 bytes");
  }
}

TEST_CASE("pg_connect_options: the URL, and the password from database.password_file", "[pg_connection]") {
  const TempDir dir;
  DatabaseConfig database;
  database.backend = DatabaseBackend::postgresql;
  database.url = "postgresql://shared_link@db/shared_link";
  CHECK(pg_connect_options(database).url == database.url);
  CHECK(pg_connect_options(database).password == std::nullopt);
  database.password_file = private_file(dir, "pw", std::string(k_secret) + "\n");
  CHECK(pg_connect_options(database).password == std::optional<std::string>(k_secret));
  ::chmod(database.password_file.c_str(), 0644);
  CHECK_THROWS_AS(pg_connect_options(database), Error);
}

TEST_CASE("PgConnection: a URL carrying a password is refused before connecting, without showing it",
          "[pg_connection]") {
  PgConnectOptions options;
  options.url = std::string("postgresql://u:") + k_secret + "@127.0.0.1:1/x";
  const std::string message = message_of<Error>([&] { PgConnection connection(options); });
  CHECK(message ==
        "database URL \"postgresql://u:***@127.0.0.1:1/x\" carries a password (put the password in the file "
        "named "
        "by database.password_file)");
  options.url = "/var/lib/shared-linkd/shared-link.db";
  CHECK_THROWS_AS(PgConnection(options), Error);
}

TEST_CASE("PgConnection: a stopped server is DatabaseUnavailable", "[pg_connection]") {
  PgConnectOptions options;
  options.url = closed_port_url();
  options.password = k_secret;
  const std::string message = message_of<DatabaseUnavailable>([&] { PgConnection connection(options); });
  CHECK(message.starts_with("cannot connect to PostgreSQL postgresql://postgres@127.0.0.1:1/postgres: "));
  CHECK(message.find("Connection refused") != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.find(k_secret) == std::string::npos);
}

// ---- against the throwaway cluster ----------------------------------------------------

TEST_CASE("PgConnection: connects with the session settings of its options", "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnectOptions options = db.options();
  options.statement_timeout = std::chrono::milliseconds(1500);
  options.idle_in_transaction_timeout = std::chrono::milliseconds(4000);
  options.lock_timeout = std::chrono::milliseconds(250);
  PgConnection connection(options);
  const PgResult result = connection.exec(
      "SELECT current_database(), current_setting('application_name'), current_setting('statement_timeout'), "
      "current_setting('idle_in_transaction_session_timeout'), current_setting('client_encoding'), "
      "pg_backend_pid(), current_setting('lock_timeout')");
  const PgRow row = result.row(0);
  CHECK(row.string(0) == db.name());
  CHECK(row.string(1) == "shared-link-unit-tests");
  CHECK(row.string(2) == "1500ms");
  CHECK(row.string(3) == "4s");
  CHECK(row.string(4) == "UTF8");
  CHECK(row.int64(5) == connection.backend_pid());
  CHECK(row.string(6) == "250ms");
  // Client-side settings, as libpq applied them.
  CHECK(connection.connection_parameter("connect_timeout") == "10");
  CHECK(connection.connection_parameter("keepalives") == "1");
  CHECK(connection.connection_parameter("keepalives_idle") == "30");
  CHECK(connection.connection_parameter("keepalives_interval") == "10");
  CHECK(connection.connection_parameter("keepalives_count") == "3");
  CHECK(connection.connection_parameter("tcp_user_timeout") == "30000");
  CHECK(connection.connection_parameter("no_such_parameter") == std::nullopt);
  CHECK(connection.healthy());
  CHECK(connection.idle_outside_transaction());
}

TEST_CASE("PgConnection: parameters in the URL override the defaults", "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnectOptions options = db.options();
  options.url += "?application_name=studio-daemon-2";
  options.statement_timeout.reset();
  PgConnection connection(options);
  const PgRow row =
      connection.exec("SELECT current_setting('application_name'), current_setting('statement_timeout')")
          .row(0);
  CHECK(row.string(0) == "studio-daemon-2");
  CHECK(row.string(1) == "0");  // the server's default, left alone
}

TEST_CASE("PgConnection: text parameters and NULLs round-trip through typed readers",
          "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  const std::string awkward = "tab\there, newline\nthere, back\\slash, 'quote', \u00e9\u4e2d";
  const PgResult result = connection.exec(
      "SELECT $1::text, $2::bigint, $3::boolean, $4::float8, $5::text, $6::bigint, $7::boolean, $8::float8, "
      "$9::float8",
      PgParams(awkward, std::int64_t{9223372036854775807}, true, 120.4, std::nullopt,
               std::optional<std::int64_t>(), false, std::optional<double>(),
               std::numeric_limits<double>::infinity()));
  REQUIRE(result.rows() == 1);
  REQUIRE(result.columns() == 9);
  const PgRow row = result.row(0);
  CHECK(row.string(0) == awkward);
  CHECK(row.int64(1) == 9223372036854775807);
  CHECK(row.boolean(2));
  CHECK(row.float64(3) == 120.4);
  CHECK(row.is_null(4));
  CHECK(row.text(4).empty());
  CHECK(row.optional_string(4) == std::nullopt);
  CHECK(row.optional_int64(5) == std::nullopt);
  CHECK(row.optional_boolean(6) == std::optional<bool>(false));
  CHECK(row.optional_float64(7) == std::nullopt);
  CHECK(row.float64(8) == std::numeric_limits<double>::infinity());
  CHECK(row.optional_string(0) == std::optional<std::string>(awkward));
  CHECK(row.optional_int64(1) == std::optional<std::int64_t>(9223372036854775807));
}

TEST_CASE("PgRow: a reader refuses NULL, a value of another type, a column or row that does not exist",
          "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  const PgResult result =
      connection.exec("SELECT NULL::bigint AS n, 'abc'::text AS word, 'yes'::text AS flag");
  const PgRow row = result.row(0);
  CHECK(message_of<PgError>([&] { row.int64(0); }) == "PostgreSQL column 0: expected an integer, got NULL");
  CHECK(message_of<PgError>([&] { row.string(0); }) == "PostgreSQL column 0: expected text, got NULL");
  CHECK(message_of<PgError>([&] { row.int64(1); }) ==
        "PostgreSQL column 1: expected an integer, got \"abc\"");
  CHECK(message_of<PgError>([&] { row.float64(1); }) ==
        "PostgreSQL column 1: expected a number, got \"abc\"");
  CHECK(message_of<PgError>([&] { row.boolean(2); }) ==
        "PostgreSQL column 2: expected a boolean, got \"yes\"");
  CHECK(message_of<PgError>([&] { row.text(3); }) == "PostgreSQL result has no column 3");
  CHECK(message_of<PgError>([&] { result.row(1); }) == "PostgreSQL result has no row 1 (it has 1)");
  CHECK(result.column("word") == 1);
  CHECK(message_of<PgError>([&] { result.column("nope"); }) == "PostgreSQL result has no column \"nope\"");
}

TEST_CASE("PgConnection: a prepared statement is prepared once per session, again after a reconnect",
          "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  static constexpr PgStatement k_add{"add_numbers", "SELECT $1::bigint + $2::bigint"};
  static constexpr PgStatement k_clash{"add_numbers", "SELECT 1"};
  const auto prepared_on_server = [&] {
    return connection.exec("SELECT count(*) FROM pg_prepared_statements WHERE name = 'add_numbers'")
        .row(0)
        .int64(0);
  };

  CHECK(connection.exec(k_add, PgParams(2, 3)).row(0).int64(0) == 5);
  CHECK(connection.exec(k_add, PgParams(40, 2)).row(0).int64(0) == 42);
  CHECK(connection.prepared_statements() == 1);
  CHECK(prepared_on_server() == 1);
  CHECK(message_of<PgError>([&] { connection.exec(k_clash); }) ==
        "PostgreSQL statement name add_numbers is used for two different statements");

  const int old_pid = connection.backend_pid();
  connection.reconnect();
  CHECK(connection.backend_pid() != old_pid);
  CHECK(connection.prepared_statements() == 0);
  CHECK(prepared_on_server() == 0);
  CHECK(connection.exec(k_add, PgParams(1, 1)).row(0).int64(0) == 2);
  CHECK(prepared_on_server() == 1);
}

TEST_CASE("PgConnection: a lost session is noticed, reported as DatabaseUnavailable, and reconnected",
          "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  static constexpr PgStatement k_one{"one", "SELECT 1"};
  connection.exec(k_one);
  terminate_backend(db.admin(), connection.backend_pid());
  CHECK_FALSE(connection.healthy());
  const std::string message = message_of<DatabaseUnavailable>([&] { connection.exec(k_one); });
  CHECK(message ==
        "PostgreSQL unavailable: statement one: terminating connection due to administrator command "
        "(SQLSTATE 57P01)");
  CHECK_FALSE(connection.idle_outside_transaction());

  connection.reconnect();
  CHECK(connection.healthy());
  CHECK(connection.exec(k_one).row(0).int64(0) == 1);
}

TEST_CASE("PgConnection: statement errors are PgError with their SQLSTATE", "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  connection.exec("CREATE TABLE t (id text PRIMARY KEY)");
  connection.exec("INSERT INTO t VALUES ($1)", PgParams("a"));

  const auto sqlstate_of = [&](const std::string& sql, const PgParams& params) {
    try {
      connection.exec(sql, params);
    } catch (const PgError& e) {
      return e.sqlstate();
    }
    return std::string("no error");
  };
  CHECK(sqlstate_of("INSERT INTO t VALUES ($1)", PgParams("a")) == "23505");
  CHECK(sqlstate_of("SELEKT 1", PgParams()) == "42601");
  CHECK(sqlstate_of("SELECT * FROM missing", PgParams()) == "42P01");
  CHECK(sqlstate_of("SELECT $1::bigint", PgParams("x")) == "22P02");
  CHECK(
      message_of<PgError>([&] { connection.exec("INSERT INTO t VALUES ('a')"); }) ==
      "PostgreSQL error: query: duplicate key value violates unique constraint \"t_pkey\" (SQLSTATE 23505)");
  // The session is still usable after each.
  CHECK(count_rows(connection, "t") == 1);
}

TEST_CASE("PgConnection: a message that would carry the password does not", "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  const std::string role = db.create_role("app", std::string(k_secret));
  PgConnectOptions options = db.options(role);
  options.password = k_secret;
  PgConnection connection(options);
  CHECK(connection.connection_parameter("password") == std::nullopt);
  CHECK(connection.connection_parameter("user") == role);
  // The server quotes a bad value in its message: here, the password.
  const std::string message =
      message_of<PgError>([&] { connection.exec("SELECT $1::bigint", PgParams(k_secret)); });
  CHECK(message == "PostgreSQL error: query: invalid input syntax for type bigint: \"***\" (SQLSTATE 22P02)");
}

TEST_CASE("PgConnection: authentication failures are DatabaseUnavailable and never show the password",
          "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  const std::string role = db.create_role("app", std::string(k_secret));
  PgConnectOptions options = db.options(role);

  SECTION("the right password") {
    options.password = k_secret;
    PgConnection connection(options);
    CHECK(connection.exec("SELECT current_user").row(0).string(0) == role);
  }
  SECTION("a wrong password") {
    options.password = std::string(k_secret) + "-wrong";
    const std::string message = message_of<DatabaseUnavailable>([&] { PgConnection connection(options); });
    CHECK(message.find("password authentication failed for user \"" + role + "\"") != std::string::npos);
    CHECK(message.find(k_secret) == std::string::npos);
  }
  SECTION("no password") {
    const std::string message = message_of<DatabaseUnavailable>([&] { PgConnection connection(options); });
    CHECK(message.find("no password supplied") != std::string::npos);
  }
  SECTION("an unknown database") {
    options.url = "postgresql://" + role + "@" + db.host_port() + "/no_such_database";
    options.password = k_secret;
    const std::string message = message_of<DatabaseUnavailable>([&] { PgConnection connection(options); });
    CHECK(message.find("database \"no_such_database\" does not exist") != std::string::npos);
  }
}

TEST_CASE("PgConnection: a statement timeout and too many connections are DatabaseUnavailable",
          "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  SECTION("statement_timeout") {
    PgConnectOptions options = db.options();
    options.statement_timeout = std::chrono::milliseconds(50);
    PgConnection connection(options);
    const std::string message =
        message_of<DatabaseUnavailable>([&] { connection.exec("SELECT pg_sleep(30)"); });
    CHECK(message ==
          "PostgreSQL unavailable: query: canceling statement due to statement timeout (SQLSTATE 57014)");
    CHECK(connection.exec("SELECT 1").row(0).int64(0) == 1);  // the session survives
  }
  SECTION("the role's connection limit") {
    const std::string role = db.create_role("limited", std::nullopt, "CONNECTION LIMIT 1");
    PgConnection first(db.options(role));
    const std::string message =
        message_of<DatabaseUnavailable>([&] { PgConnection second(db.options(role)); });
    CHECK(message.find("too many connections for role \"" + role + "\"") != std::string::npos);
  }
}

TEST_CASE("PgTransaction: rolled back when an exception leaves its scope, kept by commit",
          "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  connection.exec("CREATE TABLE t (id bigint PRIMARY KEY)");

  try {
    PgTransaction transaction(connection);
    connection.exec("INSERT INTO t VALUES (1)");
    throw std::runtime_error("fails before commit");
  } catch (const std::runtime_error&) {
  }
  CHECK(connection.idle_outside_transaction());
  CHECK(count_rows(connection, "t") == 0);

  {
    PgTransaction transaction(connection);
    connection.exec("INSERT INTO t VALUES (2)");
    transaction.commit();
  }
  CHECK(count_rows(connection, "t") == 1);

  // A failed statement inside: COMMIT turns into ROLLBACK, which must not pass for success.
  {
    PgTransaction transaction(connection);
    connection.exec("INSERT INTO t VALUES (3)");
    CHECK_THROWS_AS(connection.exec("INSERT INTO t VALUES (2)"), PgError);
    const std::string message = message_of<PgError>([&] { transaction.commit(); });
    CHECK(message == "PostgreSQL error: the transaction was rolled back (a statement in it had failed)");
  }
  CHECK(connection.idle_outside_transaction());
  CHECK(count_rows(connection, "t") == 1);
}

TEST_CASE("PgTransaction: isolation level and read-only", "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  PgTransaction transaction(connection, {PgIsolation::repeatable_read, true});
  const PgRow row =
      connection
          .exec("SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')")
          .row(0);
  CHECK(row.string(0) == "repeatable read");
  CHECK(row.string(1) == "on");
  transaction.commit();
  CHECK(connection.exec("SELECT current_setting('transaction_isolation')").row(0).string(0) ==
        "read committed");
}

TEST_CASE("PgCopyIn: rows with every awkward character, across many chunks", "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  connection.exec(
      "CREATE TABLE log (id bigint GENERATED ALWAYS AS IDENTITY, n bigint, note text, flag boolean)");
  const std::string awkward = "tab\t newline\n return\r backslash\\ \\N quote' \u00e9";
  constexpr int k_rows = 20000;  // about 1.2 MB: many 64 KiB chunks
  {
    PgTransaction transaction(connection);
    PgCopyIn copy(connection, "COPY log (n, note, flag) FROM STDIN");
    for (int i = 0; i < k_rows; ++i) {
      copy.row(PgParams(i, i % 3 == 0 ? std::optional<std::string>() : std::optional<std::string>(awkward),
                        i % 2 == 0));
    }
    CHECK(copy.finish() == k_rows);
    transaction.commit();
  }
  const PgRow summary = connection
                            .exec(
                                "SELECT count(*), count(note), sum(n), bool_and(note = $1), "
                                "bool_and(flag = (n % 2 = 0)), bool_and(id = n + 1) FROM log",
                                PgParams(awkward))
                            .row(0);
  CHECK(summary.int64(0) == k_rows);
  CHECK(summary.int64(1) == k_rows - (k_rows + 2) / 3);
  CHECK(summary.int64(2) == std::int64_t{k_rows} * (k_rows - 1) / 2);
  CHECK(summary.boolean(3));
  CHECK(summary.boolean(4));
  CHECK(summary.boolean(5));  // ids follow the order of the rows
}

TEST_CASE("PgCopyIn: a bad row refuses the whole copy, an abandoned copy stores nothing",
          "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnection connection(db.options());
  connection.exec("CREATE TABLE log (n bigint NOT NULL, note text)");

  SECTION("a bad row") {
    PgTransaction transaction(connection);
    PgCopyIn copy(connection, "COPY log (n, note) FROM STDIN");
    copy.row(PgParams(1, "fine"));
    copy.row(PgParams("not a number", "bad"));
    try {
      copy.finish();
      FAIL("no error");
    } catch (const PgError& e) {
      CHECK(e.sqlstate() == "22P02");
    }
  }
  SECTION("abandoned") {
    PgTransaction transaction(connection);
    {
      PgCopyIn copy(connection, "COPY log (n, note) FROM STDIN");
      copy.row(PgParams(1, "never finished"));
    }
    CHECK_THROWS_AS(transaction.commit(), PgError);
  }
  SECTION("not a COPY FROM STDIN") {
    CHECK(message_of<PgError>([&] { PgCopyIn copy(connection, "SELECT 1"); }) ==
          "PostgreSQL error: not a COPY ... FROM STDIN statement");
  }
  CHECK(connection.idle_outside_transaction());
  CHECK(count_rows(connection, "log") == 0);
}

TEST_CASE("PgConnectionPool: bounded, waits for a free connection, reuses connections",
          "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnectionPool pool(db.options(), {2, std::chrono::milliseconds(50), std::chrono::milliseconds(500)});
  {
    auto first = pool.acquire();
    auto second = pool.acquire();
    CHECK(pool.open_connections() == 2);
    CHECK(first->backend_pid() != second->backend_pid());
    CHECK(message_of<DatabaseUnavailable>([&] { pool.acquire(); }) ==
          "no PostgreSQL connection became free within 50 ms (all 2 in use)");
  }
  CHECK(pool.idle_connections() == 2);
  {
    auto again = pool.acquire();
    CHECK(again->exec("SELECT 1").row(0).int64(0) == 1);
  }
  CHECK(pool.connect_attempts() == 2);

  // A waiting thread gets the connection another one gives back.
  PgConnectionPool waiting_pool(db.options(), {1, std::chrono::seconds(60), std::chrono::milliseconds(500)});
  auto held = std::make_optional(waiting_pool.acquire());
  std::atomic<bool> served{false};
  std::thread waiter([&] {
    auto lease = waiting_pool.acquire();
    served = lease->exec("SELECT 2").row(0).int64(0) == 2;
  });
  held.reset();
  waiter.join();
  CHECK(served);
  CHECK(waiting_pool.connect_attempts() == 1);
}

TEST_CASE("PgConnectionPool: a lost connection is dropped and replaced on demand",
          "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnectionPool pool(db.options(), {2, std::chrono::seconds(5), std::chrono::milliseconds(0)});

  SECTION("lost while lent out") {
    {
      auto lease = pool.acquire();
      terminate_backend(db.admin(), lease->backend_pid());
      CHECK_THROWS_AS(lease->exec("SELECT 1"), DatabaseUnavailable);
    }
    CHECK(pool.open_connections() == 0);
  }
  SECTION("lost while idle (a server restart)") {
    int pid = 0;
    {
      auto lease = pool.acquire();
      pid = lease->backend_pid();
    }
    terminate_backend(db.admin(), pid);
    auto lease = pool.acquire();
    CHECK(lease->backend_pid() != pid);
    CHECK(lease->exec("SELECT 1").row(0).int64(0) == 1);
  }
  SECTION("given back inside a transaction") {
    {
      auto lease = pool.acquire();
      lease->exec("BEGIN");
    }
    CHECK(pool.open_connections() == 0);
  }
  auto lease = pool.acquire();
  CHECK(lease->exec("SELECT 3").row(0).int64(0) == 3);
  CHECK(pool.connect_attempts() == 2);
}

TEST_CASE("PgConnectionPool: while the server is down, acquires fail fast with the last error",
          "[pg_connection]") {
  PgConnectOptions options;
  options.url = closed_port_url();
  PgConnectionPool slow_retry(options, {4, std::chrono::seconds(5), std::chrono::hours(1)});
  const std::string first = message_of<DatabaseUnavailable>([&] { slow_retry.acquire(); });
  const std::string second = message_of<DatabaseUnavailable>([&] { slow_retry.acquire(); });
  CHECK(first.find("Connection refused") != std::string::npos);
  CHECK(second == first);
  CHECK(slow_retry.connect_attempts() == 1);
  CHECK(slow_retry.open_connections() == 0);

  PgConnectionPool no_pause(options, {4, std::chrono::seconds(5), std::chrono::milliseconds(0)});
  CHECK_THROWS_AS(no_pause.acquire(), DatabaseUnavailable);
  CHECK_THROWS_AS(no_pause.acquire(), DatabaseUnavailable);
  CHECK(no_pause.connect_attempts() == 2);
}

TEST_CASE("PgConnectionPool: many threads share a few connections", "[postgres][pg_connection]") {
  SHARELINK_PG_TEST_DATABASE(db);
  PgConnectionPool pool(db.options(), {3, std::chrono::seconds(60), std::chrono::milliseconds(500)});
  static constexpr PgStatement k_square{"square", "SELECT $1::bigint * $1::bigint"};
  std::atomic<int> correct{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto lease = pool.acquire();
        const std::int64_t n = t * 100 + i;
        if (lease->exec(k_square, PgParams(n)).row(0).int64(0) == n * n) ++correct;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(correct == 400);
  CHECK(pool.open_connections() <= 3);
  CHECK(pool.connect_attempts() <= 3);
}
