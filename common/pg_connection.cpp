#include "common/pg_connection.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

#include "common/config.hpp"
#include "common/owner_only_file.hpp"
#include "common/postgres_url.hpp"

namespace sharelink {
namespace {

constexpr std::size_t k_max_password_bytes = 1024;
// COPY data is sent to libpq in chunks of about this size.
constexpr std::size_t k_copy_chunk_bytes = 64 * 1024;
// How much of an unexpected column value an error message quotes.
constexpr std::size_t k_max_quoted_value = 40;

// libpq's messages end in "\n" and continue on lines indented by a tab: one line.
std::string one_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string quoted_value(std::string_view value) {
  std::string out = "\"";
  out += value.substr(0, k_max_quoted_value);
  out += value.size() > k_max_quoted_value ? "\"..." : "\"";
  return out;
}

std::string shown_url(const PgConnectOptions& options) { return redact_postgres_url(options.url); }

const char* isolation_sql(PgIsolation isolation) {
  switch (isolation) {
    case PgIsolation::read_committed:
      return "READ COMMITTED";
    case PgIsolation::repeatable_read:
      return "REPEATABLE READ";
    case PgIsolation::serializable:
      return "SERIALIZABLE";
  }
  return "READ COMMITTED";
}

}  // namespace

bool is_unavailable_sqlstate(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return false;
  const std::string_view error_class = sqlstate.substr(0, 2);
  return error_class == "08" || error_class == "53" || error_class == "57" || error_class == "58" ||
         sqlstate == "25006" || sqlstate == "55P03";
}

// ---- password ------------------------------------------------------------------------

std::string read_password_file(const std::filesystem::path& file) {
  std::string password = read_owner_only_file(file, "database.password_file", k_max_password_bytes);
  if (password.ends_with('\n')) password.pop_back();
  if (password.ends_with('\r')) password.pop_back();
  const std::string name = "database.password_file " + file.string();
  if (password.empty()) throw Error(name + " is empty");
  if (password.find('\0') != std::string::npos)
    throw Error(name + " holds a NUL byte, which a password cannot");
  if (password.find_first_of("\r\n") != std::string::npos) {
    throw Error(name + " holds more than one line; it must hold the password alone");
  }
  return password;
}

PgConnectOptions pg_connect_options(const DatabaseConfig& database) {
  PgConnectOptions options;
  options.url = database.url;
  if (!database.password_file.empty()) options.password = read_password_file(database.password_file);
  return options;
}

// ---- parameters ------------------------------------------------------------------------

PgParams& PgParams::add(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    throw Error("parameter " + std::to_string(values_.size() + 1) +
                " holds a NUL byte, which PostgreSQL text cannot store");
  }
  values_.emplace_back(text);
  null_.push_back(false);
  return *this;
}

PgParams& PgParams::add(std::int64_t value) {
  std::array<char, 24> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  values_.emplace_back(buffer.data(), result.ptr);
  null_.push_back(false);
  return *this;
}

PgParams& PgParams::add(bool value) {
  values_.emplace_back(value ? "true" : "false");
  null_.push_back(false);
  return *this;
}

PgParams& PgParams::add(double value) {
  if (std::isnan(value)) {
    values_.emplace_back("NaN");
  } else if (std::isinf(value)) {
    values_.emplace_back(value > 0 ? "Infinity" : "-Infinity");
  } else {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    values_.emplace_back(buffer.data(), result.ptr);
  }
  null_.push_back(false);
  return *this;
}

PgParams& PgParams::add_null() {
  values_.emplace_back();
  null_.push_back(true);
  return *this;
}

std::optional<std::string_view> PgParams::value(std::size_t i) const {
  if (i >= values_.size() || null_[i]) return std::nullopt;
  return values_[i];
}

namespace {

// libpq's view of params: one C string per value, nullptr for NULL.
std::vector<const char*> c_strings(const PgParams& params) {
  std::vector<const char*> out(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto value = params.value(i);
    out[i] = value ? value->data() : nullptr;  // values are std::strings: NUL-terminated
  }
  return out;
}

}  // namespace

// ---- results --------------------------------------------------------------------------

PgResult::PgResult(pg_result* result) : result_(result, &PQclear) {}

int PgResult::rows() const { return result_ ? PQntuples(result_.get()) : 0; }

int PgResult::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

PgRow PgResult::row(int row) const {
  if (row < 0 || row >= rows()) {
    throw PgError(
        "PostgreSQL result has no row " + std::to_string(row) + " (it has " + std::to_string(rows()) + ")",
        "");
  }
  return PgRow(result_, row);
}

