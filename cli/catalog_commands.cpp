// sharectl licence / track / collection: the catalogue the resolver answers from.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli/arguments.hpp"
#include "cli/commands.hpp"
#include "cli/human_output.hpp"
#include "cli/json_format.hpp"
#include "common/admin.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/resolver.hpp"
#include "common/track_import.hpp"

namespace sharelink {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t k_max_import_problems_shown = 20;

std::string yes_no(bool value) { return value ? "yes" : "no"; }

std::string duration_text(const std::optional<double>& seconds) {
  if (!seconds) return "-";
  std::ostringstream out;
  out << *seconds << " s";
  return out.str();
}

// The registry entry of a track's (class, version), if the registry has one.
std::optional<Licence> registry_entry(Context& context, const Track& track) {
  const auto licence_class = parse_licence_class(track.licence_class);
  if (!licence_class) return std::nullopt;
  return context.admin().licence(*licence_class, track.licence_version);
}

// Accepted (SPEC 4), but the operator should know the view will not promise more than the registry does.
void warn_about_licence(Context& context, const Track& track) {
  const std::string consequence =
      ": the track is shown with commercial_use false and requires_attribution true";
  if (track.licence_class == to_string(LicenceClass::unclear)) {
    print_warning("licence class \"unclear\"" + consequence);
  } else if (!registry_entry(context, track)) {
    print_warning("licence " + track.licence_class + "@" + track.licence_version + " is not in the licence registry" +
                  consequence + " until it is added (see \"sharectl licence list\")");
  }
}

// ---- licence ----------------------------------------------------------------

void print_licences(const std::vector<Licence>& licences) {
  Table table({"CLASS", "VERSION", "COMMERCIAL_USE", "REQUIRES_ATTRIBUTION"});
  for (const auto& licence : licences) {
    table.add_row({to_string(licence.licence_class), licence.licence_version, yes_no(licence.commercial_use),
                   yes_no(licence.requires_attribution)});
  }
  table.print(std::cout);
}

// ---- tracks and collections -------------------------------------------------

// What track and collection commands do alike (show, list, remove, restore), per kind.
struct TrackKind {
  using Item = Track;
  static constexpr const char* noun = "track";
  static std::optional<Track> find(Context& c, const std::string& id) { return c.admin().track(id); }
  static std::vector<Track> all(Context& c) { return c.admin().tracks(); }
  static bool set_removed(Context& c, const std::string& id, std::optional<TimePoint> at) {
    return c.admin().set_track_removed(id, at);
  }
  static CommandResult unknown(std::string_view id) { return unknown_track(id); }
  static std::string json(const Track& track) { return track_json(track); }

  static void print(Context& c, const Track& track) {
    const LicenceFacts facts = licence_facts(track, registry_entry(c, track));
    print_fields(std::cout,
                 {{"id", track.id},
                  {"title", track.title},
                  {"engine", track.engine},
                  {"mode", track.mode},
                  {"duration", duration_text(track.measured_duration_seconds)},
                  {"instrumental", yes_no(track.instrumental)},
                  {"licence", track.licence_class + "@" + track.licence_version},
                  {"no_commercial", yes_no(track.no_commercial)},
                  {"shown as", "commercial use " + yes_no(facts.commercial_use) + ", attribution " +
                                   (facts.requires_attribution ? "required" : "not required")},
                  {"mime_type", track.mime_type},
                  {"audio_path", track.audio_path},
                  {"removed_at", time_or(track.removed_at)},
                  {"created_at", format_rfc3339(track.created_at)}});
  }

