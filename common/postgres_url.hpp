// libpq connection URIs (database.url, sharectl --db): recognising, checking and showing them without a
// password.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sharelink {

// True when text starts with "postgresql://" or "postgres://": a libpq URI
// (as opposed to an SQLite file path). Thread-safe.
bool is_postgres_url(std::string_view text);

// nullopt when url is a libpq URI this project accepts; otherwise what is
// wrong with it, as a phrase to follow the (redacted) URL in a message
// ("carries a password (...)"), in words that never include a password: not
// a "postgresql://" or "postgres://" URI; a control character; a password in
// it (in the user info, or a password= or sslpassword= parameter: passwords
// belong in database.password_file); or libpq's reason for refusing it (an
// unknown parameter, bad percent-encoding). A password is looked for as
// widely as libpq might read one: a ":" after the scheme followed later by
// an "@" counts, even past a "/" or "?" (write a literal "@" in a parameter
// as %40). Thread-safe.
std::optional<std::string> postgres_url_problem(std::string_view url);

// url for messages and logs: the password of the user info and the values of
// password= and sslpassword= parameters replaced by "***"; everything else as
// written. Thread-safe.
std::string redact_postgres_url(std::string_view url);

// text (a libpq or server message) with every occurrence of secret replaced
// by "***" (when secret is not empty), every libpq URI in it redacted as
// redact_postgres_url does, and every "password=VALUE" of a keyword/value
// connection string (also quoted, also sslpassword) replaced by
// "password=***". Thread-safe.
std::string scrub_secrets(std::string_view text, std::string_view secret = {});

}  // namespace sharelink
