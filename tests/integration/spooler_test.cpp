// Spooler processes in a real vassal, running tests/integration/apps/tasks.py:
// jobs pushed from the command line and from Python, retries, failures,
// delays, priorities, crashes, and two vassals sharing one spool. Every job
// the handler runs leaves a line in an "out" file (see tasks.py), which is
// what these tests read.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "spooler/directory_queue.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/spool_jobs.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

namespace fs = std::filesystem;

std::vector<JobEntry> jobs_in(const fs::path& spool, JobState state) { return DirectoryQueue(spool).list(state); }

TEST(Spooler, ten_thousand_jobs_from_the_cli_and_python_all_run_exactly_once) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(spool, 2, "[stats]\nlisten = \"127.0.0.1:0\"\n"), 1, "tasks");
  wait_running(v);
  auto stats_port = v.process().wait_for_line("stats on [^ ]*:(\\d+)", 10s);
  ASSERT_TRUE(stats_port);

  // 5,000 from the command line: one batch of 4,990 (one flush), ten one by one.
  std::string batch;
  for (int i = 0; i < 4990; ++i) batch += R"({"args": {"n": "cli)" + std::to_string(i) + R"("}})" + "\n";
  auto batch_file = dir.write("jobs.jsonl", batch);
  RunResult pushed = run({program("spooler"), "push", spool.string(), "--jobs", batch_file.string(), "out=" + out.string()});
  ASSERT_EQ(pushed.exit_code(), 0) << pushed.err;
  EXPECT_EQ(std::count(pushed.out.begin(), pushed.out.end(), '\n'), 4990);
  for (int i = 4990; i < 5000; ++i) push_cli(spool, {"n=cli" + std::to_string(i), "out=" + out.string()});

  // 5,000 from Python, four requests at a time: suzerain.spool() one job at
  // a time in two clients' requests, spool_many() in the other two.
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int r = 0; r < 5; ++r) {
        int first = (c * 5 + r) * 250;
        std::string ids = get(v.http_port(), "/spool?count=250&first=" + std::to_string(first) + "&out=" + out.string() +
                                                 (c % 2 ? "&many=1" : ""));
        answered += static_cast<int>(std::count(ids.begin(), ids.end(), '\n'));
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), 5000);

  ASSERT_TRUE(eventually([&] { return count_event(out, "done") >= 10000; }, 120s))
      << count_event(out, "done") << " of 10000 done\n" << v.process().output();
  std::map<std::string, int> runs;
  std::set<int> spoolers;
  for (const Ran& r : read_out(out)) {
    runs[r.n]++;
    spoolers.insert(r.spooler);
  }
  EXPECT_EQ(runs.size(), 10000u);
  for (const auto& [n, count] : runs) ASSERT_EQ(count, 1) << "job " << n << " ran " << count << " times";
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(runs.count("cli" + std::to_string(i)), 1u) << "cli" << i;
    ASSERT_EQ(runs.count("py" + std::to_string(i)), 1u) << "py" << i;
  }
  EXPECT_EQ(spoolers, (std::set<int>{1, 2})) << "both spoolers ran jobs";
  EXPECT_TRUE(jobs_in(spool, JobState::kQueued).empty());
  EXPECT_TRUE(jobs_in(spool, JobState::kFailed).empty());

  // The stats count them, and name both spooler processes.
  nlohmann::json doc;
  auto stats_say = [&] {
    HttpClient stats(std::stoi((*stats_port)[1]));
    stats.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    auto r = stats.receive();
    if (!r) return false;
    doc = nlohmann::json::parse(r->body);
    return doc["spooler"]["queued"] == 0;
  };
  EXPECT_TRUE(eventually(stats_say, 10s)) << doc.dump();
  EXPECT_EQ(doc["spooler"]["jobs"], 10000);
  EXPECT_EQ(doc["spooler"]["processes"].size(), 2u);
}

