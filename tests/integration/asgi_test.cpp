// ASGI apps ([app] interface = "asgi") on the real vassal: the HTTP scope,
// bodies streamed both ways with backpressure, concurrency on the loop,
// http.disconnect, app failures, and refusals at load. A plain ASGI app
// (tests/integration/apps/asgi_raw.py), so this runs on every CPython the
// tests build against; frameworks are in asgi_frameworks_test.cpp.
#include <signal.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

#include "core/exit_code.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sanitizers.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string asgi_config(const std::string& module, const std::string& more = "", int workers = 1) {
  return "[app]\nmodule = \"" + module + "\"\ninterface = \"asgi\"\nloop = \"asyncio\"\nchdir = \"@APPS@\"\n[server]\n"
         "http = [\"127.0.0.1:0\"]\nworkers = " + std::to_string(workers) + "\n" + more;
}

class Asgi : public testing::Test {
 protected:
  // asyncio's own loop, which every CPython has (the frameworks' tests run
  // on the default, uvloop where it is installed).
  static void SetUpTestSuite() {
    v_ = new VassalUnderTest(asgi_config("asgi_raw:app", "buffer_body = 0\n"));
  }
  static void TearDownTestSuite() {
    delete v_;
    v_ = nullptr;
  }
  static int port() { return v_->http_port(); }
  static VassalUnderTest* v_;
};
VassalUnderTest* Asgi::v_ = nullptr;

TEST_F(Asgi, the_http_scope_is_complete) {
  HttpClient c(port());
  c.send("GET /scope?a=1&b=%20 HTTP/1.1\r\nHost: example.test\r\nX-Custom-Thing: Value One\r\n\r\n");
  auto r = c.receive();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto s = json::parse(r->body);
  EXPECT_EQ(s["type"], "http");
  EXPECT_EQ(s["asgi"]["version"], "3.0");
  EXPECT_EQ(s["http_version"], "1.1");
  EXPECT_EQ(s["method"], "GET");
  EXPECT_EQ(s["scheme"], "http");
  EXPECT_EQ(s["path"], "/scope");
  EXPECT_EQ(s["raw_path"], "/scope");
  EXPECT_EQ(s["query_string"], "a=1&b=%20");
  EXPECT_EQ(s["root_path"], "");
  EXPECT_EQ(s["client"][0], "127.0.0.1");
  EXPECT_TRUE(s["client"][1].is_number_integer());
  EXPECT_EQ(s["server"][0], "127.0.0.1");
  EXPECT_EQ(s["server"][1], port());
  // Header names lower-cased, values as sent, order kept.
  EXPECT_EQ(s["headers"], json::parse(R"([["host","example.test"],["x-custom-thing","Value One"]])"));
  // bytes where ASGI says bytes.
  EXPECT_EQ(s["types"]["raw_path"], "bytes");
  EXPECT_EQ(s["types"]["query_string"], "bytes");
  EXPECT_EQ(s["types"]["path"], "str");
  // The lifespan's state, as each request's copy.
  ASSERT_TRUE(s.contains("state"));
  EXPECT_TRUE(s["state"]["started_in"].is_number_integer());
}

TEST_F(Asgi, a_percent_encoded_path_is_decoded_in_path_and_raw_in_raw_path) {
  HttpClient c(port());
  c.send("GET /sc%6Fpe HTTP/1.0\r\n\r\n");
  auto r = c.receive();
  ASSERT_TRUE(r);
  auto s = json::parse(r->body);
  EXPECT_EQ(s["path"], "/scope");
  EXPECT_EQ(s["raw_path"], "/sc%6Fpe");
  EXPECT_EQ(s["http_version"], "1.0");
}

