#include "common/resolver.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <mutex>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/playback_signer.hpp"
#include "common/sqlite_connection.hpp"
#include "common/utf8.hpp"
#include "common/view_counter.hpp"

namespace sharelink {
namespace {

// View-count updates of every Resolver in the process take turns here.
// Without it, worker threads with their own connections contend for SQLite's
// write lock, and SQLite's busy handler resolves that contention by sleeping
// for milliseconds. Only other processes (sharectl) can still make us wait.
std::mutex g_view_count_mutex;

// Page cache of each Resolver connection (the daemon keeps a few). A lookup
// walks the token digest index and the shares table: with a million links
// their interior pages are about 1.8 MB and 0.4 MB, and they are what every
// lookup reads; 2 MB keeps nearly all of them, while leaf pages, which random
// tokens rarely hit twice, come from the OS cache. Every MB here counts once
// per pooled connection in the daemon's resident memory.
constexpr int k_resolver_cache_kib = 2048;

constexpr const char* k_track_view_columns =
    "t.id, t.title, t.engine, t.mode, t.measured_duration_seconds, t.instrumental, t.licence_class, "
    "t.licence_version, t.no_commercial, t.audio_path, t.removed_at, l.commercial_use, l.requires_attribution";

// What the licence registry says about a (class, version), if it has it.
struct RegistryFlags {
  bool commercial_use;
  bool requires_attribution;
};

// licence_facts() without building a Licence: the licence truth rule, once.
LicenceFacts licence_facts_from(std::optional<RegistryFlags> registry, std::string_view licence_class,
                                std::string_view licence_version, bool track_no_commercial) {
  LicenceFacts facts;
  facts.licence_class = licence_class;
  facts.licence_version = licence_version;
  if (!registry || licence_class == "unclear") {
    facts.commercial_use = false;
    facts.requires_attribution = true;
    return facts;
  }
  facts.commercial_use = registry->commercial_use && !track_no_commercial;
  facts.requires_attribution = registry->requires_attribution;
  return facts;
}

struct TrackRow {
  TrackView view;
  std::string audio_path;
  bool removed = false;
};

TrackRow read_track_row(SQLite::Statement& st) {
  TrackRow row;
  TrackView& v = row.view;
  v.id = st.getColumn(0).getString();
  v.title = st.getColumn(1).getString();
  v.engine = st.getColumn(2).getString();
  v.mode = st.getColumn(3).getString();
  v.measured_duration_seconds = optional_real(st.getColumn(4));
  v.instrumental = st.getColumn(5).getInt() != 0;
  const SQLite::Column licence_class = st.getColumn(6);
  const SQLite::Column licence_version = st.getColumn(7);
  const bool no_commercial = st.getColumn(8).getInt() != 0;
  row.audio_path = st.getColumn(9).getString();
  row.removed = !st.getColumn(10).isNull();
  const SQLite::Column registry_commercial = st.getColumn(11);
  const std::string_view class_text(licence_class.getText(), static_cast<std::size_t>(licence_class.getBytes()));
  const std::string_view version_text(licence_version.getText(), static_cast<std::size_t>(licence_version.getBytes()));
  std::optional<RegistryFlags> registry;
  if (!registry_commercial.isNull()) {
    registry = RegistryFlags{registry_commercial.getInt() != 0, st.getColumn(12).getInt() != 0};
  }
  v.licence = licence_facts_from(registry, class_text, version_text, no_commercial);
  return row;
}

}  // namespace

const char* to_string(ResolveOutcome outcome) {
  switch (outcome) {
    case ResolveOutcome::ok: return "ok";
    case ResolveOutcome::unavailable: return "unavailable";
    case ResolveOutcome::not_found: return "not_found";
    case ResolveOutcome::revoked: return "revoked";
    case ResolveOutcome::expired: return "expired";
    case ResolveOutcome::limit_reached: return "limit_reached";
  }
  return "error";
}

PublicError public_error(ResolveOutcome outcome) {
  switch (outcome) {
    case ResolveOutcome::revoked: return PublicError::share_revoked;
    case ResolveOutcome::expired: return PublicError::share_expired;
    case ResolveOutcome::limit_reached: return PublicError::share_limit_reached;
    default: return PublicError::share_not_found;
  }
}

LicenceFacts licence_facts(const std::optional<Licence>& registry_entry, std::string_view licence_class,
                           std::string_view licence_version, bool track_no_commercial) {
  std::optional<RegistryFlags> flags;
  if (registry_entry) flags = RegistryFlags{registry_entry->commercial_use, registry_entry->requires_attribution};
  return licence_facts_from(flags, licence_class, licence_version, track_no_commercial);
}

struct Resolver::Impl {
  // The connection outlives its statements (declared first, destroyed last).
  std::unique_ptr<SQLite::Database> db;
  SQLite::Statement find_share;
  SQLite::Statement find_share_by_id;
  SQLite::Statement find_track;
  SQLite::Statement find_collection;
  SQLite::Statement collection_tracks;
  SQLite::Statement count_view;
  SQLite::Statement begin_read;
  SQLite::Statement end_read;
  SQLite::Statement abandon_read;

