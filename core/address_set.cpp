#include "core/address_set.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <optional>

namespace suz {

namespace {

// Any address as 16 bytes, IPv4 mapped (::ffff:a.b.c.d), so that a client
// reaching a dual-stack listener over IPv4 matches an IPv4 block.
std::optional<std::array<std::uint8_t, 16>> as_ipv6(std::string_view text, bool* v4 = nullptr) {
  std::string s(text);
  std::array<std::uint8_t, 16> out{};
  in_addr a4{};
  if (::inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &a4, 4);
    if (v4) *v4 = true;
    return out;
  }
  if (::inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
    if (v4) *v4 = false;
    return out;
  }
  return std::nullopt;
}

bool matches(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& block, int prefix) {
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.data(), block.data(), static_cast<std::size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[static_cast<std::size_t>(full)] & mask) == (block[static_cast<std::size_t>(full)] & mask);
}

}  // namespace

Result<AddressSet> AddressSet::parse(const std::vector<std::string>& entries) {
  AddressSet set;
  for (const std::string& entry : entries) {
    if (entry == "unix") {
      set.unix_ = true;
      continue;
    }
    std::string_view text(entry);
    std::size_t slash = text.find('/');
    bool v4 = false;
    auto bytes = as_ipv6(text.substr(0, slash), &v4);
    if (!bytes) return unexpected("\"" + entry + "\" is not an IP address, a CIDR block or \"unix\"");
    int bits = v4 ? 32 : 128, prefix = bits;
    if (slash != std::string_view::npos) {
      std::string_view p = text.substr(slash + 1);
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
      if (ec != std::errc() || end != p.data() + p.size() || p.empty() || prefix < 0 || prefix > bits)
        return unexpected("\"" + entry + "\": the prefix length must be a number from 0 to " + std::to_string(bits));
    }
    Block b{*bytes, v4 ? prefix + 96 : prefix};
    // Bits set past the prefix ("10.0.0.1/8") are a typo for another block.
    std::array<std::uint8_t, 16> masked{};
    for (int i = 0; i < b.prefix; ++i) {
      auto at = static_cast<std::size_t>(i / 8);
      auto bit = static_cast<std::uint8_t>(0x80 >> (i % 8));
      masked[at] = static_cast<std::uint8_t>(masked[at] | (b.bytes[at] & bit));
    }
    if (masked != b.bytes) return unexpected("\"" + entry + "\" has bits set past its prefix length");
    set.blocks_.push_back(b);
  }
  return set;
}

AddressSet AddressSet::loopback_and_unix() {
  auto set = parse({"127.0.0.0/8", "::1", "unix"});
  return std::move(*set);
}

bool AddressSet::is_address(std::string_view text) { return as_ipv6(text).has_value(); }

bool AddressSet::contains(std::string_view address) const {
  if (address.empty()) return unix_;
  auto bytes = as_ipv6(address);
  if (!bytes) return false;
  for (const Block& b : blocks_)
    if (matches(*bytes, b.bytes, b.prefix)) return true;
  return false;
}

}  // namespace suz
