#include "core/listen_address.hpp"

#include <charconv>

namespace suz {

std::string ListenAddress::str() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return unexpected("invalid listen address \"" + std::string(text) + "\": " + std::string(why) +
                      " (expected \"host:port\", \"[::1]:port\" or \"unix:/path\")");
  };
  ListenAddress a;
  if (text.starts_with("unix:")) {
    a.kind = ListenAddress::Kind::kUnix;
    a.path = std::string(text.substr(5));
    if (a.path.empty()) return bad("empty socket path");
    if (a.path.size() >= 108) return bad("socket path longer than 107 bytes");
    return a;
  }
  std::string_view port_text;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("unterminated [ipv6] address");
    a.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    a.host = std::string(text.substr(0, colon));
    if (a.host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets");
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty() ||
      port > 65535)
    return bad("port must be a number from 0 to 65535");
  a.port = static_cast<std::uint16_t>(port);
  return a;
}

bool ListenAddress::is_local() const {
  if (kind == Kind::kUnix) return true;
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace suz
