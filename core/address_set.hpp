#pragma once
// A set of peer addresses: IPv4 and IPv6 addresses and CIDR blocks, and
// "unix" for peers on a unix socket. What [server] forwarded_allow_ips and
// uwsgi_allow_ips name: the proxies whose forwarding headers are believed.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace suz {

class AddressSet {
 public:
  // "127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", "unix". The error names
  // the entry and what is wrong with it.
  static Result<AddressSet> parse(const std::vector<std::string>& entries);
  // 127.0.0.0/8, ::1 and unix: the peers a front end on this host has.
  static AddressSet loopback_and_unix();
  // Whether text is an IPv4 or IPv6 address (no port, no brackets).
  static bool is_address(std::string_view text);

  // address as accept() reported it ("10.1.2.3", "::1", "::ffff:10.1.2.3");
  // "" for a peer on a unix socket. An address that does not parse is not in.
  bool contains(std::string_view address) const;
  bool empty() const { return blocks_.empty() && !unix_; }

 private:
  struct Block {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 as IPv4-mapped IPv6
    int prefix = 128;                      // bits that must match
  };
  std::vector<Block> blocks_;
  bool unix_ = false;
};

}  // namespace suz