  static std::unique_ptr<SQLite::Database> open(const std::filesystem::path& file) {
    // A Resolver is used by one thread at a time (see resolver.hpp).
    auto connection = open_connection(file, SchemaKind::main, ConnectionThreading::one_thread_at_a_time);
    connection->exec("PRAGMA cache_size = -" + std::to_string(k_resolver_cache_kib));
    return connection;
  }

  explicit Impl(const std::filesystem::path& file)
      : db(open(file)),
        find_share(*db,
                   "SELECT id, target_type, target_id, visibility, expires_at, max_views, view_count, revoked_at "
                   "FROM shares WHERE token_digest = ?"),
        find_share_by_id(*db,
                         "SELECT id, target_type, target_id, visibility, expires_at, max_views, view_count, "
                         "revoked_at FROM shares WHERE id = ?"),
        find_track(*db, std::string("SELECT ") + k_track_view_columns +
                            " FROM tracks t LEFT JOIN licences l ON l.licence_class = t.licence_class "
                            "AND l.licence_version = t.licence_version WHERE t.id = ?"),
        find_collection(*db, "SELECT id, name, description, removed_at FROM collections WHERE id = ?"),
        collection_tracks(*db, std::string("SELECT ") + k_track_view_columns +
                                   " FROM collection_tracks ct JOIN tracks t ON t.id = ct.track_id "
                                   "LEFT JOIN licences l ON l.licence_class = t.licence_class "
                                   "AND l.licence_version = t.licence_version "
                                   "WHERE ct.collection_id = ? AND t.removed_at IS NULL ORDER BY ct.position"),
        count_view(*db,
                   "UPDATE shares SET view_count = view_count + 1, last_viewed_at = ?2 "
                   "WHERE id = ?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2) "
                   "AND (max_views IS NULL OR view_count < max_views)"),
        begin_read(*db, "BEGIN"),
        end_read(*db, "COMMIT"),
        abandon_read(*db, "ROLLBACK") {}

  // One read transaction around a resolve's lookups: they see one snapshot,
  // and SQLite takes its WAL read lock once instead of once per statement
  // (each time through process-wide mutexes that every worker thread
  // contends for). Ended before any write on this connection.
  class ReadSnapshot {
   public:
    explicit ReadSnapshot(Impl& impl) : impl_(impl) { run(impl_.begin_read); }
    ~ReadSnapshot() {
      if (!open_) return;
      try {
        run(impl_.abandon_read);
      } catch (...) {  // NOLINT(bugprone-empty-catch): the connection is discarded by the caller anyway
      }
    }
    ReadSnapshot(const ReadSnapshot&) = delete;
    ReadSnapshot& operator=(const ReadSnapshot&) = delete;
    void end() {
      open_ = false;
      run(impl_.end_read);
    }

   private:
    static void run(SQLite::Statement& st) {
      StatementScope scope(st);
      st.exec();
    }
    Impl& impl_;
    bool open_ = true;
  };

  struct ShareRow {
    std::string id, target_type, target_id, visibility;
    std::optional<std::int64_t> expires_at, max_views, revoked_at;
    std::int64_t view_count = 0;
  };

  std::optional<ShareRow> load_share(const std::string& digest) { return load_share_with(find_share, digest); }