TEST_F(Asgi, a_large_body_arrives_in_several_messages_and_intact) {
  HttpClient c(port());
  std::string body(3u << 20, 'a');
  for (std::size_t i = 0; i < body.size(); i += 4096) body[i] = static_cast<char>('a' + (i / 4096) % 26);
  c.send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  c.send(body);
  auto r = c.receive(30s);
  ASSERT_TRUE(r);
  auto j = json::parse(r->body);
  EXPECT_EQ(j["size"], body.size());
  EXPECT_GT(j["messages"].get<int>(), 1);
  // The same body through Python's hashlib in the test process would need
  // Python here; the app's digest of a known pattern is compared with a
  // second request's instead.
  HttpClient d(port());
  d.send("POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (std::size_t i = 0; i < body.size(); i += 100000) {
    std::string piece = body.substr(i, 100000);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    d.send(size + piece + "\r\n");
  }
  d.send("0\r\n\r\n");
  auto chunked = d.receive(30s);
  ASSERT_TRUE(chunked);
  EXPECT_EQ(json::parse(chunked->body)["sha256"], j["sha256"]);
}

TEST_F(Asgi, a_50_mb_upload_streams_through_without_the_worker_growing_by_that_much) {
  if (kUnderAsan) GTEST_SKIP() << "ASan's quarantine keeps freed blocks resident; the bound is checked in the normal build";
  HttpClient c(port());
  constexpr std::size_t kSize = 50u << 20;
  c.send("POST /consume HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kSize) + "\r\n\r\n");
  std::string block(1 << 20, 'b');
  for (std::size_t sent = 0; sent < kSize; sent += block.size()) c.send(block);
  auto r = c.receive(60s);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["bytes"], kSize);
  EXPECT_LT(j["peak_rss_growth_kib"].get<long>(), 8 * 1024) << "the body was buffered, not streamed";
}

TEST_F(Asgi, a_client_that_does_not_read_holds_the_app_at_send_not_the_worker_s_memory) {
  // 50 MiB of 64 KiB chunks: far more than the kernel buffers between the
  // two sockets hold (a few MiB each way by default).
  constexpr int kChunks = 800;
  HttpClient slow(port());
  slow.send("GET /stream?n=" + std::to_string(kChunks) + " HTTP/1.1\r\nHost: x\r\n\r\n");
  // The app's send() stops returning once the socket and a bounded queue
  // are full: its progress settles far below the whole response.
  int sent = -1;
  for (int settled = 0; settled < 5;) {
    auto p = http_get(port(), "/progress");
    ASSERT_TRUE(p);
    int now = std::stoi(p->body);
    settled = now == sent ? settled + 1 : 0;
    sent = now;
    std::this_thread::sleep_for(50ms);  // polling interval, not a wait for an outcome
  }
  EXPECT_LT(sent, kChunks / 4) << "send() did not wait for the client";
  // Reading it all lets the app finish (read raw: the test client's parser
  // is not made for tens of megabytes).
  std::size_t received = 0;
  std::string tail;
  char buf[1 << 16];
  for (auto deadline = std::chrono::steady_clock::now() + 60s;
       !tail.ends_with("0\r\n\r\n") && std::chrono::steady_clock::now() < deadline;) {
    ssize_t n = ::recv(slow.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    received += static_cast<std::size_t>(n);
    tail = (tail + std::string(buf, static_cast<std::size_t>(n)));
    if (tail.size() > 16) tail = tail.substr(tail.size() - 16);
  }
  EXPECT_TRUE(tail.ends_with("0\r\n\r\n"));
  EXPECT_GT(received, static_cast<std::size_t>(kChunks) * 65536);
  auto done = http_get(port(), "/progress");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->body, std::to_string(kChunks));
}

TEST_F(Asgi, requests_run_concurrently_on_the_loop) {
  // /barrier answers only once 20 requests are in: one worker, one loop.
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<HttpClient>(port()));
    clients.back()->send("GET /barrier?n=20 HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  for (auto& c : clients) {
    auto r = c->receive(20s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "together");
  }
}

