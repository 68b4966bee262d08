// Who the client is behind a proxy (vassal/forwarded.hpp): the rules of
// X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and Forwarded.
#include "vassal/forwarded.hpp"

#include <gtest/gtest.h>

#include "vassal/ascii.hpp"

namespace suz {
namespace {

ProxyTrust trusting(std::vector<std::string> entries, bool forwarded_host = false) {
  auto set = AddressSet::parse(entries);
  EXPECT_TRUE(set.has_value());
  return ProxyTrust{set ? *set : AddressSet{}, forwarded_host};
}

Request from(std::string peer, std::vector<std::pair<std::string, std::string>> headers) {
  Request r;
  r.remote_addr = std::move(peer);
  r.remote_port = "40000";
  r.headers = std::move(headers);
  return r;
}

std::string header(const Request& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (iequals(n, name)) return v;
  return "(absent)";
}

TEST(Forwarded, from_an_untrusted_peer_the_headers_are_removed_and_the_peer_is_the_client) {
  Request r = from("198.51.100.9", {{"Host", "app"},
                                    {"X-Forwarded-For", "10.0.0.1"},
                                    {"x-forwarded-proto", "https"},
                                    {"X-Forwarded-Host", "evil"},
                                    {"Forwarded", "for=10.0.0.1"}});
  EXPECT_EQ(resolve_forwarded(r, trusting({"127.0.0.1"}, true)), "");
  EXPECT_EQ(r.remote_addr, "198.51.100.9");
  EXPECT_EQ(r.remote_port, "40000");
  EXPECT_EQ(r.url_scheme, "http");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(header(r, "Host"), "app");
}

TEST(Forwarded, with_no_trusted_proxies_configured_nobody_is_believed) {
  Request r = from("127.0.0.1", {{"X-Forwarded-For", "203.0.113.7"}});
  EXPECT_EQ(resolve_forwarded(r, ProxyTrust{}), "");
  EXPECT_EQ(r.remote_addr, "127.0.0.1");
  EXPECT_EQ(header(r, "X-Forwarded-For"), "(absent)");
}

TEST(Forwarded, from_a_trusted_peer_the_client_is_the_right_most_untrusted_address) {
  ProxyTrust t = trusting({"10.0.0.0/8"});
  struct Case {
    std::string xff, client;
  } cases[] = {
      {"203.0.113.7", "203.0.113.7"},
      {"203.0.113.7, 10.0.0.2", "203.0.113.7"},      // a proxy in front of the proxy
      {"1.1.1.1, 203.0.113.7", "203.0.113.7"},       // the client's own made-up hop is not believed
      {"10.0.0.5, 10.0.0.2", "10.0.0.5"},            // only proxies: the farthest one
      {"203.0.113.7, garbage", "10.0.0.1"},          // the nearest hop says nonsense: the peer
      {"203.0.113.7, unknown, 10.0.0.2", "10.0.0.2"},  // the walk ends at "unknown"
      {"2001:db8::1", "2001:db8::1"},
      {"[2001:db8::1]:4711", "2001:db8::1"},
      {"203.0.113.7:5678", "203.0.113.7"},
      {"  203.0.113.7 ,,", "203.0.113.7"},
  };
  for (const Case& c : cases) {
    Request r = from("10.0.0.1", {{"X-Forwarded-For", c.xff}});
    EXPECT_EQ(resolve_forwarded(r, t), "") << c.xff;
    EXPECT_EQ(r.remote_addr, c.client) << c.xff;
    EXPECT_EQ(header(r, "X-Forwarded-For"), c.xff) << "kept for the app";
  }
}

TEST(Forwarded, repeated_x_forwarded_for_fields_are_one_list) {
  Request r = from("127.0.0.1", {{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-For", "127.0.0.2"}});
  resolve_forwarded(r, trusting({"127.0.0.0/8"}));
  EXPECT_EQ(r.remote_addr, "203.0.113.7");
  EXPECT_EQ(r.remote_port, "0");
}

TEST(Forwarded, the_scheme_follows_the_right_most_proto_when_it_is_http_or_https) {
  ProxyTrust t = trusting({"127.0.0.1"});
  for (auto [xfp, scheme] : std::vector<std::pair<std::string, std::string>>{
           {"https", "https"}, {"HTTPS", "https"}, {"http, https", "https"}, {"ftp", "http"}, {"", "http"}}) {
    Request r = from("127.0.0.1", {{"X-Forwarded-Proto", xfp}});
    resolve_forwarded(r, t);
    EXPECT_EQ(r.url_scheme, scheme) << xfp;
  }
}

TEST(Forwarded, rfc_7239_for_proto_and_host) {
  Request r = from("127.0.0.1", {{"Host", "internal"},
                                 {"Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43;host=shop.example"}});
  EXPECT_EQ(resolve_forwarded(r, trusting({"127.0.0.1"}, true)), "");
  EXPECT_EQ(r.remote_addr, "192.0.2.60");
  EXPECT_EQ(r.url_scheme, "https");
  EXPECT_EQ(header(r, "Host"), "shop.example");

  Request v6 = from("127.0.0.1", {{"Forwarded", "for=\"[2001:db8:cafe::17]:4711\""}});
  resolve_forwarded(v6, trusting({"127.0.0.1"}));
  EXPECT_EQ(v6.remote_addr, "2001:db8:cafe::17");
  EXPECT_EQ(v6.remote_port, "4711");
}

TEST(Forwarded, several_elements_and_fields_walk_like_x_forwarded_for_and_win_over_it) {
  Request r = from("10.0.0.1", {{"Forwarded", "for=198.51.100.1, For=\"203.0.113.7\""},
                                {"Forwarded", "for=10.0.0.9;proto=https"},
                                {"X-Forwarded-For", "192.0.2.99"}});
  resolve_forwarded(r, trusting({"10.0.0.0/8"}));
  EXPECT_EQ(r.remote_addr, "203.0.113.7");
  EXPECT_EQ(r.url_scheme, "https");

  Request hidden = from("10.0.0.1", {{"Forwarded", "for=_hidden, for=unknown"}});
  resolve_forwarded(hidden, trusting({"10.0.0.0/8"}));
  EXPECT_EQ(hidden.remote_addr, "10.0.0.1");
}

TEST(Forwarded, a_forwarded_field_that_does_not_parse_from_a_trusted_peer_is_an_error) {
  for (std::string bad : {"for=\"192.0.2.1", "for", "for=a b", "for=1;;=x", "for=\"x\"y"}) {
    Request r = from("127.0.0.1", {{"Forwarded", bad}});
    EXPECT_NE(resolve_forwarded(r, trusting({"127.0.0.1"})), "") << bad;
  }
  Request untrusted = from("192.0.2.5", {{"Forwarded", "for=\"192.0.2.1"}});
  EXPECT_EQ(resolve_forwarded(untrusted, trusting({"127.0.0.1"})), "") << "not believed, so not judged: removed";
}

TEST(Forwarded, host_follows_x_forwarded_host_only_when_asked_and_only_when_plausible) {
  Request kept = from("127.0.0.1", {{"Host", "internal"}, {"X-Forwarded-Host", "shop.example"}});
  resolve_forwarded(kept, trusting({"127.0.0.1"}));
  EXPECT_EQ(header(kept, "Host"), "internal");

  Request followed = from("127.0.0.1", {{"Host", "internal"}, {"X-Forwarded-Host", "a.example, shop.example:8443"}});
  resolve_forwarded(followed, trusting({"127.0.0.1"}, true));
  EXPECT_EQ(header(followed, "Host"), "shop.example:8443");

  Request odd = from("127.0.0.1", {{"Host", "internal"}, {"X-Forwarded-Host", "shop example/x"}});
  resolve_forwarded(odd, trusting({"127.0.0.1"}, true));
  EXPECT_EQ(header(odd, "Host"), "internal");
}

TEST(Forwarded, unix_socket_peers_and_ipv4_mapped_peers) {
  Request unix_peer = from("", {{"X-Forwarded-For", "203.0.113.7"}});
  resolve_forwarded(unix_peer, trusting({"unix"}));
  EXPECT_EQ(unix_peer.remote_addr, "203.0.113.7");

  Request mapped = from("::ffff:127.0.0.1", {{"X-Forwarded-For", "203.0.113.7"}});
  resolve_forwarded(mapped, trusting({"127.0.0.1"}));
  EXPECT_EQ(mapped.remote_addr, "203.0.113.7");
}

TEST(Forwarded, split_node_takes_addresses_with_and_without_ports) {
  std::string a, p;
  EXPECT_TRUE(split_node("192.0.2.1", a, p));
  EXPECT_EQ(a + "|" + p, "192.0.2.1|");
  EXPECT_TRUE(split_node("192.0.2.1:80", a, p));
  EXPECT_EQ(a + "|" + p, "192.0.2.1|80");
  EXPECT_TRUE(split_node("[::1]:8080", a, p));
  EXPECT_EQ(a + "|" + p, "::1|8080");
  EXPECT_TRUE(split_node("::1", a, p));
  EXPECT_EQ(a + "|" + p, "::1|");
  for (std::string bad : {"", "unknown", "_x", "192.0.2.1:", "192.0.2.1:http", "[::1", "[::1]x", "[example]:1",
                          "192.0.2.1:123456", "host.example:80"})
    EXPECT_FALSE(split_node(bad, a, p)) << bad;
}

}  // namespace
}  // namespace suz