  // The share row that st (find_share or find_share_by_id) finds for key.
  static std::optional<ShareRow> load_share_with(SQLite::Statement& st, const std::string& key) {
    StatementScope scope(st);
    st.bind(1, key);
    if (!st.executeStep()) return std::nullopt;
    ShareRow row;
    row.id = st.getColumn(0).getString();
    row.target_type = st.getColumn(1).getString();
    row.target_id = st.getColumn(2).getString();
    row.visibility = st.getColumn(3).getString();
    row.expires_at = optional_int(st.getColumn(4));
    row.max_views = optional_int(st.getColumn(5));
    row.view_count = st.getColumn(6).getInt64();
    row.revoked_at = optional_int(st.getColumn(7));
    return row;
  }

  static ResolveOutcome status_of(const ShareRow& row, std::int64_t now_s) {
    if (row.revoked_at) return ResolveOutcome::revoked;
    if (row.expires_at && *row.expires_at <= now_s) return ResolveOutcome::expired;
    if (row.max_views && row.view_count >= *row.max_views) return ResolveOutcome::limit_reached;
    return ResolveOutcome::ok;
  }

  // Fills result from share and its target (status, track or collection,
  // playback URLs), inside the caller's read snapshot. With
  // exhausted_is_active, a link at its view limit is read like an active one.
  void read_target(const ShareRow& share, ResolveResult& result, const ResolveOptions& options, TimePoint now,
                   const PlaybackSigner* signer, bool exhausted_is_active = false);

