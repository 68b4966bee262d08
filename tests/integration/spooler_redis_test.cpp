// The Redis spool, against a real redis-server started per test (append-only,
// fsync per write, on a unix socket): vassals standing in for hosts share one
// queue, spoolers and whole vassals are killed, Redis itself is killed and
// restarted, and no job acknowledged as enqueued is lost or run twice at once.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "spooler/job_queue.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/spool_jobs.hpp"
#include "tests/support/vassal.hpp"

namespace suz::test {
namespace {

namespace fs = std::filesystem;

std::vector<JobEntry> jobs_in(const std::string& url, JobState state) { return open_queue(url)->list(state); }

std::set<std::string> done_ns(const fs::path& out) {
  std::set<std::string> done;
  for (const Ran& r : read_out(out))
    if (r.event == "done") done.insert(r.n);
  return done;
}

TEST(SpoolerRedis, jobs_from_the_cli_and_python_all_run_exactly_once) {
  RedisServer redis;
  TempDir dir;
  fs::path out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(redis.url(), 2), 1, "redis");
  wait_running(v);
  std::string batch;
  for (int i = 0; i < 500; ++i) batch += R"({"args": {"n": "cli)" + std::to_string(i) + "\"}}\n";
  RunResult pushed = run({program("spooler"), "push", redis.url(), "--jobs", dir.write("j", batch).string(),
                          "out=" + out.string()});
  ASSERT_EQ(pushed.exit_code(), 0) << pushed.err;
  for (int r = 0; r < 10; ++r)
    ASSERT_NE(get(v.http_port(), "/spool?count=50&first=" + std::to_string(r * 50) + (r % 2 ? "&many=1" : "") +
                                     "&out=" + out.string()),
              "");
  ASSERT_TRUE(eventually([&] { return count_event(out, "done") >= 1000; }, 60s)) << v.process().output();
  std::map<std::string, int> runs;
  std::set<int> spoolers;
  for (const Ran& r : read_out(out)) {
    runs[r.n]++;
    spoolers.insert(r.spooler);
  }
  EXPECT_EQ(runs.size(), 1000u);
  for (const auto& [n, count] : runs) EXPECT_EQ(count, 1) << n;
  EXPECT_EQ(spoolers.size(), 2u) << "both spooler processes took jobs";
  EXPECT_TRUE(eventually([&] { return jobs_in(redis.url(), JobState::kQueued).empty(); }, 10s));
}

TEST(SpoolerRedis, a_job_waits_for_its_time_and_higher_priority_runs_first) {
  RedisServer redis;
  TempDir dir;
  fs::path out = dir.path() / "out";
  // Queued before any spooler runs, so priority alone orders them.
  push_cli(redis.url(), {"n=low", "out=" + out.string(), "--priority", "-5"});
  push_cli(redis.url(), {"n=high", "out=" + out.string(), "--priority", "7"});
  std::int64_t at_ms = wall_clock_ms() + 1500;
  push_cli(redis.url(), {"n=later", "out=" + out.string(), "--at", std::to_string(at_ms / 1000 + 1)});
  VassalUnderTest v(spooler_vassal(redis.url(), 1, "", false), 0, "timed");
  wait_running(v);
  ASSERT_TRUE(eventually([&] { return count_event(out, "done") == 2; }, 30s)) << v.process().output();
  std::int64_t pushed_ms = wall_clock_ms();
  push_cli(redis.url(), {"n=now", "out=" + out.string()});
  ASSERT_TRUE(eventually([&] { return count_event(out, "done") == 4; }, 30s)) << v.process().output();
  auto runs = read_out(out);
  EXPECT_EQ(runs[0].n, "high");
  EXPECT_EQ(runs[1].n, "low");
  EXPECT_EQ(runs[2].n, "now");
  EXPECT_LT(runs[2].time * 1000 - static_cast<double>(pushed_ms), 5000) << "woken by the push, not a poll";
  EXPECT_EQ(runs[3].n, "later");
  EXPECT_GE(runs[3].time, static_cast<double>(at_ms / 1000 + 1)) << "ran before its time";
}

