// The app's hooks (@suzerain.worker_exit, master_ready, master_exit, harakiri) against
// the real binaries: each in the right process, once, and one that raises
// or hangs never stops a stop.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>

#include "tests/support/http_client.hpp"
#include "tests/support/spool_jobs.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

std::string hooks_vassal(const std::string& more = "") {
  return "[app]\nmodule = \"hooks_app:app\"\nchdir = \"@APPS@\"\n[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = 2\n" + more;
}

TEST(Hooks, each_runs_in_its_process_once_and_master_ready_again_after_a_reload) {
  VassalUnderTest v(hooks_vassal(), 2);
  std::string master = std::to_string(v.process().pid());
  ASSERT_TRUE(v.process().wait_for_line("HOOK master_ready in pid " + master + " worker 0", 30s)) << v.process().output();
  ::kill(v.process().pid(), SIGUSR2);  // every worker replaced: every worker serves again
  ASSERT_TRUE(v.process().wait_for_line("HOOK master_ready in pid " + master + " worker 0", 30s, 2)) << v.process().output();
  // The replaced workers exited gracefully: each ran worker_exit.
  ASSERT_TRUE(v.process().wait_for_line("HOOK worker_exit in pid \\d+ worker 2", 30s));
  EXPECT_TRUE(v.process().wait_for_line("HOOK worker_exit in pid \\d+ worker 1", 30s));

  ASSERT_TRUE(v.process().stop(SIGTERM, 30s));
  auto& p = v.process();
  EXPECT_EQ(p.count_lines("HOOK worker_exit in pid \\d+ worker 1 "), 2) << p.output();  // generation 1 and 2
  EXPECT_EQ(p.count_lines("HOOK worker_exit in pid \\d+ worker 2 "), 2) << p.output();
  EXPECT_EQ(p.count_lines("HOOK master_exit in pid " + master + " worker 0"), 1) << p.output();
  EXPECT_EQ(p.count_lines("HOOK master_ready"), 2) << p.output();
  EXPECT_EQ(p.count_lines("HOOK master_exit"), 1) << "in the master only";
}

TEST(Hooks, a_spooler_runs_worker_exit_when_it_stops) {
  TempDir spool;
  VassalUnderTest v("[app]\nmodule = \"hooks_app:app\"\nchdir = \"@APPS@\"\n[spooler]\ndir = \"" + spool.path().string() +
                        "\"\nhandler = \"hooks_app:handle\"\n",
                    0);
  // Once the master knows it runs: a child still starting is killed, not stopped.
  ASSERT_TRUE(v.process().wait_for_line("every worker and spooler running", 30s)) << v.process().output();
  ASSERT_TRUE(v.process().stop(SIGTERM, 30s));
  EXPECT_EQ(v.process().count_lines("HOOK worker_exit in pid \\d+ worker 0 spooler 1"), 1) << v.process().output();
}

TEST(Hooks, one_that_raises_is_logged_with_its_traceback_and_one_that_hangs_is_left_behind) {
  ::setenv("HOOKS_MISBEHAVE", "1", 1);
  VassalUnderTest v(hooks_vassal(), 2);
  ::unsetenv("HOOKS_MISBEHAVE");
  ASSERT_TRUE(v.process().wait_for_line("HOOK master_ready", 30s));
  auto status = v.process().stop(SIGTERM, 30s);
  ASSERT_TRUE(status) << "the master exits although a master_exit hook hangs:\n" << v.process().output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  auto& p = v.process();
  EXPECT_GE(p.count_lines("@suzerain.worker_exit raises raised: Traceback"), 2) << p.output();
  EXPECT_GE(p.count_lines("RuntimeError: a worker_exit hook that fails"), 2) << p.output();
  EXPECT_EQ(p.count_lines("HOOK worker_exit"), 2) << "the hook before the failing one ran";
  EXPECT_EQ(p.count_lines("@suzerain.master_exit still running after 5s: going on without it"), 1) << p.output();
}

// The hook runs in the stuck worker, beside the stuck thread: with one
// thread that is the worker's only one, with two an app thread.
TEST(Hooks, harakiri_runs_once_in_the_stuck_worker_with_its_request_then_the_kill_comes) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE("threads = " + std::to_string(threads));
    VassalUnderTest v(hooks_vassal("threads = " + std::to_string(threads) + "\n[lifetime]\nharakiri = \"1s\"\n"), 2);
    HttpClient stuck(v.http_port());
    stuck.send("GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n");
    auto hook = v.process().wait_for_line("HOOK harakiri in pid (\\d+) worker (\\d) spooler 0 for GET /sleep on thread (\\d) after", 30s);
    ASSERT_TRUE(hook) << v.process().output();
    std::string pid = (*hook)[1];
    EXPECT_NE(pid, std::to_string(v.process().pid())) << "in the worker, not the master";
    ASSERT_TRUE(v.process().wait_for_line("worker " + std::string((*hook)[2]) + " \\(pid " + pid +
                                              "\\) killed by SIGKILL \\(harakiri\\)",
                                          30s))
        << v.process().output();
    EXPECT_TRUE(stuck.closed_by_server(10s));
    auto r = http_get(v.http_port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(v.process().count_lines("HOOK harakiri"), 1) << v.process().output();
  }
}

TEST(Hooks, harakiri_runs_in_a_spooler_whose_job_is_stuck) {
  TempDir spool;
  VassalUnderTest v("[app]\nmodule = \"hooks_app:app\"\nchdir = \"@APPS@\"\n[spooler]\ndir = \"" + spool.path().string() +
                        "\"\nhandler = \"hooks_app:handle\"\nharakiri = \"1s\"\n",
                    0);
  ASSERT_TRUE(v.process().wait_for_line("every worker and spooler running", 30s)) << v.process().output();
  std::string id = push_cli(spool.path().string(), {"sleep=1"});
  auto hook = v.process().wait_for_line("HOOK harakiri in pid (\\d+) worker 0 spooler 1 for job " + id, 30s);
  ASSERT_TRUE(hook) << v.process().output();
  EXPECT_TRUE(v.process().wait_for_line("spooler 1 \\(pid " + std::string((*hook)[1]) + "\\) killed by SIGKILL \\(harakiri\\)", 30s))
      << v.process().output();
}

TEST(Hooks, a_harakiri_hook_that_raises_or_hangs_does_not_hold_off_the_kill) {
  ::setenv("HOOKS_MISBEHAVE", "1", 1);
  VassalUnderTest v(hooks_vassal("threads = 1\n[lifetime]\nharakiri = \"1s\"\n"), 2);
  ::unsetenv("HOOKS_MISBEHAVE");
  HttpClient stuck(v.http_port());
  stuck.send("GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(v.process().wait_for_line("RuntimeError: a harakiri hook that fails", 30s)) << v.process().output();
  ASSERT_TRUE(v.process().wait_for_line("killed by SIGKILL \\(harakiri\\)", 30s)) << v.process().output();
  EXPECT_GE(v.process().count_lines("@suzerain.harakiri raises_too raised: Traceback"), 1) << v.process().output();
  EXPECT_EQ(v.process().count_lines("HOOK harakiri"), 1) << "the hook before the failing one ran";
  EXPECT_TRUE(stuck.closed_by_server(10s));
  auto r = http_get(v.http_port(), "/");
  ASSERT_TRUE(r) << "the worker was replaced";
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace suz::test
