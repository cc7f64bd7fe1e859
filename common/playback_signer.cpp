#include "common/playback_signer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <vector>

#include "common/crypto.hpp"
#include "common/error.hpp"
#include "common/s3_presigner.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr std::size_t k_mac_bytes = std::tuple_size_v<HmacSha256Key::Digest>;
constexpr std::size_t k_sig_chars = base64url_length(k_mac_bytes);  // 43: no padding
constexpr std::size_t k_max_exp_digits = 19;
constexpr int k_max_s3_expires = 604800;
constexpr std::string_view k_media_path = "/v1/music/media/";

// A signing key with its HMAC pads prepared once (what that saves per
// signature: tests/bench/README.md).
struct KeyMac {
  std::string kid;
  HmacSha256Key key;
};

// sig = base64url_nopad(HMAC-SHA256(key, "v1\n" track "\n" share "\n" exp)), written to out.
void sign(const KeyMac& key, std::string_view track_id, std::string_view share_id, std::string_view exp,
          std::array<char, k_sig_chars>& out) {
  HmacSha256Key::Digest mac{};
  key.key.mac_to({"v1\n", track_id, "\n", share_id, "\n", exp}, mac);
  base64url_encode_to(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()), out.data());
}

// Parses a canonical decimal: digits only, no sign, no leading zero, <= 19 digits, fits int64.
bool parse_canonical_exp(std::string_view text, std::int64_t& value) {
  if (text.empty() || text.size() > k_max_exp_digits) return false;
  if (text.size() > 1 && text.front() == '0') return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size();
}

}  // namespace

struct PlaybackSigner::State {
  std::vector<KeyMac> macs;  // same order as keys_; macs.front() signs
  S3PresignRequest s3;       // s3 mode: everything but the object key, time and expiry

  const KeyMac* find(std::string_view kid) const {
    for (const auto& mac : macs) {
      if (mac.kid == kid) return &mac;
    }
    return nullptr;
  }
};

std::string playback_signing_input(std::string_view track_id, std::string_view share_id, std::int64_t exp_unix) {
  std::string input = "v1\n";
  input += track_id;
  input += '\n';
  input += share_id;
  input += '\n';
  input += std::to_string(exp_unix);
  return input;
}

PlaybackSigner::PlaybackSigner(const PlaybackConfig& config, std::string public_base_url, SigningKeys keys,
                               std::string_view s3_secret)
    : config_(config),
      base_url_(std::move(public_base_url)),
      keys_(std::move(keys)),
      ttl_seconds_(config.ttl_seconds) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();

  auto state = std::make_shared<State>();
  state->macs.reserve(keys_.keys().size());
  for (const auto& key : keys_.keys()) state->macs.push_back(KeyMac{key.kid, HmacSha256Key(key.secret)});

  if (config_.mode == PlaybackMode::s3) {
    const auto& s3 = config_.s3;
    state->s3 = s3_path_style_request(s3.endpoint, s3.bucket, "");
    state->s3.region = s3.region;
    state->s3.access_key_id = s3.access_key_id;
    state->s3.secret_access_key = std::string(trim(s3_secret));
    if (s3.region.empty()) throw Error("playback.s3.region is empty (s3 mode needs the bucket's region)");
    if (s3.access_key_id.empty()) throw Error("playback.s3.access_key_id is empty (s3 mode needs it)");
    if (state->s3.secret_access_key.empty()) {
      throw Error("the S3 secret access key is empty (put it in the file named by playback.s3.secret_access_key_file)");
    }
  }
  state_ = std::move(state);
}

std::string PlaybackSigner::mint(std::string_view track_id, std::string_view audio_path, std::string_view share_id,
                                 std::int64_t exp_unix, TimePoint now) const {
  const ShareMinter urls = minter(share_id, exp_unix, now);
  std::string url;
  url.reserve(urls.size_hint(track_id));
  urls.mint_to(url, track_id, audio_path);
  return url;
}

PlaybackSigner::ShareMinter PlaybackSigner::minter(std::string_view share_id, std::int64_t exp_unix,
                                                   TimePoint now) const {
  return ShareMinter(*this, share_id, exp_unix, now);
}

