#include "common/page_session.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include "common/crypto.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr std::string_view k_version = "ps1";
constexpr std::string_view k_derivation_label = "shared-link page session key v1";

// Canonical decimal (no sign, no leading zero, fits int64).
std::optional<std::int64_t> parse_exp(std::string_view text) {
  if (text.empty() || text.size() > 19 || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

std::string signing_input(std::string_view kid, std::string_view share_id, std::string_view view_id,
                          std::string_view exp) {
  std::string input;
  input.reserve(64 + kid.size());
  input.append(k_version).append("\n").append(kid).append("\n").append(share_id).append("\n");
  input.append(view_id).append("\n").append(exp);
  return input;
}

}  // namespace

PageSessionSigner::PageSessionSigner(const SigningKeys& keys) {
  for (const auto& key : keys.keys()) {
    keys_.emplace_back(key.kid, HmacSha256Key(hmac_sha256(key.secret, k_derivation_label)));
  }
}

std::string PageSessionSigner::issue(std::string_view share_id, std::string_view view_id, TimePoint expires_at) const {
  if (!is_share_id(share_id) || !is_request_id(view_id)) {
    throw Error("page session: not a share id or request id");
  }
  const auto& [kid, key] = keys_.front();
  const std::string exp = std::to_string(to_unix_seconds(expires_at));
  std::string text(k_version);
  text.append(".").append(kid).append(".").append(share_id).append(".").append(view_id).append(".").append(exp);
  text.append(".").append(base64url_encode(key.mac(signing_input(kid, share_id, view_id, exp))));
  return text;
}

PageSessionVerdict PageSessionSigner::verify(std::string_view text, TimePoint now) const {
  PageSessionVerdict verdict;
  if (text.size() > k_max_page_session_bytes) return verdict;
  std::string_view parts[6];
  std::size_t count = 0;
  std::size_t start = 0;
  while (count < 6) {
    const std::size_t dot = text.find('.', start);
    parts[count++] = text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
    if (count == 6) return verdict;  // a seventh part
  }
  if (count != 6 || parts[0] != k_version) return verdict;
  const std::string_view kid = parts[1], share_id = parts[2], view_id = parts[3], exp_text = parts[4], sig = parts[5];
  const auto exp = parse_exp(exp_text);
  if (!is_signing_key_id(kid) || !is_share_id(share_id) || !is_request_id(view_id) || !exp ||
      sig.size() != 43) {
    return verdict;
  }
  const auto key = std::find_if(keys_.begin(), keys_.end(), [&](const auto& entry) { return entry.first == kid; });
  if (key == keys_.end()) return verdict;
  const std::string expected = base64url_encode(key->second.mac(signing_input(kid, share_id, view_id, exp_text)));
  if (!constant_time_equal(expected, sig)) return verdict;
  verdict.session = PageSession{std::string(share_id), std::string(view_id), from_unix_seconds(*exp)};
  verdict.check = *exp <= to_unix_seconds(now) ? PageSessionCheck::expired : PageSessionCheck::ok;
  return verdict;
}

}  // namespace sharelink
