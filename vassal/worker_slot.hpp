#pragma once
// What the master keeps about one worker: not the worker itself, which lives
// in another process (vassal/worker.hpp).
#include <sys/types.h>

#include <chrono>

namespace suz {

struct WorkerSlot {
  int id = 0;              // 1..workers, stable across respawns
  pid_t pid = 0;           // 0: no process
  int generation = 0;      // how many processes this slot has had
  std::chrono::steady_clock::time_point born_at{};
  int quick_deaths = 0;    // consecutive deaths soon after birth: the backoff exponent
  bool stopping = false;   // told to stop; its exit is expected
};

}  // namespace suz
