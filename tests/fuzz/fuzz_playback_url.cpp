// Fuzzes playback URL verification (SPEC 5): nothing verifies but what was signed, and what was signed verifies.
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/playback_signer.hpp"
#include "common/signing_keys.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace sharelink;
using sharelink::fuzz::require;

namespace {

const TimePoint k_now = from_unix_seconds(1785000000);

const PlaybackSigner& signer() {
  static const PlaybackSigner instance = [] {
    PlaybackConfig config;
    config.mode = PlaybackMode::builtin;
    config.ttl_seconds = 300;
    std::vector<SigningKey> keys = {{"k1", std::string(32, '\x11'), std::nullopt},
                                    {"k0", std::string(40, '\x22'), std::nullopt}};
    return PlaybackSigner(config, "https://music.example.org", SigningKeys(std::move(keys)));
  }();
  return instance;
}

// The value of a query parameter in a minted URL (minted values need no decoding).
std::string param(const std::string& url, const std::string& name) {
  const std::size_t at = url.find("&" + name + "=") != std::string::npos ? url.find("&" + name + "=")
                                                                         : url.find("?" + name + "=");
  if (at == std::string::npos) return {};
  const std::size_t start = at + name.size() + 2;
  return url.substr(start, url.find('&', start) - start);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = sharelink::fuzz::text_of(data, size);
  const std::string track(sharelink::fuzz::take_line(rest));
  const std::string share(sharelink::fuzz::take_line(rest));
  const std::string exp(sharelink::fuzz::take_line(rest));
  const std::string kid(sharelink::fuzz::take_line(rest));
  const std::string sig(sharelink::fuzz::take_line(rest));

  // Arbitrary parameters: a verdict, never a crash; ok only for the signature of exactly these.
  const PlaybackCheck verdict = signer().verify(track, share, exp, kid, sig, k_now);
  if (verdict == PlaybackCheck::ok) {
    require(kid == "k1", "only the signing key's own signatures can be reproduced");
    const std::string url = signer().mint(track, "", share, std::stoll(exp), k_now);
    require(param(url, "sig") == sig, "a verified signature is the one the signer makes");
  }

  // Whatever the ids, a freshly minted URL verifies, and a changed share id does not.
  const std::int64_t expiry = 1785000000 + 1 + static_cast<std::int64_t>(size % 100000);
  const std::string url = signer().mint(track, "", share, expiry, k_now);
  const std::string minted_sig = param(url, "sig");
  require(signer().verify(track, share, std::to_string(expiry), "k1", minted_sig, k_now) == PlaybackCheck::ok,
          "a minted URL verifies");
  require(signer().verify(track, share + "x", std::to_string(expiry), "k1", minted_sig, k_now) ==
              PlaybackCheck::bad_signature,
          "a tampered share id does not verify");
  require(signer().verify(track, share, std::to_string(expiry), "k1", minted_sig,
                          from_unix_seconds(expiry)) == PlaybackCheck::expired,
          "a URL at its expiry is expired");
  return 0;
}