  // Takes the view atomically with the status check; false if the link
  // stopped being active since it was read (revoked, expired, or another
  // request took the last view).
  bool take_view(const std::string& share_id, std::int64_t now_s) {
    std::lock_guard lock(g_view_count_mutex);
    StatementScope scope(count_view);
    count_view.bind(1, share_id);
    count_view.bind(2, static_cast<int64_t>(now_s));
    return count_view.exec() == 1;
  }
};

Resolver::Resolver(const std::filesystem::path& db_file) {
  try {
    impl_ = std::make_unique<Impl>(db_file);
  } catch (const SQLite::Exception& e) {
    throw DatabaseUnavailable("cannot open database " + db_file.string() + ": " + e.what());
  }
}

Resolver::~Resolver() = default;

ResolveResult Resolver::resolve(std::string_view token, const ResolveOptions& options, TimePoint now,
                                const PlaybackSigner* signer) {
  try {
    return resolve_unguarded(token, options, now, signer);
  } catch (const SQLite::Exception& e) {
    throw DatabaseUnavailable(std::string("resolve: ") + e.what());
  }
}

void Resolver::ping() {
  try {
    StatementScope scope(impl_->find_share);
    impl_->find_share.bind(1, std::string());
    impl_->find_share.executeStep();
  } catch (const SQLite::Exception& e) {
    throw DatabaseUnavailable(std::string("ping: ") + e.what());
  }
}

ResolveResult Resolver::resolve_unguarded(std::string_view token, const ResolveOptions& options, TimePoint now,
                                          const PlaybackSigner* signer) {
  ResolveResult result;
  if (!is_share_token(token)) return result;  // not_found, no lookup

  const std::int64_t now_s = to_unix_seconds(now);
  const std::string digest = token_digest(token);
  result.token_fp = digest.substr(0, 12);  // token_fingerprint(token), without hashing twice
  std::optional<Impl::ShareRow> share;
  {
    Impl::ReadSnapshot snapshot(*impl_);
    share = impl_->load_share(digest);
    if (share) impl_->read_target(*share, result, options, now, signer);
    snapshot.end();
  }
  if (!share || result.outcome != ResolveOutcome::ok || !options.count_view) return result;

  bool counted = true;
  if (options.views == nullptr) {
    counted = impl_->take_view(share->id, now_s);
  } else if (share->max_views) {
    counted = options.views->take_limited(share->id, now_s);
  } else {
    options.views->add(share->id, now_s);  // no limit to check: written in a batch
  }
  if (!counted) {
    // Lost a race: answer with the link's status as it is now.
    ResolveResult lost;
    lost.share_id = result.share_id;
    lost.target_type = result.target_type;
    lost.visibility = result.visibility;
    lost.token_fp = result.token_fp;
    auto current = impl_->load_share(digest);
    if (current) {
      if (current->expires_at) lost.expires_at = from_unix_seconds(*current->expires_at);
      lost.outcome = Impl::status_of(*current, now_s);
    }
    if (lost.outcome == ResolveOutcome::ok) lost.outcome = ResolveOutcome::limit_reached;
    return lost;
  }
  result.view_counted = true;
  result.view_count = share->view_count + 1;
  if (options.exact_view_count && share->max_views) {
    // Views that concurrent requests counted since the snapshot (never fewer than ours).
    if (auto current = impl_->load_share(digest)) result.view_count = std::max(result.view_count, current->view_count);
  }
  return result;
}

ResolveResult Resolver::playback_for_share(std::string_view share_id, TimePoint now, const PlaybackSigner& signer) {
  try {
    ResolveResult result;
    if (!is_share_id(share_id)) return result;  // not_found
    Impl::ReadSnapshot snapshot(*impl_);
    const auto share = Impl::load_share_with(impl_->find_share_by_id, std::string(share_id));
    ResolveOptions options;
    options.count_view = false;
    if (share) impl_->read_target(*share, result, options, now, &signer, true);
    snapshot.end();
    return result;
  } catch (const SQLite::Exception& e) {
    throw DatabaseUnavailable(std::string("playback refresh: ") + e.what());
  }
}

void Resolver::Impl::read_target(const ShareRow& share, ResolveResult& result, const ResolveOptions& options,
                                 TimePoint now, const PlaybackSigner* signer, bool exhausted_is_active) {
  const std::int64_t now_s = to_unix_seconds(now);
  result.share_id = share.id;
  result.target_type = share.target_type;
  result.visibility = share.visibility;
  if (share.expires_at) result.expires_at = from_unix_seconds(*share.expires_at);
  result.max_views = share.max_views;
  result.view_count = share.view_count;
  result.outcome = status_of(share, now_s);
  if (exhausted_is_active && result.outcome == ResolveOutcome::limit_reached) result.outcome = ResolveOutcome::ok;
  if (result.outcome != ResolveOutcome::ok) return;

  // Playback URLs live until min(now + ttl, share expiry).
  std::int64_t playback_exp = 0;
  const bool mint = options.mint_playback && signer != nullptr;
  if (mint) {
    playback_exp = now_s + signer->ttl_seconds();
    if (share.expires_at && *share.expires_at < playback_exp) playback_exp = *share.expires_at;
  }
  auto add_playback = [&](TrackRow& row) {
    if (mint) row.view.playback_url = signer->mint(row.view.id, row.audio_path, share.id, playback_exp, now);
  };

  if (share.target_type == "track") {
    StatementScope scope(find_track);
    find_track.bind(1, share.target_id);
    if (!find_track.executeStep()) {
      result.outcome = ResolveOutcome::unavailable;
      return;
    }
    TrackRow row = read_track_row(find_track);
    if (row.removed) {
      result.outcome = ResolveOutcome::unavailable;
      return;
    }
    add_playback(row);
    result.track = std::move(row.view);
    return;
  }

  {
    StatementScope scope(find_collection);
    find_collection.bind(1, share.target_id);
    if (!find_collection.executeStep() || !find_collection.getColumn(3).isNull()) {
      result.outcome = ResolveOutcome::unavailable;
      return;
    }
    CollectionView collection;
    collection.id = find_collection.getColumn(0).getString();
    collection.name = find_collection.getColumn(1).getString();
    collection.description = optional_text(find_collection.getColumn(2));
    result.collection = std::move(collection);
  }
  StatementScope scope(collection_tracks);
  collection_tracks.bind(1, share.target_id);
  std::vector<TrackView> tracks;
  while (collection_tracks.executeStep()) {
    TrackRow row = read_track_row(collection_tracks);
    add_playback(row);
    tracks.push_back(std::move(row.view));
  }
  result.tracks = std::move(tracks);
}

namespace {

// The 200 body is written by hand into one string: building a JSON tree first
// cost more than the rest of a collection resolve (one allocation per value,
// an ordered map per object). Output matches nlohmann's dump(): compact, UTF-8
// passed through, only '"', '\' and control characters escaped.

// A JSON string. A byte that starts no well-formed UTF-8 sequence becomes
// U+FFFD, so a stored title can never make the answer invalid JSON.
// Bytes copied as they are: printable ASCII except '"' and '\'.
constexpr std::array<bool, 256> k_plain_json_byte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char k_hex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the bytes copied as they are
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && k_plain_json_byte[static_cast<unsigned char>(text[i])]) ++i;
    if (i == text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length > 0) {
        i += length;
        continue;
      }
    }
    out.append(text.substr(run, i - run));
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += k_hex[c >> 4];
          out += k_hex[c & 0x0F];
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD
        }
    }
    run = ++i;
  }
  out.append(text.substr(run));
  out += '"';
}

