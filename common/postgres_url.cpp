#include "common/postgres_url.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr std::string_view k_schemes[] = {"postgresql://", "postgres://"};
constexpr std::string_view k_hidden = "***";


std::size_t scheme_length(std::string_view text) {
  for (const auto scheme : k_schemes) {
    if (text.starts_with(scheme)) return scheme.size();
  }
  return 0;
}

// %XX decoded (libpq decodes parameter names too); malformed escapes kept as written.
std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_digit_value(text[i + 1]);
      const int low = hex_digit_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// libpq's connection parameters that hold a secret.
bool is_secret_key(std::string_view key) {
  return equals_ignoring_ascii_case(key, "password") || equals_ignoring_ascii_case(key, "sslpassword");
}

// Replaces the password of the user info. Reads the widest span that libpq
// could take for user info (up to the last "@", even past a "/" or "?"), so
// that nothing libpq might treat as a password is ever shown; a port before a
// later "@" is hidden too, which costs only some readability.
std::string redact_user_info(std::string_view url, std::size_t start) {
  const std::size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const std::size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at || colon + 1 == at) return std::string(url);
  std::string out(url.substr(0, colon + 1));
  out += k_hidden;
  out += url.substr(at);
  return out;
}

// Replaces the value of every password= and sslpassword= parameter (after a "?" or "&").
std::string redact_parameters(std::string_view url) {
  std::string out;
  std::size_t i = 0;
  while (i < url.size()) {
    const char c = url[i];
    out += c;
    ++i;
    if (c != '?' && c != '&') continue;
    const std::size_t end = std::min(url.find('&', i), url.size());
    const std::string_view parameter = url.substr(i, end - i);
    const std::size_t equals = parameter.find('=');
    if (equals != std::string_view::npos && is_secret_key(percent_decode(parameter.substr(0, equals)))) {
      out += parameter.substr(0, equals + 1);
      out += k_hidden;
    } else {
      out += parameter;
    }
    i = end;
  }
  return out;
}

void replace_all(std::string& text, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  std::size_t pos = 0;
  while ((pos = text.find(what, pos)) != std::string::npos) {
    text.replace(pos, what.size(), with);
    pos += with.size();
  }
}

bool ends_token(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\''; }

// Every libpq URI inside free text, redacted.
std::string redact_embedded_urls(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t found = std::string_view::npos;
    for (const auto scheme : k_schemes) found = std::min(found, text.find(scheme, i));
    if (found == std::string_view::npos) break;
    out += text.substr(i, found - i);
    std::size_t end = found;
    while (end < text.size() && !ends_token(text[end])) ++end;
    out += redact_postgres_url(text.substr(found, end - found));
    i = end;
  }
  out += text.substr(std::min(i, text.size()));
  return out;
}

// "password = value" / "password='quoted value'" of keyword/value connection strings.
std::string redact_keyword_values(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t found = std::string_view::npos;
    for (std::size_t j = i; j + 8 <= text.size(); ++j) {
      if (equals_ignoring_ascii_case(text.substr(j, 8), "password")) {
        found = j;
        break;
      }
    }
    if (found == std::string_view::npos) break;
    std::size_t j = found + 8;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    if (j >= text.size() || text[j] != '=') {
      out += text.substr(i, found + 8 - i);
      i = found + 8;
      continue;
    }
    ++j;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    out += text.substr(i, found - i);
    out += "password=";
    out += k_hidden;
    if (j < text.size() && text[j] == '\'') {
      ++j;
      while (j < text.size() && text[j] != '\'') j += (text[j] == '\\' && j + 1 < text.size()) ? 2 : 1;
      if (j < text.size()) ++j;  // the closing quote
    } else {
      while (j < text.size() && !ends_token(text[j]) && text[j] != '&') ++j;
    }
    i = j;
  }
  out += text.substr(std::min(i, text.size()));
  return out;
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

bool is_postgres_url(std::string_view text) { return scheme_length(text) != 0; }

std::string redact_postgres_url(std::string_view url) {
  const std::size_t start = scheme_length(url);
  if (start == 0) return redact_keyword_values(url);
  return redact_parameters(redact_user_info(url, start));
}

std::string scrub_secrets(std::string_view text, std::string_view secret) {
  std::string out(text);
  replace_all(out, secret, k_hidden);
  return redact_keyword_values(redact_embedded_urls(out));
}

std::optional<std::string> postgres_url_problem(std::string_view url) {
  if (!is_postgres_url(url))
    return "is not a libpq URI (it must start with \"postgresql://\" or \"postgres://\")";
  if (has_control(url)) return "contains a control character";
  const std::string password_problem =
      "carries a password (put the password in the file named by database.password_file)";
  if (redact_postgres_url(url) != url) return password_problem;

  char* error = nullptr;
  const std::string text(url);
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(text.c_str(), &error),
                                                                       &PQconninfoFree);
  if (!options) {
    std::string reason = error != nullptr ? std::string(trim_end(error, "\n ")) : "out of memory";
    PQfreemem(error);
    return "is not a valid libpq URI: " + scrub_secrets(reason);
  }
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    if (option->val != nullptr && *option->val != '\0' && is_secret_key(option->keyword))
      return password_problem;
  }
  return std::nullopt;
}

}  // namespace sharelink
