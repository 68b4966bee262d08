// Faults of the machine and of the apps: a full or read-only disk under the
// spool, vassal files that are not files, an app that ends its own master,
// and a worker out of file descriptors. Each loses nothing and harms nobody
// else. (A worker ignoring TERM and SIGKILL of the master are in
// lifetime_test.cpp and vassal_lifecycle_test.cpp.)
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "tests/support/emperor.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

using namespace std::chrono_literals;

RunResult spooler(std::vector<std::string> args) {
  args.insert(args.begin(), program("spooler"));
  return run(args);
}

// A small tmpfs of our own: a disk that fills up, or turns read-only, without
// touching the machine's. Needs CAP_SYS_ADMIN (root, as in CI).
class SmallDisk {
 public:
  explicit SmallDisk(const std::filesystem::path& at, const char* size) : at_(at) {
    std::filesystem::create_directories(at_);
    mounted_ = ::mount("tmpfs", at_.c_str(), "tmpfs", 0, (std::string("size=") + size + ",mode=0755").c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  bool make_read_only() { return ::mount(nullptr, at_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0; }

 private:
  std::filesystem::path at_;
  bool mounted_ = false;
};

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// Writes to `file` until the disk is full.
void fill_up(const std::filesystem::path& file) {
  std::ofstream out(file, std::ios::binary);
  std::string block(4096, 'x');
  while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
  }
}

TEST(Faults, a_full_disk_fails_the_push_with_a_clear_error_and_leaves_nothing_half_written) {
  TempDir dir;
  SmallDisk disk(dir.path() / "disk", "256k");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  std::string spool = (dir.path() / "disk" / "spool").string();
  std::string body = dir.write("body", std::string(20'000, 'b')).string();
  int pushed = 0;
  RunResult last;
  for (int i = 0; i < 100; ++i) {
    last = spooler({"push", spool, "--create", "n=" + std::to_string(i), "--body", body});
    if (last.exit_code() != 0) break;
    ++pushed;
  }
  ASSERT_NE(last.exit_code(), 0) << "a 256 KB disk took 100 jobs of 20 KB";
  EXPECT_GT(pushed, 0);
  EXPECT_NE(last.err.find("No space left on device"), std::string::npos) << last.err;
  EXPECT_NE(last.err.find(spool), std::string::npos) << "the error names the spool: " << last.err;
  // Every job that was acknowledged is queued whole; the failed one left nothing behind.
  auto ls = spooler({"ls", spool, "--json"});
  ASSERT_EQ(ls.exit_code(), 0) << ls.err;
  auto jobs = nlohmann::json::parse(ls.out);
  ASSERT_EQ(static_cast<int>(jobs.size()), pushed);
  for (const auto& job : jobs) {
    auto shown = spooler({"show", spool, job["id"].get<std::string>()});
    ASSERT_EQ(shown.exit_code(), 0) << shown.err;
    EXPECT_EQ(nlohmann::json::parse(shown.out)["body_bytes"], 20'000);
  }
  EXPECT_EQ(files_in(std::filesystem::path(spool) / "tmp"), 0u) << "a half-written push was left in tmp/";
  // No room for a 1 MiB journal segment either: the pushes above were made
  // durable by syncing the filesystem instead, and no partial segment stays.
  for (auto& e : std::filesystem::directory_iterator(std::filesystem::path(spool) / "journal"))
    EXPECT_FALSE(e.path().filename().string().starts_with("seg-")) << e.path();
  std::filesystem::path corrupt = std::filesystem::path(spool) / "corrupt";
  EXPECT_TRUE(!std::filesystem::exists(corrupt) || files_in(corrupt) == 0);
  // Room made, pushing works again.
  ASSERT_EQ(spooler({"rm", spool, jobs[0]["id"].get<std::string>()}).exit_code(), 0);
  EXPECT_EQ(spooler({"push", spool, "n=again", "--body", body}).exit_code(), 0);
}

TEST(Faults, spool_from_a_request_on_a_full_disk_is_an_exception_in_the_app_and_the_worker_serves_on) {
  TempDir dir;
  SmallDisk disk(dir.path() / "disk", "128k");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  std::string spool = (dir.path() / "disk" / "spool").string();
  VassalUnderTest v(R"(
[app]
module = "tasks"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
[spooler]
dir = ")" + spool + R"("
processes = 0
)");
  fill_up(dir.path() / "disk" / "ballast");
  auto r = http_get(v.http_port(), "/spool?count=20&out=/dev/null");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(v.process().wait_for_line("OSError: .*" + spool + ".*No space left on device", 10s))
      << v.process().output();
  auto ok = http_get(v.http_port(), "/misuse");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(files_in(std::filesystem::path(spool) / "tmp"), 0u);
}

TEST(Faults, a_read_only_spool_fails_the_push_with_a_clear_error) {
  TempDir dir;
  SmallDisk disk(dir.path() / "disk", "1m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  std::string spool = (dir.path() / "disk" / "spool").string();
  ASSERT_EQ(spooler({"push", spool, "--create", "n=1"}).exit_code(), 0);
  ASSERT_TRUE(disk.make_read_only());
  auto r = spooler({"push", spool, "n=2"});
  EXPECT_NE(r.exit_code(), 0);
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(spool), std::string::npos) << r.err;
  auto ls = spooler({"ls", spool, "--json"});
  ASSERT_EQ(ls.exit_code(), 0) << "reading a read-only spool works: " << ls.err;
  EXPECT_EQ(nlohmann::json::parse(ls.out).size(), 1u);
}

TEST(Faults, vassal_files_that_are_a_directory_or_a_broken_symlink_are_reported_and_the_others_serve) {
  EmperorUnderTest e({{"steady", tiny_vassal()}});
  ASSERT_NE(e.wait_serving("steady"), 0) << e.process().output();
  std::filesystem::create_directory(e.path_of("folder"));
  std::filesystem::create_symlink("/nonexistent/suzerain.toml", e.path_of("dangling"));
  EXPECT_TRUE(e.process().wait_for_line("vassal folder.toml: .*folder.toml: is a directory", 30s))
      << e.process().output();
  EXPECT_TRUE(e.process().wait_for_line("vassal dangling.toml: .*dangling.toml: cannot read: No such file", 30s))
      << e.process().output();
  EXPECT_TRUE(serves(e.port_of("steady")));
  EXPECT_EQ(e.process().count_lines("vassal (folder|dangling): started"), 0);
}

TEST(Faults, a_running_vassal_whose_file_becomes_a_broken_symlink_keeps_serving) {
  // A deploy that swaps symlinks can leave one dangling for a moment: the
  // vassal goes on with the configuration it has, as with a file that breaks.
  EmperorUnderTest e({{"swapped", tiny_vassal()}});
  pid_t master = e.wait_serving("swapped");
  ASSERT_NE(master, 0) << e.process().output();
  int port = e.port_of("swapped");
  std::filesystem::path tmp = e.dir().path() / "swap.tmp";
  std::filesystem::create_symlink("/nonexistent/suzerain.toml", tmp);
  std::filesystem::rename(tmp, e.path_of("swapped"));
  EXPECT_TRUE(e.process().wait_for_line("vassal swapped.toml: .*cannot read: No such file", 30s))
      << e.process().output();
  EXPECT_TRUE(serves(port));
  EXPECT_EQ(::kill(master, 0), 0) << "the running vassal was stopped";
}

TEST(Faults, an_app_that_calls_os_exit_at_import_is_throttled_and_the_others_serve) {
  EmperorUnderTest e({{"quitter", tiny_vassal("exits_at_import")}, {"steady", tiny_vassal()}});
  ASSERT_TRUE(e.process().wait_for_line("vassal quitter: died 3 time\\(s\\) in a row soon after starting", 30s))
      << e.process().output();
  EXPECT_GE(e.process().count_lines("vassal quitter: pid \\d+ exited with 3"), 3) << e.process().output();
  ASSERT_NE(e.wait_serving("steady"), 0);
  EXPECT_TRUE(serves(e.port_of("steady")));
}

TEST(Faults, a_worker_out_of_file_descriptors_pauses_accepting_and_serves_when_they_return) {
  VassalUnderTest v(R"(
[app]
module = "validated:application"
chdir = "@APPS@"
[server]
http = ["127.0.0.1:0"]
workers = 1
threads = 1
)");
  auto who = http_get(v.http_port(), "/worker");
  ASSERT_TRUE(who && who->status == 200);
  pid_t worker = std::stoi(who->body.substr(who->body.rfind(' ') + 1));
  rlimit old{};
  ASSERT_EQ(::prlimit(worker, RLIMIT_NOFILE, nullptr, &old), 0);
  std::size_t open_now = files_in("/proc/" + std::to_string(worker) + "/fd");
  rlimit tight{open_now + 2, old.rlim_max};
  ASSERT_EQ(::prlimit(worker, RLIMIT_NOFILE, &tight, nullptr), 0) << std::strerror(errno);
  {
    // Keep-alive clients hold the worker's last fds; the next ones hit EMFILE.
    std::vector<std::unique_ptr<HttpClient>> hogs;
    for (int i = 0; i < 6; ++i) hogs.push_back(std::make_unique<HttpClient>(v.http_port()));
    ASSERT_TRUE(v.process().wait_for_line("accept on .*: Too many open files; pausing accepts", 10s))
        << v.process().output();
  }  // the clients go: their fds come back
  auto r = http_get(v.http_port(), "/", 20s);
  ASSERT_TRUE(r) << v.process().output();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(v.process().count_lines("worker 1 \\(pid \\d+\\) (exited|killed)"), 0) << v.process().output();
  ::prlimit(worker, RLIMIT_NOFILE, &old, nullptr);
}

}  // namespace
}  // namespace suz::test