void append_json_nullable(std::string& out, const std::optional<std::string>& text) {
  if (text) {
    append_json_string(out, *text);
  } else {
    out += "null";
  }
}

// The shortest text that reads back as the same double; integral values keep
// a ".0" and non-finite ones are null (as nlohmann writes them).
void append_json_number(std::string& out, const std::optional<double>& value) {
  if (!value || !std::isfinite(*value)) {
    out += "null";
    return;
  }
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, *value).ptr;
  const std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_json_bool(std::string& out, bool value) { out += value ? "true" : "false"; }

void append_track(std::string& out, const TrackView& t) {
  out += R"({"id":)";
  append_json_string(out, t.id);
  out += R"(,"title":)";
  append_json_string(out, t.title);
  out += R"(,"engine":)";
  append_json_string(out, t.engine);
  out += R"(,"mode":)";
  append_json_string(out, t.mode);
  out += R"(,"measured_duration_seconds":)";
  append_json_number(out, t.measured_duration_seconds);
  out += R"(,"instrumental":)";
  append_json_bool(out, t.instrumental);
  out += R"(,"playback_url":)";
  append_json_nullable(out, t.playback_url);
  out += R"(,"licence":{"licence_class":)";
  append_json_string(out, t.licence.licence_class);
  out += R"(,"licence_version":)";
  append_json_string(out, t.licence.licence_version);
  out += R"(,"commercial_use":)";
  append_json_bool(out, t.licence.commercial_use);
  out += R"(,"requires_attribution":)";
  append_json_bool(out, t.licence.requires_attribution);
  out += "}}";
}

// Bytes of one track view besides its strings, for reserving the body once.
constexpr std::size_t k_track_overhead = 256;

std::size_t track_size_hint(const TrackView& t) {
  return k_track_overhead + t.id.size() + t.title.size() + t.engine.size() + t.mode.size() +
         (t.playback_url ? t.playback_url->size() : 0) + t.licence.licence_class.size() +
         t.licence.licence_version.size();
}

}  // namespace

std::string render_view(const ResolveResult& result) {
  const bool available = result.outcome == ResolveOutcome::ok;
  const bool with_tracks = available && result.tracks;
  std::size_t size = 512;
  if (available && result.track) size += track_size_hint(*result.track);
  if (with_tracks) {
    for (const auto& t : *result.tracks) size += track_size_hint(t);
  }
  std::string out;
  out.reserve(size);

  out += R"({"kind":)";
  append_json_string(out, result.target_type);
  out += R"(,"available":)";
  append_json_bool(out, available);
  out += R"(,"message":)";
  if (available) {
    out += "null";
  } else {
    append_json_string(out, k_unavailable_message);
  }
  out += R"(,"share":{"target_type":)";
  append_json_string(out, result.target_type);
  out += R"(,"visibility":)";
  append_json_string(out, result.visibility);
  out += R"(,"expires_at":)";
  if (result.expires_at) {
    append_json_string(out, format_rfc3339(*result.expires_at));
  } else {
    out += "null";
  }
  out += R"(},"track":)";
  if (available && result.track) {
    append_track(out, *result.track);
  } else {
    out += "null";
  }
  out += R"(,"collection":)";
  if (available && result.collection) {
    out += R"({"id":)";
    append_json_string(out, result.collection->id);
    out += R"(,"name":)";
    append_json_string(out, result.collection->name);
    out += R"(,"description":)";
    append_json_nullable(out, result.collection->description);
    out += '}';
  } else {
    out += "null";
  }
  out += R"(,"tracks":)";
  if (with_tracks) {
    out += '[';
    for (std::size_t i = 0; i < result.tracks->size(); ++i) {
      if (i > 0) out += ',';
      append_track(out, (*result.tracks)[i]);
    }
    out += ']';
  } else {
    out += "null";
  }
  out += '}';
  return out;
}

}  // namespace sharelink