TEST_F(Asgi, keep_alive_and_pipelined_requests_are_answered_in_order) {
  HttpClient c(port());
  c.send("GET /sleep?s=0.05 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nGET /pid HTTP/1.1\r\nHost: x\r\n\r\n");
  auto a = c.receive(), b = c.receive(), p = c.receive();
  ASSERT_TRUE(a && b && p);
  EXPECT_EQ(a->body, "slept");
  EXPECT_EQ(b->body, "hello from asgi");
  EXPECT_GT(std::stoi(p->body), 0);
  EXPECT_TRUE(p->keep_alive);
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto again = c.receive();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "hello from asgi");
}

TEST_F(Asgi, the_app_hears_http_disconnect_when_the_client_goes) {
  int before = static_cast<int>(json::parse(http_get(port(), "/events")->body).size());
  {
    HttpClient c(port());
    c.send("GET /wait-disconnect HTTP/1.1\r\nHost: x\r\n\r\n");
    // Waits until the app is waiting in receive(): the request is in when
    // a second connection is answered after it (one loop, in order).
    ASSERT_TRUE(http_get(port(), "/"));
  }
  json events;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    events = json::parse(http_get(port(), "/events")->body);
    if (static_cast<int>(events.size()) > before) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GT(static_cast<int>(events.size()), before);
  EXPECT_EQ(events.back(), "http.disconnect");
}

TEST_F(Asgi, an_app_that_raises_before_responding_gives_a_500_and_a_traceback_and_the_worker_lives) {
  HttpClient c(port());
  c.send("GET /raise HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.receive();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  ASSERT_TRUE(v_->process().wait_for_line("GET /raise: the app raised: Traceback", 10s)) << v_->process().output();
  EXPECT_TRUE(v_->process().wait_for_line("ValueError: raised before the response", 10s));
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");  // the connection goes on
  auto next = c.receive();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "hello from asgi");
}

