// The peer address sets of [server] forwarded_allow_ips (core/address_set.hpp).
#include "core/address_set.hpp"

#include <gtest/gtest.h>

namespace suz {
namespace {

AddressSet set_of(std::vector<std::string> entries) {
  auto s = AddressSet::parse(entries);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error());
  return s ? *s : AddressSet{};
}

TEST(AddressSet, addresses_blocks_and_unix_peers) {
  AddressSet s = set_of({"127.0.0.1", "10.0.0.0/8", "fd00::/8", "::1", "unix"});
  EXPECT_TRUE(s.contains("127.0.0.1"));
  EXPECT_FALSE(s.contains("127.0.0.2"));
  EXPECT_TRUE(s.contains("10.255.1.2"));
  EXPECT_FALSE(s.contains("11.0.0.1"));
  EXPECT_TRUE(s.contains("fd12:3456::1"));
  EXPECT_FALSE(s.contains("fe80::1"));
  EXPECT_TRUE(s.contains("::1"));
  EXPECT_TRUE(s.contains(""));  // a unix-socket peer
  EXPECT_FALSE(s.contains("not an address"));
}

TEST(AddressSet, an_ipv4_client_on_a_dual_stack_listener_matches_its_ipv4_block) {
  AddressSet s = set_of({"192.168.0.0/16"});
  EXPECT_TRUE(s.contains("::ffff:192.168.3.4"));
  EXPECT_FALSE(s.contains("::ffff:192.169.3.4"));
}

TEST(AddressSet, prefixes_that_are_not_a_multiple_of_eight) {
  AddressSet s = set_of({"172.16.0.0/12", "2001:db8::/33"});
  EXPECT_TRUE(s.contains("172.31.255.255"));
  EXPECT_FALSE(s.contains("172.32.0.0"));
  EXPECT_TRUE(s.contains("2001:db8:7fff::1"));
  EXPECT_FALSE(s.contains("2001:db8:8000::1"));
}

TEST(AddressSet, empty_and_everything) {
  EXPECT_TRUE(set_of({}).empty());
  EXPECT_FALSE(set_of({}).contains("127.0.0.1"));
  EXPECT_FALSE(set_of({}).contains(""));
  AddressSet all = set_of({"0.0.0.0/0", "::/0"});
  EXPECT_TRUE(all.contains("8.8.8.8"));
  EXPECT_TRUE(all.contains("2001:4860::8888"));
}

TEST(AddressSet, a_bad_entry_is_named_with_what_is_wrong) {
  EXPECT_EQ(AddressSet::parse({"10.0.0.0/33"}).error(), "\"10.0.0.0/33\": the prefix length must be a number from 0 to 32");
  EXPECT_EQ(AddressSet::parse({"10.0.0.1/8"}).error(), "\"10.0.0.1/8\" has bits set past its prefix length");
  EXPECT_EQ(AddressSet::parse({"localhost"}).error(), "\"localhost\" is not an IP address, a CIDR block or \"unix\"");
  EXPECT_EQ(AddressSet::parse({"::1/x"}).error(), "\"::1/x\": the prefix length must be a number from 0 to 128");
  EXPECT_FALSE(AddressSet::parse({"10.0.0.0/"}).has_value());
}

}  // namespace
}  // namespace suz