TEST(SpoolerRedis, a_job_that_always_raises_ends_in_failed_and_the_cli_shows_and_retries_it) {
  RedisServer redis;
  TempDir dir;
  fs::path out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(redis.url(), 1, "max_attempts = 3\n", false), 0, "failing");
  wait_running(v);
  std::string id = push_cli(redis.url(), {"kind=raise", "n=doomed", "out=" + out.string()});
  ASSERT_TRUE(eventually([&] { return !jobs_in(redis.url(), JobState::kFailed).empty(); }, 30s))
      << v.process().output();
  auto failed = jobs_in(redis.url(), JobState::kFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].name.id, id);
  EXPECT_EQ(failed[0].name.attempt, 3);
  RunResult shown = run({program("spooler"), "show", redis.url(), id});
  ASSERT_EQ(shown.exit_code(), 0) << shown.err;
  auto job = nlohmann::json::parse(shown.out);
  EXPECT_EQ(job["state"], "failed");
  EXPECT_EQ(job["args"]["n"], "doomed");
  std::string error = job.value("error", "");
  EXPECT_NE(error.find("Traceback (most recent call last)"), std::string::npos) << shown.out;
  EXPECT_NE(error.find("ValueError: job doomed always fails"), std::string::npos) << shown.out;
  std::vector<int> attempts;
  for (const Ran& r : read_out(out)) attempts.push_back(r.attempt);
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3}));
  RunResult stats = run({program("spooler"), "stats", redis.url(), "--json"});
  EXPECT_EQ(nlohmann::json::parse(stats.out)["failed"], 1) << stats.out;
  RunResult retried = run({program("spooler"), "retry", redis.url(), id});
  EXPECT_EQ(retried.exit_code(), 0) << retried.err;
  EXPECT_TRUE(eventually([&] { return count_event(out, "raising") >= 4; }, 30s));
  // rm: gone from every set.
  ASSERT_TRUE(eventually([&] { return !jobs_in(redis.url(), JobState::kFailed).empty(); }, 30s));
  EXPECT_EQ(run({program("spooler"), "rm", redis.url(), id}).exit_code(), 0);
  EXPECT_EQ(run({program("spooler"), "show", redis.url(), id}).exit_code(), 2);
}

// Two vassals stand in for two hosts on one queue.
TEST(SpoolerRedis, two_vassals_on_one_queue_never_run_a_job_twice_at_once_and_lose_none) {
  RedisServer redis;
  TempDir dir;
  two_vassals_share_a_spool_without_overlap(redis.url(), dir);
}

// A spooler killed mid-job: its own master returns the job at once. A whole
// host gone (the vassal killed with its master): no one is left to say so,
// and the job comes back when its claim, no longer renewed, expires.
TEST(SpoolerRedis, a_killed_consumer_s_job_comes_back_and_a_dead_host_s_after_the_visibility_timeout) {
  RedisServer redis;
  TempDir dir;
  fs::path out = dir.path() / "out";
  const std::string more = "visibility_timeout = \"2s\"\n";
  VassalUnderTest a(spooler_vassal(redis.url(), 1, more, false), 0, "host-a");
  wait_running(a);
  push_cli(redis.url(), {"kind=sleep", "seconds=3600", "n=stuck", "out=" + out.string()});
  ASSERT_TRUE(eventually([&] { return count_event(out, "start") == 1; }, 30s)) << a.process().output();
  // Longer than the visibility timeout: the master's renewals keep it claimed.
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(count_event(out, "start"), 1u) << "a live claim expired";
  ::kill(read_out(out).back().pid, SIGKILL);
  ASSERT_TRUE(eventually([&] { return count_event(out, "start") == 2; }, 30s)) << a.process().output();
  auto second = read_out(out).back();
  EXPECT_EQ(second.attempt, 2) << "the killed attempt counted";

  VassalUnderTest b(spooler_vassal(redis.url(), 1, more, false), 0, "host-b");
  wait_running(b);
  auto killed_at = std::chrono::steady_clock::now();
  ::kill(a.process().pid(), SIGKILL);  // the master; its spooler dies with it
  a.process().stop(SIGKILL, 10s);
  ASSERT_TRUE(eventually([&] { return count_event(out, "start") == 3; }, 30s)) << b.process().output();
  auto waited = std::chrono::steady_clock::now() - killed_at;
  EXPECT_GE(waited, 1500ms) << "came back before its claim could have expired";
  auto third = read_out(out).back();
  EXPECT_NE(third.pid, second.pid);
  EXPECT_EQ(third.attempt, 3);
  EXPECT_TRUE(b.process().wait_for_line("returned to the queue", 5s)) << b.process().output();
  ::kill(third.pid, SIGKILL);  // else b's graceful stop waits for an hour-long job
}

