// Hostile clients against a running vassal: each gets the right status or a
// closed connection, no thread is held past its timeout, and the worker keeps
// serving everybody else meanwhile. (Malformed and oversized requests one at
// a time are in http_limits_test.cpp.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kConfig = R"(
[app]
module = "validated:application"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 1
threads = 2
max_body_size = "1MB"
header_timeout = "2s"
keepalive_timeout = "60s"
io_timeout = "2s"
)";

class HostileClients : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);  // writing to a connection the server closed is part of the attack
    vassal_ = new VassalUnderTest(kConfig);
  }
  static void TearDownTestSuite() {
    delete vassal_;
    vassal_ = nullptr;
  }
  void TearDown() override {
    auto r = http_get(port(), "/");
    ASSERT_TRUE(r.has_value()) << vassal_->process().output();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(vassal_->process().count_lines("worker 1 \\(pid \\d+\\) (exited|killed)"), 0)
        << vassal_->process().output();
  }
  static int port() { return vassal_->http_port(); }
  static VassalUnderTest* vassal_;
};
VassalUnderTest* HostileClients::vassal_ = nullptr;

// The status of the response to raw sent on c, or -1 if none came.
int status_of(HttpClient& c, const std::string& raw) {
  c.send(raw);
  auto r = c.receive(10s);
  return r ? r->status : -1;
}