  static void print_list(const std::vector<Track>& tracks) {
    Table table({"ID", "STATUS", "LICENCE", "DURATION", "TITLE"});
    for (const auto& track : tracks) {
      table.add_row({track.id, track.removed_at ? "removed" : "active",
                     track.licence_class + "@" + track.licence_version,
                     duration_text(track.measured_duration_seconds), track.title});
    }
    table.print(std::cout);
  }
};

struct CollectionKind {
  using Item = Collection;
  static constexpr const char* noun = "collection";
  static std::optional<Collection> find(Context& c, const std::string& id) {
    return c.admin().collection(id);
  }
  static std::vector<Collection> all(Context& c) { return c.admin().collections(); }
  static bool set_removed(Context& c, const std::string& id, std::optional<TimePoint> at) {
    return c.admin().set_collection_removed(id, at);
  }
  static CommandResult unknown(std::string_view id) { return unknown_collection(id); }
  static std::string json(const Collection& collection) { return collection_json(collection); }

  static void print(Context&, const Collection& collection) {
    print_fields(std::cout,
                 {{"id", collection.id},
                  {"name", collection.name},
                  {"description", or_dash(collection.description.value_or(""))},
                  {"tracks", std::to_string(collection.track_ids.size()) +
                                 (collection.track_ids.empty() ? "" : ": " + joined(collection.track_ids))},
                  {"removed_at", time_or(collection.removed_at)},
                  {"created_at", format_rfc3339(collection.created_at)}});
  }

  static void print_list(const std::vector<Collection>& collections) {
    Table table({"ID", "STATUS", "TRACKS", "CREATED", "NAME"});
    for (const auto& collection : collections) {
      table.add_row({collection.id, collection.removed_at ? "removed" : "active",
                     std::to_string(collection.track_ids.size()), format_rfc3339(collection.created_at),
                     collection.name});
    }
    table.print(std::cout);
  }
};

template <typename Kind>
void print_item(Context& context, const typename Kind::Item& item) {
  if (context.json()) {
    context.print_json(Kind::json(item));
  } else {
    Kind::print(context, item);
  }
}

template <typename Kind>
CommandResult show(Context& context, const std::string& id) {
  const auto item = Kind::find(context, id);
  if (!item) return Kind::unknown(id);
  print_item<Kind>(context, *item);
  return CommandResult::ok();
}

template <typename Kind>
CommandResult list(Context& context) {
  const auto items = Kind::all(context);
  if (context.json()) {
    std::vector<std::string> documents;
    documents.reserve(items.size());
    for (const auto& item : items) documents.push_back(Kind::json(item));
    context.print_json(json_array(documents));
  } else {
    Kind::print_list(items);
  }
  return CommandResult::ok();
}

// remove (removed = true) or restore. Repeating either is not an error: it says so and changes nothing.
template <typename Kind>
CommandResult set_removed(Context& context, const std::string& id, bool removed) {
  const auto before = Kind::find(context, id);
  if (!before) return Kind::unknown(id);
  const std::string action = std::string(Kind::noun) + (removed ? ".remove" : ".restore");
  std::string message;
  if (removed && before->removed_at) {
    message =
        std::string(Kind::noun) + " " + id + " was already removed at " + format_rfc3339(*before->removed_at);
  } else if (!removed && !before->removed_at) {
    message = std::string(Kind::noun) + " " + id + " is not removed";
  } else {
    if (!Kind::set_removed(context, id, removed ? std::optional<TimePoint>(context.now()) : std::nullopt)) {
      return Kind::unknown(id);
    }
    message = removed ? "removed " + std::string(Kind::noun) + " " + id +
                            ": its share links now answer available:false"
                      : "restored " + std::string(Kind::noun) + " " + id;
  }
  context.record_admin(action, "", message);
  if (context.json()) {
    const auto after = Kind::find(context, id);
    if (!after) return Kind::unknown(id);
    context.print_json(Kind::json(*after));
  } else {
    std::cout << message << '\n';
  }
  return CommandResult::ok();
}

// ---- track import -----------------------------------------------------------

struct ImportPlan {
  std::vector<Track> tracks;
  std::vector<std::string> problems;  // "FILE:LINE: what"
  std::size_t missing_audio = 0;
  std::string first_missing_audio;
};

ImportPlan plan_import(Context& context, std::istream& in, const std::string& label) {
  ImportPlan plan;
  std::map<std::string, std::size_t> line_of_id;
  const fs::path& media_root = context.config().playback.media_root;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = label + ":" + std::to_string(number) + ": ";
    try {
      ImportedTrack imported = parse_track_line(line);
      Track& track = imported.track;
      track.audio_path = audio_path_inside("\"audio_path\"", track.audio_path, media_root);
      if (!imported.has_mime_type) track.mime_type = guess_mime_type(track.audio_path);
      if (const auto [it, inserted] = line_of_id.emplace(track.id, number); !inserted) {
        throw UsageError("id \"" + track.id + "\" already appears on line " + std::to_string(it->second));
      }
      if (!imported.has_created_at) {
        const auto existing = context.admin().track(track.id);
        track.created_at = existing ? existing->created_at : context.now();
      }
      if (!fs::exists(media_root / track.audio_path) && plan.missing_audio++ == 0) {
        plan.first_missing_audio = track.audio_path;
      }
      plan.tracks.push_back(std::move(track));
    } catch (const UsageError& e) {
      plan.problems.push_back(where + e.what());
    }
  }
  if (in.bad()) throw Error("cannot read " + label + ": " + std::strerror(errno));
  return plan;
}

}  // namespace