std::int64_t PgResult::affected_rows() const {
  if (!result_) return 0;
  const std::string_view text = PQcmdTuples(result_.get());
  std::int64_t count = 0;
  std::from_chars(text.data(), text.data() + text.size(), count);
  return count;
}

std::string_view PgResult::command_tag() const { return result_ ? PQcmdStatus(result_.get()) : ""; }

int PgResult::column(std::string_view name) const {
  const int index = result_ ? PQfnumber(result_.get(), std::string(name).c_str()) : -1;
  if (index < 0) throw PgError("PostgreSQL result has no column \"" + std::string(name) + "\"", "");
  return index;
}

namespace {

void require_column(const pg_result* result, int column) {
  if (column < 0 || column >= PQnfields(result)) {
    throw PgError("PostgreSQL result has no column " + std::to_string(column), "");
  }
}

[[noreturn]] void bad_value(int column, std::string_view expected, std::string_view value) {
  throw PgError("PostgreSQL column " + std::to_string(column) + ": expected " + std::string(expected) +
                    ", got " + quoted_value(value),
                "");
}

[[noreturn]] void null_value(int column, std::string_view expected) {
  throw PgError(
      "PostgreSQL column " + std::to_string(column) + ": expected " + std::string(expected) + ", got NULL",
      "");
}

}  // namespace

bool PgRow::is_null(int column) const {
  require_column(result_.get(), column);
  return PQgetisnull(result_.get(), row_, column) != 0;
}

std::string_view PgRow::text(int column) const {
  require_column(result_.get(), column);
  return std::string_view(PQgetvalue(result_.get(), row_, column),
                          static_cast<std::size_t>(PQgetlength(result_.get(), row_, column)));
}

std::string PgRow::string(int column) const {
  if (is_null(column)) null_value(column, "text");
  return std::string(text(column));
}

std::optional<std::string> PgRow::optional_string(int column) const {
  if (is_null(column)) return std::nullopt;
  return std::string(text(column));
}

std::int64_t PgRow::int64(int column) const {
  if (is_null(column)) null_value(column, "an integer");
  const std::string_view value = text(column);
  std::int64_t out = 0;
  const auto result = std::from_chars(value.data(), value.data() + value.size(), out);
  if (result.ec != std::errc() || result.ptr != value.data() + value.size() || value.empty()) {
    bad_value(column, "an integer", value);
  }
  return out;
}

std::optional<std::int64_t> PgRow::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

bool PgRow::boolean(int column) const {
  if (is_null(column)) null_value(column, "a boolean");
  const std::string_view value = text(column);
  if (value == "t") return true;
  if (value == "f") return false;
  bad_value(column, "a boolean", value);
}

std::optional<bool> PgRow::optional_boolean(int column) const {
  if (is_null(column)) return std::nullopt;
  return boolean(column);
}

double PgRow::float64(int column) const {
  if (is_null(column)) null_value(column, "a number");
  const std::string_view value = text(column);
  double out = 0;
  const auto result = std::from_chars(value.data(), value.data() + value.size(), out);
  if (result.ec != std::errc() || result.ptr != value.data() + value.size() || value.empty()) {
    bad_value(column, "a number", value);
  }
  return out;
}

std::optional<double> PgRow::optional_float64(int column) const {
  if (is_null(column)) return std::nullopt;
  return float64(column);
}

// ---- connection -----------------------------------------------------------------------

PgConnection::PgConnection(PgConnectOptions options) : options_(std::move(options)) { connect(); }

PgConnection::~PgConnection() { close(); }

PgConnection::PgConnection(PgConnection&& other) noexcept
    : options_(std::move(other.options_)),
      conn_(std::exchange(other.conn_, nullptr)),
      notes_(std::move(other.notes_)),
      prepared_(std::move(other.prepared_)) {}

PgConnection& PgConnection::operator=(PgConnection&& other) noexcept {
  if (this != &other) {
    close();
    options_ = std::move(other.options_);
    conn_ = std::exchange(other.conn_, nullptr);
    notes_ = std::move(other.notes_);
    prepared_ = std::move(other.prepared_);
  }
  return *this;
}

