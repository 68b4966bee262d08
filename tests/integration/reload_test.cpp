// HUP loads new code and config without an emperor: a new master on the same
// sockets takes over once serving (vassal/successor.hpp), against the real
// binaries under a request loop.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "core/exit_code.hpp"
#include "tests/support/emperor.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/probe.hpp"
#include "tests/support/process.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

// An app whose answer is its version, in a directory the test rewrites.
void write_app(const TempDir& dir, const std::string& body) {
  std::ofstream(dir.path() / "versioned.py") << body;
}
std::string app_of(const std::string& version) {
  return "import os\n\ndef app(environ, start_response):\n"
         "    body = ('" + version + " ' + os.environ.get('COLOUR', '-')).encode()\n"
         "    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])\n"
         "    return [body]\n";
}
std::string vassal_in(const TempDir& dir, const std::string& colour, const std::string& more = "") {
  return "[app]\nmodule = \"versioned:app\"\nchdir = \"" + dir.path().string() +
         "\"\n[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = 2\n[lifetime]\ngraceful_timeout = \"5s\"\n"
         "ready_timeout = \"20s\"\n[env]\nCOLOUR = \"" + colour + "\"\n" + more;
}

std::string answer(int port) {
  auto r = http_get(port, "/");
  return r ? r->body : "(no answer)";
}

// The nth new master's pid, once it serves.
pid_t successor_serving(Spawned& p, int nth = 1) {
  auto m = p.wait_for_line("reload: new master pid (\\d+) serves", 30s, nth);
  return m ? std::stoi((*m)[1]) : 0;
}

TEST(Reload, hup_without_an_emperor_serves_new_code_and_config_with_no_failed_request) {
  TempDir code;
  write_app(code, app_of("v1"));
  VassalUnderTest v(vassal_in(code, "blue"), 2);
  Adopter adopter;  // after v: the successors hold its output open, so they go first
  int port = v.http_port();
  ASSERT_EQ(answer(port), "v1 blue");
  pid_t old_master = v.process().pid();

  Probe probe(port);
  write_app(code, app_of("v2"));
  std::ofstream(v.dir().path() / "app.toml") << vassal_in(code, "green");
  ::kill(old_master, SIGHUP);
  pid_t successor = successor_serving(v.process());
  ASSERT_NE(successor, 0) << v.process().output();
  adopter.adopt(successor);
  ASSERT_TRUE(v.process().stop(0, 30s)) << "the old master drains and exits by itself:\n" << v.process().output();
  EXPECT_EQ(answer(port), "v2 green");
  probe.stop();
  EXPECT_GT(probe.ok(), 0);
  EXPECT_EQ(probe.failed(), 0) << testing::PrintToString(probe.failures());
}

TEST(Reload, a_new_master_that_cannot_load_the_app_leaves_the_old_code_serving_and_a_fixed_one_takes_over) {
  TempDir code;
  write_app(code, app_of("v1"));
  VassalUnderTest v(vassal_in(code, "blue"), 2);
  Adopter adopter;  // after v: the successors hold its output open, so they go first
  int port = v.http_port();
  Probe probe(port);

  write_app(code, "this is not python\n");
  ::kill(v.process().pid(), SIGHUP);
  ASSERT_TRUE(v.process().wait_for_line(
      "reload: the new master \\(pid \\d+\\) exited with 4 .* before serving; this master serves the previous code", 30s))
      << v.process().output();
  EXPECT_EQ(answer(port), "v1 blue");

  std::ofstream(v.dir().path() / "app.toml") << "[app]\nmodule = 7\n";  // an invalid file: the same
  ::kill(v.process().pid(), SIGHUP);
  ASSERT_TRUE(v.process().wait_for_line("reload: the new master \\(pid \\d+\\) exited with 5", 30s));
  EXPECT_EQ(answer(port), "v1 blue");

  write_app(code, app_of("v2"));
  std::ofstream(v.dir().path() / "app.toml") << vassal_in(code, "blue");
  ::kill(v.process().pid(), SIGHUP);
  pid_t successor = successor_serving(v.process());
  ASSERT_NE(successor, 0) << v.process().output();
  adopter.adopt(successor);
  ASSERT_TRUE(v.process().stop(0, 30s));
  EXPECT_EQ(answer(port), "v2 blue");
  probe.stop();
  EXPECT_EQ(probe.failed(), 0) << testing::PrintToString(probe.failures());
}

