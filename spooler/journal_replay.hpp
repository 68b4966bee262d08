#pragma once
// After a crash of the machine: puts back the jobs a journal segment
// recorded whose files did not reach the disk whole (a rename into queue/
// that was lost, or a name that survived without its data).
//
// A recorded job that is nowhere in the spool (queue/, claimed/, failed/,
// trash/) is written into queue/ again; one whose file is there but does not
// decode is rewritten in place. Only records newer than the segment's and
// the spool's checkpoints count (spooler/journal_segment.hpp), so what runs
// again is at most the jobs finished in the second or so before the crash:
// at-least-once, never lost. The result is synced before it returns, since
// the segment is reused after it.
#include <cstddef>
#include <filesystem>
#include <vector>

#include "spooler/journal_segment.hpp"

namespace suz {

// How many jobs it put back. Throws std::system_error (the segment must
// then be kept for another try).
std::size_t replay_journal(const std::filesystem::path& spool, const JournalHeader& header,
                           const std::vector<JournalRecord>& records);

}  // namespace suz