// Redis killed -9 and restarted while the app spools and spoolers run:
// every job the app was given an id for still runs; while Redis is down
// spool() raises a clear error instead of dropping the job.
TEST(SpoolerRedis, redis_restarted_mid_run_loses_no_acknowledged_job) {
  RedisServer redis;
  TempDir dir;
  fs::path out = dir.path() / "out";
  VassalUnderTest v(spooler_vassal(redis.url(), 2), 1, "restart");
  wait_running(v);
  std::mutex m;
  std::set<std::string> promised;
  std::atomic<bool> spooling{true};
  std::atomic<int> refused{0}, accepted{0};
  std::thread app([&] {
    for (int r = 0; spooling; ++r) {
      std::string ids = get(v.http_port(), "/spool?count=5&first=" + std::to_string(r * 5) +
                                               "&kind=sleep&seconds=0.002&out=" + out.string());
      if (ids.empty()) {
        refused++;
        std::this_thread::sleep_for(5ms);
        continue;
      }
      accepted++;
      std::lock_guard<std::mutex> lock(m);
      for (int k = 0; k < 5; ++k) promised.insert("py" + std::to_string(r * 5 + k));
    }
  });
  ASSERT_TRUE(eventually([&] { return accepted > 20; }, 30s));
  redis.kill();
  ASSERT_TRUE(eventually([&] { return refused > 5; }, 30s));
  EXPECT_TRUE(v.process().wait_for_line("ConnectionRefusedError|cannot connect", 10s)) << v.process().output();
  redis.start();
  int before = accepted;
  ASSERT_TRUE(eventually([&] { return accepted > before + 20; }, 30s)) << v.process().output();
  spooling = false;
  app.join();
  ASSERT_TRUE(eventually(
      [&] {
        auto done = done_ns(out);
        return std::includes(done.begin(), done.end(), promised.begin(), promised.end());
      },
      120s))
      << v.process().output();
  EXPECT_TRUE(v.process().wait_for_line("connected again", 10s)) << v.process().output();
}

TEST(SpoolerRedis, the_command_line_and_config_name_what_is_wrong_with_a_url) {
  RunResult refused = run({program("spooler"), "push", "redis://127.0.0.1:1/0/jobs", "a=1"});
  EXPECT_EQ(refused.exit_code(), 1);
  EXPECT_NE(refused.err.find("redis://127.0.0.1:1/0/jobs: cannot connect: Connection refused"), std::string::npos)
      << refused.err;
  RunResult bad = run({program("spooler"), "ls", "redis://host:99999/0/jobs"});
  EXPECT_EQ(bad.exit_code(), 2);
  EXPECT_NE(bad.err.find("port \"99999\""), std::string::npos) << bad.err;
  TempDir dir;
  fs::path file = dir.write("bad.toml", "[spooler]\ndir = \"redis://h/zero/jobs\"\nhandler = \"tasks:handle\"\n");
  RunResult config = run({program("vassal"), file.string()});
  EXPECT_NE(config.exit_code(), 0);
  EXPECT_NE(config.err.find("bad.toml:2"), std::string::npos) << config.err;
  EXPECT_NE(config.err.find("database \"zero\""), std::string::npos) << config.err;
}

}  // namespace
}  // namespace suz::test
