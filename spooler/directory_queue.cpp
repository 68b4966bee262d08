#include "spooler/directory_queue.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "spooler/boot_id.hpp"
#include "spooler/free_files.hpp"
#include "spooler/group_commit.hpp"
#include "spooler/job_files.hpp"
#include "spooler/journal_replay.hpp"
#include "spooler/journal_segment.hpp"

namespace fs = std::filesystem;

namespace suz {

namespace {

using namespace job_files;

}  // namespace

constexpr std::string_view kPushPrefix = "push.";

// Makes pushes durable, a round of them at a time (GroupCommit): their
// records go into this process's journal segment with one fdatasync; only
// then do their pushers rename their files into queue/. When the segment is full
// (or there is none: it could not be made, the disk is full) the
// filesystem is synced instead, which makes the files themselves durable,
// and the segment starts over.
//
// Either way a job's file is on disk in tmp/ or queue/, or its record is in
// the journal, before its push returns: after a crash of the machine
// recover_abandoned() puts back what is missing from queue/ (a rename that
// did not reach the disk, or a file that did but without its data).
struct DirectoryQueue::Syncs {
  // One segment and one round at a time per process: a segment for each of
  // a few groups of threads was tried, and measured no faster on this disk;
  // a round holds the threads of the process pushing at the time anyway.
  explicit Syncs(const fs::path& dir)
      : dir(dir), queue_fd(open_dir(dir / "queue")), commit([this](auto& batch) { publish(batch); }) {}

  void publish(std::vector<GroupCommit::Entry*>& batch) {
    int err = flush(batch);
    for (GroupCommit::Entry* e : batch) e->error = err;
  }

  // 0, or the errno value of the flush that failed.
  int flush(std::vector<GroupCommit::Entry*>& batch) {
    std::vector<std::string_view> records;
    std::size_t bytes = 0;
    for (GroupCommit::Entry* e : batch) {
      records.push_back(e->record);
      bytes += JournalSegment::framed_size(e->record.size());
    }
    if (JournalSegment* s = segment(); s && s->has_room(bytes)) {
      try {
        s->append(records);
        return 0;
      } catch (const std::system_error&) {
        segment_.reset();  // a failing segment is not trusted again; the sync below decides
      }
    }
    return checkpoint();
  }

  // Syncs the filesystem: every file written so far is on disk, so the
  // segment's records are no longer needed.
  int checkpoint() {
    std::int64_t began = monotonic_ns();
    if (::syncfs(queue_fd.get()) < 0) return errno;
    if (segment_) {
      try {
        segment_->rewind(began);
      } catch (const std::system_error&) {
        segment_.reset();
      }
    }
    return 0;
  }

  JournalSegment* segment() {
    if (!segment_ && monotonic_ns() >= next_try_ns) {
      try {
        segment_.emplace(JournalSegment::acquire(dir / "journal", dir / "tmp", boot_id(), replay));
      } catch (const std::exception&) {
        // A full disk, most likely: flush by syncfs, and do not spend a
        // segment's worth of writes on trying again each round.
        next_try_ns = monotonic_ns() + 10'000'000'000;
      }
    }
    return segment_ ? &*segment_ : nullptr;
  }

