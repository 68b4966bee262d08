#pragma once
// Messages from workers to their master over one pipe the master reads in
// its loop. Each message is one 8-byte write: atomic on a pipe, so workers
// (and their threads) never interleave.
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>

namespace suz {

enum class WorkerEvent : std::int32_t {
  kReady = 1,         // accepting connections: the master may retire the predecessor
  kRequestLimit = 2,  // served max_requests: replace me
};

struct WorkerMessage {
  std::int32_t pid;
  WorkerEvent event;
};
static_assert(sizeof(WorkerMessage) == 8);

inline void notify_master(int fd, WorkerEvent event) {
  WorkerMessage m{static_cast<std::int32_t>(::getpid()), event};
  // A full pipe means the master is not reading: nothing better to do than drop it.
  [[maybe_unused]] ssize_t n = ::write(fd, &m, sizeof m);
}

}  // namespace suz
