// The directory spool on a real filesystem, claimed by real processes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "core/fd.hpp"
#include "core/fork.hpp"
#include "spooler/directory_queue.hpp"
#include "spooler/free_files.hpp"
#include "spooler/pending_jobs.hpp"
#include "tests/support/sanitizers.hpp"
#include "tests/support/process.hpp"

namespace suz::test {
namespace {

JobSpec spec(std::map<std::string, std::string> args, std::string body = "", int priority = 0,
             std::optional<std::int64_t> at = std::nullopt) {
  return JobSpec{std::move(args), std::move(body), at, priority};
}

TEST(JobName, round_trips_and_sorts_in_run_order) {
  JobName high{5, 2000, "b", 0}, low{-3, 1000, "a", 2}, early{5, 1000, "c", 1};
  for (const JobName& n : {high, low, early}) {
    auto back = JobName::parse(n.str());
    ASSERT_TRUE(back) << n.str();
    EXPECT_EQ(back->priority, n.priority);
    EXPECT_EQ(back->at_ms, n.at_ms);
    EXPECT_EQ(back->id, n.id);
    EXPECT_EQ(back->attempt, n.attempt);
  }
  EXPECT_LT(early.str(), high.str()) << "same priority: the earlier first";
  EXPECT_LT(high.str(), low.str()) << "higher priority first";
  for (const char* bad : {"", "hello.toml", "p0999-t00000000000100x-id-a000", "p0999-t000000000001000--a000"})
    EXPECT_FALSE(JobName::parse(bad)) << bad;
}

TEST(DirectoryQueue, a_pushed_job_is_claimed_whole_with_binary_body_and_arguments) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  std::string body("\0\x01\xff binary\n", 12);
  std::string id = q.push(spec({{"to", "a@example.com"}, {"subject", "héllo"}}, body));
  auto job = q.claim("spooler-1");
  ASSERT_TRUE(job);
  EXPECT_EQ(job->job.name.id, id);
  EXPECT_EQ(job->job.body, body);
  EXPECT_EQ(job->job.args.at("to"), "a@example.com");
  EXPECT_EQ(job->job.args.at("subject"), "héllo");
  EXPECT_EQ(job->job.name.attempt, 0);
  EXPECT_FALSE(q.claim("spooler-2")) << "claimed once only";
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "tmp"));
  q.done(*job);
  EXPECT_TRUE(q.list(JobState::kClaimed).empty());
}

