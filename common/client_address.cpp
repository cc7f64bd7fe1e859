#include "common/client_address.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "common/text.hpp"

namespace sharelink {
namespace {

constexpr int k_v4_bits = 32;
constexpr int k_v6_bits = 128;
constexpr int k_v4_mapped_prefix = 96;     // ::ffff:0:0/96
constexpr std::size_t k_max_v6_text = 45;  // INET6_ADDRSTRLEN - 1

// Exactly four decimal parts 0..255 separated by dots. A part with a leading
// zero ("01") is refused: inet_aton would read it as octal, so its meaning is
// ambiguous. glibc's inet_pton applies the same rule to an IPv6 address's IPv4 tail.
std::optional<IpAddress> parse_v4(std::string_view text) {
  IpAddress out;
  out.is_v4 = true;
  std::size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    const std::size_t start = pos;
    int value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
      value = value * 10 + (text[pos] - '0');
      ++pos;
    }
    const std::size_t digits = pos - start;
    if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return std::nullopt;
    out.bytes[static_cast<std::size_t>(part)] = static_cast<std::uint8_t>(value);
  }
  if (pos != text.size()) return std::nullopt;
  return out;
}

bool is_v4_mapped(const std::array<std::uint8_t, 16>& b) {
  for (std::size_t i = 0; i < 10; ++i) {
    if (b[i] != 0) return false;
  }
  return b[10] == 0xff && b[11] == 0xff;
}

// The IPv6 form of any address: IPv4 as ::ffff:a.b.c.d. Used for hashing so
// that the bytes past an IPv4 address's first four never matter.
std::array<std::uint8_t, 16> canonical_bytes(const IpAddress& a) {
  if (!a.is_v4) return a.bytes;
  std::array<std::uint8_t, 16> out{};
  out[10] = 0xff;
  out[11] = 0xff;
  std::copy_n(a.bytes.begin(), 4, out.begin() + 12);
  return out;
}

// SipHash-2-4 (Aumasson & Bernstein) of 16 bytes under a 128-bit key: a keyed
// hash whose outputs an outsider cannot predict, so addresses chosen by a
// stranger cannot be aimed at one shard or one probe chain.
std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::uint64_t siphash24_16(const std::array<std::uint64_t, 2>& key, const std::array<std::uint8_t, 16>& in) {
  std::uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
  std::uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
  std::uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
  std::uint64_t v3 = 0x7465646279746573ULL ^ key[1];
  // clang-format off
  auto round = [&] {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  };
  // clang-format on
  auto absorb = [&](std::uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  };
  absorb(load_le64(in.data()));
  absorb(load_le64(in.data() + 8));
  absorb(std::uint64_t{16} << 56);  // final block: length byte, no tail bytes
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

// Drawn once per process from the OS's random source.
const std::array<std::uint64_t, 2>& hash_key() {
  static const std::array<std::uint64_t, 2> key = [] {
    std::random_device device;
    std::array<std::uint64_t, 2> k{};
    for (auto& word : k) {
      word = (std::uint64_t{device()} << 32) ^ device();
    }
    return k;
  }();
  return key;
}

bool is_trusted(const IpAddress& address, const std::vector<Cidr>& trusted) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const Cidr& cidr) { return cidr.contains(address); });
}

}  // namespace

std::string IpAddress::to_string() const {
  if (is_v4) {
    std::string out;
    for (std::size_t i = 0; i < 4; ++i) {
      if (i > 0) out += '.';
      out += std::to_string(bytes[i]);
    }
    return out;
  }
  // glibc's inet_ntop writes RFC 5952 text: lowercase, no leading zeros, the
  // first longest run of two or more zero groups compressed.
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

std::size_t IpAddressHash::operator()(const IpAddress& a) const noexcept {
  return static_cast<std::size_t>(siphash24_16(hash_key(), canonical_bytes(a)));
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.find(':') == std::string_view::npos) return parse_v4(text);
  if (text.size() > k_max_v6_text || text.find('\0') != std::string_view::npos) return std::nullopt;
  char buffer[k_max_v6_text + 1] = {};
  std::memcpy(buffer, text.data(), text.size());
  IpAddress out;
  if (::inet_pton(AF_INET6, buffer, out.bytes.data()) != 1) return std::nullopt;
  if (is_v4_mapped(out.bytes)) {
    std::array<std::uint8_t, 16> v4{};
    std::copy_n(out.bytes.begin() + 12, 4, v4.begin());
    out.bytes = v4;
    out.is_v4 = true;
  }
  return out;
}

IpAddress mask_address(const IpAddress& address, int prefix_bits) {
  const int family_bits = address.is_v4 ? k_v4_bits : k_v6_bits;
  const int keep = std::clamp(prefix_bits, 0, family_bits);
  IpAddress out = address;
  for (int i = 0; i < 16; ++i) {
    const int bits_here = std::clamp(keep - i * 8, 0, 8);
    const auto mask = static_cast<std::uint8_t>(0xff00u >> bits_here);
    out.bytes[static_cast<std::size_t>(i)] &= mask;
  }
  return out;
}

bool Cidr::contains(const IpAddress& address) const {
  return address.is_v4 == network.is_v4 && mask_address(address, prefix) == network;
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  auto address = parse_ip(address_text);
  if (!address) return std::nullopt;
  const bool written_as_v6 = address_text.find(':') != std::string_view::npos;
  const int text_bits = written_as_v6 ? k_v6_bits : k_v4_bits;

  int prefix = text_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > text_bits) return std::nullopt;
  }
  if (address->is_v4 && written_as_v6) {
    // ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8, since mapped
    // addresses are parsed as IPv4. A shorter prefix would reach outside the
    // mapped range, which no parsed address can be in: refused.
    if (prefix < k_v4_mapped_prefix) return std::nullopt;
    prefix -= k_v4_mapped_prefix;
  }
  return Cidr{mask_address(*address, prefix), prefix};
}

IpAddress client_address(const IpAddress& peer, std::string_view x_forwarded_for,
                         const std::vector<Cidr>& trusted_proxies) {
  if (!is_trusted(peer, trusted_proxies) || trim_ows(x_forwarded_for).empty()) return peer;
  // One pass from the right, no allocation: every element is parsed (one bad
  // element voids the whole header), the first untrusted one is the client.
  IpAddress client = peer;
  bool found = false;
  std::size_t end = x_forwarded_for.size();
  while (true) {
    const std::size_t comma = x_forwarded_for.rfind(',', end == 0 ? 0 : end - 1);
    const bool last = comma == std::string_view::npos || comma >= end;
    const std::size_t start = last ? 0 : comma + 1;
    const auto element = parse_ip(trim_ows(x_forwarded_for.substr(start, end - start)));
    if (!element) return peer;
    if (!found) {
      client = *element;
      found = !is_trusted(client, trusted_proxies);
    }
    if (last) break;
    end = comma;
  }
  return client;
}

IpAddress client_key(const IpAddress& client, int ipv6_prefix) {
  return client.is_v4 ? client : mask_address(client, ipv6_prefix);
}

bool is_loopback(const IpAddress& address) {
  if (address.is_v4) return address.bytes[0] == 127;
  for (std::size_t i = 0; i < 15; ++i) {
    if (address.bytes[i] != 0) return false;
  }
  return address.bytes[15] == 1;
}

std::string truncate_ip_text(std::string_view text) {
  const auto address = parse_ip(text);
  if (!address) return std::string(text);
  return mask_address(*address, address->is_v4 ? 24 : 48).to_string();
}

}  // namespace sharelink
