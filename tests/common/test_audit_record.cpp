// Unit tests of common/audit_record.hpp: the event and outcome words, sanitize_user_agent and the
// record's cleaning, and the retention cutoffs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/audit_record.hpp"
#include "common/error.hpp"
#include "common/metrics.hpp"

namespace sharelink {
namespace {

AuditRecord record_with(std::string event, std::string outcome) {
  AuditRecord record;
  record.event = std::move(event);
  record.outcome = std::move(outcome);
  return record;
}

}  // namespace

TEST_CASE("AuditRecord: every event word reads back as its event, nothing else does", "[audit_record]") {
  CHECK(k_audit_events.size() == 4);
  for (const auto event : {AuditEvent::resolve, AuditEvent::page, AuditEvent::media, AuditEvent::admin}) {
    CAPTURE(to_string(event));
    CHECK(parse_audit_event(to_string(event)) == event);
  }
  CHECK(to_string(AuditEvent::resolve) == "resolve");
  CHECK(to_string(AuditEvent::page) == "page");
  CHECK(to_string(AuditEvent::media) == "media");
  CHECK(to_string(AuditEvent::admin) == "admin");
  for (const char* other : {"", "Resolve", "resolve ", "share", "ok"}) {
    CAPTURE(other);
    CHECK_FALSE(parse_audit_event(other));
  }
}

TEST_CASE("AuditRecord: the outcomes are SPEC 7's resolve and media lists, each once", "[audit_record]") {
  const std::vector<std::string_view> spec = {"ok",           "preview",     "unavailable", "not_found",
                                              "revoked",      "expired",     "limit_reached", "rate_limited",
                                              "bad_request",  "error",       "bad_signature", "url_expired",
                                              "share_inactive"};
  REQUIRE(k_audit_outcomes.size() == spec.size());
  for (std::size_t i = 0; i < spec.size(); ++i) {
    const auto outcome = static_cast<AuditOutcome>(i);
    CAPTURE(spec[i]);
    CHECK(to_string(outcome) == spec[i]);
    CHECK(parse_audit_outcome(spec[i]) == outcome);
  }
  // What only metrics count is no audit outcome.
  for (const char* other : {"", "OK", "unavailable_db", "unavailable_audit", "shutting_down", "denied"}) {
    CAPTURE(other);
    CHECK_FALSE(parse_audit_outcome(other));
  }
}

TEST_CASE("AuditRecord: an audit outcome is the metric outcome of the same name and word", "[audit_record]") {
  const std::vector<std::pair<AuditOutcome, MetricOutcome>> same = {
      {AuditOutcome::ok, MetricOutcome::ok},
      {AuditOutcome::preview, MetricOutcome::preview},
      {AuditOutcome::unavailable, MetricOutcome::unavailable},
      {AuditOutcome::not_found, MetricOutcome::not_found},
      {AuditOutcome::revoked, MetricOutcome::revoked},
      {AuditOutcome::expired, MetricOutcome::expired},
      {AuditOutcome::limit_reached, MetricOutcome::limit_reached},
      {AuditOutcome::rate_limited, MetricOutcome::rate_limited},
      {AuditOutcome::bad_request, MetricOutcome::bad_request},
      {AuditOutcome::error, MetricOutcome::error},
      {AuditOutcome::bad_signature, MetricOutcome::bad_signature},
      {AuditOutcome::url_expired, MetricOutcome::url_expired},
      {AuditOutcome::share_inactive, MetricOutcome::share_inactive},
  };
  REQUIRE(same.size() == k_audit_outcomes.size());
  for (const auto& [audit, metric] : same) {
    CAPTURE(to_string(audit));
    CHECK(metric_outcome(audit) == metric);
    CHECK(to_string(metric) == to_string(audit));
  }
  CHECK(to_string(MetricOutcome::unavailable_db) == "unavailable_db");
  CHECK(to_string(MetricOutcome::unavailable_audit) == "unavailable_audit");
  CHECK(to_string(MetricOutcome::shutting_down) == "shutting_down");
}

// ---------------------------------------------------------------------------
// sanitize_user_agent

TEST_CASE("AuditRecord: sanitize_user_agent escapes and bounds", "[audit_record]") {
  struct Case {
    const char* name;
    std::string input;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"plain ASCII is kept", "Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (X11; Linux x86_64)"},
      {"empty stays empty", "", ""},
      {"newline, tab and ESC", "a\nb\tc\x1b[31m", "a\\x0ab\\x09c\\x1b[31m"},
      {"carriage return", "x\r\ny", "x\\x0d\\x0ay"},
      {"NUL byte", std::string("a\0b", 3), "a\\x00b"},
      {"DEL", "a\x7f", "a\\x7f"},
      {"backslash", "a\\b", "a\\x5cb"},
      {"multibyte UTF-8 kept", "Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x8e\xb5", "Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x8e\xb5"},
      {"C1 control (CSI) escaped", "a\xc2\x9b" "31m", "a\\xc2\\x9b31m"},
      {"U+00A0 is not a control", "a\xc2\xa0z", "a\xc2\xa0z"},
      {"lone continuation byte", "a\x80z", "a\\x80z"},
      {"overlong encoding", "\xc0\xaf", "\\xc0\\xaf"},
      {"UTF-16 surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80"},
      {"above U+10FFFF", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},
      {"sequence cut short by the end", "ab\xe2\x82", "ab\\xe2\\x82"},
      {"long ASCII cut at 256", std::string(300, 'a'), std::string(256, 'a')},
      {"2-byte char that fits exactly", std::string(254, 'a') + "\xc3\xa9", std::string(254, 'a') + "\xc3\xa9"},
      {"2-byte char across the boundary", std::string(255, 'a') + "\xc3\xa9", std::string(255, 'a')},
      {"4-byte char across the boundary", std::string(253, 'a') + "\xf0\x9f\x8e\xb5", std::string(253, 'a')},
      {"escape that fits exactly", std::string(252, 'a') + "\n", std::string(252, 'a') + "\\x0a"},
      {"escape across the boundary", std::string(253, 'a') + "\nzz", std::string(253, 'a')},
      {"C1 escape across the boundary", std::string(250, 'a') + "\xc2\x9b", std::string(250, 'a')},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(sanitize_user_agent(c.input) == c.expected);
  }
}

