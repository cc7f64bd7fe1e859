// Request counters and latency histograms, rendered in the Prometheus text exposition format.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/audit_record.hpp"

namespace sharelink {

// page: /s/{token} and /s/{token}/embed; page_refresh: the share page's
// playback refresh; oembed: /oembed.
enum class MetricRoute { resolve, page, media, page_refresh, oembed, health, ready, metrics, other };
inline constexpr std::size_t k_metric_route_count = 9;

// Outcome labels across routes: first the audit outcomes (AuditOutcome, in
// its order and with its words: a public request's label is its audit
// record's outcome), then labels only the metrics use. unavailable_db:
// /readyz found the database unreachable; unavailable_audit: answered 503
// because the request's audit record could not be kept (a full queue, or
// with audit.synchronous a commit too slow); shutting_down: the label kept
// for answers refused while the daemon stops.
enum class MetricOutcome {
  // AuditOutcome's values:
  ok, preview, unavailable, not_found, revoked, expired, limit_reached, rate_limited, bad_request, error,
  bad_signature, url_expired, share_inactive,
  // the metrics' own:
  unavailable_db, unavailable_audit, shutting_down,
};
// The label of each MetricOutcome, in the enum's order: the audit outcome
// words, then the three of the metrics alone.
inline constexpr std::array<std::string_view, 16> k_metric_outcomes = [] {
  std::array<std::string_view, 16> labels{};
  std::size_t i = 0;
  for (const std::string_view word : k_audit_outcomes) labels[i++] = word;
  for (const std::string_view word : {"unavailable_db", "unavailable_audit", "shutting_down"}) labels[i++] = word;
  return labels;
}();
static_assert(static_cast<std::size_t>(MetricOutcome::shutting_down) + 1 == k_metric_outcomes.size());
static_assert(static_cast<std::size_t>(MetricOutcome::share_inactive) + 1 == k_audit_outcomes.size() &&
                  static_cast<std::size_t>(AuditOutcome::share_inactive) + 1 == k_audit_outcomes.size(),
              "MetricOutcome starts with the audit outcomes, in their order");

// The label of outcome ("not_found", ...).
constexpr std::string_view to_string(MetricOutcome outcome) {
  return k_metric_outcomes[static_cast<std::size_t>(outcome)];
}

// The metric outcome of an audit outcome (the same word).
constexpr MetricOutcome metric_outcome(AuditOutcome outcome) { return static_cast<MetricOutcome>(outcome); }

// Lock-free counters: safe to update from every worker thread at once.
class Metrics {
 public:
  struct Gauge {
    std::string name;
    std::string help;
    std::string type;  // "gauge" or "counter"
    std::function<double()> read;
    // Label pairs of this sample; gauges sharing a name form one family
    // (HELP/TYPE of the first registered), e.g. one sample per limiter.
    std::vector<std::pair<std::string, std::string>> labels = {};
  };

  // Counts one answered request and its latency.
  void observe(MetricRoute route, MetricOutcome outcome, double seconds);
  // Gauges and counters owned elsewhere (audit queue depth, limiter size...),
  // read at render time, each family in the order its name was first
  // registered. Register before serving; not thread-safe.
  void add_gauge(Gauge gauge);

  // The whole exposition, "# HELP"/"# TYPE" lines included.
  std::string render(std::string_view version) const;

  static constexpr std::array<double, 12> k_buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                       0.05,   0.1,   0.25,   0.5,   1,    2.5};

 private:
  static constexpr std::size_t k_outcomes = k_metric_outcomes.size();
  std::array<std::array<std::atomic<std::uint64_t>, k_outcomes>, k_metric_route_count> requests_{};
  std::array<std::array<std::atomic<std::uint64_t>, k_buckets.size() + 1>, k_metric_route_count> latency_{};
  std::array<std::atomic<std::uint64_t>, k_metric_route_count> latency_sum_micros_{};
  std::vector<Gauge> gauges_;
};

}  // namespace sharelink
