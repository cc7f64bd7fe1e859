// Unit tests of the Prometheus text rendering of Metrics.
#include "common/metrics.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace sharelink {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines_of(text)) {
    if (l == line) return true;
  }
  return false;
}

std::size_t count_prefix(const std::string& text, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& l : lines_of(text)) n += l.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

TEST_CASE("Metrics: build info carries the version, escaped", "[metrics]") {
  Metrics metrics;
  CHECK(has_line(metrics.render("0.1.0"), "sharelink_build_info{version=\"0.1.0\"} 1"));
  CHECK(has_line(metrics.render("1\"2\\3\n4"), "sharelink_build_info{version=\"1\\\"2\\\\3\\n4\"} 1"));
}

TEST_CASE("Metrics: requests are counted by route and outcome", "[metrics]") {
  Metrics metrics;
  metrics.observe(MetricRoute::resolve, MetricOutcome::ok, 0.001);
  metrics.observe(MetricRoute::resolve, MetricOutcome::ok, 0.002);
  metrics.observe(MetricRoute::resolve, MetricOutcome::rate_limited, 0.0001);
  metrics.observe(MetricRoute::media, MetricOutcome::bad_signature, 0.0001);
  const std::string text = metrics.render("v");
  CHECK(has_line(text, "sharelink_requests_total{route=\"resolve\",outcome=\"ok\"} 2"));
  CHECK(has_line(text, "sharelink_requests_total{route=\"resolve\",outcome=\"rate_limited\"} 1"));
  CHECK(has_line(text, "sharelink_requests_total{route=\"media\",outcome=\"bad_signature\"} 1"));
  CHECK(has_line(text, "sharelink_rate_limited_total{route=\"resolve\"} 1"));
  CHECK(has_line(text, "sharelink_rate_limited_total{route=\"media\"} 0"));
  CHECK(has_line(text, "sharelink_request_duration_seconds_count{route=\"resolve\"} 3"));
  CHECK(has_line(text, "sharelink_request_duration_seconds_bucket{route=\"resolve\",le=\"+Inf\"} 3"));
  CHECK(has_line(text, "sharelink_request_duration_seconds_bucket{route=\"resolve\",le=\"0.0005\"} 1"));
  CHECK(has_line(text, "sharelink_request_duration_seconds_bucket{route=\"resolve\",le=\"0.1\"} 3"));
}

TEST_CASE("Metrics: every outcome is counted under its own label", "[metrics]") {
  const auto [outcome, label] = GENERATE(table<MetricOutcome, std::string>({
      {MetricOutcome::ok, "ok"},
      {MetricOutcome::preview, "preview"},
      {MetricOutcome::unavailable, "unavailable"},
      {MetricOutcome::not_found, "not_found"},
      {MetricOutcome::revoked, "revoked"},
      {MetricOutcome::expired, "expired"},
      {MetricOutcome::limit_reached, "limit_reached"},
      {MetricOutcome::rate_limited, "rate_limited"},
      {MetricOutcome::bad_request, "bad_request"},
      {MetricOutcome::error, "error"},
      {MetricOutcome::bad_signature, "bad_signature"},
      {MetricOutcome::url_expired, "url_expired"},
      {MetricOutcome::share_inactive, "share_inactive"},
      {MetricOutcome::unavailable_db, "unavailable_db"},
      {MetricOutcome::shutting_down, "shutting_down"},
  }));
  CAPTURE(label);
  CHECK(to_string(outcome) == label);
  Metrics metrics;
  metrics.observe(MetricRoute::page, outcome, 0.001);
  const std::string text = metrics.render("v");
  CHECK(has_line(text, "sharelink_requests_total{route=\"page\",outcome=\"" + label + "\"} 1"));
  CHECK(count_prefix(text, "sharelink_requests_total{") == 1);  // no other outcome counted
}

TEST_CASE("Metrics: a gauge without labels is one family of one sample", "[metrics]") {
  Metrics metrics;
  double depth = 7;
  metrics.add_gauge({"sharelink_audit_queue_depth", "Records waiting.", "gauge", [&] { return depth; }});
  std::string text = metrics.render("v");
  CHECK(has_line(text, "# HELP sharelink_audit_queue_depth Records waiting."));
  CHECK(has_line(text, "# TYPE sharelink_audit_queue_depth gauge"));
  CHECK(has_line(text, "sharelink_audit_queue_depth 7"));
  depth = 3;  // read at render time
  CHECK(has_line(metrics.render("v"), "sharelink_audit_queue_depth 3"));
}

TEST_CASE("Metrics: labelled gauges sharing a name render as one family", "[metrics]") {
  Metrics metrics;
  metrics.add_gauge({"sharelink_rate_limiter_clients", "Buckets held.", "gauge", [] { return 1.0; },
                     {{"limiter", "resolve"}}});
  metrics.add_gauge({"sharelink_audit_records_written_total", "Written.", "counter", [] { return 5.0; }});
  metrics.add_gauge({"sharelink_rate_limiter_clients", "ignored: the family's help is the first", "gauge",
                     [] { return 2.0; }, {{"limiter", "media"}}});
  const std::string text = metrics.render("v");
  CHECK(count_prefix(text, "# HELP sharelink_rate_limiter_clients ") == 1);
  CHECK(count_prefix(text, "# TYPE sharelink_rate_limiter_clients ") == 1);
  // The two samples follow their HELP/TYPE lines directly, before the next family.
  const auto lines = lines_of(text);
  std::size_t type_line = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] == "# TYPE sharelink_rate_limiter_clients gauge") type_line = i;
  }
  REQUIRE(type_line + 3 < lines.size());
  CHECK(lines[type_line + 1] == "sharelink_rate_limiter_clients{limiter=\"resolve\"} 1");
  CHECK(lines[type_line + 2] == "sharelink_rate_limiter_clients{limiter=\"media\"} 2");
  CHECK(lines[type_line + 3] == "# HELP sharelink_audit_records_written_total Written.");
  CHECK(has_line(text, "# TYPE sharelink_audit_records_written_total counter"));
  CHECK(has_line(text, "sharelink_audit_records_written_total 5"));
}

TEST_CASE("Metrics: label values are escaped", "[metrics]") {
  Metrics metrics;
  metrics.add_gauge({"g", "h", "gauge", [] { return 0.0; }, {{"a", "x\"y"}, {"b", "back\\slash\nnl"}}});
  CHECK(has_line(metrics.render("v"), "g{a=\"x\\\"y\",b=\"back\\\\slash\\nnl\"} 0"));
}

}  // namespace
}  // namespace sharelink
