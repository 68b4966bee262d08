// The emperor with real vassals: files appear, change, break, vanish; the
// emperor itself is stopped or killed. Every check is on real processes and
// real sockets.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/exit_code.hpp"
#include "core/fd.hpp"
#include "core/socket.hpp"
#include "tests/support/emperor.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/probe.hpp"

namespace suz::test {
namespace {

TEST(Emperor, three_vassals_from_a_fresh_directory_all_serve) {
  EmperorUnderTest e({{"alpha", tiny_vassal()}, {"beta", tiny_vassal("lifetime_app", 2)}, {"gamma", tiny_vassal()}});
  for (const char* name : {"alpha", "beta", "gamma"}) {
    int port = e.port_of(name);
    ASSERT_NE(port, 0) << name << "\n" << e.process().output();
    ASSERT_NE(e.wait_serving(name), 0) << name << "\n" << e.process().output();
    EXPECT_TRUE(serves(port)) << name;
  }
}

TEST(Emperor, a_new_file_starts_a_vassal_and_removing_it_stops_it_and_frees_its_port) {
  EmperorUnderTest e;
  e.write("late", tiny_vassal());
  int port = e.port_of("late");
  ASSERT_NE(e.wait_serving("late"), 0) << e.process().output();
  ASSERT_TRUE(serves(port));
  e.remove("late");
  ASSERT_TRUE(e.process().wait_for_line("vassal late: stopped", 30s)) << e.process().output();
  EXPECT_TRUE(refuses(port)) << "port " << port << " still open after the vassal stopped";
  EXPECT_TRUE(processes_matching("vassal late:").empty());
}

TEST(Emperor, touching_a_file_reloads_its_vassal_without_failing_a_request) {
  EmperorUnderTest e({{"hot", tiny_vassal("lifetime_app", 2)}, {"bystander", tiny_vassal()}});
  int port = e.port_of("hot");
  pid_t first = e.wait_serving("hot");
  pid_t bystander = e.wait_serving("bystander");
  ASSERT_NE(first, 0) << e.process().output();
  Probe keep_alive(port), fresh(port, "/", /*keep_alive=*/false);
  pid_t previous = first;
  for (int reload = 2; reload <= 4; ++reload) {
    e.touch("hot");
    pid_t next = e.wait_serving("hot", reload);
    ASSERT_NE(next, 0) << e.process().output();
    EXPECT_NE(next, previous);
    previous = next;
  }
  ASSERT_TRUE(e.process().wait_for_line("vassal hot: pid " + std::to_string(first) + " exited with 0", 30s))
      << e.process().output();
  keep_alive.stop();
  fresh.stop();
  EXPECT_GT(keep_alive.ok() + fresh.ok(), 20);
  EXPECT_EQ(keep_alive.failed(), 0) << testing::PrintToString(keep_alive.failures());
  EXPECT_EQ(fresh.failed(), 0) << testing::PrintToString(fresh.failures());
  EXPECT_EQ(e.port_of("hot"), port) << "the same socket serves every generation";
  EXPECT_EQ(e.process().count_lines("vassal bystander: started pid"), 1) << "the other vassal was touched";
  EXPECT_EQ(::kill(bystander, 0), 0);
}

TEST(Emperor, a_stats_socket_is_bound_private_by_the_emperor_and_kept_across_a_reload) {
  TempDir sockets;
  std::filesystem::permissions(sockets.path(), std::filesystem::perms::all);
  std::string path = (sockets.path() / "stats.sock").string();
  EmperorUnderTest e({{"counted", tiny_vassal() + "[stats]\nlisten = \"unix:" + path + "\"\n"}});
  pid_t first = e.wait_serving("counted");
  ASSERT_NE(first, 0) << e.process().output();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto master_of = [&] {
    HttpClient c(path);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.receive();
    return r && r->status == 200 ? nlohmann::json::parse(r->body)["master_pid"].get<pid_t>() : 0;
  };
  EXPECT_EQ(master_of(), first);
  e.touch("counted");
  pid_t second = e.wait_serving("counted", 2);
  ASSERT_NE(second, 0) << e.process().output();
  ASSERT_TRUE(e.process().wait_for_line("vassal counted: pid " + std::to_string(first) + " exited", 30s));
  EXPECT_EQ(master_of(), second) << "the new master answers on the same socket";
  EXPECT_TRUE(std::filesystem::exists(path)) << "the old master must not remove the socket it was passed";
}

TEST(Emperor, a_vassal_that_exits_at_once_is_throttled_not_spun) {
  EmperorUnderTest e({{"broken", tiny_vassal("import_error")}, {"fine", tiny_vassal()}});
  ASSERT_TRUE(e.process().wait_for_line("vassal broken: died 3 time\\(s\\) in a row soon after starting: restarting in 1.0s",
                                        30s))
      << e.process().output();
  EXPECT_EQ(e.process().count_lines("vassal broken: started pid"), 3) << e.process().output();
  EXPECT_NE(e.process().count_lines("vassal broken: died 2 time\\(s\\) .* restarting in 0.5s"), 0);
  int port = e.port_of("fine");
  ASSERT_NE(e.wait_serving("fine"), 0);
  EXPECT_TRUE(serves(port));
}

TEST(Emperor, an_invalid_file_is_reported_with_its_position_and_started_once_fixed) {
  EmperorUnderTest e({{"good", tiny_vassal()}});
  pid_t good = e.wait_serving("good");
  ASSERT_NE(good, 0);
  e.write("typo", "[app]\nmodule = \"lifetime_app\"\nchdir = \"@APPS@\"\n[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = \"two\"\n");
  ASSERT_TRUE(e.process().wait_for_line("vassal typo.toml: .*typo.toml:6:11: \\[server\\] workers: expected an integer", 30s))
      << e.process().output();
  EXPECT_EQ(e.process().count_lines("vassal typo: started"), 0);
  e.write("typo", tiny_vassal());
  int port = e.port_of("typo");
  ASSERT_NE(e.wait_serving("typo"), 0) << e.process().output();
  EXPECT_TRUE(serves(port));
  EXPECT_EQ(e.wait_serving("good"), good) << "the other vassal was restarted";
  EXPECT_EQ(e.process().count_lines("vassal good: started pid"), 1);
}

TEST(Emperor, a_running_vassal_whose_file_breaks_keeps_running_the_previous_configuration) {
  EmperorUnderTest e({{"steady", tiny_vassal()}});
  int port = e.port_of("steady");
  pid_t pid = e.wait_serving("steady");
  ASSERT_NE(pid, 0);
  e.write("steady", "[app]\nmodule = 42\n");
  ASSERT_TRUE(e.process().wait_for_line("vassal steady: .* is invalid: still running the previous configuration", 30s))
      << e.process().output();
  EXPECT_TRUE(serves(port));
  EXPECT_EQ(::kill(pid, 0), 0);
}

TEST(Emperor, term_stops_every_vassal_gracefully_and_exits) {
  EmperorUnderTest e({{"one", tiny_vassal()}, {"two", tiny_vassal()}});
  int one = e.port_of("one"), two = e.port_of("two");
  ASSERT_NE(e.wait_serving("one"), 0);
  ASSERT_NE(e.wait_serving("two"), 0);
  auto status = e.process().stop(SIGTERM, 30s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << e.process().output();
  EXPECT_EQ(e.process().count_lines("vassal (one|two) \\(pid \\d+\\): graceful stop requested"), 2);
  EXPECT_TRUE(refuses(one));
  EXPECT_TRUE(refuses(two));
  EXPECT_TRUE(processes_matching("vassal one:").empty());
  EXPECT_TRUE(processes_matching("vassal two:").empty());
}

TEST(Emperor, sigkill_of_the_emperor_leaves_no_process_of_its_tree) {
  EmperorUnderTest e({{"orphan-a", tiny_vassal("lifetime_app", 2)}, {"orphan-b", tiny_vassal("lifetime_app", 2)}});
  ASSERT_NE(e.wait_serving("orphan-a"), 0);
  ASSERT_NE(e.wait_serving("orphan-b"), 0);
  auto tree = processes_matching("vassal orphan-");
  ASSERT_EQ(tree.size(), 6u) << "two masters and four workers expected";
  pid_t group = e.process().pid();  // the emperor leads its own process group
  ASSERT_EQ(processes_in_group(group).size(), 7u) << "the emperor and its six descendants";
  ASSERT_TRUE(e.process().stop(SIGKILL, 30s));
  EXPECT_TRUE(processes_gone("vassal orphan-")) << "left behind: "
                                                << testing::PrintToString(processes_matching("vassal orphan-"));
  EXPECT_TRUE(group_gone(group)) << testing::PrintToString(processes_in_group(group));
}

TEST(Emperor, a_master_that_stops_heartbeating_is_killed_and_restarted) {
  EmperorUnderTest e({{"frozen", tiny_vassal()}}, {"--heartbeat-timeout", "1s"});
  int port = e.port_of("frozen");
  pid_t first = e.wait_serving("frozen");
  ASSERT_NE(first, 0);
  ASSERT_EQ(::kill(first, SIGSTOP), 0);  // its loop stops: no more heartbeats
  ASSERT_TRUE(e.process().wait_for_line("vassal frozen: pid " + std::to_string(first) + " sent nothing for 1s: killing it",
                                        30s))
      << e.process().output();
  pid_t second = e.wait_serving("frozen", 2);
  ASSERT_NE(second, 0) << e.process().output();
  EXPECT_NE(second, first);
  EXPECT_TRUE(serves(port));
}

TEST(Emperor, a_master_not_serving_within_the_ready_timeout_is_killed) {
  EmperorUnderTest e({{"sluggish", tiny_vassal("slow_import")}}, {"--ready-timeout", "1s"});
  ASSERT_TRUE(e.process().wait_for_line("vassal sluggish: pid \\d+ not serving 1s after it started: killing it", 30s))
      << e.process().output();
  ASSERT_TRUE(e.process().wait_for_line("vassal sluggish: pid \\d+ killed by SIGKILL", 30s)) << e.process().output();
}

TEST(Emperor, a_removed_vassal_that_does_not_stop_is_killed_after_the_mercy_timeout) {
  std::string toml = tiny_vassal();
  const std::string five = "graceful_timeout = \"5s\"";
  toml.replace(toml.find(five), five.size(), "graceful_timeout = \"1s\"");
  EmperorUnderTest e({{"stubborn", toml}});
  pid_t master = e.wait_serving("stubborn");
  ASSERT_NE(master, 0);
  ASSERT_EQ(::kill(master, SIGSTOP), 0);  // it cannot read "stop"
  e.remove("stubborn");
  ASSERT_TRUE(e.process().wait_for_line(
      "vassal stubborn: pid " + std::to_string(master) + " still running 6s after being asked to stop: killing it", 30s))
      << e.process().output();
  ASSERT_TRUE(e.process().wait_for_line("vassal stubborn: stopped", 30s));
  EXPECT_TRUE(processes_gone("vassal stubborn:")) << "its workers outlived it";
}

TEST(Emperor, hup_reloads_every_vassal) {
  EmperorUnderTest e({{"first", tiny_vassal()}, {"second", tiny_vassal()}});
  pid_t a = e.wait_serving("first"), b = e.wait_serving("second");
  ASSERT_NE(a, 0);
  ASSERT_NE(b, 0);
  ::kill(e.process().pid(), SIGHUP);
  pid_t a2 = e.wait_serving("first", 2), b2 = e.wait_serving("second", 2);
  ASSERT_NE(a2, 0) << e.process().output();
  ASSERT_NE(b2, 0) << e.process().output();
  EXPECT_NE(a2, a);
  EXPECT_NE(b2, b);
}

TEST(Emperor, status_shows_every_vassal_with_state_pid_restarts_and_last_exit) {
  EmperorUnderTest e({{"web", tiny_vassal()}, {"broken", tiny_vassal("import_error")}, {"typo", "[app]\nmodule = 3\n"}});
  pid_t web = e.wait_serving("web");
  ASSERT_NE(web, 0);
  ASSERT_TRUE(e.process().wait_for_line("vassal broken: died 2 time", 30s)) << e.process().output();
  // The status socket is private to the emperor's user: it names every vassal's config and pid.
  struct stat st {};
  ASSERT_EQ(::stat((e.dir().path() / ".emperor.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto r = run({program("emperor"), "status", "--vassals", e.dir().path().string(), "--json"});
  ASSERT_EQ(r.exit_code(), 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["emperor_pid"].get<pid_t>(), e.process().pid());
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& v : doc["vassals"]) by_name[v["name"].get<std::string>()] = v;
  ASSERT_EQ(by_name.size(), 3u) << r.out;
  EXPECT_EQ(by_name["web"]["state"], "running");
  EXPECT_EQ(by_name["web"]["pid"].get<pid_t>(), web);
  EXPECT_EQ(by_name["web"]["config"], (e.dir().path() / "web.toml").string());
  EXPECT_GE(by_name["broken"]["restarts"].get<int>(), 2);
  EXPECT_NE(by_name["broken"]["last_exit"].get<std::string>().find("exited with 4"), std::string::npos) << r.out;
  EXPECT_EQ(by_name["typo"]["state"], "invalid");

  auto table = run({program("emperor"), "status", "--vassals", e.dir().path().string()});
  ASSERT_EQ(table.exit_code(), 0) << table.err;
  EXPECT_NE(table.out.find("web"), std::string::npos);
  EXPECT_NE(table.out.find("running"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(std::to_string(web)), std::string::npos) << table.out;
}

TEST(Emperor, status_without_an_emperor_says_so) {
  TempDir empty;
  auto r = run({program("emperor"), "status", "--vassals", empty.path().string()});
  EXPECT_EQ(r.exit_code(), to_int(ExitCode::kFailure));
  EXPECT_NE(r.err.find("is an emperor running"), std::string::npos) << r.err;
}

// A datagram socket standing in for systemd's NOTIFY_SOCKET.
class FakeSystemd {
 public:
  FakeSystemd() {
    path_ = (dir_.path() / "notify").string();
    fd_ = Fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  }
  const std::string& path() const { return path_; }
  // Waits for `times` datagrams containing what; every datagram seen is kept.
  bool wait_for(const std::string& what, std::chrono::milliseconds timeout, int times = 1) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (count(what) >= times) return true;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      std::string m = read_for(fd_.get(), 4096, std::min(left, std::chrono::milliseconds(100)));
      if (!m.empty()) seen_.push_back(m);
    }
  }
  int count(const std::string& what) const {
    int n = 0;
    for (const auto& m : seen_) n += m.find(what) != std::string::npos;
    return n;
  }

 private:
  TempDir dir_;
  std::string path_;
  Fd fd_;
  std::vector<std::string> seen_;
};

TEST(Emperor, tells_systemd_ready_status_watchdog_and_stopping) {
  FakeSystemd systemd;
  ::setenv("NOTIFY_SOCKET", systemd.path().c_str(), 1);
  ::setenv("WATCHDOG_USEC", "200000", 1);
  EmperorUnderTest e({{"svc", tiny_vassal()}});
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_TRUE(systemd.wait_for("READY=1", 30s));
  ASSERT_NE(e.wait_serving("svc"), 0);
  EXPECT_TRUE(systemd.wait_for("STATUS=1 vassal(s), 1 running", 30s));
  EXPECT_TRUE(systemd.wait_for("WATCHDOG=1", 30s, 3)) << "a ping every 100 ms expected";
  e.process().stop(SIGTERM, 30s);
  EXPECT_TRUE(systemd.wait_for("STOPPING=1", 5s));
}

uid_t uid_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Uid:", 0) == 0) return static_cast<uid_t>(std::stoul(line.substr(4)));
  return static_cast<uid_t>(-1);
}

constexpr uid_t kNobody = 65534;

// Root only: vassals run as nobody.
class EmperorAsRoot : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (to switch users)";
  }
};

TEST_F(EmperorAsRoot, a_vassal_runs_as_the_user_its_file_names) {
  EmperorUnderTest e({{"asnobody", tiny_vassal() + "[vassal]\nuid = \"nobody\"\n"}});
  int port = e.port_of("asnobody");
  pid_t master = e.wait_serving("asnobody");
  ASSERT_NE(master, 0) << e.process().output();
  EXPECT_EQ(uid_of(master), kNobody);
  auto workers = processes_matching("vassal asnobody: worker");
  ASSERT_FALSE(workers.empty());
  for (pid_t w : workers) EXPECT_EQ(uid_of(w), kNobody);
  EXPECT_TRUE(serves(port));
}

TEST_F(EmperorAsRoot, tyrant_runs_each_vassal_as_its_files_owner_and_refuses_root_owned_files) {
  EmperorUnderTest e({}, {"--tyrant"});
  e.write("owned", tiny_vassal());
  e.write("rootowned", tiny_vassal());
  ASSERT_EQ(::chown(e.path_of("owned").c_str(), kNobody, kNobody), 0);
  e.touch("owned");
  pid_t master = e.wait_serving("owned");
  ASSERT_NE(master, 0) << e.process().output();
  EXPECT_EQ(uid_of(master), kNobody);
  EXPECT_TRUE(e.process().wait_for_line("vassal rootowned.toml: --tyrant: refusing a file owned by root", 30s))
      << e.process().output();
  EXPECT_EQ(e.process().count_lines("vassal rootowned: started"), 0);
}

TEST_F(EmperorAsRoot, an_unprivileged_emperor_refuses_a_file_asking_for_another_user) {
  EmperorUnderTest e({}, {}, {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  e.write("wantsroot", tiny_vassal() + "[vassal]\nuid = \"root\"\n");
  e.write("plain", tiny_vassal());
  EXPECT_TRUE(e.process().wait_for_line(
      "vassal wantsroot.toml: runs as root \\(0:0\\), but this process is uid 65534, not root: it cannot switch users",
      30s))
      << e.process().output();
  pid_t plain = e.wait_serving("plain");
  ASSERT_NE(plain, 0) << e.process().output();
  EXPECT_EQ(uid_of(plain), kNobody);
}

// Many small apps on one machine: 100 vassals of one worker each, all
// started at once (no boot throttling), all serving.
TEST(EmperorLoad, a_hundred_vassals_all_serve) {
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 100; ++i) files.emplace_back("tiny" + std::to_string(i), tiny_vassal());
  EmperorUnderTest e(files);
  for (int i = 0; i < 100; ++i) {
    std::string name = "tiny" + std::to_string(i);
    int port = e.port_of(name, 120s);
    ASSERT_NE(port, 0) << name;
    ASSERT_NE(e.wait_serving(name, 1, 120s), 0) << name << "\n" << e.process().output().substr(0, 20000);
    EXPECT_TRUE(serves(port)) << name;
  }
  EXPECT_EQ(e.process().count_lines("restarting in|killing it"), 0);
}

}  // namespace
}  // namespace suz::test
