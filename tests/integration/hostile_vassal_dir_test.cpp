// Whatever lands in the vassal directory, and whatever happens to the
// directory itself, fails at most that one file: a good vassal beside it
// serves throughout, `emperor status` answers, and TERM stops everything.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "tests/support/emperor.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/probe.hpp"
#include "tests/support/spawned.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

namespace fs = std::filesystem;

std::string with_apps(std::string toml) {
  for (std::size_t at; (at = toml.find("@APPS@")) != std::string::npos;) toml.replace(at, 6, apps_dir());
  return toml;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string random_bytes(std::size_t n) {
  std::mt19937 rng(17);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

RunResult status_of(const fs::path& dir) { return run({program("emperor"), "status", "--vassals", dir.string()}); }

// The hostile files: each must be reported, none may block, crash or flood.
void make_hostile_files(const fs::path& dir, const std::string& suffix) {
  ASSERT_EQ(::mkfifo((dir / ("fifo" + suffix + ".toml")).c_str(), 0644), 0);
  fs::create_symlink("/dev/zero", dir / ("zero" + suffix + ".toml"));
  fs::create_symlink("loop" + suffix + ".toml", dir / ("loop" + suffix + ".toml"));  // ELOOP
  fs::create_symlink("/etc/hostname/x.toml", dir / ("notdir" + suffix + ".toml"));  // ENOTDIR
  write_file(dir / ("big" + suffix + ".toml"), std::string(10 * 1024 * 1024, '#'));
  write_file(dir / ("value" + suffix + ".toml"),
             "[app]\nmodule = \"" + std::string(1024 * 1024 - 100, 'm') + "\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n");
  write_file(dir / ("binary" + suffix + ".toml"), random_bytes(64 * 1024));
  std::string flood;
  for (int i = 0; i < 20'000; ++i) flood += "k" + std::to_string(i) + " = 1\n";
  write_file(dir / ("flood" + suffix + ".toml"), flood);
}

void expect_each_reported(Spawned& log, const std::string& suffix) {
  EXPECT_TRUE(log.wait_for_line("vassal fifo" + suffix + "\\.toml: .*is a FIFO, not a vassal file", 10s)) << log.output();
  EXPECT_TRUE(log.wait_for_line("vassal zero" + suffix + "\\.toml: .*is a character device", 10s)) << log.output();
  EXPECT_TRUE(log.wait_for_line("vassal loop" + suffix + "\\.toml: .*cannot read: Too many levels of symbolic links", 10s))
      << log.output();
  EXPECT_TRUE(log.wait_for_line("vassal notdir" + suffix + "\\.toml: .*cannot read: Not a directory", 10s)) << log.output();
  EXPECT_TRUE(log.wait_for_line("vassal big" + suffix + "\\.toml: .*longer than 1MiB", 10s)) << log.output();
  EXPECT_TRUE(log.wait_for_line("vassal value" + suffix + "\\.toml: .*module: a string of \\d+ bytes", 10s))
      << log.output();
  EXPECT_TRUE(log.wait_for_line("vassal flood" + suffix + "\\.toml: .*and \\d+ more problems", 10s)) << log.output();
  EXPECT_TRUE(log.wait_for_line("vassal binary" + suffix + "\\.toml: ", 10s)) << log.output();
  EXPECT_LE(log.count_lines("vassal binary" + suffix + "\\.toml: "), 51);
  EXPECT_LE(log.count_lines("vassal flood" + suffix + "\\.toml: "), 51);
}

TEST(HostileVassalDir, hostile_files_at_boot_and_later_fail_only_themselves) {
  EmperorUnderTest e({{"good", tiny_vassal()}}, {}, {}, [](const fs::path& dir) {
    make_hostile_files(dir, "");
    return dir;
  });
  int port = e.port_of("good");
  ASSERT_NE(e.wait_serving("good"), 0) << e.process().output();
  expect_each_reported(e.process(), "");
  Probe probe(port);

  // The same kinds again into the running emperor, touched, and a file
  // rewritten (truncated, refilled) by another thread while it is read.
  make_hostile_files(e.dir().path(), "2");
  ::utimensat(AT_FDCWD, (e.dir().path() / "fifo2.toml").c_str(), nullptr, 0);
  expect_each_reported(e.process(), "2");
  std::atomic<bool> done{false};
  std::thread rewriter([&] {
    std::string good = with_apps(tiny_vassal());
    for (int i = 0; i < 200 && !done; ++i) {
      write_file(e.dir().path() / "churn.toml", i % 2 ? good : random_bytes(4096));
    }
  });
  rewriter.join();
  write_file(e.dir().path() / "churn.toml", with_apps(tiny_vassal()));
  EXPECT_NE(e.wait_serving("churn"), 0) << e.process().output();

  probe.stop();
  EXPECT_EQ(probe.failed(), 0) << "requests to the good vassal failed";
  EXPECT_GT(probe.ok(), 0);
  EXPECT_TRUE(serves(port));
  RunResult status = status_of(e.dir().path());
  EXPECT_EQ(status.exit_code(), 0) << status.err;
  EXPECT_NE(status.out.find("good"), std::string::npos) << status.out;

  auto stopped = e.process().stop(SIGTERM, 30s);
  ASSERT_TRUE(stopped) << "TERM did not stop the emperor\n" << e.process().output();
  EXPECT_TRUE(WIFEXITED(*stopped) && WEXITSTATUS(*stopped) == 0) << e.process().output();
  EXPECT_TRUE(processes_gone("vassal good:"));
}

TEST(HostileVassalDir, vassal_check_refuses_a_fifo_and_dev_zero_at_once) {
  TempDir dir;
  make_hostile_files(dir.path(), "");
  RunResult fifo = run({program("vassal"), "--check", (dir.path() / "fifo.toml").string()}, 10s);
  EXPECT_EQ(fifo.exit_code(), 5) << fifo.err;
  EXPECT_NE(fifo.err.find("is a FIFO"), std::string::npos) << fifo.err;
  RunResult zero = run({program("vassal"), "--check", (dir.path() / "zero.toml").string()}, 10s);
  EXPECT_EQ(zero.exit_code(), 5) << zero.err;
  EXPECT_NE(zero.err.find("is a character device"), std::string::npos) << zero.err;
  RunResult value = run({program("vassal"), "--check", (dir.path() / "value.toml").string()}, 10s);
  EXPECT_EQ(value.exit_code(), 5) << value.err;
  EXPECT_NE(value.err.find("value.toml:2:10: [app] module: a string of"), std::string::npos) << value.err;
  RunResult flood = run({program("vassal"), "--check", (dir.path() / "flood.toml").string()}, 10s);
  EXPECT_EQ(flood.exit_code(), 5);
  EXPECT_LE(std::count(flood.err.begin(), flood.err.end(), '\n'), 52) << "one line a problem, at most 50, then a count";
  EXPECT_NE(flood.err.find("flood.toml: 20002 problems"), std::string::npos) << flood.err.substr(flood.err.size() - 300);
}

TEST(HostileVassalDir, a_file_name_with_an_escape_sequence_is_logged_escaped) {
  EmperorUnderTest e;
  write_file(e.dir().path() / "evil\x1b]0;owned\x07.toml", "not toml");
  ASSERT_TRUE(e.process().wait_for_line("vassal file evil\\\\x1b\\]0;owned\\\\x07\\.toml: new", 10s))
      << e.process().output();
  EXPECT_EQ(e.process().output().find('\x1b'), std::string::npos);
}

// A vassal file on a filesystem that hangs on read (a dead NFS server, a
// stuck FUSE daemon): its read holds a thread of its own, and the emperor
// goes on supervising, reloading and answering meanwhile.
TEST(HostileVassalDir, a_file_whose_read_hangs_holds_up_nothing_else) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a FUSE filesystem needs root";
  TempDir hung;
  fs::path mnt = hung.path() / "mnt", release = hung.path() / "release";
  fs::create_directory(mnt);
  fs::path contents = hung.write("contents.toml", with_apps(tiny_vassal()));
  Spawned fuse({SUZERAIN_TEST_PYTHON, (source_dir() / "tests/integration/apps/hung_fs.py").string(), mnt.string(),
                contents.string(), release.string()});
  if (!fuse.wait_for_line("mounted", 10s)) GTEST_SKIP() << "cannot mount a FUSE filesystem here\n" << fuse.output();
  struct Unmount {
    fs::path at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mnt};

  EmperorUnderTest e({{"good", tiny_vassal()}});
  ASSERT_NE(e.wait_serving("good"), 0) << e.process().output();
  fs::create_symlink(mnt / "hung.toml", e.dir().path() / "hung.toml");
  ASSERT_TRUE(e.process().wait_for_line("hung\\.toml: still being read after 5s", 15s)) << e.process().output();
  e.touch("good");
  EXPECT_NE(e.wait_serving("good", 2), 0) << "a reload waited for the hung read\n" << e.process().output();
  RunResult status = status_of(e.dir().path());
  EXPECT_EQ(status.exit_code(), 0) << status.err;
  EXPECT_EQ(e.process().count_lines("vassal hung: serving"), 0);

  write_file(release, "");
  EXPECT_NE(e.wait_serving("hung"), 0) << e.process().output();
  EXPECT_TRUE(e.process().wait_for_line("hung\\.toml: read at last", 10s)) << e.process().output();
}

// Directory accidents -------------------------------------------------------

TEST(HostileVassalDir, a_directory_removed_and_recreated_is_watched_again) {
  TempDir elsewhere;
  fs::path sock = elsewhere.path() / "status.sock";
  EmperorUnderTest e({{"first", tiny_vassal()}}, {"--status-socket", sock.string()});
  pid_t first = e.wait_serving("first");
  ASSERT_NE(first, 0) << e.process().output();
  int port = e.port_of("first");
  fs::path dir = e.dir().path();
  fs::remove_all(dir);
  ASSERT_TRUE(e.process().wait_for_line("the vassal directory .* is gone \\(No such file or directory\\): its vassals "
                                        "keep running",
                                        10s))
      << e.process().output();
  EXPECT_TRUE(serves(port));
  EXPECT_TRUE(alive(first));
  fs::create_directory(dir);
  fs::permissions(dir, fs::perms::all);
  ASSERT_TRUE(e.process().wait_for_line("the vassal directory .* is a new directory", 10s)) << e.process().output();
  e.write("second", tiny_vassal());
  EXPECT_NE(e.wait_serving("second"), 0) << "a file in the recreated directory was not seen\n" << e.process().output();
  // first.toml is not in the new directory: its vassal stopped.
  EXPECT_TRUE(e.process().wait_for_line("vassal first: stopped", 30s)) << e.process().output();
}

TEST(HostileVassalDir, a_directory_moved_away_is_not_watched_and_moved_back_is_rescanned) {
  EmperorUnderTest e({{"stays", tiny_vassal()}, {"leaves", tiny_vassal()}});
  pid_t stays = e.wait_serving("stays");
  ASSERT_NE(stays, 0) << e.process().output();
  ASSERT_NE(e.wait_serving("leaves"), 0) << e.process().output();
  fs::path dir = e.dir().path(), away = dir.string() + ".away";
  fs::rename(dir, away);
  ASSERT_TRUE(e.process().wait_for_line("the vassal directory .* is gone", 10s)) << e.process().output();
  // Changes to the directory while it is elsewhere are not the emperor's.
  fs::remove(away / "leaves.toml");
  write_file(away / "arrives.toml", with_apps(tiny_vassal()));
  fs::rename(away, dir);
  ASSERT_TRUE(e.process().wait_for_line("the vassal directory .* is a new directory", 10s)) << e.process().output();
  EXPECT_NE(e.wait_serving("arrives"), 0) << e.process().output();
  EXPECT_TRUE(e.process().wait_for_line("vassal leaves: stopped", 30s)) << e.process().output();
  EXPECT_TRUE(alive(stays)) << "an unchanged vassal was restarted";
  EXPECT_EQ(e.process().count_lines("vassal leaves: stopped"), 1);
  EXPECT_EQ(e.process().count_lines("vassal stays: reload"), 0) << e.process().output();
}

TEST(HostileVassalDir, a_symlink_swapped_to_a_new_release_reloads_changed_files_only) {
  // releases/1 and releases/2, and `current` pointing at one: what
  // Capistrano-style deploy tools do.
  fs::path current;
  EmperorUnderTest e({}, {}, {}, [&](const fs::path& dir) {
    for (const char* r : {"1", "2"}) {
      fs::create_directories(dir / "releases" / r);
      fs::permissions(dir / "releases" / r, fs::perms::all);
    }
    std::string same = with_apps(tiny_vassal());
    write_file(dir / "releases/1/same.toml", same);
    write_file(dir / "releases/1/changed.toml", same);
    write_file(dir / "releases/1/dropped.toml", same);
    write_file(dir / "releases/2/same.toml", same);
    write_file(dir / "releases/2/changed.toml", same + "# release 2\n");
    write_file(dir / "releases/2/added.toml", same);
    current = dir / "current";
    fs::create_symlink(dir / "releases/1", current);
    return current;
  });
  pid_t same = e.wait_serving("same");
  ASSERT_NE(same, 0) << e.process().output();
  pid_t changed = e.wait_serving("changed");
  ASSERT_NE(e.wait_serving("dropped"), 0) << e.process().output();
  fs::create_symlink(e.dir().path() / "releases/2", e.dir().path() / "next");
  fs::rename(e.dir().path() / "next", current);  // atomic, as `mv -T` does
  ASSERT_TRUE(e.process().wait_for_line("the vassal directory .*current is a new directory", 10s)) << e.process().output();
  EXPECT_NE(e.wait_serving("added"), 0) << e.process().output();
  pid_t reloaded = e.wait_serving("changed", 2);
  EXPECT_NE(reloaded, 0) << e.process().output();
  EXPECT_NE(reloaded, changed);
  EXPECT_TRUE(e.process().wait_for_line("vassal dropped: stopped", 30s)) << e.process().output();
  EXPECT_TRUE(alive(same));
  EXPECT_EQ(e.process().count_lines("vassal same: reloading"), 0) << e.process().output();
}

// An emperor that is not root, whose directory becomes unreadable: nothing
// is taken for removed, nothing aborts it, and once readable again the
// directory is rescanned.
TEST(HostileVassalDir, an_unreadable_directory_stops_nothing_and_is_rescanned_when_readable) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the emperor as another user";
  EmperorUnderTest e({{"locked", tiny_vassal()}}, {}, {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  pid_t master = e.wait_serving("locked");
  ASSERT_NE(master, 0) << e.process().output();
  int port = e.port_of("locked");
  fs::path dir = e.dir().path();
  fs::permissions(dir, fs::perms::none);
  ASSERT_TRUE(e.process().wait_for_line("cannot list the vassal directory .*: Permission denied", 10s))
      << e.process().output();
  e.touch("locked");
  EXPECT_TRUE(e.process().wait_for_line("vassal locked.toml: .*cannot read: Permission denied", 10s))
      << e.process().output();
  write_file(dir / "newcomer.toml", with_apps(tiny_vassal()));
  fs::permissions(dir / "newcomer.toml", fs::perms::all);
  EXPECT_TRUE(e.process().wait_for_line("vassal newcomer.toml: .*cannot read: Permission denied", 10s))
      << e.process().output();
  EXPECT_TRUE(serves(port));
  EXPECT_TRUE(alive(master)) << "the running vassal was stopped";
  EXPECT_EQ(e.process().count_lines("vassal locked: stopped"), 0);

  fs::permissions(dir, fs::perms::all);
  ASSERT_TRUE(e.process().wait_for_line("the vassal directory .* can be listed again", 10s)) << e.process().output();
  EXPECT_NE(e.wait_serving("newcomer"), 0) << e.process().output();
  EXPECT_TRUE(alive(master)) << "an unchanged vassal was restarted";
  EXPECT_TRUE(alive(e.process().pid()));
}

}  // namespace
}  // namespace suz::test
