#pragma once
// The master's children, workers and spoolers, as one state machine. Every
// transition is in children.cpp; the master reports events to it and carries
// out the actions it returns (fork a slot's next child, send a signal, arm or
// disarm a named deadline, tell the emperor). It has no loop and sends no
// signal itself, so its rules are unit-tested in milliseconds
// (tests/unit/children_test.cpp).
//
// A slot is one unit of capacity ("worker 3", "spooler 1"). It has an active
// child and, while that one is being replaced, a successor: the successor is
// forked and must report ready before the active one is told to retire, so
// capacity never drops during a replacement. Workers and spoolers are two
// pools of slots under the same rules, each with its own limits.
//
// A child is
//   starting   forked, not ready yet; killed if not ready within ready_timeout
//   serving    reported ready; replaced when its lifetime (less jitter) ends
//   retiring   told to stop (TERM): its successor serves, TTOU removed its
//              slot, or the vassal stops; killed if still running
//              graceful_timeout (+ kChildKillGrace) later
//   dumping    harakiri: asked for every thread's stack (and to run the app's
//              harakiri hooks); killed kDumpGrace (+ kHarakiriHookBound) later
//   killing    sent SIGKILL: not ready in time, not gone after retiring, no
//              heartbeat; the reason goes into its exit line
//
// The rules:
//   replacement wanted (lifetime, max_requests or max_jobs, max_rss, HUP):
//     a successor is forked, unless the slot has one already, was removed,
//     or the vassal stops.
//   ready: a successor becomes the active child and its predecessor
//     retires; an active child ready may complete "every worker serving".
//   exited: a retiring child is forgotten. An active or successor child that
//     dies is respawned: at once if it had served, after 0.1, 0.2, 0.4 ... s
//     (at most 10 s) while it keeps dying before serving. A successor that
//     dies leaves the active child serving; an active child that dies while
//     a successor starts leaves the slot to it. An exit code saying a restart
//     cannot help (core/exit_code.hpp) stops the vassal.
//   TTIN adds a worker slot (one TTOU removed is reused first); TTOU removes
//     the last, its children retiring.
//   HUP replaces every slot, one at a time: the next when the previous
//     one's successor is ready; then "reload done".
//   stop: respawns and deadlines cleared, every child told to stop (TERM; INT
//     for a quick stop; a child not ready yet is killed, having nothing to
//     finish); past the stop deadline every child is killed; when the last
//     is gone, kFinished.
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/exit_code.hpp"
#include "core/units.hpp"
#include "vassal/stats.hpp"

namespace suz {

enum class Role { kWorker, kSpooler };
inline constexpr Role kRoles[] = {Role::kWorker, Role::kSpooler};

// What one pool's children are held to, from the config.
struct PoolRules {
  std::string name;          // "worker": its slots are "worker 1", "worker 2" ...
  std::string work_done;     // "served {} requests": why max_requests replaced one
  std::string running_word;  // a ready child's state in the stats: "serving", "running"
  int wanted = 0;            // slots at start
  Duration max_lifetime{0};  // 0: never
  Duration harakiri{0};      // 0: off (checked by the master, vassal/health.hpp)
  bool claims_jobs = false;  // each child has its own claim area in the spool
};

enum class ChildState { kStarting, kServing, kRetiring, kDumping, kKilling };

enum class Deadline {
  kReady,     // a child: ready_timeout after its fork
  kLifetime,  // a child: its max lifetime, less jitter, after ready
  kGraceful,  // a child: kill it, this long after telling it to stop
  kDump,      // a child: harakiri's stack dump had its time, kill it
  kRespawn,   // a slot: its backoff before the next spawn
  kStop,      // the vassal: its children's time to stop is over
};

// Which deadline: a child's (pid), a slot's (role and id), or the vassal's.
struct DeadlineKey {
  Deadline which = Deadline::kStop;
  Role role = Role::kWorker;
  int slot = 0;
  pid_t pid = 0;
  auto operator<=>(const DeadlineKey&) const = default;

  static DeadlineKey of_child(Deadline which, pid_t pid) { return {which, Role::kWorker, 0, pid}; }
  static DeadlineKey respawn_of(Role role, int slot) { return {Deadline::kRespawn, role, slot, 0}; }
  static DeadlineKey stop() { return {Deadline::kStop}; }
};

struct Action {
  enum class Kind {
    kSpawn,     // fork the next child of (role, slot), generation; report forked() or fork_failed()
    kSignal,    // send signal to pid
    kArm,       // (re)start deadline, seconds from now
    kDisarm,    // stop deadline, if armed
    kForget,    // pid was reaped: drop whatever the master keeps about it
    kTell,      // send message to the emperor, if there is one
    kFinished,  // stopping, and every child is gone
  };
  Kind kind;
  Role role = Role::kWorker;
  int slot = 0;
  int generation = 0;
  pid_t pid = 0;
  int signal = 0;
  DeadlineKey deadline{};
  double seconds = 0;
  std::string_view message;