// Sends what it can; false once the server has closed the connection.
bool send_quietly(HttpClient& c, const std::string& bytes) {
  return ::send(c.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

TEST_F(HostileClients, slowloris_connections_are_cut_at_the_header_timeout_while_others_are_served) {
  // Twenty clients send a request head a byte every 100 ms: each byte comes
  // well within any per-read timeout, so only a deadline on the whole head
  // (header_timeout, 2 s here) stops them.
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(200, 'a') + "\r\n\r\n";
  std::vector<std::unique_ptr<HttpClient>> attackers;
  for (int i = 0; i < 20; ++i) attackers.push_back(std::make_unique<HttpClient>(port()));
  std::vector<bool> cut(attackers.size(), false);
  bool served_meanwhile = false;
  auto start = std::chrono::steady_clock::now();
  std::size_t sent = 0;
  for (std::size_t open = attackers.size(); open > 0 && std::chrono::steady_clock::now() - start < 30s; ++sent) {
    for (std::size_t i = 0; i < attackers.size(); ++i) {
      if (cut[i]) continue;
      if (attackers[i]->closed_by_server(1ms) || !send_quietly(*attackers[i], head.substr(sent % head.size(), 1))) {
        cut[i] = true;
        --open;
      }
    }
    if (sent == 3) {  // every attacker is mid-head now: an honest client still gets through
      auto r = http_get(port(), "/", 5s);
      served_meanwhile = r && r->status == 200;
    }
    std::this_thread::sleep_for(100ms);  // the attack's pace, not a wait for a result
  }
  EXPECT_TRUE(served_meanwhile);
  for (std::size_t i = 0; i < attackers.size(); ++i) EXPECT_TRUE(cut[i]) << "attacker " << i << " still connected";
  EXPECT_LT(sent, head.size()) << "a head was completed: the attackers were never cut";
  EXPECT_TRUE(vassal_->process().wait_for_line("request head not complete within 2s", 5s));
}

TEST_F(HostileClients, a_body_that_never_ends_is_cut_at_max_body_size_and_frees_the_thread) {
  HttpClient c(port());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = "4000\r\n" + std::string(0x4000, 'z') + "\r\n";
  bool cut = false;
  for (int i = 0; i < 1000 && !cut; ++i) cut = !send_quietly(c, chunk);  // 16 MB offered; 1 MB allowed
  auto r = c.receive(10s);
  if (r) {
    EXPECT_EQ(r->status, 413);
  }
  EXPECT_TRUE(cut || c.closed_by_server(10s));
}

TEST_F(HostileClients, ten_thousand_idle_keep_alive_connections_do_not_lock_out_a_new_client) {
  // The worker holds max_connections (1000 by default); past that it closes
  // its oldest idle keep-alive connection for each new one, so with a 60 s
  // keep-alive timeout every one of the 10,000 clients is still answered at
  // once, and a client arriving after them too.
  rlimit fds{};
  ::getrlimit(RLIMIT_NOFILE, &fds);
  if (fds.rlim_cur < 10'300) {
    rlimit want{10'300, std::max<rlim_t>(fds.rlim_max, 10'300)};
    if (::setrlimit(RLIMIT_NOFILE, &want) != 0)
      GTEST_SKIP() << "needs 10,300 file descriptors; the hard limit is " << fds.rlim_max;
  }
  std::vector<std::unique_ptr<HttpClient>> idle;
  idle.reserve(10'000);
  int answered = 0;
  for (int i = 0; i < 10'000; ++i) {
    auto c = std::make_unique<HttpClient>(port());
    c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c->receive(10s);
    if (!r || r->status != 200 || !r->keep_alive) {
      ADD_FAILURE() << "client " << i << " was not answered with a keep-alive 200";
      break;
    }
    ++answered;
    idle.push_back(std::move(c));
  }
  EXPECT_EQ(answered, 10'000);
  auto late = http_get(port(), "/worker", 10s);
  ASSERT_TRUE(late && late->status == 200);
  // The worker never held more than about max_connections of them.
  std::string pid = late->body.substr(late->body.rfind(' ') + 1);
  std::size_t open_fds = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/" + pid + "/fd")) ++open_fds;
  EXPECT_LT(open_fds, 1'100u);
  // The newest are still open (kept alive); the oldest were closed to make room.
  EXPECT_TRUE(idle.front()->closed_by_server(5s));
  EXPECT_FALSE(idle.back()->closed_by_server(100ms));
}

TEST_F(HostileClients, content_length_with_transfer_encoding_is_a_400_and_nothing_is_smuggled) {
  HttpClient c(port());
  EXPECT_EQ(status_of(c,
                      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "0\r\n\r\nGET /worker HTTP/1.1\r\nHost: x\r\n\r\n"),
            400);
  EXPECT_FALSE(c.receive(10s)) << "the smuggled GET /worker was answered";
}

TEST_F(HostileClients, duplicate_content_lengths_are_a_400) {
  HttpClient c(port());
  EXPECT_EQ(status_of(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc"), 400);
  EXPECT_TRUE(c.closed_by_server(10s));
}

TEST_F(HostileClients, a_transfer_encoding_that_is_not_chunked_last_is_a_400) {
  HttpClient c(port());
  EXPECT_EQ(status_of(c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                         "3\r\nabc\r\n0\r\n\r\n"),
            400);
}

TEST_F(HostileClients, a_transfer_coding_other_than_chunked_is_a_501) {
  HttpClient c(port());
  EXPECT_EQ(status_of(c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                         "3\r\nabc\r\n0\r\n\r\n"),
            501);
  EXPECT_FALSE(c.receive(10s));
}

TEST_F(HostileClients, an_obs_fold_header_is_a_400) {
  // RFC 9112 5.2: a server must reject obs-fold or replace it with spaces;
  // rejecting leaves no room for two parsers to disagree.
  HttpClient c(port());
  EXPECT_EQ(status_of(c, "GET /environ HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n two\r\n\r\n"), 400);
  EXPECT_FALSE(c.receive(10s));
}

TEST_F(HostileClients, invalid_utf8_in_the_path_reaches_the_app_as_latin1_bytes) {
  HttpClient c(port());
  c.send("GET /environ/caf\xc3\x28%ff HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.receive(10s);
  ASSERT_TRUE(r);
  // The app's own 404 echoes PATH_INFO encoded as UTF-8: each byte sent (0xc3,
  // '(', and 0xff from %ff) arrived as one latin-1 character.
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "not here: /environ/caf\xc3\x83(\xc3\xbf");
}

TEST_F(HostileClients, a_raw_nul_byte_in_the_request_line_is_a_400) {
  HttpClient c(port());
  EXPECT_EQ(status_of(c, std::string("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n", 30)), 400);
}

TEST_F(HostileClients, http_1_0_and_pipelined_1_1_requests_mixed_are_answered_in_order_up_to_the_1_0_close) {
  HttpClient c(port());
  c.send("GET /worker HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
         "GET /worker HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET / HTTP/1.0\r\n\r\n"
         "GET /worker HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 4; ++i) {
    auto r = c.receive(10s);
    ASSERT_TRUE(r) << "response " << i;
    EXPECT_EQ(r->status, 200) << "response " << i;
  }
  // The second HTTP/1.0 request asked for no keep-alive: the connection ends there.
  EXPECT_FALSE(c.receive(10s)) << "a request after the HTTP/1.0 close was answered";
}

}  // namespace
}  // namespace suz::test
