// Every signal an operator can send that has no meaning for a process
// (core/signals.hpp) is sent to each kind of process: the emperor, a
// standalone master, a worker, a spooler. Each is logged once and ignored:
// the process keeps its pid and everything keeps serving.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/signals.hpp"
#include "tests/support/emperor.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/spool_jobs.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

namespace fs = std::filesystem;

std::vector<int> strays(std::initializer_list<int> meaningful) {
  std::vector<int> out;
  for (int sig : operator_signals())
    if (std::find(meaningful.begin(), meaningful.end(), sig) == meaningful.end()) out.push_back(sig);
  return out;
}

std::string regex_quoted(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(ch) != std::string_view::npos) out += '\\';
    out += ch;
  }
  return out;
}

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

pid_t only_process(const std::string& title) {
  auto found = processes_matching(title);
  return found.size() == 1 ? found.front() : 0;
}

// Sends every stray signal of that kind to pid, then waits for each one's log
// line, which `who` (the process's log label) writes.
void send_strays(Spawned& log, pid_t pid, const std::string& who, std::initializer_list<int> meaningful) {
  for (int sig : strays(meaningful)) ASSERT_EQ(::kill(pid, sig), 0) << signal_name(sig);
  for (int sig : strays(meaningful)) {
    if (sig == SIGPIPE) continue;  // ignored without a word
    ASSERT_TRUE(log.wait_for_line(regex_quoted(who) + " \\(pid " + std::to_string(pid) + "\\): " +
                                      regex_quoted(signal_name(sig)) + " has no meaning for this process: ignored",
                                  10s))
        << who << " did not log " << signal_name(sig) << "\n" << log.output();
  }
  ASSERT_TRUE(alive(pid)) << who << " died";
}

TEST(StraySignals, the_emperor_ignores_each_one_and_its_vassals_serve_throughout) {
  EmperorUnderTest e({{"strays_emperor", tiny_vassal()}});
  int port = e.port_of("strays_emperor");
  pid_t master = e.wait_serving("strays_emperor");
  ASSERT_NE(master, 0) << e.process().output();
  send_strays(e.process(), e.process().pid(), "emperor", kEmperorSignals);
  EXPECT_TRUE(serves(port));
  EXPECT_TRUE(alive(master));
  EXPECT_EQ(e.process().count_lines("vassal strays_emperor: started pid"), 1) << "a master was restarted";
  // Each is logged once, however often it comes.
  ::kill(e.process().pid(), SIGUSR2);
  ::kill(e.process().pid(), SIGHUP);  // a meaningful one, as a marker that the loop went round
  ASSERT_NE(e.wait_serving("strays_emperor", 2), 0) << e.process().output();
  EXPECT_EQ(e.process().count_lines("emperor \\(pid \\d+\\): SIGUSR2 has no meaning"), 1);
}

TEST(StraySignals, a_standalone_master_ignores_each_one_and_keeps_its_workers) {
  VassalUnderTest v(app_config("lifetime_app", 2), 2, "strays_master");
  pid_t worker = only_process("vassal strays_master: worker 1");
  ASSERT_NE(worker, 0);
  send_strays(v.process(), v.process().pid(), "vassal strays_master", kMasterSignals);
  EXPECT_TRUE(serves(v.http_port()));
  EXPECT_EQ(only_process("vassal strays_master: worker 1"), worker) << "a worker was replaced";
}

TEST(StraySignals, a_worker_ignores_each_one_and_serves_on) {
  VassalUnderTest v(app_config("lifetime_app", 1), 1, "strays_worker");
  pid_t worker = only_process("vassal strays_worker: worker 1");
  ASSERT_NE(worker, 0);
  send_strays(v.process(), worker, "vassal strays_worker: worker 1", kChildSignals);
  EXPECT_TRUE(serves(v.http_port()));
  EXPECT_EQ(only_process("vassal strays_worker: worker 1"), worker) << "the worker was replaced";
}

TEST(StraySignals, a_spooler_ignores_each_one_and_runs_the_next_job) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(spool.string(), 1, "", /*serve=*/false), 0, "strays_spooler");
  wait_running(v);
  pid_t spooler = only_process("vassal strays_spooler: spooler 1");
  ASSERT_NE(spooler, 0);
  send_strays(v.process(), spooler, "vassal strays_spooler: spooler 1", kChildSignals);
  push_cli(spool.string(), {"n=after", "out=" + out.string()});
  ASSERT_TRUE(eventually([&] { return count_event(out, "done") == 1; }, 10s)) << v.process().output();
  EXPECT_EQ(read_out(out).front().pid, spooler);
}

// USR1, what logrotate sends: the emperor passes it to every master, which
// reopens its log file (and has its workers reopen theirs).
TEST(StraySignals, usr1_to_the_emperor_makes_every_master_reopen_its_log) {
  EmperorUnderTest e({{"rotated", tiny_vassal() + "[log]\nfile = \"rotated.log\"\n"}});
  ASSERT_NE(e.wait_serving("rotated"), 0) << e.process().output();
  fs::path log = e.dir().path() / "rotated.log";
  ASSERT_TRUE(fs::exists(log));
  fs::rename(log, e.dir().path() / "rotated.log.1");
  ::kill(e.process().pid(), SIGUSR1);
  ASSERT_TRUE(e.process().wait_for_line("reopening logs: SIGUSR1 sent to every master", 10s)) << e.process().output();
  auto reopened = [&] {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find("log reopened") != std::string::npos;
  };
  EXPECT_TRUE(eventually(reopened, 10s)) << "the master did not write to a new rotated.log";
}

}  // namespace
}  // namespace suz::test