TEST(DirectoryQueue, higher_priority_first_then_oldest_first_and_nothing_before_its_time) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  std::int64_t now = wall_clock_ms();
  std::string later = q.push(spec({{"n", "later"}}, "", 0, now + 60'000));
  std::string low1 = q.push(spec({{"n", "low1"}}, "", 0, now - 2));
  std::string low2 = q.push(spec({{"n", "low2"}}, "", 0, now - 1));
  // Due at `now`, not at its push: four synced pushes may take over a second
  // on a loaded machine (the clean-clone CI failure of 2cc9774).
  std::string high = q.push(spec({{"n", "high"}}, "", 10, now));
  std::vector<std::string> order;
  while (auto j = q.claim("s", now + 1000)) {
    order.push_back(j->job.name.id);
    q.done(*j);
  }
  EXPECT_EQ(order, (std::vector<std::string>{high, low1, low2}));
  ASSERT_TRUE(q.next_due_ms(now + 1000));
  EXPECT_EQ(*q.next_due_ms(now + 1000), now + 60'000);
  EXPECT_EQ(q.claim("s", now + 60'000)->job.name.id, later);
}

TEST(DirectoryQueue, retry_counts_attempts_and_fail_keeps_the_error_beside_the_job) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  std::string id = q.push(spec({{"k", "v"}}, "body"));
  auto j = q.claim("s");
  ASSERT_TRUE(j);
  q.retry(*j, wall_clock_ms() + 60'000, "ValueError: first");
  EXPECT_FALSE(q.claim("s")) << "not before its backoff";
  auto again = q.claim("s", wall_clock_ms() + 61'000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->job.name.id, id);
  EXPECT_EQ(again->job.name.attempt, 1);
  EXPECT_EQ(again->job.last_error, "ValueError: first");
  EXPECT_EQ(again->job.body, "body");
  q.fail(*again, "Traceback ...\nValueError: second");
  auto failed = q.list(JobState::kFailed);
  ASSERT_EQ(failed.size(), 1u);
  std::ifstream note(failed[0].path.string() + ".error");
  std::string text((std::istreambuf_iterator<char>(note)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "Traceback ...\nValueError: second");
  EXPECT_EQ(failed[0].name.attempt, 2) << "two runs, both failed";
  ASSERT_TRUE(q.requeue_failed(id));
  auto revived = q.claim("s");
  ASSERT_TRUE(revived);
  EXPECT_EQ(revived->job.name.attempt, 0);
}

TEST(DirectoryQueue, jobs_of_a_dead_claimer_are_recovered_with_the_attempt_counted) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  q.push(spec({{"n", "1"}}));
  q.push(spec({{"n", "2"}}));
  ASSERT_TRUE(q.claim("dead"));
  ASSERT_TRUE(q.claim("dead"));
  EXPECT_FALSE(q.claim("alive"));
  Recovered r = q.recover("dead", "spooler died", 5);
  EXPECT_EQ(r.requeued, 2u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "claimed" / "dead"));
  auto a = q.claim("alive");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->job.name.attempt, 1) << "running it may be what killed its claimer";
  EXPECT_TRUE(q.claim("alive"));
}

TEST(DirectoryQueue, a_job_that_keeps_killing_its_claimer_ends_in_failed) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  std::string id = q.push(spec({{"n", "1"}}));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(q.claim("dead"));
    q.recover("dead", "spooler 1 killed by signal 9 while running it", 3);
  }
  ASSERT_TRUE(q.claim("dead"));
  Recovered r = q.recover("dead", "spooler 1 killed by signal 9 while running it", 3);
  EXPECT_EQ(r.failed, 1u);
  auto failed = q.list(JobState::kFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].name.id, id);
  EXPECT_EQ(failed[0].name.attempt, 3);
  std::ifstream note(failed[0].path.string() + ".error");
  std::string text((std::istreambuf_iterator<char>(note)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("killed by signal 9"), std::string::npos) << text;
}

// A claim area is locked by its live owner: recover_abandoned() leaves it
// alone, and returns its jobs once the owner (a real process) is gone.
TEST(DirectoryQueue, only_claim_areas_whose_owner_died_are_recovered) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  q.push(spec({{"n", "1"}}));
  Pipe claimed = make_pipe(), release = make_pipe();
  ForkHooks hooks;
  pid_t owner = fork_process(hooks, [&]() -> ExitCode {
    DirectoryQueue mine(dir.path());
    Claimant me(mine, "owner-1");
    auto names = mine.scan();
    if (names.empty() || !mine.try_claim(me.dir(), names[0])) return ExitCode::kFailure;
    char c = 1;
    [[maybe_unused]] auto n = ::write(claimed.write.get(), &c, 1);
    [[maybe_unused]] auto m = ::read(release.read.get(), &c, 1);  // until the test says
    ::_exit(0);  // dies holding the job, as a killed spooler would
  });
  char c;
  ASSERT_EQ(::read(claimed.read.get(), &c, 1), 1);
  EXPECT_EQ(q.recover_abandoned("owner died", 5).requeued, 0u) << "the owner lives";
  EXPECT_EQ(q.list(JobState::kClaimed).size(), 1u);
  ASSERT_EQ(::write(release.write.get(), &c, 1), 1);
  ASSERT_TRUE(wait_exit(owner, 30s));
  EXPECT_EQ(q.recover_abandoned("owner died", 5).requeued, 1u);
  EXPECT_TRUE(q.list(JobState::kClaimed).empty());
  EXPECT_EQ(q.list(JobState::kQueued).size(), 1u);
}

// A push is durable once its file and its name in tmp/ are on disk; if the
// machine goes down before the rename into queue/ does, the job is found in
// tmp/ after the reboot (its name carries another boot's id) and restored.
// One from this boot may have a live writer and is left alone; one that is
// not whole was never acknowledged and goes.
TEST(DirectoryQueue, pushes_left_in_tmp_by_a_previous_boot_are_restored) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  Job job;
  job.name = JobName{0, wall_clock_ms(), "before-reboot", 0};
  job.args = {{"k", "v"}};
  std::ofstream(dir.path() / "tmp" / ("push.deadbeef." + job.name.str()), std::ios::binary) << encode_job(job);
  JobName torn{0, wall_clock_ms(), "torn", 0};
  std::ofstream(dir.path() / "tmp" / ("push.deadbeef." + torn.str())) << "SUZJOB1 99\n{\"args\"";
  std::string this_boot;
  std::getline(std::ifstream("/proc/sys/kernel/random/boot_id"), this_boot);
  JobName in_flight{0, wall_clock_ms(), "in-flight", 0};
  auto live = dir.path() / "tmp" / ("push." + this_boot.substr(0, 8) + "." + in_flight.str());
  std::ofstream(live, std::ios::binary) << encode_job(Job{in_flight, {}, "", 0, ""});
  Recovered r = q.recover_abandoned("-", 5);
  EXPECT_EQ(r.restored, 1u);
  auto found = q.find("before-reboot");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->state, JobState::kQueued);
  EXPECT_EQ(q.read(*found)->args.at("k"), "v");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "tmp" / ("push.deadbeef." + torn.str())));
  EXPECT_FALSE(q.find("torn"));
  EXPECT_TRUE(std::filesystem::exists(live)) << "this boot's writer may still be at it";
}

