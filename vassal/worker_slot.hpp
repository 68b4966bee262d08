#pragma once
// What the master keeps about its workers: not the workers themselves, which
// live in other processes (vassal/worker.hpp).
//
// A slot is one unit of capacity ("worker 3"). It has an active process and,
// while that one is being replaced, a successor: the successor is forked and
// must report ready before the active one is told to retire, so capacity
// never drops during a replacement.
#include <ev.h>
#include <sys/types.h>

#include <chrono>
#include <string>

#include "vassal/stats.hpp"

namespace suz {

class Master;

struct WorkerSlot {
  int id = 0;             // 1..workers, stable across respawns
  pid_t active = 0;       // serving (or starting, if nothing else serves)
  pid_t successor = 0;    // starting, to take over from active
  int generation = 0;     // processes this slot has had
  int quick_deaths = 0;   // consecutive deaths soon after birth: the backoff exponent
  bool removed = false;   // TTOU took it away
  ev_timer respawn{};     // backoff before the next spawn
  Master* master = nullptr;
};

struct WorkerProcess {
  pid_t pid = 0;
  int slot = 0;           // WorkerSlot::id
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
  Master* master = nullptr;
};

}  // namespace suz