  fs::path dir;
  Fd queue_fd;
  JournalSegment::Replay replay;
  std::optional<JournalSegment> segment_;
  std::int64_t next_try_ns = 0;
  GroupCommit commit;
};

DirectoryQueue::DirectoryQueue(fs::path dir) : dir_(std::move(dir)) {
  for (const char* sub : {"tmp", "queue", "claimed", "failed", "corrupt", "trash", "journal", "free"}) {
    std::error_code ec;
    fs::create_directories(dir_ / sub, ec);
    if (ec) throw std::system_error(ec, "cannot create " + (dir_ / sub).string());
  }
  syncs_ = std::make_unique<Syncs>(dir_);
  free_ = std::make_unique<FreeFiles>(dir_ / "free");
  syncs_->replay = [dir = dir_](const JournalHeader& h, const std::vector<JournalRecord>& records) {
    return replay_journal(dir, h, records);
  };
  // Read now, not on the first push: a push runs without the GIL, so in a
  // vassal master it can overlap a fork (spooler/boot_id.hpp). This
  // constructor runs with the GIL held (or before any fork).
  boot_id();
}

DirectoryQueue::~DirectoryQueue() = default;
DirectoryQueue::DirectoryQueue(DirectoryQueue&&) noexcept = default;
DirectoryQueue& DirectoryQueue::operator=(DirectoryQueue&&) noexcept = default;

namespace {

Job new_job(const JobSpec& spec) {
  if (spec.priority < kMinPriority || spec.priority > kMaxPriority)
    throw std::invalid_argument("priority " + std::to_string(spec.priority) + " out of range " +
                                std::to_string(kMinPriority) + ".." + std::to_string(kMaxPriority));
  Job job;
  job.name.id = new_job_id();
  job.created_ms = wall_clock_ms();
  job.name.at_ms = spec.at_ms.value_or(job.created_ms);
  job.name.priority = spec.priority;
  job.args = spec.args;
  job.body = spec.body;
  return job;
}

void publish(const fs::path& tmp, const fs::path& queued) {
  if (::rename(tmp.c_str(), queued.c_str()) < 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail_errno("rename into", queued.parent_path(), err);
  }
}

}  // namespace

std::string DirectoryQueue::push(const JobSpec& spec) {
  return push_all({spec}).front();
}

std::vector<std::string> DirectoryQueue::push_all(const std::vector<JobSpec>& specs) {
  std::vector<Job> jobs;
  for (const JobSpec& s : specs) jobs.push_back(new_job(s));
  GroupCommit::Entry entry;
  std::vector<std::pair<std::string, std::string>> items;  // name, bytes
  try {
    for (const Job& j : jobs) {
      std::string name = j.name.str();
      std::string bytes = encode_job(j);
      fs::path tmp = push_path(name);
      write_job_file(tmp, bytes);
      entry.moves.push_back({tmp, dir_ / "queue" / name});
      items.emplace_back(std::move(name), std::move(bytes));
    }
  } catch (...) {
    for (const auto& m : entry.moves) ::unlink(m.tmp.c_str());
    throw;
  }
  // Taken after the files were written: a sync that began later has them.
  std::vector<std::pair<std::string_view, std::string_view>> views(items.begin(), items.end());
  entry.record = journal_payload(monotonic_ns(), views);
  syncs_->commit.commit(entry);
  // Each pusher renames its own files, so that one round's renames run on
  // all its threads at once, not one after another in its leader.
  int err = entry.error;
  for (const auto& m : entry.moves) {
    if (!err && ::rename(m.tmp.c_str(), m.target.c_str()) == 0) continue;
    if (!err) err = errno;
    ::unlink(m.tmp.c_str());
  }
  if (err) fail_errno("push into", dir_ / "queue", err);
  std::vector<std::string> ids;
  for (const Job& j : jobs) ids.push_back(j.name.id);
  return ids;
}

void DirectoryQueue::write_job_file(const fs::path& path, const std::string& bytes) {
  if (free_->take(path)) {
    if (overwrite_file(path, bytes)) return;
    ::unlink(path.c_str());  // not ours to write (another user's), or the disk failed: a new file decides
  }
  write_file(path, bytes);
}

fs::path DirectoryQueue::push_path(const std::string& name) const {
  return dir_ / "tmp" / (std::string(kPushPrefix) + boot_id() + "." + name);
}

std::size_t DirectoryQueue::restore_pushes_from_before_a_reboot() {
  std::size_t restored = 0;
  const std::string mine = std::string(kPushPrefix) + boot_id() + ".";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ / "tmp", ec)) {
    std::string file = e.path().filename().string();
    // push.BOOT.NAME, BOOT another boot's: its writer died with that boot.
    if (!file.starts_with(kPushPrefix) || file.starts_with(mine) || file.size() < kPushPrefix.size() + 10) continue;
    std::string job_file = file.substr(kPushPrefix.size() + 9);
    std::optional<JobName> name = JobName::parse(job_file);
    auto bytes = name ? read_file(e.path()) : std::nullopt;
    if (name && bytes && decode_job(*name, *bytes)) {
      if (::rename(e.path().c_str(), (dir_ / "queue" / job_file).c_str()) == 0) ++restored;
    } else {
      // Never synced, so never acknowledged to whoever pushed it.
      std::error_code ignored;
      fs::remove(e.path(), ignored);
    }
  }
  return restored;
}

void DirectoryQueue::checkpoint() {
  std::int64_t began = monotonic_ns();
  if (::syncfs(syncs_->queue_fd.get()) < 0) fail_errno("sync", dir_);
  write_journal_checkpoint(dir_ / "journal", boot_id(), began);
}

std::vector<JobName> DirectoryQueue::scan() {
  std::vector<fs::path> strangers;
  auto jobs = jobs_in(dir_ / "queue", &strangers);
  for (const fs::path& s : strangers) quarantine(s, "not a job file name");
  std::vector<JobName> names;
  names.reserve(jobs.size());
  for (auto& [name, path] : jobs) names.push_back(std::move(name));
  return names;
}

