// Fuzzes client identification (SPEC 6): IP and CIDR parsing, X-Forwarded-For walking, rate-limit keys.
#include <string>
#include <vector>

#include "common/client_address.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace sharelink;
using sharelink::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = sharelink::fuzz::text_of(data, size);
  const std::string_view first = sharelink::fuzz::take_line(rest);

  // An address survives a round trip through its text, and its masks stay inside it.
  if (const auto address = parse_ip(first)) {
    const auto again = parse_ip(address->to_string());
    require(again && *again == *address, "parse_ip(to_string()) gives the address back");
    for (int bits : {0, 8, 24, 32, 48, 64, 127, 128, 200, -5}) {
      const IpAddress masked = mask_address(*address, bits);
      require(masked.is_v4 == address->is_v4, "masking keeps the family");
      const auto network = parse_cidr(address->to_string() + "/" + std::to_string(address->is_v4 ? 32 : 128));
      require(network && network->contains(*address), "an address is inside its own /32 or /128");
    }
    (void)client_key(*address, 64);
    (void)truncate_ip_text(address->to_string());
  }
  // A network contains its own (masked) address.
  if (const auto network = parse_cidr(first)) {
    require(network->contains(network->network), "a network contains its network address");
    require(mask_address(network->network, network->prefix) == network->network, "a network address is masked");
  }
  (void)truncate_ip_text(first);

  // The X-Forwarded-For walk returns the peer, or one of the header's addresses.
  static const std::vector<Cidr> trusted = {*parse_cidr("127.0.0.0/8"), *parse_cidr("10.0.0.0/8"),
                                            *parse_cidr("::1"), *parse_cidr("fd00::/8")};
  for (const char* peer_text : {"127.0.0.1", "203.0.113.9", "::1", "fd00::7"}) {
    const IpAddress peer = *parse_ip(peer_text);
    const IpAddress client = client_address(peer, rest, trusted);
    bool from_header = false;
    std::string_view walk = rest;
    while (!walk.empty() && !from_header) {
      const std::size_t comma = walk.find(',');
      std::string_view element = walk.substr(0, comma);
      while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) element.remove_prefix(1);
      while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) element.remove_suffix(1);
      if (const auto address = parse_ip(element); address && *address == client) from_header = true;
      walk = comma == std::string_view::npos ? std::string_view() : walk.substr(comma + 1);
    }
    require(client == peer || from_header, "the client is the peer or an address of the header");
  }
  return 0;
}
