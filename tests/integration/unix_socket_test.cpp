// Both protocols on unix sockets, the way a local front end reaches a vassal.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/support/http_client.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

TEST(UnixSockets, http_and_uwsgi_listeners_serve_on_unix_sockets) {
  TempDir sockets;
  std::string http = (sockets.path() / "http.sock").string(), uwsgi = (sockets.path() / "uwsgi.sock").string();
  VassalUnderTest v(R"(
[app]
module = "validated:application"
chdir = "@APPS@"
[server]
http = ["unix:)" + http + R"("]
uwsgi = ["unix:)" + uwsgi + R"("]
workers = 1
)");
  HttpClient c(http);
  c.send("GET /environ HTTP/1.1\r\nHost: local\r\n\r\n");
  auto r = c.receive();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("\"SERVER_NAME\": \"localhost\""), std::string::npos) << r->body;

  HttpClient u(uwsgi);
  std::string vars;
  for (auto [k, val] : {std::pair<std::string, std::string>{"REQUEST_METHOD", "GET"}, {"PATH_INFO", "/"},
                        {"SERVER_NAME", "front"}, {"SERVER_PORT", "80"}}) {
    vars += static_cast<char>(k.size()); vars += '\0'; vars += k;
    vars += static_cast<char>(val.size()); vars += '\0'; vars += val;
  }
  std::string packet(4, '\0');
  packet[1] = static_cast<char>(vars.size() & 0xff);
  packet[2] = static_cast<char>(vars.size() >> 8);
  u.send(packet + vars);
  auto ur = u.receive();
  ASSERT_TRUE(ur);
  EXPECT_EQ(ur->body, "hello");
}

}  // namespace
}  // namespace suz::test