std::optional<ClaimedJob> DirectoryQueue::try_claim(const fs::path& claim_dir, const JobName& name) {
  std::string file = name.str();
  fs::path target = claim_dir / file;
  if (::rename((dir_ / "queue" / file).c_str(), target.c_str()) < 0) return std::nullopt;  // another claimer won it
  auto bytes = read_file(target);
  Result<Job> job = bytes ? decode_job(name, *bytes) : Result<Job>(unexpected(std::string("unreadable")));
  if (!job) {
    quarantine(target, job.error());
    return std::nullopt;
  }
  return ClaimedJob{std::move(*job), target};
}

std::optional<ClaimedJob> DirectoryQueue::claim(const std::string& owner, std::int64_t now_ms) {
  fs::path mine = dir_ / "claimed" / owner;
  std::error_code ec;
  fs::create_directories(mine, ec);
  if (ec) throw std::system_error(ec, "cannot create " + mine.string());
  for (const JobName& name : scan()) {
    if (name.at_ms > now_ms) continue;
    if (auto job = try_claim(mine, name)) return job;
  }
  return std::nullopt;
}

std::optional<std::int64_t> DirectoryQueue::next_due_ms(std::int64_t now_ms) const {
  std::optional<std::int64_t> next;
  for (auto& [name, path] : jobs_in(dir_ / "queue"))
    if (name.at_ms > now_ms && (!next || name.at_ms < *next)) next = name.at_ms;
  return next;
}

void DirectoryQueue::done(const ClaimedJob& job) {
  if (free_->put(job.path)) return;
  if (disposer_) {
    fs::path trash = dir_ / "trash" / job.path.filename();
    if (::rename(job.path.c_str(), trash.c_str()) == 0) {
      disposer_->dispose(std::move(trash));
      return;
    }
  }
  if (::unlink(job.path.c_str()) < 0 && errno != ENOENT) fail_errno("unlink", job.path);
}

void DirectoryQueue::retry(const ClaimedJob& claimed, std::int64_t at_ms, const std::string& error) {
  Job job = claimed.job;
  job.name.attempt++;
  job.name.at_ms = at_ms;
  job.last_error = error;
  // The new contents go through tmp/ like a push, their data on disk before
  // the rename; then the claimed file goes. A crash can lose the rename only
  // together with the removal after it (the journal keeps their order), so
  // the job is always somewhere whole: no directory sync needed.
  std::string name = job.name.str();
  fs::path tmp = dir_ / "tmp" / name;
  {
    Fd fd = write_file(tmp, encode_job(job));
    if (::fdatasync(fd.get()) < 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      fail_errno("sync", tmp, err);
    }
  }
  publish(tmp, dir_ / "queue" / name);
  done(claimed);
}

void DirectoryQueue::fail_file(const fs::path& file, const std::string& name, const std::string& error) {
  fs::path target = dir_ / "failed" / name;
  fs::path note = target;
  note += ".error";
  std::ofstream(note, std::ios::binary) << error;
  ::chmod(note.c_str(), 0600);
  if (::rename(file.c_str(), target.c_str()) < 0) fail_errno("rename into", dir_ / "failed");
}

void DirectoryQueue::fail(const ClaimedJob& claimed, const std::string& error) {
  JobName name = claimed.job.name;
  name.attempt++;  // the attempt that just failed counts
  fail_file(claimed.path, name.str(), error);
}

Recovered DirectoryQueue::recover(const std::string& owner, const std::string& why, int max_attempts) {
  Recovered r;
  fs::path area = dir_ / "claimed" / owner;
  for (auto& [name, path] : jobs_in(area)) {
    JobName next = name;
    next.attempt++;
    if (next.attempt >= max_attempts) {
      fail_file(path, next.str(), why + "\n");
      r.failed++;
      continue;
    }
    next.at_ms = std::min(next.at_ms, wall_clock_ms());
    if (::rename(path.c_str(), (dir_ / "queue" / next.str()).c_str()) == 0) r.requeued++;
  }
  std::error_code ec;
  fs::remove(area, ec);  // only if empty
  return r;
}