TEST(Spooler, spool_rejects_bad_arguments_with_errors_that_say_which) {
  TempDir dir;
  VassalUnderTest v(spooler_vassal(dir.path() / "spool", 1), 1, "misuse");
  std::string said = get(v.http_port(), "/misuse");
  EXPECT_NE(said.find("TypeError: spool(): args must be a dict of str to str, not list"), std::string::npos) << said;
  EXPECT_NE(said.find("TypeError: spool(): argument 'k' must be str (or a number), not object"), std::string::npos) << said;
  EXPECT_NE(said.find("TypeError: spool(): argument names must be str, got 1"), std::string::npos) << said;
  EXPECT_NE(said.find("ValueError: priority 5000 out of range -999..999"), std::string::npos) << said;
  EXPECT_EQ(said.find("accepted"), std::string::npos) << said;
  EXPECT_TRUE(jobs_in(dir.path() / "spool", JobState::kQueued).empty());
}

TEST(Spooler, a_vassal_without_spooler_processes_only_enqueues) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  VassalUnderTest v("[app]\nmodule = \"tasks:application\"\nchdir = \"@APPS@\"\n[server]\nhttp = [\"127.0.0.1:0\"]\n"
                    "[spooler]\ndir = \"" + spool.string() + "\"\nprocesses = 0\n", 1, "enqueuer");
  std::string ids = get(v.http_port(), "/spool?count=3&out=" + out.string());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), '\n'), 3) << ids;
  EXPECT_EQ(jobs_in(spool, JobState::kQueued).size(), 3u) << "queued for another vassal's spoolers";
  EXPECT_EQ(v.process().count_lines("spooler 1 started"), 0);
}

// TERM: the spooler finishes the job in hand, starts no other, and the
// jobs not started stay queued for the next start.
TEST(Spooler, a_graceful_stop_finishes_the_job_in_hand_and_leaves_the_rest_queued) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(spool, 1, "", false), 0, "stopping");
  wait_running(v);
  std::string batch;
  for (int i = 0; i < 3; ++i) batch += R"({"args": {"n": ")" + std::to_string(i) + "\"}}\n";
  ASSERT_EQ(run({program("spooler"), "push", spool.string(), "--jobs", dir.write("j", batch).string(),
                 "out=" + out.string(), "kind=sleep", "seconds=0.5"})
                .exit_code(),
            0);
  ASSERT_TRUE(eventually([&] { return count_event(out, "start") == 1; }, 10s)) << v.process().output();
  auto status = v.process().stop(SIGTERM, 30s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << v.process().output();
  EXPECT_EQ(count_event(out, "done"), 1u) << "the job in hand was finished";
  EXPECT_EQ(count_event(out, "start"), 1u) << "no job was started after TERM";
  EXPECT_EQ(jobs_in(spool, JobState::kQueued).size(), 2u);
  EXPECT_TRUE(jobs_in(spool, JobState::kClaimed).empty());
}

TEST(Spooler, processes_are_named_after_their_role) {
  TempDir dir;
  VassalUnderTest v(spooler_vassal(dir.path() / "spool", 2), 1, "named");
  wait_running(v);
  auto started = v.process().wait_for_line("spooler 2 started \\(pid (\\d+)", 10s);
  ASSERT_TRUE(started);
  std::ifstream cmdline("/proc/" + (*started)[1] + "/cmdline");
  std::string title;
  std::getline(cmdline, title, '\0');
  EXPECT_EQ(title, "vassal named: spooler 2");
}

TEST(Spooler, a_job_that_always_raises_ends_in_failed_with_its_traceback) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(spool, 1, "max_attempts = 3\n", false), 0, "failing");
  wait_running(v);
  std::string id = push_cli(spool, {"kind=raise", "n=doomed", "out=" + out.string()});
  ASSERT_TRUE(eventually([&] { return !jobs_in(spool, JobState::kFailed).empty(); }, 30s)) << v.process().output();
  auto failed = jobs_in(spool, JobState::kFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].name.id, id);
  EXPECT_EQ(failed[0].name.attempt, 3);
  std::ifstream note(failed[0].path.string() + ".error");
  std::string error((std::istreambuf_iterator<char>(note)), std::istreambuf_iterator<char>());
  EXPECT_NE(error.find("Traceback (most recent call last)"), std::string::npos) << error;
  EXPECT_NE(error.find("ValueError: job doomed always fails"), std::string::npos) << error;
  std::vector<int> attempts;
  for (const Ran& r : read_out(out)) attempts.push_back(r.attempt);
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3})) << "the handler saw each attempt's number";
  EXPECT_TRUE(v.process().wait_for_line("job " + id + " failed on attempt 3 of 3; moved to failed/", 5s));
  // `spooler retry` puts it back with its attempts reset.
  RunResult retried = run({program("spooler"), "retry", spool.string(), id});
  EXPECT_EQ(retried.exit_code(), 0) << retried.err;
  EXPECT_TRUE(eventually([&] { return count_event(out, "raising") >= 4; }, 30s));
}

