#include "common/metrics.hpp"

#include <algorithm>
#include <charconv>

namespace sharelink {
namespace {

constexpr std::array<std::string_view, k_metric_route_count> k_route_names = {
    "resolve", "page", "media", "page_refresh", "oembed", "healthz", "readyz", "metrics", "other"};

// The shortest text that reads back as the same double ("0.1", not "0.10000000000000001").
std::string format_number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general);
  return std::string(buffer, result.ptr);
}

// A label value in the text format: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_labels(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ",";
    out += name + "=\"" + escape_label_value(value) + "\"";
  }
  return out + "}";
}

}  // namespace

void Metrics::observe(MetricRoute route, MetricOutcome outcome, double seconds) {
  const auto r = static_cast<std::size_t>(route);
  const auto o = static_cast<std::size_t>(outcome);
  requests_[r][o].fetch_add(1, std::memory_order_relaxed);
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(k_buckets.begin(), k_buckets.end(), seconds) - k_buckets.begin());
  latency_[r][bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_micros_[r].fetch_add(static_cast<std::uint64_t>(std::max(0.0, seconds) * 1e6),
                                   std::memory_order_relaxed);
}

void Metrics::add_gauge(Gauge gauge) { gauges_.push_back(std::move(gauge)); }

std::string Metrics::render(std::string_view version) const {
  std::string out;
  out += "# HELP sharelink_build_info Build information.\n# TYPE sharelink_build_info gauge\n";
  out += "sharelink_build_info{version=\"" + escape_label_value(version) + "\"} 1\n";

  out += "# HELP sharelink_requests_total Requests answered, by route and outcome.\n";
  out += "# TYPE sharelink_requests_total counter\n";
  for (std::size_t r = 0; r < k_metric_route_count; ++r) {
    for (std::size_t o = 0; o < k_outcomes; ++o) {
      const auto n = requests_[r][o].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "sharelink_requests_total{route=\"" + std::string(k_route_names[r]) + "\",outcome=\"" +
             std::string(k_metric_outcomes[o]) + "\"} " + std::to_string(n) + "\n";
    }
  }

  out += "# HELP sharelink_rate_limited_total Requests refused with 429, by route.\n";
  out += "# TYPE sharelink_rate_limited_total counter\n";
  const auto limited = static_cast<std::size_t>(MetricOutcome::rate_limited);
  for (auto route :
       {MetricRoute::resolve, MetricRoute::page, MetricRoute::media, MetricRoute::page_refresh, MetricRoute::oembed}) {
    const auto r = static_cast<std::size_t>(route);
    out += "sharelink_rate_limited_total{route=\"" + std::string(k_route_names[r]) + "\"} " +
           std::to_string(requests_[r][limited].load(std::memory_order_relaxed)) + "\n";
  }

  out += "# HELP sharelink_request_duration_seconds Time from routing to answer, by route.\n";
  out += "# TYPE sharelink_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < k_metric_route_count; ++r) {
    const std::string route = "route=\"" + std::string(k_route_names[r]) + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < k_buckets.size(); ++b) {
      cumulative += latency_[r][b].load(std::memory_order_relaxed);
      out += "sharelink_request_duration_seconds_bucket{" + route + ",le=\"" + format_number(k_buckets[b]) + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    cumulative += latency_[r][k_buckets.size()].load(std::memory_order_relaxed);
    out += "sharelink_request_duration_seconds_bucket{" + route + ",le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
    out += "sharelink_request_duration_seconds_sum{" + route + "} " +
           format_number(static_cast<double>(latency_sum_micros_[r].load(std::memory_order_relaxed)) / 1e6) + "\n";
    // The count is the +Inf bucket, so the two always agree.
    out += "sharelink_request_duration_seconds_count{" + route + "} " + std::to_string(cumulative) + "\n";
  }

  // One family per name: the text format wants all samples of a metric together.
  std::vector<bool> rendered(gauges_.size(), false);
  for (std::size_t i = 0; i < gauges_.size(); ++i) {
    if (rendered[i]) continue;
    const auto& family = gauges_[i];
    out += "# HELP " + family.name + " " + family.help + "\n# TYPE " + family.name + " " + family.type + "\n";
    for (std::size_t j = i; j < gauges_.size(); ++j) {
      if (rendered[j] || gauges_[j].name != family.name) continue;
      rendered[j] = true;
      out += gauges_[j].name + render_labels(gauges_[j].labels) + " " + format_number(gauges_[j].read()) + "\n";
    }
  }
  return out;
}

}  // namespace sharelink