TEST(Reload, a_hup_during_a_reload_is_not_lost) {
  TempDir code;
  // Slow to import, so that the second HUP lands while the first new master loads.
  write_app(code, "import time\ntime.sleep(0.5)\n" + app_of("v1"));
  VassalUnderTest v(vassal_in(code, "blue"), 2);
  Adopter adopter;  // after v: the successors hold its output open, so they go first
  write_app(code, "import time\ntime.sleep(0.5)\n" + app_of("v2"));
  ::kill(v.process().pid(), SIGHUP);
  ASSERT_TRUE(v.process().wait_for_line("reload: new master pid \\d+ loads", 10s));
  ::kill(v.process().pid(), SIGHUP);
  ASSERT_TRUE(v.process().wait_for_line("reload: one is under way .* another follows it", 10s)) << v.process().output();
  // The first takes over, and is told to reload in turn.
  pid_t first = successor_serving(v.process());
  ASSERT_NE(first, 0);
  adopter.adopt(first);
  pid_t second = successor_serving(v.process(), 2);
  ASSERT_NE(second, 0) << v.process().output();
  EXPECT_NE(second, first);
  adopter.adopt(second);
  EXPECT_EQ(answer(v.http_port()), "v2 blue");
}

TEST(Reload, usr2_replaces_the_workers_from_the_same_master) {
  TempDir code;
  write_app(code, app_of("v1"));
  VassalUnderTest v(vassal_in(code, "blue"), 2);
  write_app(code, app_of("v2"));
  ::kill(v.process().pid(), SIGUSR2);
  ASSERT_TRUE(v.process().wait_for_line("reload done", 30s)) << v.process().output();
  EXPECT_TRUE(v.reaches_generation(1, 2));
  EXPECT_EQ(answer(v.http_port()), "v1 blue") << "the same master: the code it imported";
}

TEST(Reload, hup_to_a_master_under_an_emperor_asks_the_emperor_to_reload_it) {
  TempDir code;
  write_app(code, app_of("v1"));
  EmperorUnderTest e({{"app", vassal_in(code, "blue")}});
  int port = e.port_of("app");
  pid_t first = e.wait_serving("app");
  ASSERT_NE(first, 0) << e.process().output();
  Probe probe(port);
  write_app(code, app_of("v2"));
  ::kill(first, SIGHUP);
  ASSERT_TRUE(e.process().wait_for_line("vassal app: pid " + std::to_string(first) + " got HUP: loading the file again",
                                        30s))
      << e.process().output();
  ASSERT_TRUE(e.process().wait_for_line("vassal app: pid " + std::to_string(first) + " exited", 30s));
  EXPECT_EQ(answer(port), "v2 blue");
  probe.stop();
  EXPECT_EQ(probe.failed(), 0) << testing::PrintToString(probe.failures());
}

// `emperor reload NAME`: the same reload, asked over the control socket, and
// answered once the new master serves or failed.
RunResult emperor_command(const EmperorUnderTest& e, const std::string& verb, const std::string& name) {
  return run({program("emperor"), verb, name, "--vassals", e.dir().path().string()}, 60s);
}

TEST(Reload, emperor_reload_name_answers_once_the_new_code_serves_with_no_failed_request) {
  TempDir code;
  write_app(code, app_of("v1"));
  EmperorUnderTest e({{"app", vassal_in(code, "blue")}, {"other", tiny_vassal()}});
  int port = e.port_of("app");
  pid_t first = e.wait_serving("app");
  ASSERT_NE(first, 0) << e.process().output();
  Probe probe(port);
  write_app(code, app_of("v2"));
  auto r = emperor_command(e, "reload", "app");
  ASSERT_EQ(r.exit_code(), 0) << r.err << e.process().output();
  pid_t second = e.wait_serving("app", 2);
  EXPECT_NE(r.out.find("app: reloaded: pid " + std::to_string(second) + " serves, pid " + std::to_string(first) + " stops"),
            std::string::npos)
      << r.out;
  ASSERT_TRUE(e.process().wait_for_line("vassal app: pid " + std::to_string(first) + " exited", 30s));
  EXPECT_EQ(answer(port), "v2 blue");
  probe.stop();
  EXPECT_GT(probe.ok(), 0);
  EXPECT_EQ(probe.failed(), 0) << testing::PrintToString(probe.failures());
  EXPECT_EQ(e.process().count_lines("vassal other: started pid"), 1) << "only the vassal named was reloaded";

  write_app(code, "this is not python\n");
  auto broken = emperor_command(e, "reload", "app");
  EXPECT_EQ(broken.exit_code(), to_int(ExitCode::kFailure));
  EXPECT_NE(broken.err.find("before serving: pid " + std::to_string(second) + " keeps serving the previous configuration"),
            std::string::npos)
      << broken.err;
  EXPECT_EQ(answer(port), "v2 blue");
}

}  // namespace
}  // namespace suz::test
