#include "common/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "common/error.hpp"
#include "common/text.hpp"

namespace sharelink {

std::string sha256(std::string_view data) {
  std::string digest(32, '\0');
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(digest.data()), &length,
                 EVP_sha256(), nullptr) != 1) {
    throw Error("SHA-256 failed");
  }
  return digest;
}

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string mac(32, '\0');
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           reinterpret_cast<unsigned char*>(mac.data()), &length) == nullptr) {
    throw Error("HMAC-SHA256 failed");
  }
  return mac;
}

namespace {

constexpr std::size_t k_sha256_block = 64;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

[[noreturn]] void hmac_failed() { throw Error("HMAC-SHA256 failed"); }

// A SHA-256 context that has hashed key_block ^ pad.
MdCtx padded_digest(const std::array<unsigned char, k_sha256_block>& key_block, unsigned char pad) {
  std::array<unsigned char, k_sha256_block> block{};
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = key_block[i] ^ pad;
  MdCtx ctx(EVP_MD_CTX_new());
  const bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx.get(), block.data(), block.size()) == 1;
  OPENSSL_cleanse(block.data(), block.size());
  if (!ok) hmac_failed();
  return ctx;
}

}  // namespace

struct HmacSha256Key::State {
  MdCtx inner;  // after (key ^ ipad)
  MdCtx outer;  // after (key ^ opad)
};

HmacSha256Key::HmacSha256Key(std::string_view key) {
  // RFC 2104: a key longer than the block is hashed first; shorter ones are zero-padded.
  std::array<unsigned char, k_sha256_block> key_block{};
  if (key.size() > k_sha256_block) {
    const std::string digest = sha256(key);
    std::copy(digest.begin(), digest.end(), key_block.begin());
  } else {
    std::copy(key.begin(), key.end(), key_block.begin());
  }
  auto state = std::make_shared<State>();
  try {
    state->inner = padded_digest(key_block, 0x36);
    state->outer = padded_digest(key_block, 0x5c);
  } catch (...) {
    OPENSSL_cleanse(key_block.data(), key_block.size());
    throw;
  }
  OPENSSL_cleanse(key_block.data(), key_block.size());
  state_ = std::move(state);
}

std::string HmacSha256Key::mac(std::string_view data) const {
  Digest digest{};
  mac_to({data}, digest);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

void HmacSha256Key::mac_to(std::initializer_list<std::string_view> parts, Digest& out) const {
  // One scratch context per thread, reused for every MAC.
  thread_local MdCtx scratch(EVP_MD_CTX_new());
  if (!scratch) hmac_failed();
  EVP_MD_CTX* ctx = scratch.get();
  Digest inner{};
  unsigned int length = 0;
  bool ok = EVP_MD_CTX_copy_ex(ctx, state_->inner.get()) == 1;
  for (const std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx, inner.data(), &length) == 1 &&
       EVP_MD_CTX_copy_ex(ctx, state_->outer.get()) == 1 &&
       EVP_DigestUpdate(ctx, inner.data(), inner.size()) == 1 && EVP_DigestFinal_ex(ctx, out.data(), &length) == 1;
  if (!ok) hmac_failed();
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw Error("the system random number generator failed (RAND_bytes)");
  }
  return out;
}

std::string random_hex(std::size_t n) { return hex_encode(random_bytes(n)); }

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sharelink
