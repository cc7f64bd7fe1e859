// What every request handler of shared-linkd shares: settings, limiters, readers, audit writer, view counter, metrics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/audit_writer.hpp"
#include "common/client_address.hpp"
#include "common/config.hpp"
#include "common/metrics.hpp"
#include "common/page_session.hpp"
#include "common/playback_signer.hpp"
#include "common/rate_limiter.hpp"
#include "common/reader_pool.hpp"
#include "common/store.hpp"
#include "common/thread_annotations.hpp"
#include "common/view_counter.hpp"

namespace sharelink {

// The part of the configuration that SIGHUP replaces. Immutable once
// published: handlers take a snapshot (a shared_ptr copy) per request.
struct RuntimeSettings {
  std::shared_ptr<const PlaybackSigner> signer;
  // Page sessions, keyed from the same signing keys (common/page_session.hpp).
  std::shared_ptr<const PageSessionSigner> sessions;
  // public_base_url of the bound address: the share page's links.
  std::string public_base_url;
  std::vector<Cidr> trusted_proxies;
  int ipv6_prefix_length = 64;
};

// Shared by all worker threads. Threading: the limiters, the reader pool,
// the audit writer, the view counter and the metrics are thread-safe
// themselves; the settings snapshot is guarded by settings_mutex_ (held only
// to copy or swap the pointer).
class ServerState {
 public:
  // Opens the view store of storage (throws DatabaseUnavailable if it
  // cannot). storage and audit must outlive the state.
  ServerState(Config config, StorageBackend& storage, AuditWriter& audit);
  // Writes the views still pending (after the server has stopped).
  ~ServerState();

  const Config& config() const { return config_; }
  AuditWriter& audit() { return audit_; }
  Metrics& metrics() { return metrics_; }
  RateLimiter& resolve_limiter() { return resolve_limiter_; }
  RateLimiter& media_limiter() { return media_limiter_; }
  RateLimiter& miss_limiter() { return miss_limiter_; }
  // Every view the resolve and page routes count goes through here.
  ViewCounter& views() { return views_; }
  // The database connections the resolve, page, refresh and media routes and readyz borrow.
  ReaderPool& readers() { return readers_; }

  std::shared_ptr<const RuntimeSettings> settings() const;
  // Rebuilds the settings (keys, trusted proxies) and the limiter policies
  // from a new configuration. Throws Error (old settings kept) if the keys
  // cannot be loaded.
  void reload(const Config& config);

  // True for User-Agents of link-preview fetchers (case-insensitive substring).
  bool is_preview_agent(std::string_view user_agent) const;

  // Monotonic seconds for the rate limiters.
  static double monotonic_seconds();

 private:
  Config config_;  // immutable after construction; reload() changes only the settings and limiters
  AuditWriter& audit_;
  Metrics metrics_;
  RateLimiter resolve_limiter_;
  RateLimiter media_limiter_;
  RateLimiter miss_limiter_;
  std::unique_ptr<ViewStore> view_store_;  // before views_, which counts into it
  ViewCounter views_;
  ReaderPool readers_;
  std::vector<std::string> preview_agents_lower_;
  mutable Mutex settings_mutex_;
  std::shared_ptr<const RuntimeSettings> settings_ SHARELINK_GUARDED_BY(settings_mutex_);
};

}  // namespace sharelink
