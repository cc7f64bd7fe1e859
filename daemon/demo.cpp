#include "daemon/demo.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/admin.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/installation.hpp"
#include "common/store.hpp"

namespace sharelink {
namespace {

void put_le(std::string& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

// A mono 16-bit 8 kHz WAV of a fading sine tone.
std::string make_tone_wav(double frequency, double seconds) {
  constexpr std::uint32_t k_rate = 8000;
  const auto samples = static_cast<std::uint32_t>(seconds * k_rate);
  std::string wav = "RIFF";
  put_le(wav, 36 + samples * 2, 4);
  wav += "WAVEfmt ";
  put_le(wav, 16, 4);
  put_le(wav, 1, 2);  // PCM
  put_le(wav, 1, 2);  // mono
  put_le(wav, k_rate, 4);
  put_le(wav, k_rate * 2, 4);
  put_le(wav, 2, 2);
  put_le(wav, 16, 2);
  wav += "data";
  put_le(wav, samples * 2, 4);
  for (std::uint32_t i = 0; i < samples; ++i) {
    const double t = static_cast<double>(i) / k_rate;
    const double envelope = 1.0 - static_cast<double>(i) / samples;
    const auto sample = static_cast<std::int16_t>(12000 * envelope * std::sin(2 * M_PI * frequency * t));
    put_le(wav, static_cast<std::uint16_t>(sample), 2);
  }
  return wav;
}

void write_file(const std::filesystem::path& file, const std::string& content) {
  std::ofstream out(file, std::ios::binary);
  out << content;
  if (!out) throw Error("cannot write " + file.string());
}

std::filesystem::path make_temp_directory() {
  const auto base = std::filesystem::temp_directory_path() / "shared-linkd-demo-XXXXXX";
  std::string pattern = base.string();
  if (::mkdtemp(pattern.data()) == nullptr) throw Error("cannot create a temporary directory under " + base.parent_path().string());
  return pattern;
}

}  // namespace

DemoInstallation create_demo_installation(const std::string& listen) {
  DemoInstallation demo;
  demo.directory = make_temp_directory();
  demo.config_file = demo.directory / "shared-linkd.toml";
  write_file(demo.config_file, "# Written by shared-linkd --demo\n[server]\nlisten = \"" + listen +
                                   "\"\n\n[database]\npath = \"shared-link.db\"\naudit_path = \"shared-link-audit.db\"\n\n"
                                   "[playback]\nkey_file = \"signing.keys\"\nmedia_root = \"media\"\n");
  demo.config = load_config_file(demo.config_file);
  const Config& config = demo.config;
  const auto now = system_clock_now();
  const auto storage = open_storage(config.database);
  initialize_installation(config, *storage, now);
  const auto admin = storage->open_admin();

  struct DemoTrack {
    const char* id;
    const char* title;
    LicenceClass licence_class;
    double frequency;
    bool instrumental;
  };
  const DemoTrack samples[] = {
      {"mtrack_b4d9e1c6a72f", "Late Night Study", LicenceClass::personal_only, 220.0, true},
      {"mtrack_5e0a7c2d9b13", "Morning Commute", LicenceClass::commercial_cleared, 329.6, false},
      {"mtrack_c81f3a6e0d42", "Rainy Window", LicenceClass::unclear, 392.0, true},
  };
  for (const auto& sample : samples) {
    const std::string file_name = std::string(sample.id) + ".wav";
    write_file(config.playback.media_root / file_name, make_tone_wav(sample.frequency, 4.0));
    Track track;
    track.id = sample.id;
    track.title = sample.title;
    track.engine = "studio";
    track.mode = "creation";
    track.measured_duration_seconds = 4.0;
    track.instrumental = sample.instrumental;
    track.licence_class = to_string(sample.licence_class);
    track.licence_version = "2026-01";
    track.mime_type = "audio/wav";
    track.audio_path = file_name;
    track.created_at = now;
    admin->add_track(track);
  }
  Collection collection;
  collection.id = "mcoll_7d2e9a4b1c05";
  collection.name = "Focus Sessions";
  collection.description = "Three sketches for late work.";
  collection.created_at = now;
  admin->add_collection(collection);
  append_tracks(*admin, collection.id, {samples[0].id, samples[1].id, samples[2].id}, nullptr);
  // The third track is removed by its creator: collection views leave it out.
  admin->set_track_removed(samples[2].id, now);

  auto share = [&](const char* description, NewShare request) {
    request.created_by = "demo";
    demo.links.push_back({description, create_share(*admin, request, now).token});
  };
  share("track share, expires in 7 days", {TargetType::track, samples[0].id, Visibility::link_only, now + std::chrono::hours(24 * 7), {}, {}, {}});
  share("collection share (public)", {TargetType::collection, collection.id, Visibility::public_link, {}, {}, {}, {}});
  share("track share limited to 3 views", {TargetType::track, samples[1].id, Visibility::link_only, {}, 3, {}, {}});
  share("share of a removed track (available: false)", {TargetType::track, samples[2].id, Visibility::link_only, {}, {}, {}, {}});
  auto revoked = create_share(*admin, {TargetType::track, samples[1].id, Visibility::link_only, {}, {}, {}, "demo"}, now);
  admin->revoke_share(revoked.share.id, std::string("demo of a revoked link"), now);
  demo.links.push_back({"revoked share (410 SHARE_REVOKED)", revoked.token});
  return demo;
}

std::string demo_instructions(const DemoInstallation& demo, const std::string& base_url) {
  std::ostringstream out;
  out << "\nshared-linkd demo: installation in " << demo.directory.string() << "\n\n";
  // The share pages first: what a person who gets a link opens.
  out << "Open the share pages in a browser:\n";
  for (const auto& link : demo.links) {
    out << "  # " << link.description << "\n  " << base_url << "/s/" << link.token << "\n";
  }
  out << "\nOr ask the API:\n";
  for (const auto& link : demo.links) {
    out << "  # " << link.description << "\n  curl -s " << base_url << "/v1/music/shared/" << link.token << "\n";
  }
  out << "  # unknown token (404 SHARE_NOT_FOUND)\n  curl -s " << base_url
      << "/v1/music/shared/shr_00000000000000000000000000000000\n";
  out << "  # health and metrics\n  curl -s " << base_url << "/healthz\n  curl -s " << base_url << "/metrics\n";
  out << "\nManage it with: sharectl --config " << demo.config_file.string() << " share list\n\n";
  return out.str();
}

}  // namespace sharelink
