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

// SipHash-2-4 under a key drawn once per process from std::random_device:
// addresses chosen by a stranger cannot be aimed at one hash chain or shard.
// An IPv4 address hashes like its mapped IPv6 bytes. Thread-safe.
struct IpAddressHash {
  std::size_t operator()(const IpAddress& a) const noexcept;
};

// nullopt for anything that is not exactly one address. IPv4 is a strict
// dotted quad: four decimal parts 0..255, a part with a leading zero ("01") is
// refused (inet_aton would read it as octal). IPv6 as inet_pton reads it (::
// compression, an IPv4 tail); brackets, ports, zone ids ("%eth0") and
// surrounding whitespace are refused. IPv4-mapped IPv6 (::ffff:1.2.3.4 or
// ::ffff:102:304) becomes the IPv4 address. Thread-safe.
std::optional<IpAddress> parse_ip(std::string_view text);

// Keeps the first prefix_bits bits, zeroes the rest (prefix_bits is clamped to
// 0..32 for IPv4, 0..128 for IPv6).
IpAddress mask_address(const IpAddress& address, int prefix_bits);

struct Cidr {
  IpAddress network;  // already masked
  int prefix = 0;     // bits of network's own family
  // True when address is of the network's family and inside it (an IPv4
  // network never contains an IPv6 address: ::/0 is every IPv6 address only).
  bool contains(const IpAddress& address) const;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (/32 or /128). Host bits
// are masked off ("10.1.2.3/8" is 10.0.0.0/8). The length is decimal without
// sign or leading zero, at most 32 for IPv4 and 128 for IPv6. An IPv4-mapped
// network maps to IPv4 ("::ffff:10.0.0.0/104" is 10.0.0.0/8); with a length
// under 96 it is refused. nullopt if malformed. Thread-safe.
std::optional<Cidr> parse_cidr(std::string_view text);

// The client of a request (nginx real_ip_recursive semantics): the peer,
// unless the peer is trusted; then X-Forwarded-For walked right to left, the
// first address not trusted. All trusted: the leftmost. A malformed header
// (any element that is not an address) falls back to the peer.
// x_forwarded_for is one comma-separated list (a caller with several header
// lines joins them with ","); spaces and tabs around elements are ignored; an
// empty or blank header is the peer. Elements are bare addresses as parse_ip
// reads them: an empty element, "[v6]", "v4:port" or "unknown" makes the
// header malformed (proxies write bare addresses). Every element is checked, even
// left of the client. One pass, no allocation. Thread-safe.
IpAddress client_address(const IpAddress& peer, std::string_view x_forwarded_for,
                         const std::vector<Cidr>& trusted_proxies);

// The rate-limit key: IPv4 as is, IPv6 masked to ipv6_prefix bits (clamped to 0..128).
IpAddress client_key(const IpAddress& client, int ipv6_prefix);

// True for 127.0.0.0/8 and ::1 (an IPv4-mapped loopback address is IPv4
// already); false for the unspecified addresses 0.0.0.0 and ::.
bool is_loopback(const IpAddress& address);

// Audit IP ageing: IPv4 to /24, IPv6 to /48, as text ("203.0.113.0",
// "2001:db8:1::"). Unparseable text is returned unchanged.
std::string truncate_ip_text(std::string_view text);

}  // namespace sharelink