// Notices (CREATE TABLE IF NOT EXISTS's "skipping", ...) would go to stderr by
// default. libpq also hands over here an error the server sends while the
// session is idle: a FATAL one (shutdown, pg_terminate_backend) means the
// session is ending.
void PgConnection::receive_notice(void* notes, const pg_result* notice) {
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity == nullptr || (std::strcmp(severity, "FATAL") != 0 && std::strcmp(severity, "PANIC") != 0))
    return;
  auto& session = *static_cast<SessionNotes*>(notes);
  session.ended_by_server = true;
  const char* message = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
  const char* sqlstate = PQresultErrorField(notice, PG_DIAG_SQLSTATE);
  session.reason = message != nullptr ? message : "the server ended the session";
  if (sqlstate != nullptr) session.reason += std::string(" (SQLSTATE ") + sqlstate + ")";
}

void PgConnection::close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
}

void PgConnection::connect() {
  if (const auto problem = postgres_url_problem(options_.url)) {
    throw Error("database URL \"" + shown_url(options_) + "\" " + *problem);
  }
  // Keywords before dbname are defaults the URL may override; the ones after it win.
  std::vector<std::pair<const char*, std::string>> parameters = {
      {"connect_timeout", std::to_string(std::max<std::int64_t>(2, options_.connect_timeout.count()))},
      {"application_name", options_.application_name},
      {"keepalives", "1"},
      {"keepalives_idle", std::to_string(options_.keepalives_idle.count())},
      {"keepalives_interval", std::to_string(options_.keepalives_interval.count())},
      {"keepalives_count", std::to_string(options_.keepalives_count)},
      {"tcp_user_timeout", std::to_string(options_.tcp_user_timeout.count())},
      {"dbname", options_.url},
      {"client_encoding", "UTF8"},
  };
  if (options_.password) parameters.emplace_back("password", *options_.password);
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [keyword, value] : parameters) {
    keywords.push_back(keyword);
    values.push_back(value.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);

  pg_conn* conn = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr)
    throw DatabaseUnavailable("cannot connect to PostgreSQL " + shown_url(options_) + ": out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string reason = one_line(PQerrorMessage(conn));
    PQfinish(conn);
    throw DatabaseUnavailable(
        scrub_secrets("cannot connect to PostgreSQL " + shown_url(options_) + ": " + reason,
                      options_.password.value_or("")));
  }
  if (!notes_) notes_ = std::make_unique<SessionNotes>();
  *notes_ = SessionNotes();
  PQsetNoticeReceiver(conn, receive_notice, notes_.get());
  conn_ = conn;
  prepared_.clear();

  std::string settings;
  if (options_.statement_timeout) {
    settings += "SET statement_timeout = " + std::to_string(options_.statement_timeout->count()) + ";";
  }
  if (options_.lock_timeout) {
    settings += "SET lock_timeout = " + std::to_string(options_.lock_timeout->count()) + ";";
  }
  if (options_.idle_in_transaction_timeout) {
    settings += "SET idle_in_transaction_session_timeout = " +
                std::to_string(options_.idle_in_transaction_timeout->count()) + ";";
  }
  if (settings.empty()) return;
  try {
    exec(settings);
  } catch (...) {
    close();  // the constructor may be the caller: no destructor would close it
    throw;
  }
}

void PgConnection::reconnect() {
  close();
  connect();
}

pg_result* PgConnection::check(pg_result* result, std::string_view what) {
  if (result != nullptr) {
    switch (PQresultStatus(result)) {
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
      case PGRES_EMPTY_QUERY:
      case PGRES_COPY_IN:
        return result;
      default:
        break;
    }
  }
  fail(result, what);
}

// The one place where libpq's and the server's errors become the project's.
void PgConnection::fail(pg_result* result, std::string_view what) {
  std::string sqlstate;
  std::string message;
  if (result != nullptr) {
    if (const char* field = PQresultErrorField(result, PG_DIAG_SQLSTATE)) sqlstate = field;
    if (const char* field = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)) message = field;
    if (message.empty()) message = PQresultErrorMessage(result);
    PQclear(result);
  }
  if (message.empty() && conn_ != nullptr) message = PQerrorMessage(conn_);
  if (message.empty()) message = "no connection to the server";
  message = one_line(message);
  const bool lost = conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD || notes_->ended_by_server;
  std::string text = std::string(what) + ": ";
  if (conn_ != nullptr && notes_->ended_by_server && sqlstate.empty()) {
    text += notes_->reason;  // why the server closed the session, rather than libpq's "closed unexpectedly"
  } else {
    text += message;
    if (!sqlstate.empty()) text += " (SQLSTATE " + sqlstate + ")";
  }
  text = scrub_secrets(text, options_.password.value_or(""));
  if (lost || is_unavailable_sqlstate(sqlstate)) throw DatabaseUnavailable("PostgreSQL unavailable: " + text);
  throw PgError("PostgreSQL error: " + text, sqlstate);
}