TEST(Spooler, a_retry_asked_by_the_handler_runs_the_job_again) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(spool, 1, "max_attempts = 5\n", false), 0, "retrying");
  wait_running(v);
  push_cli(spool, {"kind=retry", "n=r", "out=" + out.string()});
  ASSERT_TRUE(eventually([&] { return count_event(out, "done") == 1; }, 30s)) << v.process().output();
  std::vector<std::string> seen;
  for (const Ran& r : read_out(out)) seen.push_back(r.event + std::to_string(r.attempt));
  EXPECT_EQ(seen, (std::vector<std::string>{"retrying1", "retrying2", "done3"}));
  EXPECT_TRUE(jobs_in(spool, JobState::kFailed).empty());
}

TEST(Spooler, a_job_at_a_future_time_does_not_run_early_and_a_new_job_runs_at_once) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(spool, 1, "", false), 0, "timed");
  wait_running(v);
  std::int64_t at_ms = wall_clock_ms() + 1500;
  push_cli(spool, {"n=later", "out=" + out.string(), "--at", std::to_string(at_ms / 1000 + 1)});
  std::int64_t pushed_ms = wall_clock_ms();
  push_cli(spool, {"n=now", "out=" + out.string()});
  ASSERT_TRUE(eventually([&] { return count_event(out, "done") == 2; }, 30s)) << v.process().output();
  auto runs = read_out(out);
  ASSERT_EQ(runs[0].n, "now");
  EXPECT_LT(runs[0].time * 1000 - static_cast<double>(pushed_ms), 5000) << "picked up by inotify, not a rescan";
  ASSERT_EQ(runs[1].n, "later");
  EXPECT_GE(runs[1].time, static_cast<double>(at_ms / 1000 + 1)) << "ran before its time";
}

TEST(Spooler, higher_priority_runs_first) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  // Queued before any spooler exists, so the order is the queue's alone.
  for (const char* p : {"0", "5", "-3", "5", "900"})
    push_cli(spool, {"--create", "n=p" + std::string(p), "out=" + out.string(), "--priority", p});
  VassalUnderTest v(spooler_vassal(spool, 1, "", false), 0, "ordered");
  ASSERT_TRUE(eventually([&] { return count_event(out, "done") == 5; }, 30s)) << v.process().output();
  std::vector<std::string> order;
  for (const Ran& r : read_out(out)) order.push_back(r.n);
  EXPECT_EQ(order, (std::vector<std::string>{"p900", "p5", "p5", "p0", "p-3"}));
}

TEST(Spooler, a_corrupt_file_in_the_queue_is_quarantined_with_a_logged_error) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(spool, 1, "", false), 0, "corrupt");
  wait_running(v);
  JobName fake{0, 1, "garbage", 0};
  // Arrives like a job (by rename), but is not one.
  std::ofstream(spool / "tmp" / fake.str()) << "not a job at all";
  fs::rename(spool / "tmp" / fake.str(), spool / "queue" / fake.str());
  ASSERT_TRUE(v.process().wait_for_line(fake.str() + ": not a job file .*moved aside", 10s)) << v.process().output();
  EXPECT_TRUE(fs::exists(spool / "corrupt" / fake.str()));
  EXPECT_TRUE(fs::exists(spool / "corrupt" / (fake.str() + ".error")));
  push_cli(spool, {"n=after", "out=" + out.string()});
  EXPECT_TRUE(eventually([&] { return count_event(out, "done") == 1; }, 10s)) << "the spooler goes on";
}