// Sixteen threads push at once: each push returns only once its job is
// visible, and every job arrives once, whole.
TEST(DirectoryQueue, concurrent_pushes_share_syncs_and_all_arrive) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  constexpr int kThreads = 16, kEach = 50;
  std::vector<std::thread> threads;
  std::mutex m;
  std::set<std::string> ids;
  std::atomic<int> invisible{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string id = q.push(spec({{"t", std::to_string(t)}, {"i", std::to_string(i)}}, std::string(100, 'x')));
        bool seen = false;
        for (const JobEntry& e : q.list(JobState::kQueued)) seen = seen || e.name.id == id;
        if (!seen) invisible++;
        std::lock_guard<std::mutex> lock(m);
        ids.insert(id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(invisible.load(), 0);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kThreads * kEach));
  int n = 0;
  while (auto j = q.claim("s")) {
    EXPECT_EQ(j->job.body, std::string(100, 'x'));
    q.done(*j);
    ++n;
  }
  EXPECT_EQ(n, kThreads * kEach);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "tmp"));
}

TEST(DirectoryQueue, push_all_makes_every_job_visible) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  std::vector<JobSpec> specs;
  for (int i = 0; i < 100; ++i) specs.push_back(spec({{"i", std::to_string(i)}}));
  auto ids = q.push_all(specs);
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(q.list(JobState::kQueued).size(), 100u);
}

TEST(DirectoryQueue, job_files_are_private_to_their_owner) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  q.push(spec({{"secret", "s3cr3t"}}));
  auto e = q.list(JobState::kQueued);
  ASSERT_EQ(e.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(e[0].path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(DirectoryQueue, a_corrupt_file_is_quarantined_and_the_scan_goes_on) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  JobName fake{0, 1, "corrupt", 0};
  std::ofstream(dir.path() / "queue" / fake.str()) << "garbage";
  std::ofstream(dir.path() / "queue" / "stray.txt") << "not a job";
  std::string good = q.push(spec({{"n", "good"}}));
  std::vector<std::string> reported;
  q.on_corrupt = [&](const std::filesystem::path& p, const std::string& why) {
    reported.push_back(p.filename().string() + ": " + why);
  };
  auto j = q.claim("s");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->job.name.id, good);
  EXPECT_EQ(reported.size(), 2u) << testing::PrintToString(reported);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "corrupt" / fake.str()));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "corrupt" / (fake.str() + ".error")));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "corrupt" / "stray.txt"));
}

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

ino_t inode_of(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

TEST(DirectoryQueue, a_finished_jobs_file_is_reused_by_a_push_and_holds_exactly_the_new_job) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  q.push(spec({{"n", "big"}, {"pad", std::string(300, 'p')}}, std::string(20000, 'x')));
  auto big = q.claim("s");
  ASSERT_TRUE(big);
  ino_t inode = inode_of(big->path);
  q.done(*big);
  EXPECT_EQ(files_in(dir.path() / "free"), 1u) << "kept for the next push";
  std::string id = q.push(spec({{"n", "small"}}, "tiny"));
  EXPECT_EQ(files_in(dir.path() / "free"), 0u);
  auto small = q.claim("s");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->job.name.id, id);
  EXPECT_EQ(inode_of(small->path), inode) << "the same file, written over";
  EXPECT_EQ(small->job.body, "tiny") << "nothing of the bigger job left at its end";
  EXPECT_EQ(small->job.args, (std::map<std::string, std::string>{{"n", "small"}}));
  EXPECT_EQ(std::filesystem::file_size(small->path), encode_job(small->job).size());
}

