// The master's children as a state machine (vassal/children.hpp), driven the
// way the master drives it, with no process, loop or signal: a kSpawn is
// "carried out" by handing back a made-up pid at once.
#include "vassal/children.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <algorithm>

#include "core/signals.hpp"

namespace suz {
namespace {

using namespace std::chrono_literals;
using Kind = Action::Kind;

// A wait status as waitpid() reports it.
int exited_with(int code) { return (code & 0xff) << 8; }
int killed_by(int sig) { return sig & 0x7f; }

PoolRules workers(int n, Duration lifetime = 0s) {
  return {.name = "worker", .work_done = "served {} requests", .running_word = "serving", .wanted = n, .max_lifetime = lifetime};
}
PoolRules spoolers(int n, Duration lifetime = 0s) {
  return {.name = "spooler", .work_done = "ran {} jobs", .running_word = "running", .wanted = n, .max_lifetime = lifetime,
          .claims_jobs = true};
}

class Machine {
 public:
  explicit Machine(PoolRules w, PoolRules s = spoolers(0)) : c_(std::move(w), std::move(s), Timings{60s, 30s}) {
    spdlog::set_level(spdlog::level::off);
  }
  ~Machine() { spdlog::set_level(spdlog::level::info); }

  // Feeds actions back the way the master does: spawns are forked at once.
  Actions run(Actions in) {
    Actions all;
    for (const Action& a : in) {
      all.push_back(a);
      if (a.kind != Kind::kSpawn) continue;
      pid_t pid = next_pid_++;
      spawned_.push_back(pid);
      Actions more = run(c_.forked(a.role, a.slot, Forked{pid, 0, ""}, now_ms));
      all.insert(all.end(), more.begin(), more.end());
    }
    return all;
  }
  Children& c() { return c_; }
  pid_t last_spawned() const { return spawned_.back(); }
  std::size_t spawns() const { return spawned_.size(); }
  // The pid of (role, slot)'s child of that generation.
  pid_t pid_of(Role role, int slot, int generation) const {
    for (const auto& [pid, ch] : c_.children())
      if (ch.role == role && ch.slot == slot && ch.generation == generation) return pid;
    return 0;
  }
  ChildState state(pid_t pid) const { return c_.find(pid)->state; }
  void ready_all() {
    std::vector<pid_t> starting;
    for (const auto& [pid, ch] : c_.children())
      if (ch.state == ChildState::kStarting) starting.push_back(pid);
    for (pid_t pid : starting) run(c_.ready(pid));
  }

  std::int64_t now_ms = 1'000'000;

