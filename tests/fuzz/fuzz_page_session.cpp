// Fuzzes page-session verification (SPEC 12): nothing verifies but what was issued, what was issued
// verifies until its expiry, and a session names exactly the share and view it was issued for.
#include <string>
#include <vector>

#include "common/page_session.hpp"
#include "common/signing_keys.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace sharelink;
using sharelink::fuzz::require;

namespace {

const TimePoint k_now = from_unix_seconds(1785000000);

const PageSessionSigner& signer() {
  static const PageSessionSigner instance = [] {
    std::vector<SigningKey> keys = {{"k1", std::string(32, '\x11'), std::nullopt},
                                    {"k0", std::string(40, '\x22'), std::nullopt}};
    return PageSessionSigner(SigningKeys(std::move(keys)));
  }();
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = sharelink::fuzz::text_of(data, size);

  // Arbitrary text: a verdict, never a crash; ok only for a session this signer issues byte for byte.
  const PageSessionVerdict verdict = signer().verify(text, k_now);
  if (verdict.check == PageSessionCheck::ok) {
    require(text.size() <= k_max_page_session_bytes, "a verified session is within the size bound");
    require(verdict.session.expires_at > k_now, "a verified session has not expired");
    // The current key (k1) issues; an older key (k0) still verifies what it signed before a rotation.
    if (text.rfind("ps1.k1.", 0) == 0) {
      require(signer().issue(verdict.session.share_id, verdict.session.view_id, verdict.session.expires_at) == text,
              "a verified session is the one the signer issues");
    }
  }
  if (verdict.check == PageSessionCheck::expired) {
    require(verdict.session.expires_at <= k_now, "an expired verdict names a past expiry");
  }

  // Whatever the input, an issued session verifies, and a session with one byte changed does not.
  const TimePoint expires = k_now + std::chrono::seconds(1 + static_cast<long>(size % 100000));
  const std::string issued = signer().issue("mslink_3a7f2c9e8b14", "req_5f0c1e2d3a4b6c7d", expires);
  require(signer().verify(issued, k_now).check == PageSessionCheck::ok, "an issued session verifies");
  require(signer().verify(issued, expires).check == PageSessionCheck::expired, "a session at its expiry is expired");
  if (size > 0) {
    std::string tampered = issued;
    const std::size_t at = data[0] % tampered.size();
    tampered[at] = static_cast<char>(tampered[at] ^ (data[size - 1] | 1));
    require(signer().verify(tampered, k_now).check != PageSessionCheck::ok, "a changed session does not verify");
  }
  return 0;
}