// A crash of the machine keeps what reached the disk. A push returns once
// its journal record did, before its file did: here six files are gone (the
// rename into queue/ was lost) and four are empty (the name reached the
// disk, the data did not). The vassal started after the reboot puts them
// back from the journal before its spoolers claim anything, and every job
// runs once; none is quarantined as corrupt.
TEST(Spooler, after_a_crash_of_the_machine_pushes_whose_files_were_lost_are_replayed_and_run) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  std::string batch;
  for (int i = 0; i < 20; ++i) batch += R"({"args": {"n": "batch)" + std::to_string(i) + R"("}})" + "\n";
  RunResult pushed = run({program("spooler"), "push", spool.string(), "--create", "--jobs",
                          dir.write("jobs.jsonl", batch).string(), "out=" + out.string()});
  ASSERT_EQ(pushed.exit_code(), 0) << pushed.err;
  for (int i = 0; i < 5; ++i) push_cli(spool, {"n=one" + std::to_string(i), "out=" + out.string()});
  std::vector<JobEntry> queued = jobs_in(spool, JobState::kQueued);
  ASSERT_EQ(queued.size(), 25u);
  for (int i = 0; i < 10; ++i) {
    if (i < 6) fs::remove(queued[i * 2].path);
    else fs::resize_file(queued[i * 2].path, 0);
  }
  pretend_rebooted(spool);

  VassalUnderTest v(spooler_vassal(spool, 2, "", false), 0, "tasks");
  ASSERT_TRUE(v.process().wait_for_line("spool: 10 job\\(s\\) pushed before a reboot restored to the queue", 20s))
      << v.process().output();
  ASSERT_TRUE(eventually([&] { return count_event(out, "done") >= 25; }, 30s))
      << count_event(out, "done") << " of 25 done\n" << v.process().output();
  std::map<std::string, int> runs;
  for (const Ran& r : read_out(out)) runs[r.n]++;
  EXPECT_EQ(runs.size(), 25u);
  for (const auto& [n, count] : runs) EXPECT_EQ(count, 1) << n;
  EXPECT_TRUE(fs::is_empty(spool / "corrupt"));
}

// A job that runs past [spooler] harakiri: its spooler is killed (stacks
// dumped first), the job goes back with the attempt counted, and after
// max_attempts it is in failed/ saying why. Other jobs keep running.
TEST(Spooler, harakiri_kills_a_stuck_job_and_counts_the_attempt) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(spool, 1, "harakiri = \"300ms\"\nmax_attempts = 2\n", false), 0, "stuck");
  wait_running(v);
  std::string id = push_cli(spool, {"kind=hang", "n=stuck", "out=" + out.string()});
  ASSERT_TRUE(eventually([&] { return !jobs_in(spool, JobState::kFailed).empty(); }, 30s)) << v.process().output();
  EXPECT_EQ(count_event(out, "start"), 2u) << "ran twice: max_attempts";
  EXPECT_GE(v.process().count_lines("spooler 1 \\(pid \\d+\\): harakiri: \"job " + id), 2) << v.process().output();
  std::ifstream note(jobs_in(spool, JobState::kFailed)[0].path.string() + ".error");
  std::string error((std::istreambuf_iterator<char>(note)), std::istreambuf_iterator<char>());
  EXPECT_NE(error.find("harakiri"), std::string::npos) << error;
  push_cli(spool, {"n=next", "out=" + out.string()});
  EXPECT_TRUE(eventually([&] { return count_event(out, "done") == 1; }, 30s)) << v.process().output();
}