Recovered DirectoryQueue::recover_abandoned(const std::string& why, int max_attempts) {
  Recovered total;
  // Before anything is claimed: a file that lost its data in the crash is
  // rewritten from the journal rather than quarantined.
  total.restored = restore_pushes_from_before_a_reboot();
  total.restored += JournalSegment::replay_abandoned(dir_ / "journal", boot_id(), syncs_->replay);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ / "claimed", ec)) {
    if (!e.is_directory()) continue;
    Fd fd(::open(e.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) continue;  // its owner lives
    Recovered r = recover(e.path().filename().string(), why, max_attempts);
    total.requeued += r.requeued;
    total.failed += r.failed;
  }
  auto minute_ago = fs::file_time_type::clock::now() - std::chrono::minutes(1);
  for (const auto& e : fs::directory_iterator(dir_ / "trash", ec)) {
    std::error_code ignored;
    if (e.last_write_time(ignored) < minute_ago) fs::remove(e.path(), ignored);
  }
  auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& e : fs::directory_iterator(dir_ / "tmp", ec)) {
    std::error_code ignored;
    if (e.last_write_time(ignored) > hour_ago) continue;
    if (e.is_directory(ignored)) {
      // A claim area whose creator died before publishing it.
      Fd fd(::open(e.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) fs::remove(e.path(), ignored);
    } else {
      fs::remove(e.path(), ignored);
    }
  }
  return total;
}

Claimant::Claimant(DirectoryQueue& queue, std::string owner) : owner_(std::move(owner)), dir_(queue.dir() / "claimed" / owner_) {
  // Created under tmp/ and locked there, then renamed into claimed/: nobody
  // can see it unlocked and take it for abandoned.
  fs::path staging = queue.dir() / "tmp" / ("claim-" + owner_);
  if (::mkdir(staging.c_str(), 0700) < 0) fail_errno("mkdir", staging);
  lock_ = Fd(::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lock_ || ::flock(lock_.get(), LOCK_EX) < 0) {
    int err = errno;
    ::rmdir(staging.c_str());
    fail_errno("lock", staging, err);
  }
  if (::rename(staging.c_str(), dir_.c_str()) < 0) {
    int err = errno;
    ::rmdir(staging.c_str());
    fail_errno("rename into", dir_.parent_path(), err);
  }
}

Claimant::~Claimant() { ::rmdir(dir_.c_str()); }  // fails, as it should, while a job is in it

std::vector<JobEntry> DirectoryQueue::list(JobState state) const {
  std::vector<JobEntry> out;
  auto add = [&](const fs::path& dir, const std::string& owner) {
    for (auto& [name, path] : jobs_in(dir)) out.push_back({name, state, owner, path});
  };
  switch (state) {
    case JobState::kQueued: add(dir_ / "queue", ""); break;
    case JobState::kFailed: add(dir_ / "failed", ""); break;
    case JobState::kClaimed: {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir_ / "claimed", ec))
        if (e.is_directory()) add(e.path(), e.path().filename().string());
      break;
    }
  }
  return out;
}

std::optional<JobEntry> DirectoryQueue::find(const std::string& id) const {
  for (JobState s : {JobState::kQueued, JobState::kClaimed, JobState::kFailed})
    for (JobEntry& e : list(s))
      if (e.name.id == id) return e;
  return std::nullopt;
}

Result<Job> DirectoryQueue::read(const JobEntry& entry) const {
  auto bytes = read_file(entry.path);
  if (!bytes) return unexpected("cannot read " + entry.path.string());
  return decode_job(entry.name, *bytes);
}

bool DirectoryQueue::remove(const std::string& id) {
  auto e = find(id);
  if (!e) return false;
  std::error_code ec;
  fs::path note = e->path;
  note += ".error";
  fs::remove(note, ec);
  return fs::remove(e->path, ec);
}

bool DirectoryQueue::requeue_failed(const std::string& id) {
  for (JobEntry& e : list(JobState::kFailed)) {
    if (e.name.id != id) continue;
    JobName fresh = e.name;
    fresh.attempt = 0;
    fresh.at_ms = wall_clock_ms();
    if (::rename(e.path.c_str(), (dir_ / "queue" / fresh.str()).c_str()) < 0) fail_errno("rename into", dir_ / "queue");
    std::error_code ec;
    fs::path note = e.path;
    note += ".error";
    fs::remove(note, ec);
    return true;
  }
  return false;
}

std::optional<std::string> DirectoryQueue::failure(const JobEntry& entry) const {
  fs::path note = entry.path;
  note += ".error";
  return read_file(note);
}

void DirectoryQueue::quarantine(const fs::path& file, const std::string& why) {
  fs::path target = dir_ / "corrupt" / file.filename();
  if (::rename(file.c_str(), target.c_str()) < 0) return;  // someone else moved it
  fs::path note = target;
  note += ".error";
  std::ofstream(note) << why << "\n";
  if (on_corrupt) on_corrupt(target.string(), why);
}

}  // namespace suz
