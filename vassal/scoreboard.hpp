#pragma once
// The workers' scoreboard: shared memory created by the master before its
// first fork, written by workers, read by the master (harakiri, heartbeat,
// stats). One record per worker process (a slot can briefly have two: the
// retiring one and its successor), each followed by one record per thread.
//
// Writers use relaxed atomics for numbers; the request line is a plain char
// array, published by the release store of its start (in_flight()).
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"  // monotonic_ms: comparable across the master and workers
#include "core/shared_memory.hpp"
#include "vassal/request_metrics.hpp"

namespace suz {

enum class WorkerState : std::int32_t { kFree = 0, kStarting, kReady, kRetiring };

struct ThreadRecord {
  std::atomic<std::int64_t> request_started_ms{0};  // 0: idle
  char request[120] = {};                           // "GET /path", truncated

  // The thread's own calls, around each request or job.
  void begin(std::string_view what);
  void end() { request_started_ms.store(0, std::memory_order_relaxed); }
};

struct ProcessRecord {
  std::atomic<pid_t> pid{0};
  std::atomic<WorkerState> state{WorkerState::kFree};
  std::int32_t slot = 0;
  std::int32_t generation = 0;
  std::int64_t born_ms = 0;
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::int64_t> heartbeat_ms{0};
  // An ASGI worker's event loop: when it last turned (0: no loop, or not yet).
  std::atomic<std::int64_t> loop_turn_ms{0};
  RequestCounters traffic;  // a worker's latencies and statuses
};

class Scoreboard {
 public:
  Scoreboard(int capacity, int threads);

  int capacity() const { return capacity_; }
  int threads() const { return threads_; }
  ProcessRecord& process(int index) const;
  ThreadRecord& thread(int index, int thread) const;

  // Master: a free record for a new worker (reset), or -1 when full.
  int claim(int slot, int generation);
  // Master: the record's process is gone.
  void release(int index);

  // What a thread is busy with, read consistently: its request started at
  // started_ms (nullopt: idle, or moving on as it was read). A thread
  // finishes a request (started = 0) before it writes the next one's line
  // and start, so a start seen unchanged on both sides of the line's copy
  // is that line's: a request that just finished is never named for the one
  // after it.
  struct InFlight {
    std::int64_t started_ms = 0;
    std::string request;  // "GET /x", safe to print
  };
  std::optional<InFlight> in_flight(int index, int thread) const;

 private:
  std::size_t stride() const;
  int capacity_;
  int threads_;
  SharedMemory memory_;
};

// In a freshly started child (worker or spooler): marks its record ready and
// alive now, and tells the master, which may then retire its predecessor.
void report_ready(Scoreboard& board, int record, int notify_fd);

}  // namespace suz