CommandResult run_licence_set(Context& context, const LicenceSetArgs& args) {
  Licence licence;
  licence.licence_class = parse_licence_class_arg("CLASS", args.licence_class);
  licence.licence_version = parse_licence_version("VERSION", args.licence_version);
  licence.commercial_use = parse_yes_no("--commercial-use", args.commercial_use);
  licence.requires_attribution = parse_yes_no("--requires-attribution", args.requires_attribution);
  context.admin().set_licence(licence);
  const std::string summary = std::string(to_string(licence.licence_class)) + "@" + licence.licence_version + ": commercial use " +
                              yes_no(licence.commercial_use) + ", attribution " +
                              (licence.requires_attribution ? "required" : "not required");
  context.record_admin("licence.set", "", summary);
  if (context.json()) {
    context.print_json(licence_json(licence));
  } else {
    std::cout << "licence " << summary << '\n';
  }
  return CommandResult::ok();
}

CommandResult run_licence_list(Context& context) {
  const auto licences = context.admin().licences();
  if (context.json()) {
    std::vector<std::string> documents;
    documents.reserve(licences.size());
    for (const auto& licence : licences) documents.push_back(licence_json(licence));
    context.print_json(json_array(documents));
  } else {
    print_licences(licences);
  }
  return CommandResult::ok();
}

CommandResult run_track_add(Context& context, const TrackAddArgs& args) {
  Track track;
  track.title = parse_text("--title", args.title, k_max_title_bytes);
  track.engine = parse_text("--engine", args.engine, k_max_engine_bytes);
  track.mode = parse_text("--mode", args.mode, k_max_mode_bytes);
  const auto at = args.licence.find('@');
  if (at == std::string::npos) {
    throw UsageError("--licence: expected CLASS@VERSION (e.g. personal_only@2026-01), got " +
                     quote_value(args.licence));
  }
  track.licence_class = to_string(parse_licence_class_arg("--licence", args.licence.substr(0, at)));
  track.licence_version = parse_licence_version("--licence", args.licence.substr(at + 1));
  const fs::path& media_root = context.config().playback.media_root;
  track.audio_path = audio_path_inside("--audio", args.audio, media_root);
  track.mime_type = args.mime ? parse_mime_type("--mime", *args.mime) : guess_mime_type(track.audio_path);
  if (args.duration) track.measured_duration_seconds = parse_seconds("--duration", *args.duration);
  track.instrumental = args.instrumental;
  track.no_commercial = args.no_commercial;
  if (args.id && !is_track_id(*args.id)) {
    throw UsageError("--id: expected " + std::string(k_track_id_form) + ", got " + quote_value(*args.id));
  }
  track.id = args.id ? *args.id : new_track_id();
  track.created_at = context.now();

  const std::string duplicate = "--id: track \"" + track.id +
                                "\" already exists (see \"sharectl track show " + track.id +
                                "\"; \"sharectl track import\" updates tracks)";
  if (context.admin().track(track.id)) throw UsageError(duplicate);
  warn_about_licence(context, track);
  if (const fs::path file = media_root / track.audio_path; !fs::exists(file)) {
    print_warning("audio file " + file.string() +
                  " does not exist yet (copy it there before sharing the track)");
  }
  if (!context.admin().add_track(track)) throw UsageError(duplicate);
  context.record_admin("track.add", "", track.id + " \"" + track.title + "\"");
  if (context.json()) {
    context.print_json(track_json(track));
  } else {
    std::cout << "added track " << track.id << " \"" << track.title << "\"\n";
  }
  return CommandResult::ok();
}

