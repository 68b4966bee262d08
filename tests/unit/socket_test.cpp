#include "core/socket.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "tests/support/process.hpp"

namespace suz {
namespace {

ListenAddress parse(const char* text) { return parse_listen_address(text).value(); }

TEST(ListenAddress, parses_tcp_ipv6_and_unix_forms) {
  EXPECT_EQ(parse("127.0.0.1:8080").port, 8080);
  EXPECT_EQ(parse("127.0.0.1:8080").host, "127.0.0.1");
  EXPECT_EQ(parse(":9000").host, "");
  EXPECT_EQ(parse("[::1]:80").host, "::1");
  EXPECT_EQ(parse("[::1]:80").str(), "[::1]:80");
  EXPECT_EQ(parse("unix:/run/a.sock").kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(parse("unix:/run/a.sock").path, "/run/a.sock");
}

TEST(ListenAddress, rejects_bad_forms_with_a_reason) {
  for (const char* bad : {"8080", "host:", "host:99999", "host:80x", "::1:80", "[::1]80", "unix:", "[::1"})
    EXPECT_FALSE(parse_listen_address(bad).has_value()) << bad;
}

TEST(Socket, tcp_listener_on_port_zero_reports_its_port_and_accepts) {
  Fd listener = listen_on(parse("127.0.0.1:0"));
  ListenAddress bound = local_address(listener);
  ASSERT_NE(bound.port, 0);
  Fd client = connect_to(bound);
  Fd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(server.valid());
  ASSERT_EQ(::write(client.get(), "hi", 2), 2);
  char buf[2];
  ASSERT_EQ(::read(server.get(), buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "hi");
}

TEST(Socket, binding_a_port_in_use_names_the_address) {
  Fd first = listen_on(parse("127.0.0.1:0"));
  ListenAddress taken = local_address(first);
  try {
    listen_on(taken);
    FAIL() << "second bind succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find(taken.str()), std::string::npos);
  }
}

TEST(Socket, unix_listener_replaces_a_stale_socket_but_not_a_live_one) {
  test::TempDir dir;
  ListenAddress a = parse(("unix:" + (dir.path() / "app.sock").string()).c_str());
  { Fd dead = listen_on(a); }  // closed: the file stays behind, stale
  ASSERT_TRUE(std::filesystem::exists(a.path));
  Fd live = listen_on(a);
  EXPECT_TRUE(connect_to(a).valid());
  EXPECT_THROW(listen_on(a), std::system_error);
}

TEST(Socket, unix_listener_refuses_to_replace_a_regular_file) {
  test::TempDir dir;
  auto path = dir.write("important.txt", "data");
  EXPECT_THROW(listen_on(parse(("unix:" + path.string()).c_str())), std::system_error);
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(Socket, socketpair_is_connected) {
  auto [a, b] = make_socketpair(SOCK_STREAM);
  ASSERT_EQ(::write(a.get(), "x", 1), 1);
  char c;
  ASSERT_EQ(::read(b.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

}  // namespace
}  // namespace suz
