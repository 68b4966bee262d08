#pragma once
// Where a listener binds: "127.0.0.1:8080", "[::1]:8080", ":8080" (all
// interfaces), or "unix:/run/app.sock".
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace suz {

struct ListenAddress {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;    // tcp: literal address or name; empty = all interfaces
  std::uint16_t port = 0;
  std::string path;    // unix

  std::string str() const;
  // A unix socket, or TCP on a loopback address: unreachable from other hosts.
  bool is_local() const;
  bool operator==(const ListenAddress&) const = default;
};

Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace suz