TEST(Spooler, a_spooler_is_replaced_after_max_jobs_and_no_job_runs_twice) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(spool, 1, "max_jobs = 5\n", false), 0, "recycled");
  wait_running(v);
  std::string batch;
  for (int i = 0; i < 40; ++i) batch += R"({"args": {"n": ")" + std::to_string(i) + "\"}}\n";
  ASSERT_EQ(run({program("spooler"), "push", spool.string(), "--jobs", dir.write("j", batch).string(),
                 "out=" + out.string(), "kind=exclusive"})
                .exit_code(),
            0);
  ASSERT_TRUE(eventually([&] { return count_event(out, "done") == 40; }, 60s)) << v.process().output();
  std::set<pid_t> pids;
  std::set<std::string> ns;
  for (const Ran& r : read_out(out)) {
    pids.insert(r.pid);
    ns.insert(r.n);
  }
  EXPECT_EQ(ns.size(), 40u);
  EXPECT_GE(pids.size(), 4u) << "replaced every ~5 jobs";
  EXPECT_EQ(count_event(out, "overlap"), 0u) << "a predecessor and its successor never ran one job together";
}

// Two vassals, standing in for two apps sharing a spool: 400 jobs that each
// notice if another run of the same job is in progress. None overlaps, each
// runs once, and both vassals take part.
TEST(Spooler, two_vassals_on_one_spool_never_run_a_job_twice) {
  TempDir dir;
  two_vassals_share_a_spool_without_overlap((dir.path() / "spool").string(), dir);
}

// Chaos: spooler processes SIGKILLed at random moments while jobs run and
// while the app spools more, then the whole vassal SIGKILLed and started
// again. Every job still completes (at least once), none is lost, and no
// half-written job ever became visible (nothing quarantined).
TEST(Spooler, sigkill_of_spoolers_and_of_the_vassal_loses_no_job) {
  TempDir dir;
  fs::path spool = dir.path() / "spool", out = dir.path() / "out";
  const std::string config = spooler_vassal(spool, 2, "max_attempts = 1000\n");
  std::string batch;
  for (int i = 0; i < 300; ++i) batch += R"({"args": {"n": "cli)" + std::to_string(i) + "\"}}\n";
  ASSERT_EQ(run({program("spooler"), "push", spool.string(), "--create", "--jobs", dir.write("j", batch).string(),
                 "out=" + out.string(), "kind=sleep", "seconds=0.01"})
                .exit_code(),
            0);
  std::mt19937 rng(std::random_device{}());
  std::set<std::string> promised;  // ids the app was given back: they must run
  for (int i = 0; i < 300; ++i) promised.insert("cli" + std::to_string(i));
  {
    VassalUnderTest v(config, 1, "chaos");
    wait_running(v);
    std::atomic<bool> spooling{true};
    std::mutex m;
    std::thread app([&] {
      for (int r = 0; spooling; ++r) {
        std::string ids = get(v.http_port(), "/spool?count=5&first=" + std::to_string(r * 5) + "&kind=sleep&seconds=0.01&out=" +
                                                 out.string());
        if (ids.empty()) continue;
        std::lock_guard<std::mutex> lock(m);
        for (int k = 0; k < 5; ++k) promised.insert("py" + std::to_string(r * 5 + k));
      }
    });
    for (int kill = 0; kill < 8; ++kill) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 150)(rng)));
      auto snapshot = read_out(out);
      if (snapshot.empty()) continue;
      ::kill(snapshot.back().pid, SIGKILL);  // the spooler that ran the newest job
    }
    spooling = false;
    app.join();
    ::kill(v.process().pid(), SIGKILL);  // the master; its children die with it (PDEATHSIG)
    v.process().stop(SIGKILL, 10s);
  }
  EXPECT_FALSE(jobs_in(spool, JobState::kClaimed).empty() && jobs_in(spool, JobState::kQueued).empty())
      << "the vassal was killed with work left (else the test proved nothing)";
  VassalUnderTest again(config, 1, "chaos");
  wait_running(again);
  ASSERT_TRUE(eventually(
      [&] {
        std::set<std::string> done;
        for (const Ran& r : read_out(out))
          if (r.event == "done") done.insert(r.n);
        return std::includes(done.begin(), done.end(), promised.begin(), promised.end());
      },
      120s))
      << again.process().output();
  EXPECT_TRUE(jobs_in(spool, JobState::kFailed).empty());
  EXPECT_TRUE(fs::is_empty(spool / "corrupt")) << "a half-written job became visible";
  EXPECT_TRUE(eventually([&] { return jobs_in(spool, JobState::kQueued).empty(); }, 30s));
}

}  // namespace
}  // namespace suz::test