PgResult PgConnection::exec(std::string_view sql) {
  const std::string text(sql);
  return PgResult(check(PQexec(conn_, text.c_str()), "query"));
}

PgResult PgConnection::exec(std::string_view sql, const PgParams& params) {
  const std::string text(sql);
  const auto values = c_strings(params);
  return PgResult(check(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                                     values.data(), nullptr, nullptr, 0),
                        "query"));
}

PgResult PgConnection::exec(const PgStatement& statement, const PgParams& params) {
  const std::string what = std::string("statement ") + statement.name;
  const auto found = prepared_.find(statement.name);
  if (found == prepared_.end()) {
    PQclear(check(PQprepare(conn_, statement.name, statement.sql, 0, nullptr), what));
    prepared_.emplace(statement.name, statement.sql);
  } else if (found->second != statement.sql) {
    throw PgError(
        std::string("PostgreSQL statement name ") + statement.name + " is used for two different statements",
        "");
  }
  const auto values = c_strings(params);
  return PgResult(check(PQexecPrepared(conn_, statement.name, static_cast<int>(values.size()), values.data(),
                                       nullptr, nullptr, 0),
                        what));
}

bool PgConnection::healthy() {
  // An idle session has nothing to say, unless the server is ending it: a
  // FATAL error (see receive_notice), then the end of the stream. Read what
  // is there, a few times at most (a session may also get harmless
  // parameter-status messages), and let libpq judge.
  for (int reads = 0; reads < 4; ++reads) {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK || notes_->ended_by_server) return false;
    pollfd descriptor{PQsocket(conn_), POLLIN, 0};
    const int ready = ::poll(&descriptor, 1, 0);
    if (ready == 0 || (ready < 0 && errno == EINTR)) return true;
    if (ready < 0 || PQconsumeInput(conn_) == 0) return false;
    PQisBusy(conn_);  // parses what was read: an error reaches receive_notice
  }
  return PQstatus(conn_) == CONNECTION_OK && !notes_->ended_by_server;
}

bool PgConnection::idle_outside_transaction() const {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK && !notes_->ended_by_server &&
         PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

std::optional<std::string> PgConnection::connection_parameter(std::string_view keyword) const {
  if (conn_ == nullptr || keyword == "password" || keyword == "sslpassword") return std::nullopt;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfo(conn_), &PQconninfoFree);
  for (const PQconninfoOption* option = options.get(); option && option->keyword != nullptr; ++option) {
    if (keyword == option->keyword) {
      if (option->val == nullptr) return std::nullopt;
      return std::string(option->val);
    }
  }
  return std::nullopt;
}

int PgConnection::backend_pid() const { return conn_ ? PQbackendPID(conn_) : 0; }

// ---- COPY -----------------------------------------------------------------------------

PgCopyIn::PgCopyIn(PgConnection& connection, std::string_view copy_sql) : connection_(connection) {
  const std::string text(copy_sql);
  pg_result* result = connection_.check(PQexec(connection_.conn_, text.c_str()), "copy");
  const bool copying = PQresultStatus(result) == PGRES_COPY_IN;
  PQclear(result);
  if (!copying) throw PgError("PostgreSQL error: not a COPY ... FROM STDIN statement", "");
  buffer_.reserve(k_copy_chunk_bytes + 4096);
}

PgCopyIn::~PgCopyIn() {
  if (!open_ || connection_.conn_ == nullptr) return;
  PQputCopyEnd(connection_.conn_, "copy abandoned by the client");
  while (pg_result* result = PQgetResult(connection_.conn_)) {
    const bool still_copying = PQresultStatus(result) == PGRES_COPY_IN;
    PQclear(result);
    if (still_copying) break;  // the end could not be sent: never spin here
  }
}

void PgCopyIn::row(const PgParams& values) {
  // COPY's text format: tab-separated, \N for NULL, backslash escapes.
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) buffer_ += '\t';
    const auto value = values.value(i);
    if (!value) {
      buffer_ += "\\N";
      continue;
    }
    for (const char c : *value) {
      switch (c) {
        case '\\':
          buffer_ += "\\\\";
          break;
        case '\n':
          buffer_ += "\\n";
          break;
        case '\r':
          buffer_ += "\\r";
          break;
        case '\t':
          buffer_ += "\\t";
          break;
        default:
          buffer_ += c;
      }
    }
  }
  buffer_ += '\n';
  if (buffer_.size() >= k_copy_chunk_bytes) flush();
}

