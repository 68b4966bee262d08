// Malformed, oversized and slow requests get the right status (or a closed
// connection) and never cost the worker: it keeps serving afterwards.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "tests/support/http_client.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

constexpr const char* kConfig = R"(
[app]
module = "validated:application"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
uwsgi = ["127.0.0.1:0"]
workers = 1
threads = 1
max_header_size = "4KB"
max_body_size = "1KB"
header_timeout = "500ms"
keepalive_timeout = "500ms"
io_timeout = "1s"
)";

class HttpLimits : public testing::Test {
 protected:
  static void SetUpTestSuite() { vassal_ = new VassalUnderTest(kConfig); }
  static void TearDownTestSuite() {
    delete vassal_;
    vassal_ = nullptr;
  }
  void TearDown() override {
    // Whatever the test sent, the worker still serves, and never crashed.
    auto r = http_get(vassal_->http_port(), "/");
    ASSERT_TRUE(r.has_value()) << vassal_->process().output();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(vassal_->process().count_lines("worker 1 \\(pid \\d+\\) (exited|killed)"), 0)
        << vassal_->process().output();
  }
  static int status_of(const std::string& raw) {
    HttpClient c(vassal_->http_port());
    c.send(raw);
    auto r = c.receive();
    return r ? r->status : -1;
  }
  static VassalUnderTest* vassal_;
};
VassalUnderTest* HttpLimits::vassal_ = nullptr;

TEST_F(HttpLimits, garbage_is_a_400_and_the_connection_is_closed) {
  HttpClient c(vassal_->http_port());
  c.send("THIS IS NOT HTTP\r\n\r\n");
  auto r = c.receive();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HttpLimits, a_bad_header_line_is_a_400) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost x\r\n\r\n"), 400);
}

TEST_F(HttpLimits, an_unknown_http_version_is_a_505) {
  EXPECT_EQ(status_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
}

TEST_F(HttpLimits, a_nul_byte_in_the_path_is_a_400) {
  EXPECT_EQ(status_of("GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

TEST_F(HttpLimits, oversized_headers_are_a_431) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(5000, 'a') + "\r\n\r\n"), 431);
}

TEST_F(HttpLimits, too_many_headers_in_total_are_a_431) {
  std::string many;
  for (int i = 0; i < 300; ++i) many += "X-H" + std::to_string(i) + ": 0123456789\r\n";
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\n" + many + "\r\n"), 431);
}

TEST_F(HttpLimits, an_oversized_target_is_a_414) {
  EXPECT_EQ(status_of("GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"), 414);
}

TEST_F(HttpLimits, a_declared_body_over_the_limit_is_a_413_without_reading_it) {
  EXPECT_EQ(status_of("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n"), 413);
}

TEST_F(HttpLimits, a_chunked_body_growing_over_the_limit_is_a_413) {
  std::string chunk(600, 'x');
  EXPECT_EQ(status_of("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" + chunk +
                      "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n"),
            413);
}

TEST_F(HttpLimits, an_unsupported_expectation_is_a_417) {
  EXPECT_EQ(status_of("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: magic\r\n\r\nx"), 417);
}

TEST_F(HttpLimits, a_head_trickling_in_is_cut_off_at_the_header_timeout) {
  HttpClient c(vassal_->http_port());
  c.send("GET / HTTP/1.1\r\n");
  c.send("Host: x\r\n");  // and nothing more: a slowloris client
  EXPECT_TRUE(c.closed_by_server(10s));
  EXPECT_TRUE(vassal_->process().wait_for_line("request head not complete within 500ms", 10s));
}

TEST_F(HttpLimits, an_idle_keep_alive_connection_is_closed_after_the_keepalive_timeout) {
  HttpClient c(vassal_->http_port());
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c.receive());
  EXPECT_TRUE(c.closed_by_server(10s));
}

TEST_F(HttpLimits, a_body_that_never_ends_frees_the_thread_after_the_io_timeout) {
  HttpClient c(vassal_->http_port());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b");
  EXPECT_TRUE(c.closed_by_server(10s));
  // The only thread of the only worker is free again: TearDown's request is served.
}

TEST_F(HttpLimits, a_client_that_disconnects_mid_body_does_not_hurt) {
  {
    HttpClient c(vassal_->http_port());
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial");
  }  // closed here
}

TEST_F(HttpLimits, the_uwsgi_protocol_carries_cgi_variables_and_the_body) {
  HttpClient c(vassal_->uwsgi_port());
  c.send(uwsgi_packet({{"REQUEST_METHOD", "POST"},
                       {"REQUEST_URI", "/echo"},
                       {"PATH_INFO", "/echo"},
                       {"QUERY_STRING", ""},
                       {"CONTENT_LENGTH", "7"},
                       {"SERVER_PROTOCOL", "HTTP/1.1"},
                       {"SERVER_NAME", "front"},
                       {"SERVER_PORT", "80"},
                       {"REMOTE_ADDR", "10.0.0.1"},
                       {"HTTP_HOST", "front"}}) +
         "payload");
  auto r = c.receive();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "payload");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HttpLimits, a_malformed_uwsgi_packet_is_rejected) {
  HttpClient c(vassal_->uwsgi_port());
  std::string bad = uwsgi_packet({{"REQUEST_METHOD", "GET"}});
  bad[5] = 0x7f;  // a key length running past the packet
  c.send(bad);
  EXPECT_TRUE(c.closed_by_server());
}

// As over HTTP: a NUL in the path is a 400, never handed to the app.
TEST_F(HttpLimits, a_nul_byte_in_a_uwsgi_path_is_a_400) {
  for (auto vars : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/echo"}, {"PATH_INFO", std::string("/ec\0ho", 6)}},
           {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/ec%00ho"}}}) {
    HttpClient c(vassal_->uwsgi_port());
    c.send(uwsgi_packet(vars));
    auto r = c.receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(c.closed_by_server());
  }
}

}  // namespace
}  // namespace suz::test
