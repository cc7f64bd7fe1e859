// Test support: a fresh database per test case in the throwaway PostgreSQL cluster CTest starts.
//
// CTest's fixture test postgres.cluster_start (tests/support/pg_cluster.py)
// starts one cluster for the whole run and writes its superuser URL to the
// file $SHARELINK_PG_URL_FILE names; the test cases tagged [postgres] run
// with that variable set. A test case begins with
//
//     SHARELINK_PG_TEST_DATABASE(db);   // db.url(): postgresql://postgres@127.0.0.1:PORT/t_...
//
// which creates an empty database (TEMPLATE template0) and drops it when the
// test case ends. Without a cluster (unit_tests run by hand) the test case
// is skipped with a message that CTest also counts as a skip; with
// $SHARELINK_REQUIRE_POSTGRES set (CI) it fails instead.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/pg_connection.hpp"

namespace sharelink::testing {

inline constexpr const char* k_pg_url_file_env = "SHARELINK_PG_URL_FILE";
inline constexpr const char* k_pg_skip_message = "SKIPPED: no PostgreSQL test cluster";

// The cluster's superuser URL, or nullopt when there is none to use.
inline std::optional<std::string> pg_cluster_url() {
  const char* file = getenv(k_pg_url_file_env);
  if (file == nullptr || *file == '\0') return std::nullopt;
  std::ifstream in(file);
  std::string url;
  if (!std::getline(in, url) || url.empty()) return std::nullopt;
  return url;
}

// The cluster URL; or, when there is none, a skip message (a failure when
// $SHARELINK_REQUIRE_POSTGRES is set) and nullopt.
inline std::optional<std::string> pg_cluster_or_skip() {
  auto url = pg_cluster_url();
  if (url) return url;
  const char* file = getenv(k_pg_url_file_env);
  const std::string why =
      file == nullptr || *file == '\0'
          ? std::string("$") + k_pg_url_file_env + " is not set (run the test through ctest)"
          : std::string(file) + " is missing or empty (did postgres.cluster_start fail?)";
  if (getenv("SHARELINK_REQUIRE_POSTGRES") != nullptr) FAIL("no PostgreSQL test cluster: " << why);
  WARN(k_pg_skip_message << ": " << why);
  return std::nullopt;
}

// One empty database in the cluster, dropped (with its sessions) at the end.
class PgTestDatabase {
 public:
  explicit PgTestDatabase(const std::string& cluster_url) {
    // cluster_url is "postgresql://USER@HOST:PORT/DBNAME".
    const auto scheme_end = cluster_url.find("://") + 3;
    const auto at = cluster_url.find('@', scheme_end);
    const auto slash = cluster_url.find('/', at);
    host_port_ = cluster_url.substr(at + 1, slash - at - 1);
    std::random_device random;
    name_ = "t_" + std::to_string(random()) + std::to_string(random());
    admin_url_ = url_of("postgres", "postgres");
    admin().exec("CREATE DATABASE " + name_ + " TEMPLATE template0 ENCODING 'UTF8'");
  }
  ~PgTestDatabase() {
    try {
      admin().exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
      for (const auto& database : databases_)
        admin().exec("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
      for (const auto& role : roles_) admin().exec("DROP ROLE IF EXISTS " + role);
    } catch (...) {
      // The cluster is removed at the end of the run anyway.
    }
  }
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // The database as the superuser postgres (no password needed).
  std::string url() const { return url_of(name_, "postgres"); }
  // The database as another role.
  std::string url_as(const std::string& user) const { return url_of(name_, user); }
  // "127.0.0.1:PORT" of the cluster.
  const std::string& host_port() const { return host_port_; }

  // Options for url (or url_as) with short timeouts.
  PgConnectOptions options(const std::string& user = "postgres") const {
    PgConnectOptions options;
    options.url = url_as(user);
    options.application_name = "shared-link-unit-tests";
    options.connect_timeout = std::chrono::seconds(10);
    return options;
  }

  // A login role of this test case, "<database name>_<suffix>" (roles belong
  // to the whole cluster), dropped at the end. With a password it must give
  // it: it joins pg_cluster.py's password_login role, which pg_hba.conf
  // asks for scram-sha-256. attributes are more CREATE ROLE options.
  std::string create_role(const std::string& suffix,
                          const std::optional<std::string>& password = std::nullopt,
                          const std::string& attributes = "") {
    const std::string role = name_ + "_" + suffix;
    std::string sql = "CREATE ROLE " + role + " LOGIN " + attributes;
    if (password) {
      std::string literal;
      for (const char c : *password) literal += c == '\'' ? std::string("''") : std::string(1, c);
      sql += " PASSWORD '" + literal + "' IN ROLE password_login";
    }
    admin().exec(sql);
    roles_.push_back(role);
    return role;
  }

  // Databases and roles the test case made itself, to drop at the end as well.
  void drop_at_end(const std::string& database_or_role, bool is_role) {
    (is_role ? roles_ : databases_).push_back(database_or_role);
  }

  // A connection to the cluster's postgres database as the superuser, for
  // setting up roles and watching sessions.
  PgConnection& admin() {
    if (!admin_) {
      PgConnectOptions options;
      options.url = admin_url_;
      options.application_name = "shared-link-unit-tests-admin";
      admin_.emplace(options);
    }
    return *admin_;
  }

 private:
  std::string url_of(const std::string& database, const std::string& user) const {
    return "postgresql://" + user + "@" + host_port_ + "/" + database;
  }

  std::string host_port_;
  std::string name_;
  std::string admin_url_;
  std::vector<std::string> databases_;
  std::vector<std::string> roles_;
  std::optional<PgConnection> admin_;
};

}  // namespace sharelink::testing

// Declares `PgTestDatabase name` for this test case, or skips the test case
// when no cluster is available (see the top of this file).
#define SHARELINK_PG_TEST_DATABASE(name)                                      \
  const auto name##_cluster_url = ::sharelink::testing::pg_cluster_or_skip(); \
  if (!name##_cluster_url) return;                                            \
  ::sharelink::testing::PgTestDatabase name(*name##_cluster_url)