void PgCopyIn::flush() {
  if (buffer_.empty()) return;
  if (PQputCopyData(connection_.conn_, buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
    open_ = false;
    connection_.fail(nullptr, "copy");
  }
  buffer_.clear();
}

std::int64_t PgCopyIn::finish() {
  flush();
  open_ = false;
  if (PQputCopyEnd(connection_.conn_, nullptr) != 1) connection_.fail(nullptr, "copy");
  pg_result* outcome = PQgetResult(connection_.conn_);
  while (pg_result* extra = PQgetResult(connection_.conn_)) PQclear(extra);  // the end of the command
  return PgResult(connection_.check(outcome, "copy")).affected_rows();
}

// ---- transactions ---------------------------------------------------------------------

PgTransaction::PgTransaction(PgConnection& connection, PgTransactionOptions options)
    : connection_(connection) {
  std::string begin = std::string("BEGIN ISOLATION LEVEL ") + isolation_sql(options.isolation);
  if (options.read_only) begin += " READ ONLY";
  connection_.exec(begin);
}

PgTransaction::~PgTransaction() {
  if (done_) return;
  try {
    if (connection_.idle_outside_transaction()) return;
    connection_.exec("ROLLBACK");
  } catch (...) {
    // A lost connection has rolled back already; nothing else can be done here.
  }
}

void PgTransaction::commit() {
  done_ = true;
  const PgResult result = connection_.exec("COMMIT");
  // COMMIT of a transaction in which a statement failed "succeeds" as ROLLBACK.
  if (result.command_tag() == "ROLLBACK") {
    throw PgError("PostgreSQL error: the transaction was rolled back (a statement in it had failed)",
                  "25P02");
  }
}

// ---- pool -----------------------------------------------------------------------------

PgConnectionPool::PgConnectionPool(PgConnectOptions connect, PgPoolOptions pool)
    : connect_(std::move(connect)), options_(pool) {
  if (options_.max_connections < 1) throw Error("a PostgreSQL connection pool needs at least 1 connection");
}

PgConnectionPool::~PgConnectionPool() = default;

PgConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), connection_(std::move(other.connection_)) {}

PgConnectionPool::Lease::~Lease() {
  if (connection_) pool_->give_back(std::move(connection_));
}

PgConnectionPool::Lease PgConnectionPool::acquire() {
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  UniqueLock lock(mutex_);
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<PgConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (connection->healthy()) return Lease(*this, std::move(connection));
      connection.reset();  // lost while idle (server restarted): close it outside the lock
      lock.lock();
      --open_;
    }
    if (open_ < options_.max_connections) {
      const auto now = std::chrono::steady_clock::now();
      if (!failure_.empty() && now < failed_at_ + options_.retry_interval)
        throw DatabaseUnavailable(failure_);
      ++open_;
      ++attempts_;
      lock.unlock();
      try {
        auto connection = std::make_unique<PgConnection>(connect_);
        lock.lock();
        failure_.clear();
        lock.unlock();
        return Lease(*this, std::move(connection));
      } catch (const DatabaseUnavailable& e) {
        lock.lock();
        --open_;
        failure_ = e.what();
        failed_at_ = std::chrono::steady_clock::now();
        freed_.notify_one();
        throw;
      } catch (...) {
        lock.lock();
        --open_;
        freed_.notify_one();
        throw;
      }
    }
    if (freed_.wait_until(lock.native(), deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.max_connections) {
      throw DatabaseUnavailable("no PostgreSQL connection became free within " +
                                std::to_string(options_.acquire_timeout.count()) + " ms (all " +
                                std::to_string(options_.max_connections) + " in use)");
    }
  }
}

void PgConnectionPool::give_back(std::unique_ptr<PgConnection> connection) {
  // One lost, or left inside a transaction, is not handed out again.
  if (!connection->idle_outside_transaction()) {
    connection.reset();
    const MutexLock lock(mutex_);
    --open_;
    freed_.notify_one();
    return;
  }
  const MutexLock lock(mutex_);
  idle_.push_back(std::move(connection));
  freed_.notify_one();
}

std::size_t PgConnectionPool::open_connections() const {
  const MutexLock lock(mutex_);
  return open_;
}

std::size_t PgConnectionPool::idle_connections() const {
  const MutexLock lock(mutex_);
  return idle_.size();
}

std::uint64_t PgConnectionPool::connect_attempts() const {
  const MutexLock lock(mutex_);
  return attempts_;
}

}  // namespace sharelink