  bool operator==(const Action&) const = default;
};
using Actions = std::vector<Action>;

struct ChildRecord {
  pid_t pid = 0;
  Role role = Role::kWorker;
  int slot = 0;
  int generation = 0;
  std::string name;           // its slot's: "worker 3"
  int record = -1;            // its scoreboard record
  std::string spool_owner;    // a spooler's claim area in the spool
  ChildState state = ChildState::kStarting;
  bool ready = false;         // has reported ready (stays true while it retires)
  std::int64_t born_ms = 0;   // monotonic
  std::string kill_reason;    // why the master killed it
  RespawnCause kill_cause = RespawnCause::kDied;

  bool killed() const { return state == ChildState::kDumping || state == ChildState::kKilling; }
};

// What a carried-out kSpawn produced.
struct Forked {
  pid_t pid = 0;
  int record = -1;
  std::string spool_owner;
};

// What the machine asks of the world without acting on it; tests replace them.
struct ChildProbes {
  std::function<std::string(pid_t)> where_stuck = [](pid_t) { return std::string("running"); };
  std::function<double()> jitter = [] { return 1.0; };  // lifetime multiplier, 0.9..1
};

struct Timings {
  Duration ready_timeout = std::chrono::seconds(60);
  Duration graceful_timeout = std::chrono::seconds(30);
};

class Children {
 public:
  static constexpr std::int64_t kQuickDeathMs = 1000;  // dying sooner, having served nothing, backs off
  static constexpr double kMaxBackoff = 10.0;          // seconds
  static constexpr double kDumpGrace = 0.2;            // seconds for a harakiri stack dump

  Children(PoolRules workers, PoolRules spoolers, Timings timings, ChildProbes probes = {});

  // Events. now_ms: monotonic, where the rule needs the time.
  Actions start();
  Actions forked(Role role, int slot, Forked child, std::int64_t now_ms);
  Actions fork_failed(Role role, int slot);
  Actions ready(pid_t pid);
  Actions limit_reached(pid_t pid, std::uint64_t done);  // max_requests, max_jobs
  Actions replacement_wanted(pid_t pid, RespawnCause cause, const std::string& why);  // max_rss
  // what: "\"GET /x\" on thread 2 ran for 31s (limit 30s)"; hooked: the app
  // has @suzerain.harakiri hooks, which the child is told to run first.
  Actions harakiri(pid_t pid, const std::string& what, bool hooked = false);
  Actions no_heartbeat(pid_t pid, Duration silence);
  Actions deadline(const DeadlineKey& key);
  Actions exited(pid_t pid, int wait_status, std::uint64_t done, std::int64_t now_ms);
  Actions add(Role role);     // TTIN
  Actions remove(Role role);  // TTOU
  Actions reload();           // HUP
  Actions stop(bool graceful);

  // What the master reads: for its health checks, the stats and its logs.
  const ChildRecord* find(pid_t pid) const;
  const std::map<pid_t, ChildRecord>& children() const { return children_; }
  const PoolRules& rules(Role role) const { return pool(role).rules; }
  int slots_wanted(Role role) const;  // slots not removed
  const RespawnCounts& respawns(Role role) const { return pool(role).respawns; }
  std::uint64_t retired_work(Role role) const { return pool(role).retired_work; }  // by children already reaped
  std::string_view state_name(const ChildRecord& c) const;
  bool stopping() const { return stopping_; }
  ExitCode exit_code() const { return exit_code_; }

 private:
  struct Slot {
    int id = 0;            // 1..wanted, stable across respawns
    pid_t active = 0;      // serving (or starting, if nothing else serves)
    pid_t successor = 0;   // starting, to take over from active
    int generation = 0;    // children this slot has had
    int quick_deaths = 0;  // in a row, soon after birth: the backoff exponent
    bool removed = false;  // TTOU took it away
  };
  struct Pool {
    Role role;
    PoolRules rules;
    std::deque<Slot> slots;  // a deque: the reload queue keeps pointers into it
    RespawnCounts respawns{};
    std::uint64_t retired_work = 0;
  };

  Pool& pool(Role role) { return pools_[static_cast<int>(role)]; }
  const Pool& pool(Role role) const { return pools_[static_cast<int>(role)]; }
  Slot* slot_of(const ChildRecord& c);
  static Slot& slot_at(Pool& p, int id);  // ids are 1-based
  std::string slot_name(const Pool& p, const Slot& s) const { return p.rules.name + " " + std::to_string(s.id); }
  ChildRecord* child(pid_t pid);

  void vacate(const ChildRecord& c);  // gone from a slot TTOU removed
  void add_slot(Pool& p, Actions& out);
  void spawn(Pool& p, Slot& s, Actions& out);
  void replace(Pool& p, Slot& s, RespawnCause cause, const std::string& why, Actions& out);
  void retire(pid_t pid, Actions& out);
  void kill(ChildRecord& c, RespawnCause cause, const std::string& why, Actions& out);
  void respawn_after_death(Pool& p, Slot& s, Actions& out);
  void reload_next(Actions& out);
  void announce_if_serving(Actions& out);
  void stop(bool graceful, Actions& out);
  void finish_if_gone(Actions& out);

  Pool pools_[2];
  Timings timings_;
  ChildProbes probes_;
  std::map<pid_t, ChildRecord> children_;
  std::deque<std::pair<Pool*, Slot*>> reload_queue_;  // slots HUP still has to replace
  bool announced_serving_ = false;
  bool stopping_ = false;
  ExitCode exit_code_ = ExitCode::kOk;
};

}  // namespace suz
