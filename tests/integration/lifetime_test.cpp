// The lifetime loop: workers are replaced for each reason, with the
// successor serving before its predecessor stops, and no request is lost.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/support/http_client.hpp"
#include "tests/support/probe.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

std::string config(const std::string& lifetime, int workers = 2, int threads = 1) {
  return app_config("lifetime_app", workers, threads,
                    "keepalive_timeout = \"1s\"\n[lifetime]\ngraceful_timeout = \"5s\"\n" + lifetime);
}

TEST(Lifetime, workers_are_replaced_at_their_lifetime_without_losing_a_request) {
  VassalUnderTest v(config("max_worker_lifetime = \"300ms\"\n"), 2);
  Probe keep_alive(v.http_port());
  Probe fresh_connections(v.http_port(), "/", /*keep_alive=*/false);
  for (int generation = 2; generation <= 6; ++generation) {
    ASSERT_TRUE(v.reaches_generation(1, generation)) << v.process().output();
    ASSERT_TRUE(v.reaches_generation(2, generation)) << v.process().output();
  }
  keep_alive.stop();
  fresh_connections.stop();
  EXPECT_GE(v.process().count_lines("lifetime of 300ms \\(less jitter\\) reached; starting its replacement"), 8);
  EXPECT_GE(v.process().count_lines("retired: exited with 0"), 6);
  EXPECT_GT(keep_alive.ok(), 20);
  EXPECT_GT(fresh_connections.ok(), 20);
  EXPECT_EQ(keep_alive.failed(), 0) << testing::PrintToString(keep_alive.failures());
  EXPECT_EQ(fresh_connections.failed(), 0) << testing::PrintToString(fresh_connections.failures());
}

TEST(Lifetime, the_predecessor_is_told_to_stop_only_after_its_successor_serves) {
  VassalUnderTest v(config("max_worker_lifetime = \"300ms\"\n", 1), 1);
  auto successor = v.process().wait_for_line("worker 1 started \\(pid (\\d+), generation 2\\)", 30s);
  ASSERT_TRUE(successor);
  ASSERT_TRUE(v.process().wait_for_line("retired: exited with 0", 30s));
  std::string log = v.process().output();
  std::size_t serving = log.find("worker 1 (pid " + (*successor)[1] + "): serving");
  std::size_t stopping = log.find("stopping: finishing");
  ASSERT_NE(serving, std::string::npos) << log;
  ASSERT_NE(stopping, std::string::npos) << log;
  EXPECT_LT(serving, stopping) << "the old worker stopped before the new one served:\n" << log;
}