TEST_CASE("AuditRecord: sanitize_user_agent output is bounded and clean for any input", "[audit_record]") {
  std::mt19937 random(12345);
  for (int round = 0; round < 2000; ++round) {
    std::string input(random() % 600, '\0');
    for (auto& c : input) c = static_cast<char>(random() % 256);
    const std::string output = sanitize_user_agent(input);
    INFO("round " << round);
    REQUIRE(output.size() <= 256);
    REQUIRE(std::all_of(output.begin(), output.end(), [](char c) {
      const auto byte = static_cast<unsigned char>(c);
      return byte >= 0x20 && byte != 0x7f;
    }));
    // No C1 controls, and valid UTF-8 (the JSON encoder throws otherwise).
    REQUIRE(output.find("\xc2\x9b") == std::string::npos);
    REQUIRE_NOTHROW(nlohmann::json(output).dump());
  }
}

TEST_CASE("AuditRecord: prepare_audit_record refuses a record without event or outcome", "[audit_record]") {
  AuditRecord no_event = record_with("", "ok");
  AuditRecord no_outcome = record_with("admin", "");
  CHECK_THROWS_AS(prepare_audit_record(no_event), Error);
  CHECK_THROWS_AS(prepare_audit_record(no_outcome), Error);
  AuditRecord fine = record_with("admin", "ok");
  CHECK_NOTHROW(prepare_audit_record(fine));
}

TEST_CASE("AuditRecord: prepare_audit_record cleans and bounds the free text, and only that", "[audit_record]") {
  AuditRecord record = record_with("admin", "ok");
  record.user_agent = "curl\n" + std::string(300, 'u');
  record.actor = "bob\r";
  record.detail = std::string(2000, 'd');
  record.action = "share.create";
  record.share_id = "mslink_0123456789ab";
  prepare_audit_record(record);
  CHECK(record.user_agent == sanitize_user_agent("curl\n" + std::string(300, 'u')));
  CHECK(record.user_agent.size() <= 256);
  CHECK(record.actor == "bob\\x0d");
  CHECK(record.detail == std::string(1024, 'd'));
  CHECK(record.action == "share.create");
  CHECK(record.share_id == "mslink_0123456789ab");

  // Clean text is kept as it is: sanitized text is not escaped twice.
  AuditRecord clean = record_with("page", "ok");
  clean.user_agent = "a\\x0ab";
  prepare_audit_record(clean);
  CHECK(clean.user_agent == "a\\x0ab");
}

TEST_CASE("AuditRecord: retention cutoffs count whole days back, at least one each", "[audit_record]") {
  const TimePoint now = from_unix_millis(1785234600000);
  const PruneCutoffs cutoffs = retention_cutoffs(now, 90, 30);
  CHECK(cutoffs.delete_before == now - std::chrono::hours(24 * 90));
  CHECK(cutoffs.age_ip_before == now - std::chrono::hours(24 * 30));
  CHECK_THROWS_AS(retention_cutoffs(now, 0, 30), Error);
  CHECK_THROWS_AS(retention_cutoffs(now, 90, 0), Error);
  CHECK_THROWS_AS(require_retention_days(-1, 1), Error);
  CHECK_NOTHROW(require_retention_days(1, 1));
}

}  // namespace sharelink
