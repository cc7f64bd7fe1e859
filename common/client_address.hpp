// Client identity for rate limiting and audit (SPEC 6): IP parsing, CIDRs, X-Forwarded-For walking.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sharelink {

// An IPv4 or IPv6 address. IPv4 is held in the first 4 bytes with is_v4 set;
// an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is parsed as the IPv4 address.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool is_v4 = false;

  std::string to_string() const;  // dotted quad, or RFC 5952 IPv6 text
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct IpAddressHash {
  std::size_t operator()(const IpAddress& a) const noexcept;
};

// nullopt for anything that is not exactly one address (brackets and zone ids
// are not accepted; surrounding whitespace is not accepted).
std::optional<IpAddress> parse_ip(std::string_view text);

// Keeps the first prefix_bits bits, zeroes the rest.
IpAddress mask_address(const IpAddress& address, int prefix_bits);

struct Cidr {
  IpAddress network;  // already masked
  int prefix = 0;
  bool contains(const IpAddress& address) const;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (/32 or /128). nullopt if malformed.
std::optional<Cidr> parse_cidr(std::string_view text);

// The client of a request (nginx real_ip_recursive semantics): the peer,
// unless the peer is trusted; then X-Forwarded-For walked right to left, the
// first address not trusted. All trusted: the leftmost. A malformed header
// (any element that is not an address) falls back to the peer.
IpAddress client_address(const IpAddress& peer, std::string_view x_forwarded_for,
                         const std::vector<Cidr>& trusted_proxies);

// The rate-limit key: IPv4 as is, IPv6 masked to ipv6_prefix bits.
IpAddress client_key(const IpAddress& client, int ipv6_prefix);

// Audit IP ageing: IPv4 to /24, IPv6 to /48, as text. Unparseable text is returned unchanged.
std::string truncate_ip_text(std::string_view text);

}  // namespace sharelink