 private:
  Children c_;
  pid_t next_pid_ = 100;
  std::vector<pid_t> spawned_;
};

bool has(const Actions& actions, const Action& wanted) {
  return std::find(actions.begin(), actions.end(), wanted) != actions.end();
}
Action signal(pid_t pid, int sig) { return {.kind = Kind::kSignal, .pid = pid, .signal = sig}; }
Action arm(DeadlineKey key, double seconds) { return {.kind = Kind::kArm, .deadline = key, .seconds = seconds}; }
Action tell(std::string_view m) { return {.kind = Kind::kTell, .message = m}; }
int count(const Actions& actions, Kind kind) {
  return static_cast<int>(std::count_if(actions.begin(), actions.end(), [&](const Action& a) { return a.kind == kind; }));
}
const Action* find_kind(const Actions& actions, Kind kind) {
  auto it = std::find_if(actions.begin(), actions.end(), [&](const Action& a) { return a.kind == kind; });
  return it == actions.end() ? nullptr : &*it;
}

TEST(Children, start_forks_every_slot_and_arms_each_ready_deadline) {
  Machine m(workers(2), spoolers(1));
  Actions a = m.run(m.c().start());
  EXPECT_EQ(count(a, Kind::kSpawn), 3);
  for (pid_t pid : {100, 101, 102}) {
    EXPECT_TRUE(has(a, arm(DeadlineKey::of_child(Deadline::kReady, pid), 60))) << pid;
    EXPECT_EQ(m.state(pid), ChildState::kStarting);
  }
  EXPECT_EQ(m.c().find(102)->name, "spooler 1");
}

TEST(Children, every_slot_ready_is_announced_once) {
  Machine m(workers(2));
  m.run(m.c().start());
  EXPECT_FALSE(has(m.run(m.c().ready(100)), tell("ready")));
  EXPECT_TRUE(has(m.run(m.c().ready(101)), tell("ready")));
  // Lost and respawned later: not announced again.
  m.run(m.c().exited(101, killed_by(SIGSEGV), 5, m.now_ms + 5000));
  EXPECT_FALSE(has(m.run(m.c().ready(m.last_spawned())), tell("ready")));
}

TEST(Children, a_successor_that_dies_before_ready_leaves_the_active_one_serving) {
  Machine m(workers(1, 10s));
  m.run(m.c().start());
  m.ready_all();
  Actions a = m.run(m.c().deadline(DeadlineKey::of_child(Deadline::kLifetime, 100)));
  ASSERT_EQ(count(a, Kind::kSpawn), 1);
  pid_t successor = m.last_spawned();
  a = m.run(m.c().exited(successor, exited_with(1), 0, m.now_ms + 10));
  EXPECT_EQ(m.state(100), ChildState::kServing);
  EXPECT_FALSE(has(a, signal(100, SIGTERM)));
  // The replacement is tried again after the crash-loop backoff, as a successor.
  EXPECT_TRUE(has(a, arm(DeadlineKey::respawn_of(Role::kWorker, 1), 0.1)));
  m.run(m.c().deadline(DeadlineKey::respawn_of(Role::kWorker, 1)));
  a = m.run(m.c().ready(m.last_spawned()));
  EXPECT_TRUE(has(a, signal(100, SIGTERM)));
  EXPECT_EQ(m.state(100), ChildState::kRetiring);
}

TEST(Children, an_active_child_that_dies_while_its_successor_starts_leaves_the_slot_to_it) {
  Machine m(workers(1, 10s));
  m.run(m.c().start());
  m.ready_all();
  m.run(m.c().deadline(DeadlineKey::of_child(Deadline::kLifetime, 100)));
  pid_t successor = m.last_spawned();
  Actions a = m.run(m.c().exited(100, killed_by(SIGKILL), 7, m.now_ms + 5000));
  EXPECT_EQ(count(a, Kind::kSpawn), 0);
  EXPECT_EQ(m.state(successor), ChildState::kStarting);
}

TEST(Children, ttou_of_a_slot_with_a_successor_retires_both_and_neither_is_respawned) {
  Machine m(workers(2, 10s));
  m.run(m.c().start());
  m.ready_all();
  m.run(m.c().deadline(DeadlineKey::of_child(Deadline::kLifetime, 101)));
  pid_t successor = m.last_spawned();
  Actions a = m.run(m.c().remove(Role::kWorker));
  EXPECT_TRUE(has(a, signal(101, SIGTERM)));
  EXPECT_TRUE(has(a, signal(successor, SIGTERM)));
  EXPECT_TRUE(has(a, arm(DeadlineKey::of_child(Deadline::kGraceful, 101), 31)));
  EXPECT_EQ(m.c().slots_wanted(Role::kWorker), 1);
  EXPECT_EQ(count(m.run(m.c().exited(101, exited_with(0), 7, m.now_ms)), Kind::kSpawn), 0);
  EXPECT_EQ(count(m.run(m.c().exited(successor, exited_with(0), 0, m.now_ms)), Kind::kSpawn), 0);
  // TTIN reuses the removed slot: ids stay 1..workers.
  a = m.run(m.c().add(Role::kWorker));
  EXPECT_EQ(m.c().find(m.last_spawned())->name, "worker 2");
}

TEST(Children, quick_deaths_back_off_0_1_0_2_0_4_up_to_10_seconds_and_a_served_death_resets) {
  Machine m(workers(1));
  m.run(m.c().start());
  const DeadlineKey respawn = DeadlineKey::respawn_of(Role::kWorker, 1);
  std::vector<double> delays;
  for (int i = 0; i < 9; ++i) {
    Actions a = m.run(m.c().exited(m.last_spawned(), exited_with(1), 0, m.now_ms + 10));
    const Action* armed = find_kind(a, Kind::kArm);
    ASSERT_TRUE(armed && armed->deadline == respawn);
    EXPECT_EQ(count(a, Kind::kSpawn), 0);
    delays.push_back(armed->seconds);
    ASSERT_EQ(count(m.run(m.c().deadline(respawn)), Kind::kSpawn), 1);
  }
  EXPECT_EQ(delays, (std::vector<double>{0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10, 10}));
  // One that served for a while is replaced at once, and the count starts over.
  m.run(m.c().ready(m.last_spawned()));
  Actions a = m.run(m.c().exited(m.last_spawned(), killed_by(SIGKILL), 3, m.now_ms + 5000));
  EXPECT_EQ(count(a, Kind::kSpawn), 1);
  a = m.run(m.c().exited(m.last_spawned(), exited_with(1), 0, m.now_ms + 10));
  EXPECT_EQ(find_kind(a, Kind::kArm)->seconds, 0.1);
}

TEST(Children, a_ready_child_dying_within_a_second_having_served_nothing_counts_as_quick) {
  Machine m(workers(1));
  m.run(m.c().start());
  m.ready_all();
  Actions a = m.run(m.c().exited(100, killed_by(SIGSEGV), 0, m.now_ms + Children::kQuickDeathMs - 1));
  EXPECT_TRUE(has(a, arm(DeadlineKey::respawn_of(Role::kWorker, 1), 0.1)));
}

TEST(Children, hup_replaces_one_slot_at_a_time_and_waits_for_each_successor) {
  Machine m(workers(3));
  m.run(m.c().start());
  m.ready_all();
  Actions a = m.run(m.c().reload());
  EXPECT_TRUE(has(a, tell("reloading")));
  ASSERT_EQ(count(a, Kind::kSpawn), 1);
  EXPECT_EQ(find_kind(a, Kind::kSpawn)->slot, 1);
  for (int slot = 1; slot <= 3; ++slot) {
    pid_t successor = m.pid_of(Role::kWorker, slot, 2);
    ASSERT_NE(successor, 0) << slot;
    // Nothing else moves until the successor is ready.
    EXPECT_EQ(m.pid_of(Role::kWorker, slot + 1, 2), 0);
    a = m.run(m.c().ready(successor));
    EXPECT_TRUE(has(a, signal(100 + slot - 1, SIGTERM)));
    EXPECT_EQ(count(a, Kind::kSpawn), slot < 3 ? 1 : 0);
    EXPECT_EQ(has(a, tell("ready")), slot == 3);
  }
}

TEST(Children, a_reload_survives_a_successor_dying_before_ready) {
  Machine m(workers(2));
  m.run(m.c().start());
  m.ready_all();
  m.run(m.c().reload());
  m.run(m.c().exited(m.pid_of(Role::kWorker, 1, 2), exited_with(1), 0, m.now_ms));
  m.run(m.c().deadline(DeadlineKey::respawn_of(Role::kWorker, 1)));
  EXPECT_EQ(m.pid_of(Role::kWorker, 2, 2), 0);
  m.run(m.c().ready(m.pid_of(Role::kWorker, 1, 3)));
  EXPECT_NE(m.pid_of(Role::kWorker, 2, 2), 0);  // the reload went on to slot 2
}

TEST(Children, a_retiring_child_past_graceful_timeout_is_killed_and_not_respawned) {
  Machine m(workers(1, 10s));
  m.run(m.c().start());
  m.ready_all();
  m.run(m.c().deadline(DeadlineKey::of_child(Deadline::kLifetime, 100)));
  m.run(m.c().ready(m.last_spawned()));
  ASSERT_EQ(m.state(100), ChildState::kRetiring);
  Actions a = m.run(m.c().deadline(DeadlineKey::of_child(Deadline::kGraceful, 100)));
  EXPECT_TRUE(has(a, signal(100, SIGKILL)));
  EXPECT_NE(m.c().find(100)->kill_reason.find("still running 30s after being told to stop (running)"), std::string::npos);
  std::size_t before = m.spawns();
  a = m.run(m.c().exited(100, killed_by(SIGKILL), 9, m.now_ms + 20000));
  EXPECT_EQ(m.spawns(), before);
}

TEST(Children, harakiri_dumps_stacks_then_kills_and_is_counted) {
  Machine m(workers(1));
  m.run(m.c().start());
  m.ready_all();
  Actions a = m.run(m.c().harakiri(100, "\"GET /slow\" on thread 1 ran for 2s (limit 1s)"));
  EXPECT_TRUE(has(a, signal(100, kStackDumpSignal)));
  EXPECT_TRUE(has(a, arm(DeadlineKey::of_child(Deadline::kDump, 100), Children::kDumpGrace)));
  EXPECT_FALSE(has(a, signal(100, SIGKILL)));
  // Not asked twice while the dump runs.
  EXPECT_TRUE(m.run(m.c().harakiri(100, "again")).empty());
  a = m.run(m.c().deadline(DeadlineKey::of_child(Deadline::kDump, 100)));
  EXPECT_TRUE(has(a, signal(100, SIGKILL)));
  a = m.run(m.c().exited(100, killed_by(SIGKILL), 4, m.now_ms + 5000));
  EXPECT_EQ(count(a, Kind::kSpawn), 1);
  EXPECT_EQ(m.c().respawns(Role::kWorker)[static_cast<int>(RespawnCause::kHarakiri)], 1u);
}

TEST(Children, harakiri_with_hooks_tells_the_child_to_run_them_and_waits_their_bound_before_the_kill) {
  Machine m(workers(1));
  m.run(m.c().start());
  m.ready_all();
  Actions a = m.run(m.c().harakiri(100, "\"GET /slow\" on thread 1 ran for 2s (limit 1s)", /*hooked=*/true));
  EXPECT_TRUE(has(a, signal(100, kStackDumpSignal)));
  EXPECT_TRUE(has(a, signal(100, harakiri_signal())));
  EXPECT_TRUE(has(a, arm(DeadlineKey::of_child(Deadline::kDump, 100), Children::kDumpGrace + kHarakiriHookBound)));
  EXPECT_FALSE(has(a, signal(100, SIGKILL)));
  // The child killing itself once its hooks ran counts as the harakiri kill.
  a = m.run(m.c().exited(100, killed_by(SIGKILL), 4, m.now_ms + 1000));
  EXPECT_EQ(count(a, Kind::kSpawn), 1);
  EXPECT_EQ(m.c().respawns(Role::kWorker)[static_cast<int>(RespawnCause::kHarakiri)], 1u);
}

TEST(Children, a_child_not_ready_in_time_is_killed_naming_where_it_was_stuck) {
  Children c(workers(1), spoolers(0), Timings{2s, 30s},
             ChildProbes{[](pid_t) { return std::string("blocked in futex_wait"); }, [] { return 1.0; }});
  spdlog::set_level(spdlog::level::off);
  c.start();
  c.forked(Role::kWorker, 1, Forked{100, 0, ""}, 0);
  Actions a = c.deadline(DeadlineKey::of_child(Deadline::kReady, 100));
  EXPECT_TRUE(has(a, signal(100, SIGKILL)));
  EXPECT_EQ(c.find(100)->kill_reason, "not serving 2s after the fork (blocked in futex_wait)");
  a = c.exited(100, killed_by(SIGKILL), 0, 2000);
  EXPECT_EQ(c.respawns(Role::kWorker)[static_cast<int>(RespawnCause::kNotReady)], 1u);
  EXPECT_TRUE(has(a, arm(DeadlineKey::respawn_of(Role::kWorker, 1), 0.1)));
  spdlog::set_level(spdlog::level::info);
}

TEST(Children, a_spooler_slot_follows_the_same_rules_with_its_own_limits) {
  Machine m(workers(1, 100s), spoolers(1, 5s));
  Actions a = m.run(m.c().start());
  a = m.run(m.c().ready(101));
  EXPECT_TRUE(has(a, arm(DeadlineKey::of_child(Deadline::kLifetime, 101), 5)));
  a = m.run(m.c().ready(100));
  EXPECT_TRUE(has(a, arm(DeadlineKey::of_child(Deadline::kLifetime, 100), 100)));
  // max_jobs: replaced, the old one retiring once the new one runs.
  a = m.run(m.c().limit_reached(101, 50));
  ASSERT_EQ(count(a, Kind::kSpawn), 1);
  EXPECT_EQ(a.front().role, Role::kSpooler);
  a = m.run(m.c().ready(m.last_spawned()));
  EXPECT_TRUE(has(a, signal(101, SIGTERM)));
  EXPECT_EQ(m.c().respawns(Role::kSpooler)[static_cast<int>(RespawnCause::kMaxRequests)], 1u);
  EXPECT_EQ(m.c().respawns(Role::kWorker)[static_cast<int>(RespawnCause::kMaxRequests)], 0u);
  // And backs off a crash loop like a worker.
  a = m.run(m.c().exited(m.last_spawned(), exited_with(1), 0, m.now_ms + 10));
  EXPECT_TRUE(has(a, arm(DeadlineKey::respawn_of(Role::kSpooler, 1), 0.1)));
  EXPECT_EQ(m.c().state_name(*m.c().find(100)), "serving");
}

TEST(Children, an_exit_code_restarting_cannot_help_stops_the_vassal) {
  Machine m(workers(2));
  m.run(m.c().start());
  Actions a = m.run(m.c().exited(100, exited_with(static_cast<int>(ExitCode::kAppLoadError)), 0, m.now_ms));
  EXPECT_TRUE(m.c().stopping());
  EXPECT_EQ(m.c().exit_code(), ExitCode::kAppLoadError);
  EXPECT_TRUE(has(a, signal(101, SIGKILL)));  // not ready yet: nothing to finish
  EXPECT_EQ(count(a, Kind::kSpawn), 0);
  a = m.run(m.c().exited(101, killed_by(SIGKILL), 0, m.now_ms));
  EXPECT_EQ(a.back().kind, Kind::kFinished);
}

TEST(Children, a_graceful_stop_asks_serving_children_kills_starting_ones_and_finishes_with_the_last) {
  Machine m(workers(2, 10s));
  m.run(m.c().start());
  m.run(m.c().ready(100));
  Actions a = m.run(m.c().stop(true));
  EXPECT_TRUE(has(a, tell("stopping")));
  EXPECT_TRUE(has(a, signal(100, SIGTERM)));
  EXPECT_TRUE(has(a, signal(101, SIGKILL)));
  EXPECT_TRUE(has(a, arm(DeadlineKey::stop(), 31)));
  EXPECT_TRUE(has(a, Action{.kind = Kind::kDisarm, .deadline = DeadlineKey::of_child(Deadline::kLifetime, 100)}));
  // Nothing respawns while stopping, and nothing new is replaced.
  EXPECT_EQ(count(m.run(m.c().exited(101, killed_by(SIGKILL), 0, m.now_ms)), Kind::kSpawn), 0);
  EXPECT_TRUE(m.run(m.c().deadline(DeadlineKey::of_child(Deadline::kLifetime, 100))).empty());
  a = m.run(m.c().deadline(DeadlineKey::stop()));
  EXPECT_TRUE(has(a, signal(100, SIGKILL)));
  a = m.run(m.c().exited(100, killed_by(SIGKILL), 0, m.now_ms));
  EXPECT_EQ(a.back().kind, Kind::kFinished);
}

TEST(Children, a_quick_stop_after_a_graceful_one_rearms_the_shorter_deadline) {
  Machine m(workers(1));
  m.run(m.c().start());
  m.ready_all();
  Actions a = m.run(m.c().stop(true));
  EXPECT_EQ(count(a, Kind::kTell), 1);
  a = m.run(m.c().stop(false));
  EXPECT_TRUE(has(a, signal(100, SIGINT)));
  EXPECT_TRUE(has(a, arm(DeadlineKey::stop(), 1)));
  EXPECT_EQ(count(a, Kind::kTell), 0);  // "stopping" was said once
}

TEST(Children, one_replacement_at_a_time_per_slot) {
  Machine m(workers(1, 10s));
  m.run(m.c().start());
  m.ready_all();
  EXPECT_EQ(count(m.run(m.c().limit_reached(100, 1000)), Kind::kSpawn), 1);
  EXPECT_EQ(count(m.run(m.c().replacement_wanted(100, RespawnCause::kMaxRss, "RSS")), Kind::kSpawn), 0);
  EXPECT_EQ(count(m.run(m.c().deadline(DeadlineKey::of_child(Deadline::kLifetime, 100))), Kind::kSpawn), 0);
  EXPECT_EQ(m.c().respawns(Role::kWorker)[static_cast<int>(RespawnCause::kMaxRequests)], 1u);
}

TEST(Children, a_fork_that_fails_is_retried_after_the_backoff) {
  Children c(workers(1), spoolers(0), Timings{});
  spdlog::set_level(spdlog::level::off);
  Actions a = c.start();
  ASSERT_EQ(count(a, Kind::kSpawn), 1);
  a = c.fork_failed(Role::kWorker, 1);
  EXPECT_TRUE(has(a, arm(DeadlineKey::respawn_of(Role::kWorker, 1), 0.1)));
  a = c.deadline(DeadlineKey::respawn_of(Role::kWorker, 1));
  EXPECT_EQ(count(a, Kind::kSpawn), 1);
  EXPECT_EQ(a.front().generation, 1);
  spdlog::set_level(spdlog::level::info);
}

}  // namespace
}  // namespace suz
