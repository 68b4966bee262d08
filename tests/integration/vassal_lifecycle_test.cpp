// The vassal master as a process: how it stops, how it replaces workers, and
// how it fails when it cannot start.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <fstream>
#include <thread>

#include "core/exit_code.hpp"
#include "core/socket.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/spawned.hpp"
#include "tests/support/spool_jobs.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

constexpr const char* kValidated = R"(
[app]
module = "validated:application"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 2
threads = 2
[lifetime]
graceful_timeout = "10s"
)";

pid_t child_pid(Spawned& vassal, const std::string& role, int id, int generation = 1) {
  auto m = vassal.wait_for_line(role + " " + std::to_string(id) + " started \\(pid (\\d+), generation " +
                                    std::to_string(generation) + "\\)",
                                30s);
  return m ? std::stoi((*m)[1]) : -1;
}

pid_t worker_pid(Spawned& vassal, int id, int generation = 1) { return child_pid(vassal, "worker", id, generation); }

TEST(VassalLifecycle, term_lets_an_in_flight_request_finish_then_exits_zero) {
  VassalUnderTest v(kValidated, 2);
  HttpClient slow(v.http_port());
  slow.send("GET /sleep?0.7 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(v.process().wait_for_line("sleeping for 0.7 s", 10s));  // in the app when TERM arrives
  auto status = v.process().stop(SIGTERM, 30s);
  auto r = slow.receive(10s);
  ASSERT_TRUE(r) << v.process().output();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slept");
  EXPECT_EQ(r->header("connection"), "close") << "a stopping worker announces it";
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);
}

std::string cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string text;
  std::getline(in, text, '\0');
  return text;
}

TEST(VassalLifecycle, ps_shows_each_process_by_its_role) {
  VassalUnderTest v(kValidated, 2);
  EXPECT_EQ(cmdline(v.process().pid()), "vassal app: master");
  EXPECT_EQ(cmdline(worker_pid(v.process(), 1)), "vassal app: worker 1");
  EXPECT_EQ(cmdline(worker_pid(v.process(), 2)), "vassal app: worker 2");
  std::ifstream comm("/proc/" + std::to_string(worker_pid(v.process(), 1)) + "/comm");
  std::string name;
  std::getline(comm, name);
  EXPECT_EQ(name, "vassal app: wor");  // the kernel keeps 15 characters
}

