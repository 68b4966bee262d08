// The ASGI lifespan protocol and graceful stops on the real vassal:
// startup in each worker before it serves, a failed startup replaced with
// backoff, shutdown on a graceful stop, auto/on/off as uvicorn has them,
// and requests in flight at a stop finished.
#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

using namespace std::chrono_literals;

std::string lifespan_config(const std::string& app, const std::string& mode, const std::string& mark,
                            const std::string& more = "") {
  return "[app]\nmodule = \"asgi_lifespan:" + app + "\"\ninterface = \"asgi\"\nlifespan = \"" + mode +
         "\"\nchdir = \"@APPS@\"\n[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = 2\n" + more + "[env]\nSUZ_LIFESPAN_MARK = \"" +
         mark + "\"\n";
}

// A vassal file for a Spawned vassal (VassalUnderTest waits for serving,
// which these never reach).
std::filesystem::path write_config(const TempDir& dir, const std::string& name, std::string text) {
  for (std::string::size_type at; (at = text.find("@APPS@")) != std::string::npos;) text.replace(at, 6, apps_dir());
  return dir.write(name, text);
}

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

int count_starting(const std::vector<std::string>& lines, const std::string& prefix) {
  int n = 0;
  for (const auto& l : lines) n += l.starts_with(prefix);
  return n;
}

TEST(AsgiLifespan, startup_runs_in_each_worker_before_it_serves_and_shutdown_at_a_graceful_stop) {
  TempDir dir;
  auto mark = dir.path() / "mark";
  {
    VassalUnderTest v(lifespan_config("marks", "on", mark.string()), 2);
    // Once the master knows they serve: a worker it still counts as starting
    // is killed at a stop, not stopped.
    ASSERT_TRUE(v.process().wait_for_line("every worker serving", 30s)) << v.process().output();
    // Every worker has logged "serving" (the constructor waited): each ran
    // its startup first.
    auto lines = lines_of(mark);
    EXPECT_EQ(count_starting(lines, "lifespan.startup "), 2) << testing::PrintToString(lines);
    EXPECT_EQ(count_starting(lines, "lifespan.shutdown "), 0);
    auto r = http_get(v.http_port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "served");
    auto status = v.process().stop(SIGTERM, 30s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << v.process().output();
  }
  auto lines = lines_of(mark);
  EXPECT_EQ(count_starting(lines, "lifespan.shutdown "), 2) << testing::PrintToString(lines);
  // The master never runs the app's lifespan: every line is a worker's.
  for (const auto& l : lines) EXPECT_EQ(l.find("master"), std::string::npos);
}

TEST(AsgiLifespan, a_failed_startup_is_logged_with_its_traceback_and_the_worker_replaced_with_backoff) {
  TempDir dir;
  auto mark = dir.path() / "mark";
  auto file = write_config(dir, "fails.toml", lifespan_config("fails", "on", mark.string()));
  Spawned v({program("vassal"), file.string()});
  ASSERT_TRUE(v.wait_for_line("the app raised during startup: Traceback", 30s)) << v.output();
  EXPECT_TRUE(v.wait_for_line("RuntimeError: the database is not there", 10s)) << v.output();
  // Replaced, again and again, each time later (the master's backoff).
  ASSERT_TRUE(v.wait_for_line("worker 1 started \\(pid \\d+, generation 3\\)", 30s)) << v.output();
  EXPECT_EQ(v.count_lines("every worker serving"), 0) << v.output();
  EXPECT_GE(count_starting(lines_of(mark), "startup-failing"), 3);
}

TEST(AsgiLifespan, auto_goes_on_without_lifespan_for_an_app_that_does_not_support_it) {
  TempDir dir;
  VassalUnderTest v(lifespan_config("unsupported", "auto", (dir.path() / "mark").string()), 2);
  auto r = http_get(v.http_port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "served");
  EXPECT_TRUE(v.process().wait_for_line("does not support the ASGI lifespan protocol", 10s)) << v.process().output();
}

TEST(AsgiLifespan, on_requires_it_and_off_never_sends_it) {
  TempDir dir;
  auto mark = dir.path() / "mark";
  {
    VassalUnderTest v(lifespan_config("marks", "off", mark.string()), 2);
    ASSERT_TRUE(v.process().wait_for_line("every worker serving", 30s)) << v.process().output();
    ASSERT_TRUE(http_get(v.http_port(), "/"));
    ASSERT_TRUE(v.process().stop(SIGTERM, 30s));
  }
  EXPECT_TRUE(lines_of(mark).empty()) << testing::PrintToString(lines_of(mark));
  auto file = write_config(dir, "on.toml", lifespan_config("unsupported", "on", mark.string()));
  Spawned v({program("vassal"), file.string()});
  ASSERT_TRUE(v.wait_for_line("the app raised during startup", 30s)) << v.output();
  EXPECT_TRUE(v.wait_for_line("ValueError: only http here", 10s)) << v.output();
}

TEST(AsgiLifespan, a_request_in_flight_at_a_graceful_stop_is_finished) {
  VassalUnderTest v("[app]\nmodule = \"asgi_raw:app\"\ninterface = \"asgi\"\nchdir = \"@APPS@\"\n[server]\n"
                    "http = [\"127.0.0.1:0\"]\nworkers = 1\n");
  ASSERT_TRUE(v.process().wait_for_line("every worker serving", 30s)) << v.process().output();
  HttpClient c(v.http_port());
  c.send("GET /sleep?s=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(http_get(v.http_port(), "/"));  // the slow one is in the loop by now
  ::kill(v.process().pid(), SIGTERM);
  auto r = c.receive(20s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slept");
  EXPECT_EQ(r->header("connection"), "close");
  auto status = v.process().stop(SIGTERM, 30s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << v.process().output();
}

}  // namespace
}  // namespace suz::test