PlaybackSigner::ShareMinter::ShareMinter(const PlaybackSigner& signer, std::string_view share_id,
                                         std::int64_t exp_unix, TimePoint now)
    : signer_(signer), share_id_(share_id), exp_unix_(exp_unix), now_(now) {
  if (signer_.config_.mode == PlaybackMode::s3) return;
  const std::string& kid = signer_.state_->macs.front().kid;
  query_.reserve(share_id.size() * 3 + k_max_exp_digits + kid.size() + 24);
  query_ += "?share=";
  append_percent_encoded(query_, share_id);
  query_ += "&exp=";
  exp_at_ = query_.size();
  query_ += std::to_string(exp_unix);
  exp_size_ = query_.size() - exp_at_;
  query_ += "&kid=";
  query_ += kid;
  query_ += "&sig=";
}

std::size_t PlaybackSigner::ShareMinter::size_hint(std::string_view track_id) const {
  return signer_.base_url_.size() + k_media_path.size() + track_id.size() * 3 + query_.size() + k_sig_chars;
}

void PlaybackSigner::ShareMinter::mint_to(std::string& url, std::string_view track_id,
                                          std::string_view audio_path) const {
  if (signer_.config_.mode == PlaybackMode::s3) {
    S3PresignRequest request = signer_.state_->s3;
    request.canonical_uri += audio_path;
    request.now = now_;
    const std::int64_t ttl = exp_unix_ - to_unix_seconds(now_);
    request.expires_seconds = static_cast<int>(std::clamp<std::int64_t>(ttl, 1, k_max_s3_expires));
    url += s3_presign_get(request);
    return;
  }
  std::array<char, k_sig_chars> sig{};
  const std::string_view exp = std::string_view(query_).substr(exp_at_, exp_size_);
  sign(signer_.state_->macs.front(), track_id, share_id_, exp, sig);
  url += signer_.base_url_;
  url += k_media_path;
  append_percent_encoded(url, track_id);
  url += query_;
  url.append(sig.data(), sig.size());
}

PlaybackCheck PlaybackSigner::verify(std::string_view track_id, std::string_view share_id, std::string_view exp,
                                     std::string_view kid, std::string_view sig, TimePoint now) const {
  const KeyMac* key = state_->find(kid);
  if (key == nullptr) return PlaybackCheck::bad_signature;
  std::int64_t exp_unix = 0;
  if (!parse_canonical_exp(exp, exp_unix)) return PlaybackCheck::bad_signature;
  std::array<char, k_sig_chars> expected{};
  sign(*key, track_id, share_id, exp, expected);
  // Lengths are public; constant_time_equal compares the bytes with CRYPTO_memcmp.
  if (!constant_time_equal(sig, std::string_view(expected.data(), expected.size()))) {
    return PlaybackCheck::bad_signature;
  }
  // The signature is checked first, so a tampered exp is bad_signature, not expired.
  if (exp_unix <= to_unix_seconds(now)) return PlaybackCheck::expired;
  return PlaybackCheck::ok;
}

namespace {

constexpr std::size_t k_max_secret_file_bytes = 4096;

std::string read_secret_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read playback.s3.secret_access_key_file " + file.string());
  std::string secret(k_max_secret_file_bytes + 1, '\0');
  in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  secret.resize(static_cast<std::size_t>(in.gcount()));
  if (secret.size() > k_max_secret_file_bytes) {
    throw Error("playback.s3.secret_access_key_file " + file.string() + " is larger than a secret can be");
  }
  return secret;  // the constructor trims surrounding whitespace and rejects an empty secret
}

}  // namespace

std::shared_ptr<const PlaybackSigner> load_playback_signer(const Config& config) {
  auto keys = SigningKeys::load(config.playback.key_file);
  std::string s3_secret;
  if (config.playback.mode == PlaybackMode::s3) s3_secret = read_secret_file(config.playback.s3.secret_access_key_file);
  return std::make_shared<const PlaybackSigner>(config.playback, config.public_base_url(), std::move(keys),
                                                s3_secret);
}

}  // namespace sharelink