CommandResult run_track_import(Context& context, const std::string& file) {
  const bool from_stdin = file == "-";
  const std::string label = from_stdin ? "<stdin>" : file;
  std::ifstream stream;
  if (!from_stdin) {
    stream.open(file);
    if (!stream) throw Error("cannot read " + file + ": " + std::strerror(errno));
  }
  const ImportPlan plan = plan_import(context, from_stdin ? std::cin : stream, label);

  if (!plan.problems.empty()) {
    for (std::size_t i = 0; i < plan.problems.size() && i < k_max_import_problems_shown; ++i) {
      print_error(plan.problems[i]);
    }
    if (plan.problems.size() > k_max_import_problems_shown) {
      print_error("... and " + std::to_string(plan.problems.size() - k_max_import_problems_shown) +
                  " more problems");
    }
    throw UsageError("nothing imported: " + std::to_string(plan.problems.size()) + " invalid line" +
                     (plan.problems.size() == 1 ? "" : "s") + " in " + label);
  }

  std::set<std::pair<std::string, std::string>> licences;
  std::size_t created = 0;
  for (const auto& track : plan.tracks) {
    if (licences.emplace(track.licence_class, track.licence_version).second) {
      warn_about_licence(context, track);
    }
    if (!context.admin().track(track.id)) ++created;
  }
  if (plan.missing_audio > 0) {
    print_warning(std::to_string(plan.missing_audio) + " of the audio files do not exist yet under " +
                  context.config().playback.media_root.string() + " (first: " + plan.first_missing_audio +
                  "); copy them there before sharing the tracks");
  }
  context.admin().upsert_tracks(plan.tracks);
  const std::size_t updated = plan.tracks.size() - created;
  const std::string summary = "imported " + std::to_string(plan.tracks.size()) + " track" +
                              (plan.tracks.size() == 1 ? "" : "s") + " (" + std::to_string(created) +
                              " new, " + std::to_string(updated) + " updated)";
  context.record_admin("track.import", "", summary + " from " + label);
  if (context.json()) {
    context.print_json(JsonObject()
                           .add("imported", static_cast<std::int64_t>(plan.tracks.size()))
                           .add("created", static_cast<std::int64_t>(created))
                           .add("updated", static_cast<std::int64_t>(updated))
                           .dump());
  } else {
    std::cout << summary << '\n';
  }
  return CommandResult::ok();
}

CommandResult run_track_list(Context& context) { return list<TrackKind>(context); }
CommandResult run_track_show(Context& context, const std::string& id) { return show<TrackKind>(context, id); }
CommandResult run_track_remove(Context& context, const std::string& id) {
  return set_removed<TrackKind>(context, id, true);
}
CommandResult run_track_restore(Context& context, const std::string& id) {
  return set_removed<TrackKind>(context, id, false);
}

