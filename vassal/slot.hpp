#pragma once
// What the master keeps about its children, workers and spoolers: not the
// children themselves, which live in other processes (vassal/worker.hpp,
// vassal/spooler.hpp).
//
// A slot is one unit of capacity ("worker 3", "spooler 1"). It has an active
// process and, while that one is being replaced, a successor: the successor
// is forked and must report ready before the active one is told to retire,
// so capacity never drops during a replacement.
#include <ev.h>
#include <sys/types.h>

#include <chrono>
#include <string>

#include "vassal/stats.hpp"

namespace suz {

class Master;

enum class Role { kWorker, kSpooler };

struct Slot {
  Role role = Role::kWorker;
  int id = 0;             // 1..workers (or 1..processes), stable across respawns
  pid_t active = 0;       // serving (or starting, if nothing else serves)
  pid_t successor = 0;    // starting, to take over from active
  int generation = 0;     // processes this slot has had
  int quick_deaths = 0;   // consecutive deaths soon after birth: the backoff exponent
  bool removed = false;   // TTOU took it away
  ev_timer respawn{};     // backoff before the next spawn
  Master* master = nullptr;

  // "worker 3", "spooler 1": how logs and process titles name it.
  std::string name() const { return (role == Role::kWorker ? "worker " : "spooler ") + std::to_string(id); }
};

struct Child {
  pid_t pid = 0;
  Role role = Role::kWorker;
  int slot = 0;           // Slot::id
  std::string name;       // its slot's name()
  std::string spool_owner;  // spoolers: its claim area in the spool
  int record = -1;        // scoreboard record
  int generation = 0;
  std::chrono::steady_clock::time_point born;
  bool ready = false;
  bool retiring = false;
  std::string kill_reason;   // why the master killed it, for the exit log line
  RespawnCause kill_cause = RespawnCause::kDied;
  ev_timer lifetime{};        // max_worker_lifetime (with jitter)
  ev_timer deadline{};        // not ready in time, or not gone after retiring
  ev_timer dump_then_kill{};  // harakiri: stacks dumped, now kill
  std::int64_t rss_due_ms = 0;  // when max_rss next samples it (monotonic_ms)
  Master* master = nullptr;
};

}  // namespace suz
