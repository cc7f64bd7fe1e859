// Unit tests for IP parsing, CIDRs, X-Forwarded-For walking and client keys.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/client_address.hpp"

using namespace sharelink;

namespace {

IpAddress ip(std::string_view text) {
  auto parsed = parse_ip(text);
  REQUIRE(parsed);
  return *parsed;
}

std::vector<Cidr> cidrs(const std::vector<std::string>& texts) {
  std::vector<Cidr> out;
  for (const auto& text : texts) {
    auto parsed = parse_cidr(text);
    REQUIRE(parsed);
    out.push_back(*parsed);
  }
  return out;
}

}  // namespace

TEST_CASE("ClientAddress: parse_ip accepts addresses and prints them canonically", "[client_address]") {
  struct Case {
    std::string text;
    std::string printed;
    bool is_v4;
  };
  const std::vector<Case> cases = {
      {"192.0.2.1", "192.0.2.1", true},
      {"0.0.0.0", "0.0.0.0", true},
      {"255.255.255.255", "255.255.255.255", true},
      {"10.0.0.10", "10.0.0.10", true},
      {"::", "::", false},
      {"::1", "::1", false},
      {"2001:db8::1", "2001:db8::1", false},
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1", false},
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", false},
      // RFC 5952: the first of equally long zero runs is compressed, a single zero group never.
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", false},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", false},
      {"2001:db8:0:0:0:1:0:0", "2001:db8::1:0:0", false},
      {"fe80::1", "fe80::1", false},
      {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", false},
      {"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
      // IPv4-mapped, in both spellings, is the IPv4 address.
      {"::ffff:192.0.2.1", "192.0.2.1", true},
      {"::FFFF:192.0.2.1", "192.0.2.1", true},
      {"::ffff:c000:201", "192.0.2.1", true},
      {"0:0:0:0:0:ffff:0a0b:0c0d", "10.11.12.13", true},
      // Other embedded-IPv4 forms stay IPv6.
      {"64:ff9b::192.0.2.1", "64:ff9b::c000:201", false},
      {"::ffff:0:192.0.2.1", "::ffff:0:c000:201", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto parsed = parse_ip(c.text);
    REQUIRE(parsed);
    CHECK(parsed->is_v4 == c.is_v4);
    CHECK(parsed->to_string() == c.printed);
    // The printed form parses back to the same address.
    CHECK(parse_ip(parsed->to_string()) == parsed);
  }
}

TEST_CASE("ClientAddress: parse_ip refuses anything but exactly one address", "[client_address]") {
  const std::vector<std::string> cases = {
      "",
      " ",
      " 192.0.2.1",
      "192.0.2.1 ",
      "192.0.2.1\t",
      "01.2.3.4",  // leading zero: octal to some parsers
      "1.2.3.04",
      "1.2.3.00",
      "1.2.3",
      "1.2.3.4.5",
      "1.2.3.4.",
      ".1.2.3.4",
      "1..2.3",
      "256.1.1.1",
      "1.2.3.256",
      "1.2.3.1000",
      "+1.2.3.4",
      "1.2.3.-4",
      "0x1.2.3.4",
      "1.2.3.4/32",
      "192.0.2.1:80",
      "[2001:db8::1]",
      "[2001:db8::1]:443",
      "fe80::1%eth0",
      "1::2::3",
      ":1:2",
      "12345::",
      "g::1",
      "1:2:3:4:5:6:7:8:9",
      "::ffff:01.2.3.4",
      "::ffff:1.2.3",
      "::ffff:256.1.1.1",
      "unknown",
      "localhost",
      std::string("192.0.2.1\0", 10),
      std::string("::1\0", 4),
      std::string(1000, '1') + "::",
      "0000:0000:0000:0000:0000:0000:0000:0000:0",  // 41 characters, nine groups
      std::string(46, ':'),
  };
  for (const auto& text : cases) {
    CAPTURE(text);
    CHECK_FALSE(parse_ip(text));
  }
}

TEST_CASE("ClientAddress: mask_address keeps the prefix bits", "[client_address]") {
  struct Case {
    std::string address;
    int bits;
    std::string masked;
  };
  const std::vector<Case> cases = {
      {"192.0.2.255", 24, "192.0.2.0"},
      {"192.0.3.7", 23, "192.0.2.0"},
      {"192.0.2.200", 25, "192.0.2.128"},
      {"192.0.2.7", 32, "192.0.2.7"},
      {"192.0.2.7", 0, "0.0.0.0"},
      {"192.0.2.7", 40, "192.0.2.7"},  // clamped to 32
      {"192.0.2.7", -3, "0.0.0.0"},    // clamped to 0
      {"2001:db8:aaaa:bbbb:cccc::1", 64, "2001:db8:aaaa:bbbb::"},
      {"2001:db8:aaaa:bbbb:cccc::1", 48, "2001:db8:aaaa::"},
      {"2001:db8:0:ffff::1", 63, "2001:db8:0:fffe::"},
      {"2001:db8:aaaa:bbbb:cccc::1", 128, "2001:db8:aaaa:bbbb:cccc::1"},
      {"2001:db8:aaaa:bbbb:cccc::1", 200, "2001:db8:aaaa:bbbb:cccc::1"},
      {"2001:db8:aaaa:bbbb:cccc::1", 0, "::"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.address, c.bits);
    CHECK(mask_address(ip(c.address), c.bits).to_string() == c.masked);
  }
}

TEST_CASE("ClientAddress: parse_cidr reads networks and masks them", "[client_address]") {
  struct Case {
    std::string text;
    std::string network;
    int prefix;
    bool is_v4;
  };
  const std::vector<Case> cases = {
      {"10.0.0.0/8", "10.0.0.0", 8, true},
      {"10.1.2.3/8", "10.0.0.0", 8, true},
      {"192.0.2.7", "192.0.2.7", 32, true},
      {"192.0.2.7/32", "192.0.2.7", 32, true},
      {"0.0.0.0/0", "0.0.0.0", 0, true},
      {"2001:db8::/32", "2001:db8::", 32, false},
      {"2001:db8:1:2::5/64", "2001:db8:1:2::", 64, false},
      {"2001:db8::1", "2001:db8::1", 128, false},
      {"::/0", "::", 0, false},
      // IPv4-mapped networks are IPv4 networks.
      {"::ffff:10.0.0.0/104", "10.0.0.0", 8, true},
      {"::ffff:192.0.2.1", "192.0.2.1", 32, true},
      {"::ffff:192.0.2.1/128", "192.0.2.1", 32, true},
      {"::ffff:0:0/96", "0.0.0.0", 0, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto cidr = parse_cidr(c.text);
    REQUIRE(cidr);
    CHECK(cidr->network.to_string() == c.network);
    CHECK(cidr->network.is_v4 == c.is_v4);
    CHECK(cidr->prefix == c.prefix);
  }
}

TEST_CASE("ClientAddress: parse_cidr refuses malformed networks", "[client_address]") {
  const std::vector<std::string> cases = {
      "",
      "/8",
      "10.0.0.0/",
      "10.0.0.0/33",
      "10.0.0.0/1000",
      "10.0.0.0/08",
      "10.0.0.0/-1",
      "10.0.0.0/+8",
      "10.0.0.0/8/8",
      "10.0.0.0/8x",
      "10.0.0.0 /8",
      "10.0.0.0/ 8",
      " 10.0.0.0/8",
      "2001:db8::/129",
      "::ffff:10.0.0.0/95",  // reaches outside the mapped range
      "garbage/8",
      "01.0.0.0/8",
  };
  for (const auto& text : cases) {
    CAPTURE(text);
    CHECK_FALSE(parse_cidr(text));
  }
}

TEST_CASE("ClientAddress: Cidr::contains matches family and prefix", "[client_address]") {
  struct Case {
    std::string cidr;
    std::string address;
    bool inside;
  };
  const std::vector<Case> cases = {
      {"10.0.0.0/8", "10.255.1.2", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.0.0.0/8", "9.255.255.255", false},
      {"192.0.2.1", "192.0.2.1", true},
      {"192.0.2.1", "192.0.2.2", false},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"0.0.0.0/0", "2001:db8::1", false},
      {"::/0", "2001:db8::1", true},
      {"::/0", "1.2.3.4", false},
      {"::/0", "::ffff:1.2.3.4", false},  // mapped is IPv4
      {"::ffff:10.0.0.0/104", "10.9.8.7", true},
      {"::ffff:10.0.0.0/104", "::ffff:10.9.8.7", true},
      {"10.0.0.0/8", "::ffff:10.9.8.7", true},
      {"10.0.0.0/8", "::a00:1", false},  // IPv4-compatible ::10.0.0.1 is IPv6
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"2001:db8:0:fffe::/63", "2001:db8:0:ffff::1", true},
      {"2001:db8:0:fffe::/63", "2001:db8:1::1", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.cidr, c.address);
    const auto cidr = parse_cidr(c.cidr);
    REQUIRE(cidr);
    CHECK(cidr->contains(ip(c.address)) == c.inside);
  }
}

TEST_CASE("ClientAddress: X-Forwarded-For walk", "[client_address]") {
  const auto trusted = cidrs({"10.0.0.0/8", "2001:db8:ffff::/48", "127.0.0.1"});
  struct Case {
    std::string name;
    std::string peer;
    std::string xff;
    std::string client;
  };
  const std::vector<Case> cases = {
      {"untrusted peer: header ignored", "203.0.113.5", "198.51.100.7", "203.0.113.5"},
      {"untrusted peer: spoofed trusted chain ignored", "203.0.113.5", "198.51.100.7, 10.0.0.2",
       "203.0.113.5"},
      {"untrusted peer: garbage ignored", "203.0.113.5", "garbage", "203.0.113.5"},
      {"untrusted loopback neighbour", "127.0.0.2", "198.51.100.7", "127.0.0.2"},
      {"trusted peer, no header", "10.0.0.1", "", "10.0.0.1"},
      {"trusted peer, blank header", "10.0.0.1", " \t ", "10.0.0.1"},
      {"one proxy", "10.0.0.1", "198.51.100.7", "198.51.100.7"},
      {"proxy trusted by bare address", "127.0.0.1", "198.51.100.7", "198.51.100.7"},
      {"several proxies", "10.0.0.1", "198.51.100.7, 10.0.0.2, 10.0.0.3", "198.51.100.7"},
      {"client-supplied addresses left of the client are ignored", "10.0.0.1",
       "1.1.1.1, 203.0.113.9, 198.51.100.7, 10.0.0.2", "198.51.100.7"},
      {"all trusted: the leftmost", "10.0.0.1", "10.0.0.9, 10.0.0.8", "10.0.0.9"},
      {"all trusted, one element", "10.0.0.1", "10.0.0.9", "10.0.0.9"},
      {"no spaces", "10.0.0.1", "198.51.100.7,10.0.0.2", "198.51.100.7"},
      {"spaces and tabs trimmed", "10.0.0.1", " \t198.51.100.7 ,\t10.0.0.2  ", "198.51.100.7"},
      {"IPv6 client", "10.0.0.1", "2001:db8:1::42", "2001:db8:1::42"},
      {"IPv6 proxies", "2001:db8:ffff::1", "198.51.100.7, 2001:db8:ffff::2", "198.51.100.7"},
      {"IPv6 client behind IPv6 proxies", "2001:db8:ffff::1", "2001:db8:1::42, 2001:db8:ffff::2",
       "2001:db8:1::42"},
      {"mapped client is IPv4", "10.0.0.1", "::ffff:198.51.100.7", "198.51.100.7"},
      {"mapped proxy is trusted as IPv4", "10.0.0.1", "198.51.100.7, ::ffff:10.0.0.2", "198.51.100.7"},
      {"garbage element", "10.0.0.1", "198.51.100.7, unknown", "10.0.0.1"},
      {"garbage left of the client", "10.0.0.1", "unknown, 198.51.100.7", "10.0.0.1"},
      {"garbage only", "10.0.0.1", "not an address", "10.0.0.1"},
      {"port", "10.0.0.1", "198.51.100.7:443", "10.0.0.1"},
      {"bracketed IPv6", "10.0.0.1", "[2001:db8:1::42]", "10.0.0.1"},
      {"empty element", "10.0.0.1", "198.51.100.7,,10.0.0.2", "10.0.0.1"},
      {"blank element", "10.0.0.1", "198.51.100.7, ,10.0.0.2", "10.0.0.1"},
      {"trailing comma", "10.0.0.1", "198.51.100.7,", "10.0.0.1"},
      {"leading comma", "10.0.0.1", ",198.51.100.7", "10.0.0.1"},
      {"comma only", "10.0.0.1", ",", "10.0.0.1"},
      {"space-separated, no comma", "10.0.0.1", "198.51.100.7 10.0.0.2", "10.0.0.1"},
      {"leading zero", "10.0.0.1", "198.51.100.07", "10.0.0.1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name, c.peer, c.xff);
    CHECK(client_address(ip(c.peer), c.xff, trusted).to_string() == c.client);
  }
}

TEST_CASE("ClientAddress: X-Forwarded-For without trusted proxies is ignored", "[client_address]") {
  CHECK(client_address(ip("10.0.0.1"), "198.51.100.7", {}) == ip("10.0.0.1"));
}

TEST_CASE("ClientAddress: a long chain of trusted proxies", "[client_address]") {
  const auto trusted = cidrs({"10.0.0.0/8"});
  std::string xff = "198.51.100.7";
  for (int i = 0; i < 2000; ++i) xff += ", 10.0.0." + std::to_string(i % 250 + 1);
  CHECK(client_address(ip("10.0.0.1"), xff, trusted) == ip("198.51.100.7"));
  CHECK(client_address(ip("10.0.0.1"), "junk, " + xff, trusted) == ip("10.0.0.1"));
}

TEST_CASE("ClientAddress: client_key aggregates IPv6 by prefix", "[client_address]") {
  struct Case {
    std::string address;
    int prefix;
    std::string key;
  };
  const std::vector<Case> cases = {
      {"198.51.100.7", 64, "198.51.100.7"},
      {"198.51.100.7", 8, "198.51.100.7"},  // the prefix is for IPv6 only
      {"::ffff:198.51.100.7", 64, "198.51.100.7"},
      {"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::"},
      {"2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::"},
      {"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6"},
      {"2001:db8:1:2:3:4:5:6", 56, "2001:db8:1::"},
      {"2001:db8:1:2ff:3:4:5:6", 56, "2001:db8:1:200::"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.address, c.prefix);
    CHECK(client_key(ip(c.address), c.prefix).to_string() == c.key);
  }
  // Two hosts of one /64 are one client at /64 and two at /128.
  CHECK(client_key(ip("2001:db8:1:2::a"), 64) == client_key(ip("2001:db8:1:2::b"), 64));
  CHECK(client_key(ip("2001:db8:1:2::a"), 128) != client_key(ip("2001:db8:1:2::b"), 128));
  CHECK(client_key(ip("2001:db8:1:2::a"), 64) != client_key(ip("2001:db8:1:3::a"), 64));
  CHECK(client_key(ip("2001:db8:1:2::a"), 48) == client_key(ip("2001:db8:1:3::a"), 48));
}

TEST_CASE("ClientAddress: is_loopback knows 127.0.0.0/8 and ::1 only", "[client_address]") {
  const auto loopback = [](const char* text) {
    const auto address = parse_ip(text);
    REQUIRE(address);
    return is_loopback(*address);
  };
  CHECK(loopback("127.0.0.1"));
  CHECK(loopback("127.255.0.9"));
  CHECK(loopback("::1"));
  CHECK(loopback("::ffff:127.0.0.1"));
  CHECK_FALSE(loopback("0.0.0.0"));
  CHECK_FALSE(loopback("::"));
  CHECK_FALSE(loopback("10.0.0.1"));
  CHECK_FALSE(loopback("128.0.0.1"));
  CHECK_FALSE(loopback("::2"));
  CHECK_FALSE(loopback("1::1"));
  CHECK_FALSE(loopback("fe80::1"));
}

TEST_CASE("ClientAddress: truncate_ip_text ages audit addresses", "[client_address]") {
  struct Case {
    std::string text;
    std::string truncated;
  };
  const std::vector<Case> cases = {
      {"203.0.113.77", "203.0.113.0"},
      {"203.0.113.0", "203.0.113.0"},
      {"::ffff:203.0.113.77", "203.0.113.0"},
      {"2001:db8:1:2:3::9", "2001:db8:1::"},
      {"2001:db8:1::", "2001:db8:1::"},
      {"::1", "::"},
      {"not an ip", "not an ip"},
      {"", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(truncate_ip_text(c.text) == c.truncated);
  }
}

TEST_CASE("ClientAddress: IpAddressHash is consistent and spreads neighbours", "[client_address]") {
  const IpAddressHash hash;
  CHECK(hash(ip("192.0.2.1")) == hash(ip("::ffff:192.0.2.1")));
  CHECK(hash(ip("2001:db8::1")) == hash(ip("2001:DB8::1")));
  // An IPv4 address hashes by its four bytes only.
  IpAddress stray = ip("192.0.2.1");
  stray.bytes[7] = 0x55;
  CHECK(hash(stray) == hash(ip("192.0.2.1")));

  // 4096 consecutive addresses: no collisions, and every group of 64 (as a
  // sharded table would pick them from the high half) gets a fair share.
  std::set<std::size_t> seen;
  std::vector<int> groups(64);
  for (std::uint32_t i = 0; i < 4096; ++i) {
    IpAddress a;
    a.is_v4 = true;
    a.bytes[0] = 10;
    a.bytes[2] = static_cast<std::uint8_t>(i >> 8);
    a.bytes[3] = static_cast<std::uint8_t>(i);
    const std::size_t h = hash(a);
    seen.insert(h);
    ++groups[(static_cast<std::uint64_t>(h) >> 32) % 64];
  }
  CHECK(seen.size() == 4096);
  for (int count : groups) {
    CHECK(count >= 20);  // 64 expected; 20 and 120 lie over 5 standard deviations away
    CHECK(count <= 120);
  }
}
