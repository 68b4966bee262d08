#pragma once
// One process's push journal: a preallocated, zero-filled file in journal/
// that pushes append records to, one fdatasync per round of pushes.
//
// Why: making a new job file durable means syncing its data and two
// directory entries, which on ext4 is a journal commit (syncfs: 1.4 ms
// median here, 2.1 ms p90). Overwriting blocks that already exist changes
// no metadata, so fdatasync writes just those blocks (0.22 ms here). A push
// writes its job file without a flush, appends the file's name and bytes
// here, and is durable once this file is synced; after a crash of the
// machine, the records not yet known to be on disk as files are replayed
// into the queue (DirectoryQueue::recover_abandoned).
//
// Layout: a header in the first 4 KiB, then records, each
//   u32 length | u32 crc32 | u64 epoch | i64 t_ns | u32 count |
//   count x (u32 name length | u32 bytes length | name | bytes)
// with the crc over everything after it. t_ns (CLOCK_MONOTONIC) is when the
// record's files were written; the header's checkpoint_ns says that every
// file written before it reached the disk (a syncfs began after it), so
// only newer records matter. When the file is full its owner syncs the
// filesystem and rewinds: the epoch goes up, so records left over from the
// last pass (any after the new tail) no longer count.
//
// A segment is held by one process at a time (an flock on the file), and
// appears in journal/ already zero-filled, synced and locked.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/fd.hpp"

namespace suz {

// Big enough that wrapping around (a sync of the filesystem) is rare: about
// 4,000 small jobs. Small enough that making one (zero-filled and synced,
// the first push of a process on a new spool) takes a few milliseconds.
constexpr std::size_t kJournalSegmentBytes = 1u << 20;
constexpr std::size_t kJournalHeaderBytes = 4096;

struct JournalHeader {
  std::string boot;                // the boot (spooler/boot_id.hpp) its records belong to
  std::uint64_t epoch = 0;         // records of another epoch are stale
  // Files written before this are on disk. 0 in a new epoch that did not
  // start with a sync: a push may write its file before the segment it is
  // recorded in is taken, so only a sync can say what is on disk.
  std::int64_t checkpoint_ns = 0;
};

// One job a record carries: its file name in queue/ and the file's bytes.
struct JournalItem {
  std::string name;
  std::string bytes;
};

struct JournalRecord {
  std::int64_t t_ns = 0;
  std::vector<JournalItem> items;
};

// A record's body (everything after the epoch), built by the pusher so the
// round's leader only frames it.
std::string journal_payload(std::int64_t t_ns, const std::vector<std::pair<std::string_view, std::string_view>>& items);

// journal/checkpoint: when (in CLOCK_MONOTONIC of the boot named) a process
// last began a sync of the whole filesystem. No record older than that needs
// replaying, in any segment of that boot. Spoolers write it about once a
// second while they finish jobs: a job finished and removed is missing from
// the spool just like a job whose file was lost, so without it a crash would
// rerun every finished job still recorded. Writing it never raises the
// risk of a loss, only a lost or torn write of it that of a rerun.
void write_journal_checkpoint(const std::filesystem::path& journal_dir, const std::string& boot, std::int64_t t_ns);
std::optional<std::int64_t> read_journal_checkpoint(const std::filesystem::path& journal_dir, const std::string& boot);

class JournalSegment {
 public:
  // Puts a segment's records from an earlier boot back into the queue
  // before the segment is reused; returns how many jobs that restored.
  // Throws to leave the segment alone.
  using Replay = std::function<std::size_t(const JournalHeader&, const std::vector<JournalRecord>&)>;

  // Locks a free segment in journal_dir, or makes one (through tmp_dir).
  // One left by an earlier boot is replayed first; one left by a process of
  // this boot is appended to. Throws std::system_error.
  static JournalSegment acquire(const std::filesystem::path& journal_dir, const std::filesystem::path& tmp_dir,
                                const std::string& boot, const Replay& replay);

  // For recover_abandoned(): replays (and readies for reuse) every segment
  // nobody holds that an earlier boot left. Returns the jobs restored.
  static std::size_t replay_abandoned(const std::filesystem::path& journal_dir, const std::string& boot,
                                      const Replay& replay);

  JournalSegment(JournalSegment&&) noexcept = default;
  JournalSegment& operator=(JournalSegment&&) noexcept = default;

  // What a record with this payload takes in the file.
  static std::size_t framed_size(std::size_t payload_bytes);
  // Whether records taking this much fit after the tail.
  bool has_room(std::size_t framed_bytes) const;
  // Writes the records at the tail, then fdatasync. Throws std::system_error.
  void append(const std::vector<std::string_view>& payloads);
  // After the caller synced the filesystem (which began at checkpoint_ns):
  // a new epoch, the tail back at the start. Throws std::system_error.
  void rewind(std::int64_t checkpoint_ns);

  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }
  const JournalHeader& header() const { return header_; }

  // The records of the header's epoch, in order, up to the first that is
  // torn or stale. Reads the whole file.
  static std::vector<JournalRecord> read_records(int fd, const JournalHeader& header, std::size_t* tail = nullptr);
  static std::optional<JournalHeader> read_header(int fd);
  static void write_header(int fd, const JournalHeader& header);  // and fdatasync

 private:
  JournalSegment(Fd fd, std::filesystem::path path, JournalHeader header, std::size_t tail)
      : fd_(std::move(fd)), path_(std::move(path)), header_(std::move(header)), tail_(tail) {}
  Fd fd_;
  std::filesystem::path path_;
  JournalHeader header_;
  std::size_t tail_;
};

}  // namespace suz
