#include "daemon/server_state.hpp"

#include <algorithm>
#include <chrono>

#include "common/error.hpp"
#include "common/logfmt.hpp"

namespace sharelink {
namespace {

// ASCII lowercase (User-Agent tokens are ASCII); no locale lookup per byte.
std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<Cidr> parse_trusted(const std::vector<std::string>& texts) {
  std::vector<Cidr> out;
  for (const auto& text : texts) {
    auto cidr = parse_cidr(text);
    if (!cidr) throw Error("rate_limit.trusted_proxies: not an address or CIDR: \"" + text + "\"");
    out.push_back(*cidr);
  }
  return out;
}

}  // namespace

ServerState::ServerState(Config config, StorageBackend& storage, AuditWriter& audit)
    : config_(std::move(config)),
      audit_(audit),
      resolve_limiter_(BucketPolicy::per_minute(config_.rate_limit.requests_per_minute, config_.rate_limit.burst),
                       static_cast<std::size_t>(config_.rate_limit.max_clients)),
      media_limiter_(
          BucketPolicy::per_minute(config_.rate_limit.media_requests_per_minute, config_.rate_limit.media_burst),
          static_cast<std::size_t>(config_.rate_limit.max_clients)),
      miss_limiter_(BucketPolicy::per_minute(config_.rate_limit.misses_per_minute, config_.rate_limit.misses_per_minute),
                    static_cast<std::size_t>(config_.rate_limit.max_clients)),
      view_store_(storage.open_view_store()),
      views_(*view_store_),
      readers_(storage, storage.reader_connections(config_.server.threads)) {
  for (const auto& agent : config_.shares.preview_user_agents) preview_agents_lower_.push_back(lowercase(agent));
  reload(config_);
}

ServerState::~ServerState() {
  views_.stop();
  if (views_.views_lost() > 0) {
    log_event(LogLevel::error, "view counts lost at shutdown (database refused writes)",
              {{"views", std::to_string(views_.views_lost())}});
  }
}

std::shared_ptr<const RuntimeSettings> ServerState::settings() const {
  const MutexLock lock(settings_mutex_);
  return settings_;
}

void ServerState::reload(const Config& config) {
  auto settings = std::make_shared<RuntimeSettings>();
  settings->signer = load_playback_signer(config);
  settings->sessions = std::make_shared<const PageSessionSigner>(settings->signer->keys());
  settings->public_base_url = config.public_base_url();
  while (settings->public_base_url.ends_with('/')) settings->public_base_url.pop_back();
  settings->trusted_proxies = parse_trusted(config.rate_limit.trusted_proxies);
  settings->ipv6_prefix_length = config.rate_limit.ipv6_prefix_length;
  const auto& rl = config.rate_limit;
  const auto max_clients = static_cast<std::size_t>(rl.max_clients);
  resolve_limiter_.set_policy(BucketPolicy::per_minute(rl.requests_per_minute, rl.burst), max_clients);
  media_limiter_.set_policy(BucketPolicy::per_minute(rl.media_requests_per_minute, rl.media_burst), max_clients);
  miss_limiter_.set_policy(BucketPolicy::per_minute(rl.misses_per_minute, rl.misses_per_minute), max_clients);
  const MutexLock lock(settings_mutex_);
  settings_ = std::move(settings);
}

bool ServerState::is_preview_agent(std::string_view user_agent) const {
  if (user_agent.empty()) return false;
  const std::string agent = lowercase(user_agent.substr(0, 512));
  return std::any_of(preview_agents_lower_.begin(), preview_agents_lower_.end(),
                     [&](const std::string& needle) { return agent.find(needle) != std::string::npos; });
}

double ServerState::monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace sharelink
