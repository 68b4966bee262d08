// The request log ([log] access, access_format) against the real binaries:
// one line per request, the server's own answers included, on HTTP and
// uwsgi listeners; JSON that no header can break; a file that keeps every
// line across a stop and follows logrotate on USR1.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/http_client.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

std::string logged_vassal(const std::string& log, const std::string& server = "") {
  return "[app]\nmodule = \"validated:application\"\nchdir = \"@APPS@\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n"
         "uwsgi = [\"127.0.0.1:0\"]\nworkers = 1\nthreads = 2\nheader_timeout = \"300ms\"\nmax_body_size = \"1KB\"\n" +
         server + "[log]\n" + log;
}

int answer_to(int port, const std::string& bytes) {
  HttpClient c(port);
  c.send(bytes);
  auto r = c.receive();
  return r ? r->status : 0;
}

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(RequestLog, every_request_has_a_line_the_servers_own_answers_included) {
  VassalUnderTest v(logged_vassal("access = \"stderr\"\naccess_format = \"ACCESS {status} {request_line} {bytes}\"\n"), 1);
  int port = v.http_port();
  ASSERT_EQ(answer_to(port, "GET /?a=1 HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
  ASSERT_EQ(answer_to(port, "GET / HTTP/1.1\r\nHost: x\r\nBad : header\r\n\r\n"), 400);
  ASSERT_EQ(answer_to(port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b')), 413);
  ASSERT_EQ(answer_to(port, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'h') + "\r\n\r\n"), 431);
  ASSERT_EQ(answer_to(port, "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"), 501);
  ASSERT_EQ(answer_to(port, "GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
  {
    HttpClient slow(port);
    slow.send("GET /slow HTTP/1.1\r\nHo");
    EXPECT_TRUE(slow.closed_by_server());
  }
  HttpClient u(v.uwsgi_port());
  u.send(uwsgi_packet({{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/via-uwsgi"}, {"PATH_INFO", "/via-uwsgi"},
                       {"QUERY_STRING", ""}, {"SERVER_NAME", "f"}, {"SERVER_PORT", "80"},
                       {"SERVER_PROTOCOL", "HTTP/1.1"}, {"REMOTE_ADDR", "10.1.1.1"}}));
  ASSERT_TRUE(u.receive());

  auto& p = v.process();
  EXPECT_TRUE(p.wait_for_line("^ACCESS 200 GET /\\?a=1 HTTP/1.1 5$", 10s)) << p.output();
  EXPECT_TRUE(p.wait_for_line("^ACCESS 400 GET / HTTP/1.1 \\d+$", 10s)) << p.output();
  EXPECT_TRUE(p.wait_for_line("^ACCESS 413 POST /echo HTTP/1.1 \\d+$", 10s)) << p.output();
  EXPECT_TRUE(p.wait_for_line("^ACCESS 431 ", 10s)) << p.output();
  EXPECT_TRUE(p.wait_for_line("^ACCESS 501 ", 10s)) << p.output();
  EXPECT_TRUE(p.wait_for_line("^ACCESS 505 ", 10s)) << p.output();
  EXPECT_TRUE(p.wait_for_line("^ACCESS 408 ", 10s)) << p.output();
  EXPECT_TRUE(p.wait_for_line("^ACCESS 404 GET /via-uwsgi HTTP/1.1 \\d+$", 10s)) << p.output();
  EXPECT_EQ(p.count_lines("^ACCESS 200 GET /\\?a=1 "), 1) << "one line per request";
}

TEST(RequestLog, a_client_gone_mid_response_is_logged_as_incomplete) {
  VassalUnderTest v(logged_vassal("access = \"stderr\"\naccess_format = \"json\"\n"), 1);
  {
    HttpClient c(v.http_port());
    c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    char head[256];
    ASSERT_GT(::recv(c.fd(), head, sizeof head, 0), 0);  // the response has begun
  }  // and the client leaves
  auto m = v.process().wait_for_line("^(\\{.*\"path\":\"/big\".*\\})$", 30s);
  ASSERT_TRUE(m) << v.process().output();
  auto j = nlohmann::json::parse((*m)[1]);
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["complete"], false);
  EXPECT_LT(j["bytes"].get<std::uint64_t>(), 64u << 20);
}

TEST(RequestLog, json_lines_parse_whatever_the_headers_hold_and_show_the_resolved_client) {
  VassalUnderTest v(logged_vassal("access = \"stderr\"\naccess_format = \"json\"\n",
                                  "forwarded_allow_ips = [\"127.0.0.1\"]\n"), 1);
  std::string evil = "evil\", \"status\": 999, \"x\": \"\xff\xfe\\";
  ASSERT_EQ(answer_to(v.http_port(), "GET /environ?x=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: " + evil +
                                         "\r\nReferer: https://r.example/\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n"),
            200);
  auto m = v.process().wait_for_line("^(\\{.*\"path\":\"/environ\".*\\})$", 10s);
  ASSERT_TRUE(m) << v.process().output();
  auto j = nlohmann::json::parse((*m)[1]);
  EXPECT_EQ(j["remote_addr"], "203.0.113.9");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["query"], "x=1");
  EXPECT_EQ(j["referer"], "https://r.example/");
  EXPECT_EQ(j["user_agent"], "evil\", \"status\": 999, \"x\": \"\xEF\xBF\xBD\xEF\xBF\xBD\\");
  EXPECT_EQ(j["worker"], 1);
  EXPECT_TRUE(j["duration_ms"].is_number());
}

TEST(RequestLog, a_file_keeps_every_line_across_a_stop_and_usr1_moves_to_a_fresh_file) {
  TempDir dir;
  auto file = dir.path() / "access.log";
  VassalUnderTest v(logged_vassal("access = \"" + file.string() + "\"\n"), 1);
  int port = v.http_port();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(http_get(port, "/before/" + std::to_string(i)));

  std::filesystem::rename(file, dir.path() / "access.log.1");  // logrotate's move
  ::kill(v.process().pid(), SIGUSR1);
  ASSERT_TRUE(v.process().wait_for_line("log reopened", 10s));
  // The worker reopens when its own USR1 arrives; a request is logged to
  // the old file until then, to the new one after: none is lost. Requests
  // go on until the new file has its first line.
  int after = 0;
  auto until = std::chrono::steady_clock::now() + 10s;
  auto empty = [&] { return !std::filesystem::exists(file) || std::filesystem::file_size(file) == 0; };
  while (std::chrono::steady_clock::now() < until && empty()) {
    ASSERT_TRUE(http_get(port, "/after/" + std::to_string(after++)));
  }
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(http_get(port, "/after/" + std::to_string(after++)));
  ASSERT_TRUE(v.process().stop(SIGTERM, 30s));

  auto old_lines = lines_of(dir.path() / "access.log.1");
  auto new_lines = lines_of(file);
  EXPECT_EQ(old_lines.size() + new_lines.size(), 30u + static_cast<std::size_t>(after));
  // The last request's line is in the new file (not necessarily last: with
  // two threads, the next request can be logged before the one answered
  // just before it).
  std::string last = "\"GET /after/" + std::to_string(after - 1) + " HTTP/1.1\" 404 ";
  EXPECT_TRUE(std::any_of(new_lines.begin(), new_lines.end(), [&](const std::string& l) { return l.find(last) != l.npos; }))
      << last;
  EXPECT_NE(old_lines.front().find("127.0.0.1 - - ["), std::string::npos) << old_lines.front();
}

TEST(RequestLog, a_request_log_that_cannot_be_opened_is_a_clear_boot_error) {
  VassalUnderTest v(logged_vassal("access = \"/nonexistent-dir/access.log\"\n"), 0);
  EXPECT_TRUE(v.process().wait_for_line(
      "\\[log\\] access: cannot open the request log /nonexistent-dir/access.log: No such file or directory", 10s))
      << v.process().output();
}


TEST(RequestLog, an_asgi_worker_logs_its_requests_and_the_server_s_own_answers) {
  VassalUnderTest v("[app]\nmodule = \"asgi_raw:app\"\ninterface = \"asgi\"\nchdir = \"@APPS@\"\n[server]\n"
                    "http = [\"127.0.0.1:0\"]\nworkers = 1\nmax_body_size = \"1KB\"\n[log]\naccess = \"stderr\"\n"
                    "access_format = \"ACCESS {status} {request_line} {bytes}\"\n", 1);
  int port = v.http_port();
  ASSERT_EQ(answer_to(port, "GET /?a=1 HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
  ASSERT_EQ(answer_to(port, "GET /raise HTTP/1.1\r\nHost: x\r\n\r\n"), 500);
  ASSERT_EQ(answer_to(port, "GET / HTTP/1.1\r\nHost: x\r\nBad : header\r\n\r\n"), 400);
  EXPECT_TRUE(v.process().wait_for_line("ACCESS 200 GET /\\?a=1 HTTP/1.1 15$", 10s)) << v.process().output();
  EXPECT_TRUE(v.process().wait_for_line("ACCESS 500 GET /raise HTTP/1.1 ", 10s)) << v.process().output();
  EXPECT_TRUE(v.process().wait_for_line("ACCESS 400 ", 10s)) << v.process().output();
}

}  // namespace
}  // namespace suz::test