CommandResult run_collection_create(Context& context, const CollectionCreateArgs& args) {
  Collection collection;
  collection.name = parse_text("--name", args.name, k_max_collection_name_bytes);
  if (args.description)
    collection.description = parse_text("--description", *args.description, k_max_description_bytes);
  if (args.id && !is_collection_id(*args.id)) {
    throw UsageError("--id: expected " + std::string(k_collection_id_form) + ", got " +
                     quote_value(*args.id));
  }
  collection.id = args.id ? *args.id : new_collection_id();
  collection.created_at = context.now();
  if (!context.admin().add_collection(collection)) {
    throw UsageError("--id: collection \"" + collection.id +
                     "\" already exists (see \"sharectl collection show " + collection.id + "\")");
  }
  context.record_admin("collection.create", "", collection.id + " \"" + collection.name + "\"");
  if (context.json()) {
    context.print_json(collection_json(collection));
  } else {
    std::cout << "created collection " << collection.id << " \"" << collection.name << "\"\n";
  }
  return CommandResult::ok();
}

namespace {

// collection add (append = true) / drop: all or nothing, the outcome naming the first offending track.
CommandResult change_membership(Context& context, const std::string& collection_id,
                                const std::vector<std::string>& track_ids, bool append) {
  if (!context.admin().collection(collection_id)) return unknown_collection(collection_id);
  std::string offender;
  const auto change = append ? append_tracks(context.admin(), collection_id, track_ids, &offender)
                             : drop_tracks(context.admin(), collection_id, track_ids, &offender);
  switch (change) {
    case MembershipChange::ok:
      break;
    case MembershipChange::unknown_collection:
      return unknown_collection(collection_id);
    case MembershipChange::unknown_track:
      return unknown_track(offender);
    case MembershipChange::duplicate_track:
      throw UsageError("track \"" + offender + "\" is already in collection \"" + collection_id +
                       "\" (a track appears once; nothing was added)");
    case MembershipChange::not_member:
      return CommandResult::not_found("track " + quote_value(offender) + " is not in collection \"" +
                                      collection_id + "\" (see \"sharectl collection show " + collection_id +
                                      "\")");
  }
  if (append) {
    for (const auto& id : track_ids) {
      if (const auto track = context.admin().track(id); track && track->removed_at) {
        print_warning("track " + id +
                      " is removed: shares of the collection leave it out until it is restored");
      }
    }
  }
  context.record_admin(append ? "collection.add" : "collection.drop", "",
                       collection_id + (append ? " + " : " - ") + joined(track_ids, " "));
  const auto after = context.admin().collection(collection_id);
  if (!after) return unknown_collection(collection_id);
  if (context.json()) {
    context.print_json(collection_json(*after));
  } else {
    std::cout << (append ? "added " : "dropped ") << track_ids.size() << " track"
              << (track_ids.size() == 1 ? "" : "s") << (append ? " to " : " from ") << "collection "
              << collection_id << ", which now has " << after->track_ids.size() << '\n';
  }
  return CommandResult::ok();
}

}  // namespace

CommandResult run_collection_add(Context& context, const std::string& collection_id,
                                 const std::vector<std::string>& track_ids) {
  return change_membership(context, collection_id, track_ids, true);
}
CommandResult run_collection_drop(Context& context, const std::string& collection_id,
                                  const std::vector<std::string>& track_ids) {
  return change_membership(context, collection_id, track_ids, false);
}
CommandResult run_collection_list(Context& context) { return list<CollectionKind>(context); }
CommandResult run_collection_show(Context& context, const std::string& id) {
  return show<CollectionKind>(context, id);
}
CommandResult run_collection_remove(Context& context, const std::string& id) {
  return set_removed<CollectionKind>(context, id, true);
}
CommandResult run_collection_restore(Context& context, const std::string& id) {
  return set_removed<CollectionKind>(context, id, false);
}

}  // namespace sharelink
