// The OpenSSL 1.1.1 API level: it declares SHA256_CTX and its calls (see
// padded_digest) without the deprecation of OpenSSL 3.0; the 3.0 calls used
// here are declared at any level.
#define OPENSSL_API_COMPAT 10101

#include "common/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>

#include "common/error.hpp"
#include "common/text.hpp"

namespace sharelink {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

struct MdDeleter {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};

// SHA-256 fetched from the provider once. EVP_sha256() makes every digest
// look the algorithm up again (OpenSSL 3: a lock shared by every thread and
// allocations), and a one-shot EVP_Digest() allocates a context per call.
const EVP_MD* sha256_md() {
  static const std::unique_ptr<EVP_MD, MdDeleter> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (!md) throw Error("SHA-256 is not available from OpenSSL");
  return md.get();
}

}  // namespace

std::string sha256(std::string_view data) {
  // One context per thread, reset for every digest.
  thread_local MdCtx ctx(EVP_MD_CTX_new());
  std::string digest(32, '\0');
  unsigned int length = 0;
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), sha256_md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(digest.data()), &length) != 1) {
    throw Error("SHA-256 failed");
  }
  return digest;
}

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string mac(32, '\0');
  unsigned int length = 0;
  if (HMAC(sha256_md(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           reinterpret_cast<unsigned char*>(mac.data()), &length) == nullptr) {
    throw Error("HMAC-SHA256 failed");
  }
  return mac;
}

namespace {

constexpr std::size_t k_sha256_block = 64;

[[noreturn]] void hmac_failed() { throw Error("HMAC-SHA256 failed"); }

// SHA256_CTX is a plain struct: the pads' states are copied per MAC with no
// allocation. (EVP_MD_CTX_copy_ex would allocate and free a provider
// context at each copy, two per MAC; a 100-track collection signs 100
// URLs. The low-level calls are deprecated since OpenSSL 3.0 but kept, with
// the same SHA extensions; OPENSSL_API_COMPAT above declares them here.)
SHA256_CTX padded_digest(const std::array<unsigned char, k_sha256_block>& key_block, unsigned char pad) {
  std::array<unsigned char, k_sha256_block> block{};
  for (std::size_t i = 0; i < block.size(); ++i) block[i] = key_block[i] ^ pad;
  SHA256_CTX ctx;
  const bool ok = SHA256_Init(&ctx) == 1 && SHA256_Update(&ctx, block.data(), block.size()) == 1;
  OPENSSL_cleanse(block.data(), block.size());
  if (!ok) hmac_failed();
  return ctx;
}

}  // namespace

struct HmacSha256Key::State {
  SHA256_CTX inner;  // after (key ^ ipad)
  SHA256_CTX outer;  // after (key ^ opad)

  ~State() {
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);
  }
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
  SHA256_CTX ctx = state_->inner;
  Digest inner{};
  bool ok = true;
  for (const std::string_view part : parts) ok = ok && SHA256_Update(&ctx, part.data(), part.size()) == 1;
  ok = ok && SHA256_Final(inner.data(), &ctx) == 1;
  ctx = state_->outer;
  ok = ok && SHA256_Update(&ctx, inner.data(), inner.size()) == 1 && SHA256_Final(out.data(), &ctx) == 1;
  OPENSSL_cleanse(&ctx, sizeof ctx);
  OPENSSL_cleanse(inner.data(), inner.size());
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
