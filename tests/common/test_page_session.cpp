// Unit tests of page sessions: signing, binding to a share and a view, expiry (injected clock), key rotation.
#include <catch2/catch.hpp>

#include <string>

#include "common/crypto.hpp"
#include "common/page_session.hpp"
#include "common/playback_signer.hpp"
#include "common/text.hpp"

using namespace sharelink;
using namespace std::chrono_literals;

namespace {

const TimePoint k_now = from_unix_seconds(1785000000);
const std::string k_share = "mslink_3a7f2c9e8b14";
const std::string k_view = "req_5f0c1e2d3a4b6c7d";

SigningKeys keys(std::initializer_list<std::pair<const char*, char>> entries) {
  std::vector<SigningKey> out;
  for (const auto& [kid, fill] : entries) out.push_back({kid, std::string(32, fill), {}});
  return SigningKeys(out);
}

}  // namespace

TEST_CASE("PageSession: an issued session verifies and names its share and view", "[page_session]") {
  const PageSessionSigner signer(keys({{"k1", 'a'}}));
  const std::string session = signer.issue(k_share, k_view, k_now + 12h);
  CHECK(session.rfind("ps1.k1." + k_share + "." + k_view + ".", 0) == 0);
  CHECK(session.size() <= k_max_page_session_bytes);
  const PageSessionVerdict verdict = signer.verify(session, k_now);
  REQUIRE(verdict.check == PageSessionCheck::ok);
  CHECK(verdict.session.share_id == k_share);
  CHECK(verdict.session.view_id == k_view);
  CHECK(verdict.session.expires_at == k_now + 12h);
}

TEST_CASE("PageSession: expiry follows the injected clock", "[page_session]") {
  const PageSessionSigner signer(keys({{"k1", 'a'}}));
  const std::string session = signer.issue(k_share, k_view, k_now + 1h);
  CHECK(signer.verify(session, k_now + 1h - 1s).check == PageSessionCheck::ok);
  const auto at_end = signer.verify(session, k_now + 1h);
  CHECK(at_end.check == PageSessionCheck::expired);
  CHECK(at_end.session.share_id == k_share);  // the share is still known for the audit record
  CHECK(signer.verify(session, k_now + 48h).check == PageSessionCheck::expired);
}

TEST_CASE("PageSession: any change to a session makes it invalid", "[page_session]") {
  const PageSessionSigner signer(keys({{"k1", 'a'}}));
  const std::string session = signer.issue(k_share, k_view, k_now + 1h);
  const std::string exp = std::to_string(to_unix_seconds(k_now + 1h));
  const std::string sig = session.substr(session.rfind('.') + 1);
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = session;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  const std::vector<std::string> tampered = {
      replaced(k_share, "mslink_3a7f2c9e8b15"),            // another share
      replaced(k_view, "req_5f0c1e2d3a4b6c7e"),             // another view
      replaced("." + exp + ".", "." + std::to_string(to_unix_seconds(k_now + 100h)) + "."),  // a longer life
      replaced("ps1.", "ps2."),
      replaced(".k1.", ".k2."),
      session.substr(0, session.size() - 1) + (session.back() == 'A' ? "B" : "A"),
      session + "A",
      session + ".x",
      session.substr(0, session.rfind('.')),
      "",
      "ps1",
      "ps1.....",
      std::string(300, 'a'),
      replaced("." + exp + ".", ".0" + exp + "."),  // non-canonical number
      replaced("." + exp + ".", ".-1."),
      replaced(sig, std::string(43, 'A')),
  };
  for (const auto& text : tampered) {
    INFO(text);
    CHECK(signer.verify(text, k_now).check == PageSessionCheck::invalid);
  }
}

TEST_CASE("PageSession: another key set, or a playback signature, does not verify", "[page_session]") {
  const PageSessionSigner signer(keys({{"k1", 'a'}}));
  const PageSessionSigner other(keys({{"k1", 'b'}}));
  CHECK(other.verify(signer.issue(k_share, k_view, k_now + 1h), k_now).check == PageSessionCheck::invalid);

  // Domain separation: the session key is derived, so a session signature
  // differs from an HMAC with the raw playback key over the same input.
  const std::string session = signer.issue(k_share, k_view, k_now + 1h);
  const std::string exp = std::to_string(to_unix_seconds(k_now + 1h));
  const std::string raw = base64url_encode(
      hmac_sha256(std::string(32, 'a'), "ps1\nk1\n" + k_share + "\n" + k_view + "\n" + exp));
  CHECK(session.substr(session.rfind('.') + 1) != raw);
}

TEST_CASE("PageSession: rotation keeps old sessions valid until the old key is retired", "[page_session]") {
  const PageSessionSigner before(keys({{"k1", 'a'}}));
  const std::string old_session = before.issue(k_share, k_view, k_now + 1h);
  const PageSessionSigner rotated(keys({{"k2", 'b'}, {"k1", 'a'}}));
  CHECK(rotated.verify(old_session, k_now).check == PageSessionCheck::ok);
  CHECK(rotated.issue(k_share, k_view, k_now + 1h).rfind("ps1.k2.", 0) == 0);
  const PageSessionSigner retired(keys({{"k2", 'b'}}));
  CHECK(retired.verify(old_session, k_now).check == PageSessionCheck::invalid);
}

TEST_CASE("PageSession: issue refuses what is not a share id or a request id", "[page_session]") {
  const PageSessionSigner signer(keys({{"k1", 'a'}}));
  CHECK_THROWS(signer.issue("shr_00000000000000000000000000000000", k_view, k_now));
  CHECK_THROWS(signer.issue(k_share, "req_1", k_now));
  CHECK_THROWS(signer.issue(k_share, "req_5f0c1e2d3a4b6c7d.x", k_now));
}