TEST(VassalLifecycle, int_stops_at_once_without_waiting_for_requests) {
  VassalUnderTest v(kValidated, 2);
  HttpClient slow(v.http_port());
  slow.send("GET /sleep?30 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(v.process().wait_for_line("sleeping for 30.0 s", 10s));
  auto start = std::chrono::steady_clock::now();
  auto status = v.process().stop(SIGINT, 20s);
  ASSERT_TRUE(status.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_TRUE(slow.closed_by_server(5s));
}

TEST(VassalLifecycle, a_killed_worker_is_replaced_and_serving_continues) {
  VassalUnderTest v(kValidated, 2);
  pid_t first = worker_pid(v.process(), 1);
  ASSERT_GT(first, 0);
  ::kill(first, SIGKILL);
  ASSERT_TRUE(v.process().wait_for_line("worker 1 \\(pid " + std::to_string(first) + "\\) killed by SIGKILL", 10s));
  pid_t second = worker_pid(v.process(), 1, 2);
  ASSERT_GT(second, 0);
  EXPECT_NE(second, first);
  ASSERT_TRUE(v.process().wait_for_line("worker 1 \\(pid " + std::to_string(second) + "\\): serving", 10s));
  for (int i = 0; i < 10; ++i) {
    auto r = http_get(v.http_port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST(VassalLifecycle, a_worker_that_exits_mid_request_is_replaced) {
  VassalUnderTest v(R"(
[app]
module = "exits"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 1
)");
  EXPECT_FALSE(http_get(v.http_port(), "/exit", 10s).has_value());
  ASSERT_TRUE(v.process().wait_for_line("worker 1 \\(pid \\d+\\) exited with 3", 10s));
  ASSERT_TRUE(v.process().wait_for_line("worker 1 \\(pid \\d+\\): serving", 10s));
  auto r = http_get(v.http_port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ok");
}

TEST(VassalLifecycle, workers_die_with_a_master_killed_by_sigkill) {
  VassalUnderTest v(kValidated, 2);
  pid_t w1 = worker_pid(v.process(), 1), w2 = worker_pid(v.process(), 2);
  ASSERT_GT(w1, 0);
  ASSERT_GT(w2, 0);
  v.process().stop(SIGKILL, 10s);
  EXPECT_TRUE(wait_gone(w1, 10s)) << "worker 1 outlived its master";
  EXPECT_TRUE(wait_gone(w2, 10s)) << "worker 2 outlived its master";
}

TEST(VassalLifecycle, spoolers_die_with_a_master_killed_by_sigkill_even_mid_job) {
  TempDir dir;
  std::string spool = (dir.path() / "spool").string();
  VassalUnderTest v(spooler_vassal(spool, 2), 1, "jobs");
  wait_running(v);
  pid_t s1 = child_pid(v.process(), "spooler", 1), s2 = child_pid(v.process(), "spooler", 2);
  ASSERT_GT(s1, 0);
  ASSERT_GT(s2, 0);
  std::filesystem::path out = dir.path() / "out";
  push_cli(spool, {"kind=sleep", "seconds=3600", "out=" + out.string()});
  ASSERT_TRUE(eventually([&] { return count_event(out, "start") == 1; }, 30s)) << v.process().output();
  v.process().stop(SIGKILL, 10s);
  EXPECT_TRUE(wait_gone(s1, 10s)) << "spooler 1 outlived its master";
  EXPECT_TRUE(wait_gone(s2, 10s)) << "spooler 2 outlived its master";
}

TEST(VassalLifecycle, an_app_that_fails_to_import_exits_4_with_the_traceback) {
  TempDir dir;
  auto file = dir.write("broken.toml", "[app]\nmodule = \"import_error\"\nchdir = \"" + apps_dir() +
                                           "\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n");
  auto r = run({program("vassal"), file.string()});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kAppLoadError)) << r.err;
  EXPECT_NE(r.err.find("cannot import import_error"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ModuleNotFoundError: No module named 'this_module_does_not_exist'"), std::string::npos)
      << r.err;
}

TEST(VassalLifecycle, an_asgi_app_given_as_wsgi_is_refused_at_load_saying_so) {
  for (auto [attr, why] : {std::pair{"app", "it is an async def function"},
                           std::pair{"framework", "its Framework.__call__ is an async def"}}) {
    TempDir dir;
    auto file = dir.write("asgi.toml", "[app]\nmodule = \"asgi_shapes:" + std::string(attr) + "\"\nchdir = \"" +
                                           apps_dir() + "\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n");
    auto r = run({program("vassal"), file.string()});
    EXPECT_EQ(r.exit_code(), to_int(ExitCode::kAppLoadError)) << r.err;
    EXPECT_NE(r.err.find("the WSGI app asgi_shapes:" + std::string(attr) + " is an ASGI application"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
  }
  // A callable object with a plain __call__ is WSGI, and serves.
  VassalUnderTest v("[app]\nmodule = \"asgi_shapes:plain\"\nchdir = \"@APPS@\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n", 1);
  auto ok = http_get(v.http_port(), "/");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body, "ok");
}

TEST(VassalLifecycle, an_isolated_app_that_fails_to_import_stops_the_vassal_instead_of_looping) {
  TempDir dir;
  auto file = dir.write("broken.toml", "[app]\nmodule = \"import_error\"\ninterpreter = \"isolated\"\nchdir = \"" +
                                           apps_dir() + "\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n");
  auto r = run({program("vassal"), file.string()});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kAppLoadError)) << r.err;
  EXPECT_NE(r.err.find("restarting cannot help"), std::string::npos) << r.err;
}

TEST(VassalLifecycle, a_port_in_use_is_a_boot_error_naming_the_address) {
  Fd taken = listen_on(parse_listen_address("127.0.0.1:0").value());
  int port = local_address(taken).port;
  TempDir dir;
  auto file = dir.write("busy.toml", "[app]\nmodule = \"validated\"\nchdir = \"" + apps_dir() +
                                         "\"\n[server]\nhttp = [\"127.0.0.1:" + std::to_string(port) + "\"]\n");
  auto r = run({program("vassal"), file.string()});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kBootError)) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Address already in use"), std::string::npos) << r.err;
}

// What a restart right after kill -9 meets: the old workers hold the port
// for a moment more. The new master retries, then binds once it is free.
TEST(VassalLifecycle, a_port_held_for_a_moment_is_bound_once_free) {
  auto taken = std::make_optional(listen_on(parse_listen_address("127.0.0.1:0").value()));
  int port = local_address(*taken).port;
  TempDir dir;
  auto file = dir.write("restarted.toml", "[app]\nmodule = \"validated\"\nchdir = \"" + apps_dir() +
                                              "\"\n[server]\nhttp = [\"127.0.0.1:" + std::to_string(port) + "\"]\n");
  Spawned v({program("vassal"), file.string()});
  ASSERT_TRUE(v.wait_for_line("Address already in use; retrying for up to 2s", 10s)) << v.output();
  taken.reset();
  ASSERT_TRUE(v.wait_for_line("every worker serving", 10s)) << v.output();
  EXPECT_TRUE(serves(port));
}

TEST(VassalLifecycle, an_invalid_file_exits_5_naming_the_problem) {
  auto r = run({program("vassal"), (source_dir() / "tests/unit/configs/bad/threads_zero.toml").string()});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kConfigInvalid));
  EXPECT_NE(r.err.find("threads_zero.toml:6:11: [server] threads"), std::string::npos) << r.err;
}

TEST(VassalLifecycle, started_as_root_it_binds_then_runs_as_the_configured_user) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  VassalUnderTest v(R"(
[vassal]
uid = "nobody"
[app]
module = "lifetime_app"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
)");
  ASSERT_TRUE(v.process().wait_for_line("running as nobody \\(65534:65534\\)", 10s)) << v.process().output();
  std::ifstream status("/proc/" + std::to_string(v.process().pid()) + "/status");
  std::string line;
  while (std::getline(status, line) && line.rfind("Uid:", 0) != 0) {
  }
  EXPECT_EQ(line.substr(0, 10), "Uid:\t65534") << line;
  // The app's code ran as nobody from its first line: real, effective and
  // saved uid were all dropped before the import (no way back to root).
  auto uids = http_get(v.http_port(), "/uids");
  ASSERT_TRUE(uids && uids->status == 200);
  EXPECT_EQ(uids->body, "65534 65534 65534");
}

TEST(VassalLifecycle, a_crash_loop_is_throttled_with_growing_delays) {
  VassalUnderTest v(R"(
[app]
module = "crash_at_fork"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 1
)", /*workers=*/0);
  // Three deaths in a row, each answered by a longer wait than the last.
  ASSERT_TRUE(v.process().wait_for_line("died 1 time\\(s\\) in a row right after starting; respawning in 0.1s", 20s))
      << v.process().output();
  ASSERT_TRUE(v.process().wait_for_line("died 2 time\\(s\\) in a row right after starting; respawning in 0.2s", 20s));
  ASSERT_TRUE(v.process().wait_for_line("died 3 time\\(s\\) in a row right after starting; respawning in 0.4s", 20s));
  EXPECT_LE(v.process().count_lines("worker 1 started"), 5) << "no busy fork loop";
}

}  // namespace
}  // namespace suz::test