TEST(DirectoryQueue, the_pool_of_free_files_is_bounded) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  for (unsigned i = 0; i < kFreeSlots; ++i) {
    char slot[16];
    std::snprintf(slot, sizeof slot, "slot-%04u", i);
    std::ofstream(dir.path() / "free" / slot) << "x";
  }
  q.push(spec({{"n", "1"}}));
  EXPECT_EQ(files_in(dir.path() / "free"), kFreeSlots - 1) << "the push took one";
  for (int i = 0; i < 2; ++i) {
    q.push(spec({{"n", "more"}}));
    auto j = q.claim("s");
    ASSERT_TRUE(j);
    q.done(*j);
  }
  EXPECT_LE(files_in(dir.path() / "free"), std::size_t{kFreeSlots});
  EXPECT_TRUE(q.list(JobState::kClaimed).empty()) << "a finished job leaves when the pool is full";
}

// A file under one job's name holding another job (a recycled file's old
// name, after a crash) is not run as either.
TEST(DirectoryQueue, a_file_holding_another_job_than_its_name_says_is_quarantined) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  Job other{JobName{0, 1, "other", 0}, {{"n", "other"}}, "", 0, ""};
  JobName name{0, 1, "mine", 0};
  std::ofstream(dir.path() / "queue" / name.str(), std::ios::binary) << encode_job(other);
  std::vector<std::string> reported;
  q.on_corrupt = [&](const std::filesystem::path&, const std::string& why) { reported.push_back(why); };
  EXPECT_FALSE(q.claim("s"));
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_NE(reported[0].find("holds job \"other\", not mine"), std::string::npos) << reported[0];
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "corrupt" / name.str()));
}

TEST(DirectoryQueue, bad_priority_is_an_error_naming_the_range) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  try {
    q.push(spec({}, "", 5000));
    FAIL() << "accepted priority 5000";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("-999..999"), std::string::npos) << e.what();
  }
}

// The names a spooler keeps: found by the first scan and by inotify after;
// the next one is the highest priority's oldest, or with a spread, one of
// the oldest few of that priority, never of a lower one.
TEST(PendingJobs, next_is_the_highest_priority_and_arrivals_are_seen) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  std::int64_t now = wall_clock_ms();
  std::string old_low = q.push(spec({}, "", 0, now - 100));
  PendingJobs pending(q);
  std::string high1 = q.push(spec({}, "", 7, now - 50)), high2 = q.push(spec({}, "", 7, now - 40));
  q.push(spec({}, "", 9, now + 60'000));  // not due: only a wake-up time
  pending.on_readable();                   // the arrivals, through inotify
  EXPECT_EQ(pending.size(), 4u);
  std::optional<std::int64_t> wake;
  auto first = pending.next(now, &wake);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, high1) << "highest priority due, oldest first";
  ASSERT_TRUE(wake);
  EXPECT_EQ(*wake, now + 60'000);
  std::set<std::string> picked;
  for (int i = 0; i < 50; ++i) picked.insert(pending.next(now, &wake, 8)->id);
  EXPECT_EQ(picked, (std::set<std::string>{high1, high2})) << "spread among priority 7 only";
  pending.forget(*first);
  pending.forget(*pending.next(now, &wake));
  EXPECT_EQ(pending.next(now, &wake)->id, old_low);
}

// Four processes race to claim 1,000 jobs: each job is claimed by exactly one.
TEST(DirectoryQueue, racing_processes_claim_every_job_exactly_once) {
  TempDir dir;
  DirectoryQueue q(dir.path());
  // Each claim scans the queue, so the work grows with the square of the
  // jobs: fewer under ASan, where it is sixteen times slower.
  const int kJobs = kUnderAsan ? 250 : 1000;
  constexpr int kClaimers = 4;
  for (int i = 0; i < kJobs; ++i) q.push(spec({{"i", std::to_string(i)}}));
  ForkHooks hooks;
  std::vector<pid_t> pids;
  for (int c = 0; c < kClaimers; ++c) {
    pids.push_back(fork_process(hooks, [&, c]() -> ExitCode {
      DirectoryQueue mine(dir.path());
      std::ofstream log(dir.path() / ("claimed-by-" + std::to_string(c)));
      while (auto j = mine.claim("claimer-" + std::to_string(c))) {
        log << j->job.args.at("i") << "\n";
        mine.done(*j);
      }
      return ExitCode::kOk;
    }));
  }
  for (pid_t p : pids) {
    auto status = wait_exit(p, 60s);
    ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  }
  std::multiset<std::string> seen;
  for (int c = 0; c < kClaimers; ++c) {
    std::ifstream log(dir.path() / ("claimed-by-" + std::to_string(c)));
    for (std::string line; std::getline(log, line);) seen.insert(line);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kJobs));
  for (int i = 0; i < kJobs; ++i) EXPECT_EQ(seen.count(std::to_string(i)), 1u) << "job " << i;
  EXPECT_TRUE(q.list(JobState::kQueued).empty());
}

}  // namespace
}  // namespace suz::test