TEST_F(Asgi, an_app_that_raises_mid_response_has_its_connection_closed) {
  HttpClient c(port());
  c.send("GET /raise-after-start HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(c.receive(10s)) << "a response shorter than its Content-Length must not look complete";
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_TRUE(v_->process().wait_for_line("ValueError: raised mid-response", 10s));
}

TEST_F(Asgi, an_app_that_returns_without_a_response_gives_a_500_logged_as_such) {
  auto r = http_get(port(), "/no-response");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(v_->process().wait_for_line("GET /no-response: the app returned without sending a response", 10s));
}

TEST_F(Asgi, a_header_with_a_line_break_is_refused_not_sent) {
  HttpClient c(port());
  c.send("GET /bad-header HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.receive();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("injected"), "");
  EXPECT_TRUE(v_->process().wait_for_line("contains a control character", 10s));
}

TEST(AsgiLoad, a_wsgi_app_given_as_asgi_is_refused_at_load_and_by_check) {
  TempDir dir;
  auto file = dir.write("w.toml", "[app]\nmodule = \"asgi_raw:wsgi_app\"\ninterface = \"asgi\"\nchdir = \"" +
                                      apps_dir() + "\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n");
  for (bool check : {false, true}) {
    std::vector<std::string> argv{program("vassal"), file.string()};
    if (check) argv.insert(argv.begin() + 1, "--check");
    auto r = run(argv);
    EXPECT_EQ(r.exit_code(), to_int(ExitCode::kAppLoadError)) << r.err;
    EXPECT_NE(r.err.find("the ASGI app asgi_raw:wsgi_app is not an ASGI application (it is a plain callable"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("interface = \"wsgi\""), std::string::npos) << r.err;
  }
}

TEST(AsgiLoad, the_loop_is_uvloop_by_default_where_it_is_installed_and_asyncio_when_asked_for) {
  bool have_uvloop = run({SUZERAIN_TEST_PYTHON, "-c", "import uvloop"}).exit_code() == 0;
  auto loop_of = [](const std::string& key) {
    VassalUnderTest v("[app]\nmodule = \"asgi_raw:app\"\ninterface = \"asgi\"\n" + key + "chdir = \"@APPS@\"\n"
                      "[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = 1\n");
    auto r = http_get(v.http_port(), "/loop");
    return r ? r->body : std::string("no answer");
  };
  EXPECT_EQ(loop_of(""), have_uvloop ? "uvloop" : "asyncio");
  EXPECT_EQ(loop_of("loop = \"asyncio\"\n"), "asyncio");
  if (have_uvloop) EXPECT_EQ(loop_of("loop = \"uvloop\"\n"), "uvloop");
}

TEST(AsgiLoad, a_coroutine_that_blocks_the_loop_past_harakiri_is_logged_with_python_stacks_and_the_worker_replaced) {
  VassalUnderTest v("[app]\nmodule = \"asgi_raw:app\"\ninterface = \"asgi\"\nchdir = \"@APPS@\"\n[server]\n"
                    "http = [\"127.0.0.1:0\"]\nworkers = 1\n[lifetime]\nharakiri = \"1s\"\n");
  HttpClient c(v.http_port());
  c.send("GET /block?s=60 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(v.process().wait_for_line("harakiri: the event loop has not turned for .* \\(limit 1s\\): a coroutine or "
                                        "callback blocks it; dumping stacks",
                                        20s))
      << v.process().output();
  // faulthandler's dump names the blocking line of the app.
  EXPECT_TRUE(v.process().wait_for_line("File \".*asgi_raw.py\", line \\d+ in app", 10s)) << v.process().output();
  ASSERT_TRUE(v.reaches_generation(1, 2, 30s)) << v.process().output();
  auto r = http_get(v.http_port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello from asgi");
}

TEST(AsgiLoad, a_client_that_stops_sending_its_body_is_given_up_after_io_timeout_and_the_worker_serves_on) {
  VassalUnderTest v(asgi_config("asgi_raw:app", "buffer_body = 0\nio_timeout = \"500ms\"\nheader_timeout = \"2s\"\n"));
  HttpClient stalled(v.http_port());
  stalled.send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  EXPECT_TRUE(stalled.closed_by_server(10s));
  EXPECT_TRUE(v.process().wait_for_line("POST /body from .*: no request body bytes for 0.5s, closing", 10s))
      << v.process().output();
  // A slowloris head is the I/O thread's, as for WSGI.
  HttpClient slow_head(v.http_port());
  slow_head.send("GET / HTTP/1.1\r\nHo");
  EXPECT_TRUE(slow_head.closed_by_server(10s));
  auto r = http_get(v.http_port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello from asgi");
}

TEST(AsgiSpool, an_asgi_app_spools_with_spool_async_and_the_spooler_runs_the_jobs) {
  TempDir dir;
  auto out = dir.path() / "out";
  VassalUnderTest v("[app]\nmodule = \"tasks:asgi_app\"\ninterface = \"asgi\"\nchdir = \"@APPS@\"\n[server]\n"
                    "http = [\"127.0.0.1:0\"]\nworkers = 1\n[spooler]\ndir = \"" + (dir.path() / "spool").string() +
                    "\"\nhandler = \"tasks:handle\"\n");
  for (const char* many : {"", "&many=1"}) {
    auto r = http_get(v.http_port(), "/spool?count=3&out=" + out.string() + many);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body << v.process().output();
    EXPECT_NE(r->body.find("TypeError"), std::string::npos) << "bad arguments raise at the call: " << r->body;
  }
  auto done = [&] {
    std::ifstream in(out);
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.starts_with("done ");
    return n;
  };
  for (auto deadline = std::chrono::steady_clock::now() + 30s; done() < 6 && std::chrono::steady_clock::now() < deadline;)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(done(), 6) << v.process().output();
}

}  // namespace
}  // namespace suz::test