TEST(Lifetime, a_worker_is_replaced_after_max_requests) {
  VassalUnderTest v(config("max_requests = 10\nmax_worker_lifetime = 0\n", 1), 1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(http_get(v.http_port(), "/"));
  ASSERT_TRUE(v.process().wait_for_line("served (9|10) requests; starting its replacement", 10s))
      << v.process().output();
  ASSERT_TRUE(v.reaches_generation(1, 2));
  EXPECT_TRUE(v.process().wait_for_line("retired: exited with 0", 10s));
}

TEST(Lifetime, max_requests_recycles_continuously_under_traffic_without_failures) {
  VassalUnderTest v(config("max_requests = 50\nmax_worker_lifetime = 0\n", 2, 2), 2);
  Probe a(v.http_port()), b(v.http_port()), c(v.http_port(), "/", false);
  ASSERT_TRUE(v.reaches_generation(1, 5)) << v.process().output();
  ASSERT_TRUE(v.reaches_generation(2, 5)) << v.process().output();
  a.stop();
  b.stop();
  c.stop();
  EXPECT_EQ(a.failed() + b.failed() + c.failed(), 0)
      << testing::PrintToString(a.failures()) << testing::PrintToString(c.failures());
}

TEST(Lifetime, harakiri_logs_the_request_and_its_python_stack_then_replaces_the_worker) {
  VassalUnderTest v(config("harakiri = \"500ms\"\n", 1), 1);
  HttpClient stuck(v.http_port());
  stuck.send("GET /sleep?30 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(v.process().wait_for_line("harakiri: \"GET /sleep\\?30\" on thread 1 ran for", 10s)) << v.process().output();
  // faulthandler's dump: the frame the request was stuck in.
  EXPECT_TRUE(v.process().wait_for_line("File \".*lifetime_app.py\", line \\d+ in application", 10s))
      << v.process().output();
  EXPECT_TRUE(v.process().wait_for_line("killed by SIGKILL \\(harakiri\\)", 10s));
  EXPECT_TRUE(stuck.closed_by_server(10s));
  ASSERT_TRUE(v.reaches_generation(1, 2));
  auto r = http_get(v.http_port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// With other threads of the worker busy with short requests meanwhile, the
// line names the stuck request, not one of theirs.
TEST(Lifetime, harakiri_names_the_stuck_request_among_busy_threads) {
  VassalUnderTest v(config("harakiri = \"1s\"\n", 1, 4), 1);
  Probe a(v.http_port()), b(v.http_port(), "/", false), c(v.http_port(), "/sleep?0.01", true);
  HttpClient stuck(v.http_port());
  stuck.send("GET /sleep?30 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto line = v.process().wait_for_line("harakiri: \"([^\"]*)\" on thread \\d+ ran for", 10s);
  a.stop();
  b.stop();
  c.stop();
  ASSERT_TRUE(line) << v.process().output();
  EXPECT_EQ((*line)[1], "GET /sleep?30") << v.process().output();
}

TEST(Lifetime, a_worker_over_max_rss_is_replaced) {
  VassalUnderTest v(config("max_rss = \"100MB\"\n", 1), 1);
  ASSERT_TRUE(http_get(v.http_port(), "/grow"));
  ASSERT_TRUE(http_get(v.http_port(), "/grow"));
  ASSERT_TRUE(v.process().wait_for_line("RSS [0-9.]+MiB over max_rss 100MiB; starting its replacement", 10s))
      << v.process().output();
  ASSERT_TRUE(v.reaches_generation(1, 2));
}

// Growing from idle at 700 MiB/s, a worker is caught within 100 ms of
// passing the limit (every worker is sampled that often), not a second later.
TEST(Lifetime, a_worker_growing_fast_is_caught_close_to_max_rss) {
  VassalUnderTest v(config("max_rss = \"200MB\"\n", 1), 1);
  ASSERT_TRUE(http_get(v.http_port(), "/ramp", 30s));
  auto over = v.process().wait_for_line("RSS ([0-9.]+)MiB over max_rss 200MiB; starting its replacement", 10s);
  ASSERT_TRUE(over) << v.process().output();
  EXPECT_LT(std::stod((*over)[1]), 200 + 120) << "caught " << (*over)[1] << " MiB, far past the limit";
  ASSERT_TRUE(v.reaches_generation(1, 2));
}

TEST(Lifetime, usr2_replaces_every_worker_one_at_a_time_without_losing_a_request) {
  VassalUnderTest v(config("", 3), 3);
  Probe probe(v.http_port());
  ::kill(v.process().pid(), SIGUSR2);
  ASSERT_TRUE(v.process().wait_for_line("reload done", 30s)) << v.process().output();
  for (int id = 1; id <= 3; ++id) EXPECT_TRUE(v.reaches_generation(id, 2));
  probe.stop();
  EXPECT_EQ(probe.failed(), 0) << testing::PrintToString(probe.failures());
  // One at a time: each replacement starts after the previous one was done.
  std::string log = v.process().output();
  EXPECT_LT(log.find("worker 1 started (pid"), log.find("worker 2 (pid"));
  EXPECT_LT(log.find("worker 2 started (pid", log.find("reload requested")),
            log.find("worker 3 (pid", log.find("reload requested")));
}

TEST(Lifetime, ttin_adds_a_worker_and_ttou_removes_it) {
  VassalUnderTest v(config("", 1), 1);
  ::kill(v.process().pid(), SIGTTIN);
  ASSERT_TRUE(v.process().wait_for_line("worker 2 \\(pid \\d+\\): serving", 10s));
  ::kill(v.process().pid(), SIGTTOU);
  ASSERT_TRUE(v.process().wait_for_line("worker 2: removed \\(TTOU\\)", 10s));
  ASSERT_TRUE(v.process().wait_for_line("worker 2 \\(pid \\d+\\) retired", 10s));
  EXPECT_TRUE(http_get(v.http_port(), "/"));
}

TEST(Lifetime, a_worker_not_ready_in_time_is_killed_with_where_it_was_stuck_and_retried) {
  VassalUnderTest v(R"(
[app]
module = "hangs_at_fork"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 1
[lifetime]
ready_timeout = "500ms"
)", 0);
  ASSERT_TRUE(v.process().wait_for_line("not serving 500ms after the fork \\((blocked in|running)[^)]*\\); killing it", 10s))
      << v.process().output();
  EXPECT_TRUE(v.process().wait_for_line("respawning in", 10s));
  EXPECT_TRUE(v.process().wait_for_line("worker 1 started \\(pid \\d+, generation 2\\)", 10s));
}

TEST(Lifetime, a_worker_that_does_not_stop_within_graceful_timeout_is_killed) {
  VassalUnderTest v(R"(
[app]
module = "ignores_term"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 1
[lifetime]
graceful_timeout = "300ms"
max_worker_lifetime = "500ms"
)");
  HttpClient stuck(v.http_port());
  stuck.send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(v.process().wait_for_line("running forever", 10s));
  // Its lifetime ends, the successor serves, the old one is told to stop and
  // does not: the worker's own graceful timer (or the master) ends it.
  ASSERT_TRUE(v.process().wait_for_line("graceful timeout of 300ms reached|still running 300ms after being told to stop", 20s))
      << v.process().output();
  EXPECT_TRUE(http_get(v.http_port(), "/"));
}

}  // namespace
}  // namespace suz::test
