#include "tests/support/spool_jobs.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "core/fd.hpp"
#include "spooler/boot_id.hpp"
#include "spooler/journal_segment.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace suz::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::vector<Ran> read_out(const fs::path& out) {
  std::vector<Ran> lines;
  std::ifstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream s(line);
    Ran r;
    if (s >> r.event >> r.n >> r.id >> r.attempt >> r.spooler >> r.pid >> r.time) lines.push_back(r);
  }
  return lines;
}

std::size_t count_event(const fs::path& out, const std::string& event) {
  std::size_t n = 0;
  for (const Ran& r : read_out(out)) n += r.event == event;
  return n;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string spooler_vassal(const std::string& spool, int processes, const std::string& more, bool serve) {
  std::string toml = "[app]\nchdir = \"@APPS@\"\n";
  if (serve) toml += "module = \"tasks:application\"\n[server]\nhttp = [\"127.0.0.1:0\"]\nworkers = 1\nthreads = 4\n";
  toml += "[spooler]\ndir = \"" + spool + "\"\nprocesses = " + std::to_string(processes) +
          "\nhandler = \"tasks:handle\"\nretry_delay = \"10ms\"\n" + more;
  return toml;
}

void wait_running(VassalUnderTest& v) {
  ASSERT_TRUE(v.process().wait_for_line("every worker and spooler running", 30s)) << v.process().output();
}

std::string push_cli(const std::string& spool, std::vector<std::string> args) {
  args.insert(args.begin(), {program("spooler"), "push", spool});
  RunResult r = run(args);
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

std::string get(int port, const std::string& target) {
  HttpClient c(port);
  c.send("GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto r = c.receive(60s);
  if (!r || r->status != 200) return "";
  return r->body;
}

void two_vassals_share_a_spool_without_overlap(const std::string& spool, const TempDir& dir) {
  fs::path out = dir.path() / "out";
  VassalUnderTest a(spooler_vassal(spool, 2, "", false), 0, "left");
  VassalUnderTest b(spooler_vassal(spool, 2, "", false), 0, "right");
  wait_running(a);
  wait_running(b);
  std::string batch;
  for (int i = 0; i < 400; ++i) batch += R"({"args": {"n": ")" + std::to_string(i) + "\"}}\n";
  ASSERT_EQ(run({program("spooler"), "push", spool, "--create", "--jobs", dir.write("j", batch).string(),
                 "out=" + out.string(), "kind=exclusive", "seconds=0.002"})
                .exit_code(),
            0);
  ASSERT_TRUE(eventually([&] { return count_event(out, "done") == 400; }, 60s));
  std::map<std::string, int> runs;
  std::set<pid_t> pids;
  for (const Ran& r : read_out(out)) {
    runs[r.n]++;
    pids.insert(r.pid);
  }
  EXPECT_EQ(count_event(out, "overlap"), 0u);
  EXPECT_EQ(runs.size(), 400u);
  for (const auto& [n, count] : runs) EXPECT_EQ(count, 1) << n;
  EXPECT_GE(pids.size(), 3u) << "spoolers of both vassals ran jobs";
}

void pretend_rebooted(const fs::path& spool) {
  const std::string other_boot = "deadbeef";
  for (const auto& e : fs::directory_iterator(spool / "journal")) {
    if (!e.path().filename().string().starts_with("seg-")) continue;
    Fd fd(::open(e.path().c_str(), O_RDWR | O_CLOEXEC));
    auto h = JournalSegment::read_header(fd.get());
    ASSERT_TRUE(h) << e.path();
    h->boot = other_boot;
    JournalSegment::write_header(fd.get(), *h);
  }
  if (auto t = read_journal_checkpoint(spool / "journal", boot_id())) write_journal_checkpoint(spool / "journal", other_boot, *t);
}

}  // namespace suz::test
