// Slow clients against the real binaries, attacked by slowhttptest (Debian's
// package): 400 bodies sent a few bytes a second (-B), or 100 large
// responses read a few bytes at a time (-X), must not hold the app threads:
// a normal client's requests are answered within a second throughout.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/http_client.hpp"
#include "tests/support/spawned.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

std::string slow_vassal(const std::string& server) {
  return "[app]\nmodule = \"validated:application\"\nchdir = \"@APPS@\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n"
         "workers = 1\nthreads = 4\n" + server;
}

// slowhttptest is run line-buffered (stdbuf) so that its status lines
// arrive as it prints them. Probes until the attack ends; returns the probes answered, or fails at
// the first one not answered 200 within a second.
int probe_while(Spawned& attack, int port, int connections) {
  EXPECT_TRUE(attack.wait_for_line("connected:.* " + std::to_string(connections) + "$", 30s)) << attack.output();
  int answered = 0;
  while (attack.count_lines("Test ended") == 0) {
    auto r = http_get(port, "/", 1s);
    if (!r || r->status != 200) {
      ADD_FAILURE() << "a normal request was not answered within 1 s after " << answered << " were";
      return answered;
    }
    ++answered;
  }
  return answered;
}

TEST(SlowClients, bodies_sent_slowly_are_gathered_by_the_io_thread_and_other_requests_are_served) {
  if (!std::filesystem::exists("/usr/bin/slowhttptest")) GTEST_SKIP() << "slowhttptest is not installed";
  VassalUnderTest v(slow_vassal(""), 1);
  std::string url = "http://127.0.0.1:" + std::to_string(v.http_port()) + "/echo";
  Spawned attack({"/usr/bin/stdbuf", "-oL", "/usr/bin/slowhttptest", "-B", "-c", "400", "-r", "200", "-i", "1", "-s", "8192", "-l", "8", "-t", "POST",
                  "-p", "1", "-u", url});
  EXPECT_GT(probe_while(attack, v.http_port(), 400), 0);
}

TEST(SlowClients, responses_read_slowly_are_sent_by_the_io_thread_and_other_requests_are_served) {
  if (!std::filesystem::exists("/usr/bin/slowhttptest")) GTEST_SKIP() << "slowhttptest is not installed";
  // On loopback the kernel takes up to tcp_wmem's maximum (4 MiB here) of
  // each response itself; 6 MiB leaves it 2 MiB to refuse, which the
  // vassal keeps in memory instead of holding a thread.
  VassalUnderTest v(slow_vassal("buffer_response = \"8MB\"\n"), 1);
  std::string url = "http://127.0.0.1:" + std::to_string(v.http_port()) + "/bytes?6291456";
  Spawned attack({"/usr/bin/stdbuf", "-oL", "/usr/bin/slowhttptest", "-X", "-c", "100", "-r", "100", "-w", "512", "-y", "1024", "-n", "5", "-z", "32",
                  "-k", "1", "-l", "8", "-p", "1", "-u", url});
  EXPECT_GT(probe_while(attack, v.http_port(), 100), 0);
}

TEST(SlowClients, a_buffered_response_arrives_whole_and_the_connection_carries_pipelined_requests_after_it) {
  VassalUnderTest v(slow_vassal("buffer_response = \"8MB\"\n[log]\naccess = \"stderr\"\n"
                                "access_format = \"ACCESS {path} {status} {bytes}\"\n"), 1);
  HttpClient c(v.http_port());
  c.send("GET /bytes?6291456 HTTP/1.1\r\nHost: x\r\n\r\nGET /bytes?5 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto big = c.receive(30s);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 200);
  EXPECT_EQ(big->body.size(), 6291456u);
  EXPECT_EQ(big->body.find_first_not_of('b'), std::string::npos);
  auto small = c.receive();
  ASSERT_TRUE(small);
  EXPECT_EQ(small->body, "bbbbb");
  EXPECT_TRUE(v.process().wait_for_line("^ACCESS /bytes 200 6291456$", 10s)) << v.process().output();
  EXPECT_TRUE(v.process().wait_for_line("^ACCESS /bytes 200 5$", 10s));
}

TEST(SlowClients, a_buffered_body_reaches_the_app_whole_and_large_bodies_still_stream) {
  VassalUnderTest v(slow_vassal("buffer_body = \"64KB\"\n"), 1);
  for (std::size_t size : {std::size_t{1000}, std::size_t{65536}, std::size_t{300000}}) {
    HttpClient c(v.http_port());
    std::string body(size, 'q');
    body[size / 2] = 'X';
    std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
    c.send(head + body.substr(0, size / 3));
    c.send(body.substr(size / 3));
    auto r = c.receive(30s);
    ASSERT_TRUE(r) << size;
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->body == body) << size;
  }
}

}  // namespace
}  // namespace suz::test
