#include "vassal/scoreboard.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "vassal/worker_events.hpp"

namespace suz {

static_assert(std::atomic<std::int64_t>::is_always_lock_free, "records live in shared memory across processes");
static_assert(std::atomic<pid_t>::is_always_lock_free);

std::size_t Scoreboard::stride() const {
  return sizeof(ProcessRecord) + static_cast<std::size_t>(threads_) * sizeof(ThreadRecord);
}

Scoreboard::Scoreboard(int capacity, int threads)
    : capacity_(capacity), threads_(threads), memory_(static_cast<std::size_t>(capacity) * stride()) {
  for (int i = 0; i < capacity_; ++i) {
    new (&process(i)) ProcessRecord();
    for (int t = 0; t < threads_; ++t) new (&thread(i, t)) ThreadRecord();
  }
}

ProcessRecord& Scoreboard::process(int index) const {
  return *reinterpret_cast<ProcessRecord*>(static_cast<char*>(memory_.data()) + static_cast<std::size_t>(index) * stride());
}

ThreadRecord& Scoreboard::thread(int index, int t) const {
  char* base = reinterpret_cast<char*>(&process(index)) + sizeof(ProcessRecord);
  return *reinterpret_cast<ThreadRecord*>(base + static_cast<std::size_t>(t) * sizeof(ThreadRecord));
}

int Scoreboard::claim(int slot, int generation) {
  for (int i = 0; i < capacity_; ++i) {
    ProcessRecord& p = process(i);
    if (p.state.load() != WorkerState::kFree) continue;
    p.pid = 0;
    p.slot = slot;
    p.generation = generation;
    p.born_ms = monotonic_ms();
    p.requests = 0;
    p.heartbeat_ms = p.born_ms;
    p.loop_turn_ms = 0;
    p.traffic.~RequestCounters();
    new (&p.traffic) RequestCounters();
    for (int t = 0; t < threads_; ++t) {
      thread(i, t).request_started_ms = 0;
      thread(i, t).request[0] = '\0';
    }
    p.state = WorkerState::kStarting;
    return i;
  }
  return -1;
}

void Scoreboard::release(int index) {
  process(index).pid = 0;
  process(index).state = WorkerState::kFree;
}

void ThreadRecord::begin(std::string_view what) {
  std::size_t n = std::min(what.size(), sizeof request - 1);
  std::memcpy(request, what.data(), n);
  request[n] = '\0';
  request_started_ms.store(monotonic_ms(), std::memory_order_release);  // publishes the line (in_flight())
}

std::optional<Scoreboard::InFlight> Scoreboard::in_flight(int index, int t) const {
  const ThreadRecord& r = thread(index, t);
  std::int64_t started = r.request_started_ms.load(std::memory_order_acquire);
  if (started == 0) return std::nullopt;
  char copy[sizeof(ThreadRecord::request)];
  std::memcpy(copy, r.request, sizeof copy);
  copy[sizeof copy - 1] = '\0';
  std::atomic_thread_fence(std::memory_order_acquire);
  if (r.request_started_ms.load(std::memory_order_relaxed) != started) return std::nullopt;
  return InFlight{started, copy};
}

void report_ready(Scoreboard& board, int record, int notify_fd) {
  ProcessRecord& r = board.process(record);
  r.pid = ::getpid();
  r.heartbeat_ms = monotonic_ms();
  r.state = WorkerState::kReady;
  notify_master(notify_fd, WorkerEvent::kReady);
}

}  // namespace suz
